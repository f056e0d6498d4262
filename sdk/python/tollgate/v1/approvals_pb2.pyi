import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate.v1 import authorizer_pb2 as _authorizer_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApprovalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_STATE_UNSPECIFIED: _ClassVar[ApprovalState]
    APPROVAL_STATE_PENDING: _ClassVar[ApprovalState]
    APPROVAL_STATE_APPROVED: _ClassVar[ApprovalState]
    APPROVAL_STATE_DENIED: _ClassVar[ApprovalState]
    APPROVAL_STATE_EXPIRED: _ClassVar[ApprovalState]
    APPROVAL_STATE_CANCELLED: _ClassVar[ApprovalState]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_APPROVE: _ClassVar[Verdict]
    VERDICT_DENY: _ClassVar[Verdict]
    VERDICT_MODIFY: _ClassVar[Verdict]

class RedeemRefusal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REDEEM_REFUSAL_UNSPECIFIED: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_INVALID: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_NOT_FOUND: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_ALREADY_REDEEMED: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_EXPIRED: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_REVOKED: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_REQUEST_MISMATCH: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_APPROVAL_NOT_IN_FORCE: _ClassVar[RedeemRefusal]
    REDEEM_REFUSAL_POLICY_DENIES: _ClassVar[RedeemRefusal]
APPROVAL_STATE_UNSPECIFIED: ApprovalState
APPROVAL_STATE_PENDING: ApprovalState
APPROVAL_STATE_APPROVED: ApprovalState
APPROVAL_STATE_DENIED: ApprovalState
APPROVAL_STATE_EXPIRED: ApprovalState
APPROVAL_STATE_CANCELLED: ApprovalState
VERDICT_UNSPECIFIED: Verdict
VERDICT_APPROVE: Verdict
VERDICT_DENY: Verdict
VERDICT_MODIFY: Verdict
REDEEM_REFUSAL_UNSPECIFIED: RedeemRefusal
REDEEM_REFUSAL_INVALID: RedeemRefusal
REDEEM_REFUSAL_NOT_FOUND: RedeemRefusal
REDEEM_REFUSAL_ALREADY_REDEEMED: RedeemRefusal
REDEEM_REFUSAL_EXPIRED: RedeemRefusal
REDEEM_REFUSAL_REVOKED: RedeemRefusal
REDEEM_REFUSAL_REQUEST_MISMATCH: RedeemRefusal
REDEEM_REFUSAL_APPROVAL_NOT_IN_FORCE: RedeemRefusal
REDEEM_REFUSAL_POLICY_DENIES: RedeemRefusal

class ParamChange(_message.Message):
    __slots__ = ("path", "before", "after")
    PATH_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    path: str
    before: _struct_pb2.Value
    after: _struct_pb2.Value
    def __init__(self, path: _Optional[str] = ..., before: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("reviewer_id", "verdict", "reason", "reviewed_at")
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_AT_FIELD_NUMBER: _ClassVar[int]
    reviewer_id: str
    verdict: Verdict
    reason: str
    reviewed_at: _timestamp_pb2.Timestamp
    def __init__(self, reviewer_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., reason: _Optional[str] = ..., reviewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("id", "decision_id", "state", "request", "requirements", "reviews", "bundle_revision", "created_at", "expires_at", "capability", "capability_expires_at", "original_request", "changes")
    ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_REVISION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    id: str
    decision_id: str
    state: ApprovalState
    request: _authorizer_pb2.AuthorizeRequest
    requirements: _containers.RepeatedCompositeFieldContainer[_authorizer_pb2.ApprovalRequirement]
    reviews: _containers.RepeatedCompositeFieldContainer[Review]
    bundle_revision: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    capability: str
    capability_expires_at: _timestamp_pb2.Timestamp
    original_request: _authorizer_pb2.AuthorizeRequest
    changes: _containers.RepeatedCompositeFieldContainer[ParamChange]
    def __init__(self, id: _Optional[str] = ..., decision_id: _Optional[str] = ..., state: _Optional[_Union[ApprovalState, str]] = ..., request: _Optional[_Union[_authorizer_pb2.AuthorizeRequest, _Mapping]] = ..., requirements: _Optional[_Iterable[_Union[_authorizer_pb2.ApprovalRequirement, _Mapping]]] = ..., reviews: _Optional[_Iterable[_Union[Review, _Mapping]]] = ..., bundle_revision: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., capability: _Optional[str] = ..., capability_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., original_request: _Optional[_Union[_authorizer_pb2.AuthorizeRequest, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[ParamChange, _Mapping]]] = ...) -> None: ...

class ApproveRequest(_message.Message):
    __slots__ = ("approval_id", "verdict", "reason", "params")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    verdict: Verdict
    reason: str
    params: _struct_pb2.Struct
    def __init__(self, approval_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., reason: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetApprovalRequest(_message.Message):
    __slots__ = ("approval_id",)
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    def __init__(self, approval_id: _Optional[str] = ...) -> None: ...

class ListApprovalsRequest(_message.Message):
    __slots__ = ("state", "subject_id", "action", "reviewer_id", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: ApprovalState
    subject_id: str
    action: str
    reviewer_id: str
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[ApprovalState, str]] = ..., subject_id: _Optional[str] = ..., action: _Optional[str] = ..., reviewer_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListApprovalsResponse(_message.Message):
    __slots__ = ("approvals", "next_page_token")
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    next_page_token: str
    def __init__(self, approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelApprovalRequest(_message.Message):
    __slots__ = ("approval_id",)
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    def __init__(self, approval_id: _Optional[str] = ...) -> None: ...

class WaitForDecisionRequest(_message.Message):
    __slots__ = ("approval_id",)
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    def __init__(self, approval_id: _Optional[str] = ...) -> None: ...

class RedeemCapabilityRequest(_message.Message):
    __slots__ = ("capability", "request")
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    capability: str
    request: _authorizer_pb2.AuthorizeRequest
    def __init__(self, capability: _Optional[str] = ..., request: _Optional[_Union[_authorizer_pb2.AuthorizeRequest, _Mapping]] = ...) -> None: ...

class RedeemCapabilityResponse(_message.Message):
    __slots__ = ("allowed", "reason", "approval_id", "capability_id", "refusal")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_ID_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: str
    approval_id: str
    capability_id: str
    refusal: RedeemRefusal
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[str] = ..., approval_id: _Optional[str] = ..., capability_id: _Optional[str] = ..., refusal: _Optional[_Union[RedeemRefusal, str]] = ...) -> None: ...
