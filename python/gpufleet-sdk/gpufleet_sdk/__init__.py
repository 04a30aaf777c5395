"""Python SDK of the gpufleet API.

:class:`Client` and :class:`AsyncClient` are the hand-written entry points (sessions, cursor
pages, conditional configuration writes, waiting for jobs, typed errors); the typed operations
and models generated from gpufleet's OpenAPI document are in :mod:`gpufleet_sdk.generated`.
"""

from .client import TERMINAL_JOB_STATES, AsyncClient, Client, VersionedConfig
from .errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    JobTimeout,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationError,
)

__all__ = [
    "TERMINAL_JOB_STATES",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "JobTimeout",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "ValidationError",
    "VersionedConfig",
]
