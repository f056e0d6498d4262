"""tollgate's Python SDK: the generated gRPC API (``tollgate.v1``) and one helper for the whole
flow of a guarded action (``Client.run``: authorize, wait for a reviewer, redeem, run)."""

from tollgate.client import (
    Approved,
    Client,
    Denied,
    Expired,
    Refused,
    TollgateError,
    WaitTimedOut,
    request,
)

__all__ = [
    "Approved",
    "Client",
    "Denied",
    "Expired",
    "Refused",
    "TollgateError",
    "WaitTimedOut",
    "request",
]
