"""The booth <-> central MQTT protocol, version 1: topics, payload models, encode/decode.

Both ends import this module so they agree by construction. Everything that arrives from the
network goes through ``parse_*_topic`` and ``decode`` first; they raise one ``ProtocolError`` with a
reason and never let a malformed topic, a path character or an oversized payload through.
docs/mqtt.md describes the flows; docs/schemas/*.json are generated from the models here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from boothcore.idnumber import IdNumberError, validate_canonical
from boothcore.names import MAX_NAME_CHARS, STUDENT_NO_PATTERN, BadName, check_name

VERSION = 1
BOOTH_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
# BOOTH_ID_PATTERN in words, for the people who choose booth ids.
BOOTH_ID_RULE = ("a booth id is 1 to 32 lowercase letters a-z, digits and hyphens, starting with a letter or digit"
                 " (e.g. booth-01)")
UUID4_HEX_PATTERN = r"^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$"
# Session ids, command ids, reason codes: tokens that are safe in a topic, a log line and a file name.
TOKEN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

CHUNK_SIZE = 65536  # bytes per chunk; every chunk but the last has exactly the init's chunk_size
MIN_CHUNK_SIZE = 4096  # smallest chunk_size an init may announce (tests use small chunks)
MAX_PHOTO_SIZE = 5 * 1024 * 1024  # a CHSI photo is 20-40 KB; 5 MB leaves room for raw captures
MAX_CHUNKS = math.ceil(MAX_PHOTO_SIZE / MIN_CHUNK_SIZE)
MAX_JSON_BYTES = 64 * 1024  # every JSON payload except a command
MAX_COMMAND_BYTES = 4 * 1024 * 1024  # a roster update carries a whole class list
MAX_ROSTER_ROWS = 20000

QOS_STATUS = 1
QOS_TELEMETRY = 0
QOS_EVENT = 1
QOS_PHOTO = 1
QOS_CENTRAL = 1
TELEMETRY_EXPIRY_S = 60
WILL_DELAY_S = 30

BOOTH_PREFIX = "booth/v1"
CENTRAL_PREFIX = "central/v1"

BoothKind = Literal["status", "telemetry", "event", "photo_init", "photo_chunk", "photo_fin"]
CentralKind = Literal["ack", "command"]
AckKind = Literal["photo", "event"]
AckStatus = Literal["stored", "missing", "rejected"]
EventKind = Literal["card_refused", "photo_accepted", "retake", "class_opened", "class_closed",
                   "payment_confirmed", "error", "command_result", "operator_action"]
CommandKind = Literal["roster_update", "open_class", "close_class", "resend", "doctor", "allow_retake",
                      "publish_status", "class_photographed"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
COMMAND_KINDS: tuple[CommandKind, ...] = get_args(CommandKind)

_BOOTH_RE = re.compile(BOOTH_ID_PATTERN)
_UUID_RE = re.compile(UUID4_HEX_PATTERN)
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_INDEX_RE = re.compile(r"^(0|[1-9][0-9]{0,5})$")


class ProtocolError(ValueError):
    """A topic or payload that does not follow the protocol; ``reason`` says why (safe to log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------- fields


def _utc_timestamp(value: str) -> str:
    if len(value) > 40:
        raise ValueError("timestamp too long")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {value[:40]!r}") from None
    if moment.utcoffset() != dt.timedelta(0):
        raise ValueError("timestamp must be UTC (Z or +00:00)")
    return value


def _safe_name(value: str) -> str:
    """College and class names become folder names on central: the shared name rule, canonical form."""
    try:
        canonical = check_name(value)
    except BadName as error:
        raise ValueError(f"name {error.reason}") from None
    if canonical != value:
        raise ValueError("name must be in canonical form (NFC, single spaces, no surrounding blanks)")
    return value


def _id_number(value: str) -> str:
    try:
        return validate_canonical(value)
    except IdNumberError as error:
        raise ValueError(error.en if error.code == "not_canonical" else f"bad ID number: {error.code}") from None


def _label(value: str) -> str:
    """College/class in events and statuses: may be empty (a make-up session has none)."""
    return _safe_name(value) if value else value


BoothId = Annotated[str, Field(pattern=BOOTH_ID_PATTERN)]
Uuid4Hex = Annotated[str, Field(pattern=UUID4_HEX_PATTERN)]
Token = Annotated[str, Field(pattern=TOKEN_PATTERN)]
Sha256Hex = Annotated[str, Field(pattern=SHA256_PATTERN)]
Timestamp = Annotated[str, Field(max_length=40), AfterValidator(_utc_timestamp)]
SafeName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_safe_name)]
Label = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(_label)]
# 18 characters, or 15 for a 2017 foreigner's permanent residence card (boothcore.idnumber).
IdNumber = Annotated[str, Field(min_length=15, max_length=18), AfterValidator(_id_number)]
Text = Annotated[str, Field(max_length=500)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Megabytes = Annotated[float, Field(ge=0, le=1e9)]


def utc_now() -> str:
    """The current time as the protocol writes it: 2027-06-01T08:00:00.123Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def chunk_count(size: int, chunk_size: int = CHUNK_SIZE) -> int:
    return max(1, math.ceil(size / chunk_size))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class _Payload(_Model):
    """A JSON payload: carries the protocol version."""

    kind_name: ClassVar[str]
    v: Literal[1] = 1


# ---------------------------------------------------------------------------------- booth -> central


class SessionInfo(_Model):
    id: Token
    kind: Literal["class", "makeup"]
    college: Label  # "" for a make-up session
    class_: Label = Field(alias="class")


_LIVE_ONLY = ("session", "queue_depth", "disk_free_mb", "cpu_temp_c", "version")


class Status(_Payload):
    """Retained birth/state message; with online=false and state "lost" it is the Will."""

    kind_name: ClassVar[str] = "status"
    booth: BoothId
    boot: Count
    online: bool
    state: Token
    session: SessionInfo | None = None
    queue_depth: Count | None = None
    disk_free_mb: Megabytes | None = None
    cpu_temp_c: float | None = Field(default=None, ge=-60, le=200)
    version: Annotated[str, Field(max_length=64)] | None = None
    # Made once per data folder (uuid4 hex): a booth whose data was reset (a new SD card, the boot
    # counter back to 1) comes back with a new one, and central starts a new boot sequence.
    install_id: Uuid4Hex | None = None
    ts: Timestamp

    @model_validator(mode="after")
    def _live_fields(self) -> Status:
        if self.online and (self.queue_depth is None or self.disk_free_mb is None or self.version is None):
            raise ValueError("an online status needs queue_depth, disk_free_mb and version")
        return self

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("install_id") is None:
            data.pop("install_id", None)
        if not self.online:  # the Will carries only {v, booth, boot, online, state, install_id, ts}
            for key in _LIVE_ONLY:
                if data.get(key) is None:
                    data.pop(key, None)
        return data


def will_status(booth: str, boot: int, install_id: str | None = None) -> Status:
    """The death message registered as the MQTT Will."""
    return Status(booth=booth, boot=boot, online=False, state="lost", install_id=install_id, ts=utc_now())


class Telemetry(_Payload):
    kind_name: ClassVar[str] = "telemetry"
    booth: BoothId
    ts: Timestamp
    cpu_temp_c: float | None = Field(default=None, ge=-60, le=200)
    disk_free_mb: Megabytes
    mem_used_mb: Megabytes
    uptime_s: float = Field(ge=0)
    queue_depth: Count


class CardRefusedData(_Model):
    reason: Token
    session_id: Token | None = None


class PhotoAcceptedData(_Model):
    photo_id: Uuid4Hex
    session_id: Token | None = None
    attempt: int = Field(ge=1, le=100)


class RetakeData(_Model):
    session_id: Token | None = None
    attempt: int = Field(ge=1, le=100)
    failed: list[Token] = Field(max_length=64)


class ClassOpenedData(_Model):
    session_id: Token
    college: Label  # "" for a make-up session
    class_: Label = Field(alias="class")


class ClassClosedData(ClassOpenedData):
    count: Count
    fee_cny: float = Field(ge=0, le=1e7)
    missing: Count


class PaymentConfirmedData(_Model):
    session_id: Token
    amount_cny: float = Field(ge=0, le=1e7)


class ErrorData(_Model):
    code: Token
    message: Text


class CommandResultData(_Model):
    command_id: Token
    ok: bool
    message: Text = ""


class OperatorActionData(_Model):
    """One operator action at the booth (its menu) or from the office (a command): never a name."""

    action: Token  # menu_opened, pin_wrong, keypad_locked, open_class, close_session, allow, ...
    source: Literal["kiosk", "central"]
    ok: bool  # False: refused (a wrong PIN, a session already open, ...)
    session_id: Token | None = None
    detail: Text = ""


EVENT_DATA: dict[EventKind, type[_Model]] = {
    "card_refused": CardRefusedData,
    "photo_accepted": PhotoAcceptedData,
    "retake": RetakeData,
    "class_opened": ClassOpenedData,
    "class_closed": ClassClosedData,
    "payment_confirmed": PaymentConfirmedData,
    "error": ErrorData,
    "command_result": CommandResultData,
    "operator_action": OperatorActionData,
}


class Event(_Payload):
    """A durable booth event; ``data`` is checked against the model of its ``kind``."""

    kind_name: ClassVar[str] = "event"
    booth: BoothId
    event_id: Uuid4Hex
    ts: Timestamp
    kind: EventKind
    data: dict[str, Any]

    @model_validator(mode="after")
    def _data_matches_kind(self) -> Event:
        EVENT_DATA[self.kind].model_validate(self.data)
        return self

    def typed_data(self) -> _Model:
        return EVENT_DATA[self.kind].model_validate(self.data)


# The booth's own checks of a saved photo (appliance.quality.checks.CheckResult), as photo_init's
# optional ``booth_checks``. A measure is a number, a [low, high] band, or a few named ones.
Measure = Annotated[float, Field(allow_inf_nan=False)]
Band = Annotated[list[Measure], Field(min_length=2, max_length=2)]
CheckFigure = Measure | Band | Annotated[dict[Token, Measure | Band], Field(max_length=16)] | None
BOOTH_CHECKS_VERSION: Literal[1] = 1
MAX_BOOTH_CHECKS = 64


class BoothCheck(_Model):
    """One check: whether it passed (an operator may keep a photo whose "confirm" check failed),
    what the booth measured (None: not measured) and its limit, rounded as the booth logs them."""

    passed: bool
    value: CheckFigure = None
    limit: CheckFigure = None


class BoothChecks(_Model):
    """The booth's checks of one photo, by check id. ``v`` is this field's own layout version, so a
    later layout is told apart; a central refuses a layout (or any field) it does not know, so
    central is updated before the booths (docs/mqtt.md)."""

    v: Literal[1] = BOOTH_CHECKS_VERSION
    checks: dict[Token, BoothCheck] = Field(max_length=MAX_BOOTH_CHECKS)


class PhotoInit(_Payload):
    """Announces a photo's transfer. ``booth_checks`` is optional: booth builds before it send
    none (and central stores none), so the field is left out of the JSON when it is absent."""

    kind_name: ClassVar[str] = "photo_init"
    booth: BoothId
    photo_id: Uuid4Hex
    id_number: IdNumber
    student_no: Annotated[str, Field(pattern=STUDENT_NO_PATTERN)]
    college: SafeName
    class_: SafeName = Field(alias="class")
    session_id: Token | None = None
    attempt: int = Field(ge=1, le=100)
    captured_at: Timestamp
    size: int = Field(ge=1, le=MAX_PHOTO_SIZE)
    sha256: Sha256Hex
    chunk_size: int = Field(default=CHUNK_SIZE, ge=MIN_CHUNK_SIZE, le=CHUNK_SIZE)
    chunks: int = Field(ge=1, le=MAX_CHUNKS)
    booth_checks: BoothChecks | None = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("booth_checks") is None:
            data.pop("booth_checks", None)
        return data

    @model_validator(mode="after")
    def _chunks_match_size(self) -> PhotoInit:
        if self.chunks != chunk_count(self.size, self.chunk_size):
            raise ValueError(f"chunks = {self.chunks} does not match size {self.size} "
                             f"with chunk_size {self.chunk_size}")
        return self

    def chunk_length(self, index: int) -> int:
        """The exact byte length chunk ``index`` must have."""
        if not 0 <= index < self.chunks:
            raise ProtocolError(f"chunk index {index} out of range 0..{self.chunks - 1}")
        if index < self.chunks - 1:
            return self.chunk_size
        return self.size - self.chunk_size * (self.chunks - 1)


class PhotoFin(_Payload):
    kind_name: ClassVar[str] = "photo_fin"
    booth: BoothId
    photo_id: Uuid4Hex
    size: int = Field(ge=1, le=MAX_PHOTO_SIZE)
    sha256: Sha256Hex
    chunks: int = Field(ge=1, le=MAX_CHUNKS)


# ---------------------------------------------------------------------------------- central -> booth


class Ack(_Payload):
    """Central's answer about one photo or event."""

    kind_name: ClassVar[str] = "ack"
    kind: AckKind
    id: Uuid4Hex
    status: AckStatus
    missing: list[Annotated[int, Field(ge=0, lt=MAX_CHUNKS)]] = Field(default_factory=list,
                                                                     max_length=MAX_CHUNKS)
    resend: Literal["init"] | None = None
    reason: Text | None = None
    sha256: Sha256Hex | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Ack:
        if self.status == "stored" and self.kind == "photo" and self.sha256 is None:
            raise ValueError("a stored photo ack must carry the sha256")
        if self.status == "missing" and not self.missing and self.resend != "init":
            raise ValueError("a missing ack needs chunk indexes or resend=init")
        if self.status == "rejected" and not self.reason:
            raise ValueError("a rejected ack needs a reason")
        if len(set(self.missing)) != len(self.missing):
            raise ValueError("missing lists a chunk twice")
        return self

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("resend", "reason", "sha256"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class RosterUpdateData(_Model):
    # Row format belongs to the roster module, which validates each row before importing.
    rows: list[dict[str, str | int | float | bool | None]] = Field(max_length=MAX_ROSTER_ROWS)


class OpenClassData(_Model):
    college: SafeName
    class_: SafeName = Field(alias="class")


class CloseClassData(_Model):
    pass


class ResendData(_Model):
    photo_ids: Literal["all"] | list[Uuid4Hex] = Field(max_length=MAX_ROSTER_ROWS)


class DoctorData(_Model):
    pass


class AllowRetakeData(_Model):
    """An admin flagged ``photo_id`` of this person for a retake: the booth photographs them once
    more without the operator's override (the flag's reason stays on central)."""

    id_number: IdNumber
    photo_id: Uuid4Hex


class PublishStatusData(_Model):
    """Central (re)started: publish the retained status now."""


class ClassPhotographedData(_Model):
    """Central's answer to ``class_closed``: who of the closed session's class has a current photo
    at central (from any booth), so the booth's summary does not list a student photographed at
    another booth as missing."""

    session_id: Token
    id_numbers: list[IdNumber] = Field(max_length=MAX_ROSTER_ROWS)


COMMAND_DATA: dict[CommandKind, type[_Model]] = {
    "roster_update": RosterUpdateData,
    "open_class": OpenClassData,
    "close_class": CloseClassData,
    "resend": ResendData,
    "doctor": DoctorData,
    "allow_retake": AllowRetakeData,
    "publish_status": PublishStatusData,
    "class_photographed": ClassPhotographedData,
}


class Command(_Payload):
    """A command from central; ``data`` is checked against the model of its ``kind``."""

    kind_name: ClassVar[str] = "command"
    command_id: Token
    kind: CommandKind
    data: dict[str, Any]
    ts: Timestamp

    @model_validator(mode="after")
    def _data_matches_kind(self) -> Command:
        COMMAND_DATA[self.kind].model_validate(self.data)
        return self

    def typed_data(self) -> _Model:
        return COMMAND_DATA[self.kind].model_validate(self.data)


PAYLOAD_MODELS: dict[str, type[_Payload]] = {
    model.kind_name: model for model in (Status, Telemetry, Event, PhotoInit, PhotoFin, Ack, Command)
}


# ---------------------------------------------------------------------------------------- topics


def _check_booth(booth: str) -> str:
    if not _BOOTH_RE.match(booth):
        raise ProtocolError(f"bad booth id {booth[:40]!r}")
    return booth


def _check_uuid(value: str, what: str) -> str:
    if not _UUID_RE.match(value):
        raise ProtocolError(f"bad {what} {value[:40]!r}: expected uuid4 hex")
    return value


def status_topic(booth: str) -> str:
    return f"{BOOTH_PREFIX}/{_check_booth(booth)}/status"


def telemetry_topic(booth: str) -> str:
    return f"{BOOTH_PREFIX}/{_check_booth(booth)}/telemetry"


def event_topic(booth: str, event_id: str) -> str:
    return f"{BOOTH_PREFIX}/{_check_booth(booth)}/event/{_check_uuid(event_id, 'event id')}"


def photo_init_topic(booth: str, photo_id: str) -> str:
    return f"{BOOTH_PREFIX}/{_check_booth(booth)}/photo/{_check_uuid(photo_id, 'photo id')}/init"


def photo_chunk_topic(booth: str, photo_id: str, index: int) -> str:
    if not 0 <= index < MAX_CHUNKS:
        raise ProtocolError(f"chunk index {index} out of range")
    return f"{BOOTH_PREFIX}/{_check_booth(booth)}/photo/{_check_uuid(photo_id, 'photo id')}/chunk/{index}"


def photo_fin_topic(booth: str, photo_id: str) -> str:
    return f"{BOOTH_PREFIX}/{_check_booth(booth)}/photo/{_check_uuid(photo_id, 'photo id')}/fin"


def ack_topic(booth: str) -> str:
    return f"{CENTRAL_PREFIX}/{_check_booth(booth)}/ack"


def command_topic(booth: str, command_id: str) -> str:
    if not _TOKEN_RE.match(command_id):
        raise ProtocolError(f"bad command id {command_id[:40]!r}")
    return f"{CENTRAL_PREFIX}/{_check_booth(booth)}/command/{command_id}"


def booth_subscriptions(booth: str) -> list[str]:
    """What a booth subscribes to: its acks and its commands, nothing else."""
    return [ack_topic(booth), f"{CENTRAL_PREFIX}/{_check_booth(booth)}/command/+"]


def central_subscriptions(group: str = "ingest") -> list[str]:
    """Shared-subscription filters for central ingest workers (any worker may get any message)."""
    if not _TOKEN_RE.match(group):
        raise ProtocolError(f"bad share group {group!r}")
    base = f"$share/{group}/{BOOTH_PREFIX}/+"
    return [f"{base}/status", f"{base}/telemetry", f"{base}/event/+", f"{base}/photo/+/init",
            f"{base}/photo/+/chunk/+", f"{base}/photo/+/fin"]


class BoothTopic(NamedTuple):
    booth: str
    kind: BoothKind
    ident: str | None  # photo_id or event_id
    chunk_index: int | None


class CentralTopic(NamedTuple):
    booth: str
    kind: CentralKind
    command_id: str | None


def _split_topic(topic: str, root: str) -> tuple[str, list[str]]:
    """``<root>/v1/<booth>/rest...`` -> (checked booth id, rest), or ProtocolError."""
    if len(topic) > 200:
        raise ProtocolError("topic too long")
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != root or parts[1] != "v1":
        raise ProtocolError(f"not a {root} v1 topic: {topic[:80]!r}")
    return _check_booth(parts[2]), parts[3:]


def parse_booth_topic(topic: str) -> BoothTopic:
    """``booth/v1/B/...`` -> (booth, kind, photo_id|event_id|None, index|None) or ProtocolError."""
    booth, rest = _split_topic(topic, "booth")
    if rest == ["status"]:
        return BoothTopic(booth, "status", None, None)
    if rest == ["telemetry"]:
        return BoothTopic(booth, "telemetry", None, None)
    if len(rest) == 2 and rest[0] == "event":
        return BoothTopic(booth, "event", _check_uuid(rest[1], "event id"), None)
    if len(rest) >= 3 and rest[0] == "photo":
        photo_id = _check_uuid(rest[1], "photo id")
        if len(rest) == 3 and rest[2] == "init":
            return BoothTopic(booth, "photo_init", photo_id, None)
        if len(rest) == 3 and rest[2] == "fin":
            return BoothTopic(booth, "photo_fin", photo_id, None)
        if len(rest) == 4 and rest[2] == "chunk":
            if not _INDEX_RE.match(rest[3]) or int(rest[3]) >= MAX_CHUNKS:
                raise ProtocolError(f"bad chunk index {rest[3][:12]!r}")
            return BoothTopic(booth, "photo_chunk", photo_id, int(rest[3]))
    raise ProtocolError(f"unknown booth topic: {topic[:80]!r}")


def parse_central_topic(topic: str) -> CentralTopic:
    """``central/v1/B/ack`` or ``central/v1/B/command/<id>`` -> (booth, kind, command_id|None)."""
    booth, rest = _split_topic(topic, "central")
    if rest == ["ack"]:
        return CentralTopic(booth, "ack", None)
    if len(rest) == 2 and rest[0] == "command":
        if not _TOKEN_RE.match(rest[1]):
            raise ProtocolError(f"bad command id {rest[1][:40]!r}")
        return CentralTopic(booth, "command", rest[1])
    raise ProtocolError(f"unknown central topic: {topic[:80]!r}")


# ----------------------------------------------------------------------------------- encode/decode


def encode(model: _Payload) -> bytes:
    """The UTF-8 JSON bytes of a payload model (aliases such as ``class`` applied)."""
    return json.dumps(model.model_dump(mode="json", by_alias=True), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def validation_reason(error: ValidationError) -> str:
    """One line naming the first bad field, e.g. ``college: must not contain path separators``."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


def decode_chunk(payload: bytes, init: PhotoInit | None = None, index: int | None = None) -> bytes:
    """Check a raw chunk's length (exactly, when the init and index are known)."""
    if not payload:
        raise ProtocolError("empty chunk")
    if len(payload) > CHUNK_SIZE:
        raise ProtocolError(f"chunk of {len(payload)} bytes exceeds {CHUNK_SIZE}")
    if init is not None and index is not None:
        expected = init.chunk_length(index)
        if len(payload) != expected:
            raise ProtocolError(f"chunk {index} has {len(payload)} bytes, expected {expected}")
    return bytes(payload)


def decode(kind: str, payload: bytes) -> Any:  # Any: the model's class follows ``kind``; callers know it
    """Parse and validate a payload of ``kind`` (a topic kind); ProtocolError if it is malformed.

    ``photo_chunk`` returns the raw bytes (length-checked); every other kind returns its model.
    """
    if kind == "photo_chunk":
        return decode_chunk(payload)
    model = PAYLOAD_MODELS.get(kind)
    if model is None:
        raise ProtocolError(f"unknown payload kind {kind[:40]!r}")
    limit = MAX_COMMAND_BYTES if kind == "command" else MAX_JSON_BYTES
    if len(payload) > limit:
        raise ProtocolError(f"{kind} payload of {len(payload)} bytes exceeds {limit}")
    try:
        data = json.loads(bytes(payload).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"{kind} payload is not UTF-8 JSON: {type(error).__name__}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{kind} payload is not a JSON object")
    if data.get("v") != VERSION:
        raise ProtocolError(f"{kind} payload has unsupported version {str(data.get('v'))[:10]!r}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ProtocolError(f"{kind}: {validation_reason(error)}") from None


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON schema per payload kind, as written to docs/schemas/<kind>.json."""
    schemas: dict[str, dict[str, Any]] = {}
    for kind, model in PAYLOAD_MODELS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema["$id"] = f"https://diploma-booth.invalid/schemas/v1/{kind}.json"
        schemas[kind] = schema
    for name, data_models in (("event", EVENT_DATA), ("command", COMMAND_DATA)):
        for sub_kind, data_model in data_models.items():
            schema = data_model.model_json_schema(by_alias=True, mode="validation")
            schema["$id"] = f"https://diploma-booth.invalid/schemas/v1/{name}.{sub_kind}.json"
            schemas[f"{name}.{sub_kind}"] = schema
    return schemas
