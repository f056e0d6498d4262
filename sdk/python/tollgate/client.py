"""The agent-side helper over tollgate's gRPC API.

``Client.run(req, action)`` authorizes ``req``; on ALLOW it runs ``action``; on
PENDING_APPROVAL it waits for a reviewer (reconnecting the wait stream when it drops),
redeems the approved single-use capability for exactly the approved request (a reviewer may
have narrowed it) and only then runs ``action`` with that request. DENY, a reviewer's
denial, expiry, a wait that runs out and a refused capability raise typed errors.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable, Mapping, Optional, TypeVar

import grpc
from google.protobuf import json_format

from tollgate.v1 import approvals_pb2, approvals_pb2_grpc, authorizer_pb2, authorizer_pb2_grpc

log = logging.getLogger("tollgate")
T = TypeVar("T")

# Stream failures worth reconnecting: the server restarted or the link dropped.
_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.CANCELLED,
}
_RECONNECT_BACKOFF_S = 0.25


class TollgateError(Exception):
    """Any reason a guarded action did not run."""


class Denied(TollgateError):
    """The policy denied the request, or a reviewer did."""

    def __init__(self, reasons: list[str], approval_id: Optional[str] = None):
        super().__init__("denied: " + "; ".join(reasons))
        self.reasons = reasons
        self.approval_id = approval_id


class Expired(TollgateError):
    """Nobody decided before the approval expired, or it was cancelled."""

    def __init__(self, approval_id: str, state: str):
        super().__init__(f"approval {approval_id} {state}")
        self.approval_id = approval_id
        self.state = state


class WaitTimedOut(TollgateError):
    """The caller's wait ran out; the approval is still pending and can be waited on again."""

    def __init__(self, approval_id: str):
        super().__init__(f"gave up waiting for approval {approval_id}")
        self.approval_id = approval_id


class Refused(TollgateError):
    """The capability was refused (already redeemed, expired, another request).

    ``refusal`` is the ``approvals_pb2.RedeemRefusal`` value to decide on; ``reason`` says it
    for people."""

    def __init__(self, reason: str, refusal: int = 0):
        super().__init__(f"capability refused: {reason}")
        self.reason = reason
        self.refusal = refusal

    @property
    def spent(self) -> bool:
        """Whether the approval is used up (redeemed before, or expired), so the same request
        may be asked anew, rather than this call being wrong."""
        return self.refusal in (
            approvals_pb2.REDEEM_REFUSAL_ALREADY_REDEEMED,
            approvals_pb2.REDEEM_REFUSAL_EXPIRED,
        )


@dataclasses.dataclass
class Approved:
    """What the action may do: the request as allowed (maybe narrowed by a reviewer)."""

    request: authorizer_pb2.AuthorizeRequest
    approval_id: Optional[str] = None
    changes: list = dataclasses.field(default_factory=list)

    @property
    def params(self) -> dict[str, Any]:
        """The allowed ``action.params`` as a plain dict."""
        return json_format.MessageToDict(self.request.action.params)


def request(
    subject: str,
    action: str,
    resource_type: str,
    resource_id: str,
    params: Optional[Mapping[str, Any]] = None,
    intent: str = "",
    on_behalf_of: str = "",
    request_id: str = "",
) -> authorizer_pb2.AuthorizeRequest:
    """An ``AuthorizeRequest`` from plain values; the subject's kind is its id's prefix."""
    kind = subject.split(":", 1)[0] if ":" in subject else ""
    return json_format.ParseDict(
        {
            "subject": {"id": subject, "kind": kind, "on_behalf_of": on_behalf_of},
            "action": {"name": action, "params": dict(params or {})},
            "resource": {"type": resource_type, "id": resource_id},
            "context": {"intent": intent, "request_id": request_id},
        },
        authorizer_pb2.AuthorizeRequest(),
    )


class Client:
    """A tollgate client over one gRPC channel, sending ``token`` as a bearer token."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        token: Optional[str] = None,
        channel: Optional[grpc.Channel] = None,
    ):
        self._channel = channel or grpc.insecure_channel(target)
        self._authorizer = authorizer_pb2_grpc.AuthorizerStub(self._channel)
        self._approvals = approvals_pb2_grpc.ApprovalsStub(self._channel)
        self._metadata = [("authorization", f"Bearer {token}")] if token else []

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authorize(self, req: authorizer_pb2.AuthorizeRequest) -> authorizer_pb2.AuthorizeResponse:
        """One ``Authorize`` call."""
        return self._authorizer.Authorize(req, metadata=self._metadata)

    def wait(self, approval_id: str, timeout: float) -> approvals_pb2.Approval:
        """Waits up to ``timeout`` seconds for the approval to be decided, reconnecting the
        stream when it drops; returns it once APPROVED, else raises the typed outcome. A
        decision already made is returned even with no time left (``timeout=0``)."""
        deadline = time.monotonic() + timeout
        approval = self._approvals.GetApproval(
            approvals_pb2.GetApprovalRequest(approval_id=approval_id), metadata=self._metadata
        )
        if approval.state != approvals_pb2.APPROVAL_STATE_PENDING:
            return _settled(approval)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimedOut(approval_id)
            stream = self._approvals.WaitForDecision(
                approvals_pb2.WaitForDecisionRequest(approval_id=approval_id),
                metadata=self._metadata,
                timeout=remaining,
            )
            try:
                for approval in stream:
                    if approval.state != approvals_pb2.APPROVAL_STATE_PENDING:
                        return _settled(approval)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise WaitTimedOut(approval_id) from e
                if e.code() not in _RETRYABLE:
                    raise
            log.info("wait for %s dropped; reconnecting", approval_id)
            time.sleep(_RECONNECT_BACKOFF_S)

    def redeem(
        self, capability: str, req: authorizer_pb2.AuthorizeRequest
    ) -> approvals_pb2.RedeemCapabilityResponse:
        """Redeems ``capability`` for exactly ``req`` (once); raises ``Refused`` otherwise."""
        answer = self._approvals.RedeemCapability(
            approvals_pb2.RedeemCapabilityRequest(capability=capability, request=req),
            metadata=self._metadata,
        )
        if not answer.allowed:
            raise Refused(answer.reason, answer.refusal)
        return answer

    def run(
        self,
        req: authorizer_pb2.AuthorizeRequest,
        action: Callable[[Approved], T],
        wait: float = 900.0,
    ) -> T:
        """Authorize, wait for a reviewer when asked to, redeem, then ``action(approved)``.
        ``action`` never runs unless tollgate allowed exactly the request it is given."""
        answer = self.authorize(req)
        if answer.effect == authorizer_pb2.EFFECT_ALLOW:
            if answer.capability:
                self.redeem(answer.capability, req)
            return action(Approved(request=req))
        if answer.effect == authorizer_pb2.EFFECT_PENDING_APPROVAL:
            log.info("waiting for a reviewer: approval %s", answer.approval_id)
            approval = self.wait(answer.approval_id, wait)
            approved = approval.request if approval.HasField("request") else req
            self.redeem(approval.capability, approved)
            return action(
                Approved(request=approved, approval_id=approval.id, changes=list(approval.changes))
            )
        raise Denied(list(answer.reasons))


def _settled(approval: approvals_pb2.Approval) -> approvals_pb2.Approval:
    if approval.state == approvals_pb2.APPROVAL_STATE_APPROVED:
        return approval
    if approval.state == approvals_pb2.APPROVAL_STATE_DENIED:
        raise Denied([r.reason for r in approval.reviews], approval.id)
    if approval.state == approvals_pb2.APPROVAL_STATE_CANCELLED:
        raise Expired(approval.id, "cancelled")
    raise Expired(approval.id, "expired")
