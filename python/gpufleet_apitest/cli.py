"""gpufleet-apitest: schemathesis against a live gpufleet, authenticated as each role in turn.

Either ``--url URL`` of a running gpufleet (with the admin's password; the viewer and operator
users are created on it), or ``--start`` (the gpufleet binary on embedded defaults in a
temporary data directory). For each role the schemathesis CLI runs every phase (examples,
coverage, fuzzing, stateful) with the checks ``not_a_server_error``,
``status_code_conformance``, ``content_type_conformance`` and ``response_schema_conformance``;
its NDJSON report is read back for the summary: requests sent, failures by check and operation,
server errors. The exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"]
ROLES = ["viewer", "operator", "admin"]
PHASES = "examples,coverage,fuzzing,stateful"
BOUNDED_EXAMPLES = 5
NIGHTLY_EXAMPLES = 100
# Endless Server-Sent Events responses: schemathesis reads every response to its end, so each
# accepted request would only end at the request timeout. Every operation whose 200 answer is
# `text/event-stream` is left out (see sse_paths).
SSE_REASON = "an endless Server-Sent Events stream (no response ever ends)"


def sse_paths(spec: dict) -> list[str]:
    """The paths of the OpenAPI document with an operation that answers text/event-stream."""
    out = []
    for path, item in spec.get("paths", {}).items():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            ok = (op.get("responses") or {}).get("200") or {}
            if "text/event-stream" in (ok.get("content") or {}) and path not in out:
                out.append(path)
    return out


# Revokes the token that sends it: run on its own, with a throw-away token (see run_logout).
LOGOUT = "/api/v1/auth/logout"
# The operations that answer 503 "Provisioning off" when no Tinkerbell cluster is configured
# (a diagnosis re-provisions the node).
PROVISIONING_OPS = [
    "/api/v1/nodes/{id}/provision",
    "/api/v1/nodes/{id}/provision/cancel",
    "/api/v1/provision/bulk",
    "/api/v1/nodes/{id}/diagnose",
]
START_DEADLINE_S = 180.0


# ------------------------------------------------------------------------------------ the server


@dataclass
class Started:
    url: str
    proc: subprocess.Popen
    workdir: Path
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def find_binary(explicit: str | None) -> Path:
    for candidate in (explicit, os.environ.get("GPUFLEET_BIN")):
        if candidate:
            return Path(candidate)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache/gpufleet/target")
    return target / "debug" / "gpufleet"


def start_server(binary: Path, workdir: Path, admin_password: str) -> Started:
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"gpufleet-apitest: {binary} is not an executable gpufleet binary (--bin or GPUFLEET_BIN)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUFLEET_")}
    env["GPUFLEET_ADMIN_PASSWORD"] = admin_password
    env["GPUFLEET_ENRICHER__ENABLED"] = "false"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "gpufleet.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(binary), "serve", "--data-dir", str(workdir / "data"), "--listen", "127.0.0.1:0", "--grpc-listen", ""],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Started(url="", proc=proc, workdir=workdir, log=log)
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gpufleet exited with {proc.returncode}:\n{server.log_tail()}")
        if not server.url:
            m = re.search(r"listening on (http://[0-9.:]+)", log.read_text(errors="replace"))
            server.url = m.group(1) if m else ""
        if server.url:
            try:
                if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"gpufleet not ready within {START_DEADLINE_S:.0f} s:\n{server.log_tail()}")


# ------------------------------------------------------------------------------------ identities


def login(url: str, username: str, password: str) -> str:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=60)
    if r.status_code != 200:
        raise SystemExit(f"gpufleet-apitest: login as {username} failed: {r.status_code} {r.text}")
    return r.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_role_user(url: str, admin_token: str, role: str) -> str:
    """Creates a user of the role with a password of its own and returns a session token."""
    username = f"apitest-{role}-{secrets.token_hex(4)}"
    password = f"apitest-{secrets.token_urlsafe(18)}"
    r = httpx.post(
        f"{url}/api/v1/users",
        json={"username": username, "password": password, "role": role},
        headers=bearer(admin_token),
        timeout=60,
    )
    if r.status_code != 201:
        raise SystemExit(f"gpufleet-apitest: creating the {role} user failed: {r.status_code} {r.text}")
    return login(url, username, password)


def throwaway_token(url: str, token: str) -> str:
    r = httpx.post(
        f"{url}/api/v1/tokens",
        json={"name": f"apitest-logout-{secrets.token_hex(4)}"},
        headers=bearer(token),
        timeout=60,
    )
    if r.status_code != 201:
        raise SystemExit(f"gpufleet-apitest: creating a throw-away token failed: {r.status_code} {r.text}")
    return r.json()["token"]


def protected_identifiers(url: str, admin_token: str, tokens: dict[str, str]) -> dict[str, list[str]]:
    """Every token that exists now (the run's own among them) and the users of the run, by id and
    by name."""
    r = httpx.get(f"{url}/api/v1/tokens", params={"all": "true"}, headers=bearer(admin_token), timeout=60)
    r.raise_for_status()
    token_ids = [t["id"] for t in r.json()["items"]]
    users: list[str] = []
    for token in tokens.values():
        me = httpx.get(f"{url}/api/v1/auth/whoami", headers=bearer(token), timeout=60)
        me.raise_for_status()
        body = me.json()
        user = body.get("user", body)
        users += [str(user[k]) for k in ("id", "username") if k in user]
    return {"tokens": token_ids, "users": sorted(set(users))}


def provisioning_off(url: str, admin_token: str) -> str | None:
    """The server's own answer when provisioning is off, else None. Asked of a node that does
    not exist: with provisioning on the answer is a 404 and nothing is started."""
    r = httpx.post(
        f"{url}/api/v1/nodes/apitest-absent-{secrets.token_hex(6)}/provision/cancel",
        json={},
        headers=bearer(admin_token),
        timeout=60,
    )
    if r.status_code == 503 and r.headers.get("content-type", "").startswith("application/problem+json"):
        body = r.json()
        if body.get("title") == "Provisioning off":
            return body.get("detail") or body["title"]
    return None


def token_alive(url: str, token: str) -> bool:
    return httpx.get(f"{url}/api/v1/auth/whoami", headers=bearer(token), timeout=60).status_code == 200


# ------------------------------------------------------------------------------------ one run


@dataclass
class RunResult:
    label: str
    requests: int = 0
    status: collections.Counter = field(default_factory=collections.Counter)
    server_errors: collections.Counter = field(default_factory=collections.Counter)
    failures: collections.Counter = field(default_factory=collections.Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    protected: int = 0
    links: str = ""
    exit_code: int = 0
    identity_lost: bool = False

    def failed_detail(self) -> bool:
        return bool(self.failures or self.server_errors or self.errors)

    @property
    def failed(self) -> bool:
        return bool(self.failures or self.server_errors or self.errors or self.identity_lost or self.exit_code)


def schemathesis_cmd() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if not found:
        raise SystemExit("gpufleet-apitest: schemathesis is not installed (pip install 'gpufleet-sim[apitest]')")
    return [found]


def run_schemathesis(
    label: str,
    url: str,
    token: str,
    outdir: Path,
    args: argparse.Namespace,
    excluded: list[str],
    protect: dict[str, list[str]],
    only: str | None = None,
) -> RunResult:
    outdir.mkdir(parents=True, exist_ok=True)
    ndjson = outdir / "events.ndjson"
    report = outdir / "report.json"
    protect_log = outdir / "protected.ndjson"
    cmd = schemathesis_cmd() + [
        "run",
        f"{url}/api/v1/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        PHASES,
        "--max-examples",
        str(args.max_examples),
        "--workers",
        str(args.workers),
        "--request-timeout",
        str(args.request_timeout),
        "--report",
        "ndjson,json,junit",
        "--report-dir",
        str(outdir),
        "--report-ndjson-path",
        str(ndjson),
        "--report-json-path",
        str(report),
        "--report-junit-path",
        str(outdir / "junit.xml"),
        "--generation-database",
        "none",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
    ]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    if args.max_time and not only:
        cmd += ["--max-time", str(args.max_time)]
    if only:
        cmd += ["--include-path", only]
    for path in excluded:
        cmd += ["--exclude-path", path]
    env = dict(os.environ)
    env["SCHEMATHESIS_HOOKS"] = "gpufleet_apitest.hooks"
    env["GPUFLEET_APITEST_PROTECT"] = json.dumps(protect)
    env["GPUFLEET_APITEST_PROTECT_LOG"] = str(protect_log)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    print(f"== {label}: schemathesis (log: {outdir / 'schemathesis.log'})", flush=True)
    with open(outdir / "schemathesis.log", "wb") as out:
        # the working directory takes schemathesis' own files (.schemathesis/)
        proc = subprocess.run(cmd, cwd=outdir, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    result = read_reports(label, ndjson, report)
    result.exit_code = 0 if proc.returncode == 0 else proc.returncode
    log = (outdir / "schemathesis.log").read_text(errors="replace")
    m = re.search(r"API Links:\s+(.*)", log)
    result.links = m.group(1).strip() if m else ""
    if protect_log.exists():
        result.protected = sum(1 for _ in protect_log.open())
    if result.exit_code and not result.failed_detail():
        result.errors.append(f"schemathesis exited with {proc.returncode}: see {outdir / 'schemathesis.log'}")
    return result


def _curl(case: dict, response: dict | None) -> str:
    value = case.get("value", case)
    body = value.get("body")
    text = f"{value.get('method')} {value.get('path')}"
    if value.get("path_parameters"):
        text += f" path={json.dumps(value['path_parameters'])}"
    if value.get("query"):
        text += f" query={json.dumps(value['query'])}"
    if body is not None:
        text += f" body={json.dumps(body)[:300]}"
    if response:
        text += f" -> {response.get('status_code')}"
    return text


def read_reports(label: str, ndjson: Path, report: Path) -> RunResult:
    result = RunResult(label=label)
    if ndjson.exists():
        with ndjson.open(encoding="utf-8") as f:
            for line in f:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished.get("recorder") or {}
                interactions = recorder.get("interactions") or {}
                cases = recorder.get("cases") or {}
                for case_id, it in interactions.items():
                    result.requests += 1
                    response = it.get("response")
                    value = (cases.get(case_id) or {}).get("value", {})
                    op = f"{value.get('method', it['request']['method'])} {value.get('path', '?')}"
                    if response is None:
                        continue
                    code = response["status_code"]
                    result.status[code] += 1
                    if code >= 500:
                        result.server_errors[(op, code)] += 1
                        result.examples.setdefault(
                            (f"server error {code}", op), _curl(cases.get(case_id, {}), response)
                        )
                for case_id, checks in (recorder.get("checks") or {}).items():
                    for check in checks:
                        if check.get("status") != "failure":
                            continue
                        failure = (check.get("failure_info") or {}).get("failure") or {}
                        op = failure.get("operation") or recorder.get("label", "?")
                        key = (check["name"], op)
                        result.failures[key] += 1
                        if key not in result.examples:
                            detail = failure.get("title", "")
                            if failure.get("message"):
                                detail += f": {failure['message'][:400]}"
                            response = (interactions.get(case_id) or {}).get("response")
                            result.examples[key] = f"{detail}\n      {_curl(cases.get(case_id, {}), response)}"
    if report.exists():
        doc = json.loads(report.read_text())
        for error in doc.get("errors") or []:
            result.errors.append(f"{error['title']} (x{error['count']})")
    else:
        result.errors.append(f"no report was written ({report})")
    return result


# ------------------------------------------------------------------------------------ summary


def print_summary(results: list[RunResult], notes: list[str]) -> int:
    print("\n==================== gpufleet-apitest summary ====================")
    for note in notes:
        print(f"note: {note}")
    total = 0
    failures: collections.Counter = collections.Counter()
    server_errors = 0
    bad = False
    for r in results:
        total += r.requests
        server_errors += sum(r.server_errors.values())
        failures.update({check: n for (check, _), n in r.failures.items()})
        codes = ", ".join(f"{c}: {n}" for c, n in sorted(r.status.items()))
        print(f"\n[{r.label}] {r.requests} requests ({codes})")
        if r.links:
            print(f"  stateful phase links: {r.links}")
        if r.protected:
            print(f"  {r.protected} requests aimed at the run's own tokens/users were sent for an absent id instead")
        for (check, op), n in sorted(r.failures.items()):
            print(f"  FAIL {check}: {op} (x{n})\n      {r.examples.get((check, op), '')}")
        for (op, code), n in sorted(r.server_errors.items()):
            print(f"  SERVER ERROR {code}: {op} (x{n})\n      {r.examples.get((f'server error {code}', op), '')}")
        for e in r.errors:
            print(f"  ERROR {e}")
        if r.identity_lost:
            print("  ERROR the run's own token no longer works after the run")
        bad = bad or r.failed
    print("\nfailures by check: " + (", ".join(f"{c}: {failures.get(c, 0)}" for c in CHECKS)))
    print(f"server errors (5xx): {server_errors}")
    print(f"gpufleet-apitest: {total} requests, {sum(failures.values())} failures, {server_errors} server errors")
    return 1 if bad else 0


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gpufleet-apitest", description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="base URL of a running gpufleet (http://127.0.0.1:8080)")
    where.add_argument("--start", action="store_true", help="start gpufleet on embedded defaults in a temp dir")
    p.add_argument("--bin", help="the gpufleet binary for --start (default GPUFLEET_BIN, else the debug build)")
    p.add_argument("--admin-user", default="admin")
    p.add_argument(
        "--admin-password",
        default=os.environ.get("GPUFLEET_ADMIN_PASSWORD"),
        help="default GPUFLEET_ADMIN_PASSWORD; with --start a generated one when unset",
    )
    p.add_argument("--role", action="append", choices=ROLES, help="a role to run as (repeatable; default all three)")
    p.add_argument("--exclude-path", action="append", default=[], help="an OpenAPI path to leave out (repeatable)")
    p.add_argument(
        "--max-examples", type=int, help=f"per operation (default {BOUNDED_EXAMPLES}; --nightly {NIGHTLY_EXAMPLES})"
    )
    p.add_argument("--nightly", action="store_true", help="the long mode: many more examples per operation")
    p.add_argument("--max-time", type=int, help="time budget in seconds of each role's run (schemathesis --max-time)")
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--request-timeout", type=float, default=30.0)
    p.add_argument("--report-dir", help="where the reports go (default: a temp dir, kept)")
    args = p.parse_args(argv)
    if args.max_examples is None:
        args.max_examples = NIGHTLY_EXAMPLES if args.nightly else BOUNDED_EXAMPLES
    args.role = args.role or ROLES
    if not args.start and not args.admin_password:
        p.error("--url needs --admin-password (or GPUFLEET_ADMIN_PASSWORD)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report_dir = Path(args.report_dir or tempfile.mkdtemp(prefix="gpufleet-apitest-")).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    server: Started | None = None
    try:
        if args.start:
            args.admin_password = args.admin_password or f"apitest-admin-{secrets.token_urlsafe(18)}"
            server = start_server(find_binary(args.bin), report_dir / "server", args.admin_password)
            url = server.url
            print(f"gpufleet started at {url} (log: {server.log})", flush=True)
        else:
            url = args.url.rstrip("/")
        code = run_all(url, args, report_dir)
    finally:
        if server is not None:
            server.stop()
    print(f"reports: {report_dir}")
    return code


def run_all(url: str, args: argparse.Namespace, report_dir: Path) -> int:
    # Every identity is made before any generated request: fuzzing the login route can lock
    # logins from this address for a while.
    admin = login(url, args.admin_user, args.admin_password)
    tokens = {}
    for role in args.role:
        tokens[role] = admin if role == "admin" else make_role_user(url, admin, role)
    notes: list[str] = []
    excluded = list(args.exclude_path)
    spec = httpx.get(f"{url}/api/v1/openapi.json", timeout=60).json()
    for path in sse_paths(spec):
        excluded.append(path)
        notes.append(f"excluded {path}: {SSE_REASON}")
    off = provisioning_off(url, admin)
    if off:
        excluded += PROVISIONING_OPS
        notes.append(f"excluded {', '.join(PROVISIONING_OPS)}: the server says provisioning is off ('{off}')")
    notes.append(
        f"excluded {LOGOUT} from the main runs (it revokes the token that sends it); it runs on its own per role with a throw-away API token"
    )
    links = sum(
        len(resp.get("links") or {})
        for item in spec.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict)
        for resp in (op.get("responses") or {}).values()
        if isinstance(resp, dict)
    )
    if links:
        notes.append(f"the OpenAPI document has {links} links; the stateful phase follows them")
    else:
        notes.append(
            "the OpenAPI document has no links: the stateful phase runs only over links schemathesis infers (Location headers, matching fields)"
        )
    for path in args.exclude_path:
        notes.append(f"excluded {path}: --exclude-path")
    protect = protected_identifiers(url, admin, tokens)
    results = []
    for role in args.role:
        result = run_schemathesis(role, url, tokens[role], report_dir / role, args, excluded + [LOGOUT], protect)
        result.identity_lost = not token_alive(url, tokens[role])
        results.append(result)
        print(f"   {role}: {result.requests} requests, {sum(result.failures.values())} failures", flush=True)
    if LOGOUT not in args.exclude_path:
        for role in args.role:
            spare = throwaway_token(url, tokens[role])
            result = run_schemathesis(
                f"{role} {LOGOUT}", url, spare, report_dir / f"{role}-logout", args, [], protect, only=LOGOUT
            )
            results.append(result)
    return print_summary(results, notes)


if __name__ == "__main__":
    sys.exit(main())
