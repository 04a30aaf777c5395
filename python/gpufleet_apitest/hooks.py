"""Schemathesis hooks loaded by every run of gpufleet-apitest (``SCHEMATHESIS_HOOKS``).

They keep the identities the run depends on alive: a generated request that would revoke one of
the run's tokens (``DELETE /api/v1/tokens/{id}``) or change or delete one of its users
(``PATCH``/``DELETE /api/v1/users/{id}``, by id or by name) is sent for an identifier that names
nothing instead, so it still reaches the server (and must answer 404). Each such rewrite is
written to the file of ``GPUFLEET_APITEST_PROTECT_LOG`` so that the summary can count them.
"""

from __future__ import annotations

import json
import os
import uuid

import schemathesis

_PROTECT = json.loads(os.environ.get("GPUFLEET_APITEST_PROTECT") or "{}")
_TOKENS = set(_PROTECT.get("tokens", []))
_USERS = set(_PROTECT.get("users", []))
_LOG = os.environ.get("GPUFLEET_APITEST_PROTECT_LOG")


def _record(case, old: str, new: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps({"operation": f"{case.method.upper()} {case.path}", "id": old, "sent": new}) + "\n")


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    method = case.method.upper()
    params = case.path_parameters or {}
    ident = params.get("id")
    if not isinstance(ident, str):
        return
    protected = (case.path == "/api/v1/tokens/{id}" and method == "DELETE" and ident in _TOKENS) or (
        case.path == "/api/v1/users/{id}" and method in ("PATCH", "DELETE") and ident in _USERS
    )
    if protected:
        new = f"apitest-absent-{uuid.uuid4().hex[:12]}"
        params["id"] = new
        _record(case, ident, new)
