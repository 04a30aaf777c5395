"""Errors of the gpufleet API as exceptions.

gpufleet answers every error with an RFC 9457 problem document (``application/problem+json``:
``type``, ``title``, ``status``, ``detail`` and, for some errors, more members such as
``allowed`` on an illegal lifecycle transition). Each HTTP status the API uses has its own
exception class; all derive from :class:`ApiError`, which carries the document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error answer of the gpufleet API."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        type: str = "about:blank",
        problem: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        #: The whole problem document (empty when the answer was not one).
        self.problem: dict[str, Any] = dict(problem or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{status} {title}" + (f": {detail}" if detail else ""))


class BadRequest(ApiError):
    """400: the request is malformed or names something inconsistent."""


class Unauthorized(ApiError):
    """401: no token, an expired or revoked token, or wrong credentials."""


class Forbidden(ApiError):
    """403: the caller's role lacks the permission the operation needs."""


class NotFound(ApiError):
    """404: no such resource."""


class Conflict(ApiError):
    """409: the request conflicts with the current state (an illegal lifecycle transition, a name
    in use, a job already running on the node)."""

    @property
    def allowed(self) -> list[str] | None:
        """For an illegal lifecycle transition: the states the node may move to."""
        allowed = self.problem.get("allowed")
        return list(allowed) if isinstance(allowed, list) else None


class PreconditionFailed(Conflict):
    """412: the ``If-Match`` version is no longer the current one; re-read and retry."""


class PayloadTooLarge(ApiError):
    """413: the request body is larger than the server accepts."""


class ValidationError(ApiError):
    """422: the request body or parameters do not validate."""


class RateLimited(ApiError):
    """429: too many requests (for example failed logins); ``retry_after`` in seconds if given."""

    @property
    def retry_after(self) -> float | None:
        try:
            return float(self.headers.get("retry-after", ""))
        except ValueError:
            return None


class ServerError(ApiError):
    """5xx: the server or something it depends on (database, BMC) failed."""


class JobTimeout(TimeoutError):
    """A job did not end within the time given to :meth:`Client.wait_for_job`."""

    def __init__(self, job: Mapping[str, Any], timeout: float) -> None:
        self.job = dict(job)
        self.timeout = timeout
        super().__init__(f"job {job.get('id')} still {job.get('state')} after {timeout:g} s")


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
}


def error_for(status: int, content: bytes, headers: Mapping[str, str] | None = None) -> ApiError:
    """The exception for an error answer: its class from the status, its fields from the problem
    document in ``content`` (or a generic title when the body is not one)."""
    problem: dict[str, Any] = {}
    try:
        parsed = json.loads(content) if content else None
        if isinstance(parsed, dict):
            problem = parsed
    except ValueError:
        pass
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    title = problem.get("title")
    if not isinstance(title, str):
        title = _REASONS.get(status, "Error")
    detail = problem.get("detail")
    if detail is not None and not isinstance(detail, str):
        detail = str(detail)
    if detail is None and not problem and content:
        detail = content[:500].decode(errors="replace")
    return cls(
        status=status,
        title=title,
        detail=detail,
        type=str(problem.get("type", "about:blank")),
        problem=problem,
        headers={k.lower(): v for k, v in (headers or {}).items()},
    )


_REASONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}
