import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBundleStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadBundleRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BundleStatus(_message.Message):
    __slots__ = ("active_revision", "active_digest", "activated_at", "source", "last_result", "last_attempt_at", "activations", "rejections", "engine", "engine_reason")
    ACTIVE_REVISION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LAST_RESULT_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_REASON_FIELD_NUMBER: _ClassVar[int]
    active_revision: str
    active_digest: str
    activated_at: _timestamp_pb2.Timestamp
    source: str
    last_result: str
    last_attempt_at: _timestamp_pb2.Timestamp
    activations: int
    rejections: int
    engine: str
    engine_reason: str
    def __init__(self, active_revision: _Optional[str] = ..., active_digest: _Optional[str] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., last_result: _Optional[str] = ..., last_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activations: _Optional[int] = ..., rejections: _Optional[int] = ..., engine: _Optional[str] = ..., engine_reason: _Optional[str] = ...) -> None: ...
