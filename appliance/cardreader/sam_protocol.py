"""The GA/T 467 SAM frame protocol: building requests, parsing replies, naming every status.

Request:  ``AA AA AA 96 69 | LEN(2, big-endian) | CMD PARA [data] | CHK``
Response: ``AA AA AA 96 69 | LEN | SW1 SW2 SW3 [data] | CHK``
LEN counts from CMD/SW1 through CHK; CHK is the XOR of the LEN bytes through the last data byte.

Everything here is pure (no I/O) so the parser can be fuzzed; every failure is a ``ReaderError``
subclass with a zh/en message, never another exception.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import reduce

from appliance.cardreader.base import CardReadError, ReaderError
from boothcore.text import Text

# Baud rates SAM readers are known to use; 115200 first because nearly all do.
SAM_BAUD_RATES = (115200, 57600, 38400, 19200, 9600)
PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
TEXT_SIZE = 256
PHOTO_SIZE = 1024
FINGERPRINT_MAX = 1024
MIN_LEN = 4  # SW1 SW2 SW3 CHK
# The largest legal reply: status, three length words, text, photo and fingerprint, checksum.
MAX_LEN = 3 + 6 + TEXT_SIZE + PHOTO_SIZE + FINGERPRINT_MAX + 1


class Command(enum.Enum):
    RESET = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)
    READ_TEXT_PHOTO_FINGERPRINT = (0x30, 0x10)


# --- errors -------------------------------------------------------------------------------------

class ProtocolError(ReaderError):
    """The bytes on the wire are not a well-formed frame (noise, a cut cable, a wrong baud rate)."""

    code = "sam_protocol"


class FrameChecksumError(ProtocolError):
    code = "sam_frame_checksum"


class FrameLengthError(ProtocolError):
    code = "sam_frame_length"


class TruncatedFrame(ProtocolError):
    code = "sam_frame_truncated"


class SamStatusError(ReaderError):
    """The SAM answered with a status other than success; ``sw3`` is the raw status byte."""

    code = "sam_status"

    def __init__(self, sw3: int, en: str, zh: str, code: str) -> None:
        super().__init__(en, zh, code)
        self.sw3 = sw3


class SamRequestError(SamStatusError):
    """The SAM did not accept our request (checksum, length, command): a line or firmware problem."""


class SamFault(SamStatusError):
    """The security module itself is unusable (self-test, authorisation): the reader needs service."""


class CardStatusError(SamStatusError, CardReadError):
    """About the card on the reader: the student places it again, or uses another card."""


class CardNotFound(CardStatusError):
    pass


class CardSelectFailed(CardStatusError):
    pass


class CardReadFailed(CardStatusError):
    pass


class CardAuthenticationFailed(CardStatusError):
    pass


@dataclass(frozen=True)
class Status:
    name: str
    en: str
    zh: str
    error: type[SamStatusError] | None  # None: success


SW3_OK, SW3_NO_CONTENT, SW3_CARD_FOUND = 0x90, 0x91, 0x9F
SW3_FIND_FAILED, SW3_SELECT_FAILED, SW3_READ_FAILED = 0x80, 0x81, 0x41

STATUSES: dict[int, Status] = {
    0x90: Status("ok", "operation succeeded", "操作成功", None),
    0x91: Status("no_content", "the card holds no such content", "证件中无此项内容", None),
    0x9F: Status("card_found", "card found", "找到证件", None),
    0x10: Status("checksum", "the SAM received a frame with a bad checksum", "读卡模块收到的数据校验和错误",
                 SamRequestError),
    0x11: Status("length", "the SAM received a frame with a bad length", "读卡模块收到的数据长度错误",
                 SamRequestError),
    0x21: Status("bad_command", "the SAM does not know this command", "读卡模块不支持该命令",
                 SamRequestError),
    0x23: Status("not_authorised", "the operation is not authorised", "越权操作", SamFault),
    0x24: Status("unrecognised", "the SAM reported an unrecognised error", "读卡模块发生无法识别的错误",
                 SamFault),
    0x31: Status("card_auth_sam", "the card failed to authenticate the SAM", "证件认证读卡模块失败",
                 CardAuthenticationFailed),
    0x32: Status("sam_auth_card", "the SAM failed to authenticate the card", "读卡模块认证证件失败",
                 CardAuthenticationFailed),
    0x33: Status("verify_failed", "information verification failed", "信息验证错误",
                 CardAuthenticationFailed),
    0x37: Status("fingerprint", "fingerprint data error", "指纹信息验证错误", CardReadFailed),
    0x3F: Status("info_length", "information length error", "信息长度错误", SamRequestError),
    0x40: Status("unknown_card", "unknown card type", "无法识别的卡类型", CardStatusError),
    0x41: Status("read_failed", "reading the card failed", "读证件操作失败", CardReadFailed),
    0x47: Status("no_random", "no random number was obtained", "取随机数失败", CardReadFailed),
    0x60: Status("sam_self_test", "the SAM failed its self-test", "读卡模块自检失败", SamFault),
    0x66: Status("sam_not_authorised", "the SAM is not authorised", "读卡模块未经授权", SamFault),
    0x80: Status("find_failed", "no card found", "未找到证件", CardNotFound),
    0x81: Status("select_failed", "selecting the card failed", "选取证件失败", CardSelectFailed),
}

ADVICE = {SamRequestError: Text("请检查读卡器连线", "check the reader cable"),
          SamFault: Text("读卡器需要维修", "the reader needs service"),
          CardStatusError: Text("请重新放置证件", "place the card again")}


def status_error(sw3: int) -> SamStatusError:
    """The typed error for a failing SW3 (an unknown status is a SamFault naming its byte)."""
    status = STATUSES.get(sw3)
    if status is None or status.error is None:
        return SamFault(sw3, f"card reader: unknown status 0x{sw3:02X}; the reader needs service",
                        f"读卡器返回未知状态0x{sw3:02X},读卡器需要维修", f"sam_status_{sw3:02x}")
    family = next(base for base in (CardStatusError, SamRequestError, SamFault) if issubclass(status.error, base))
    advice = ADVICE[family]
    return status.error(sw3, f"card reader: {status.en} (0x{sw3:02X}); {advice.en}",
                        f"读卡器:{status.zh}(0x{sw3:02X}),{advice.zh}", f"sam_{status.name}")


# --- frames -------------------------------------------------------------------------------------

def checksum(body: bytes) -> int:
    return reduce(lambda acc, byte: acc ^ byte, body, 0)


def _frame(payload: bytes) -> bytes:
    length = (len(payload) + 1).to_bytes(2, "big")
    return PREAMBLE + length + payload + bytes([checksum(length + payload)])


def build_request(command: Command, data: bytes = b"") -> bytes:
    return _frame(bytes(command.value) + data)


def build_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reply frame as a SAM sends it (for emulators and tests)."""
    return _frame(bytes([sw1, sw2, sw3]) + data)


@dataclass(frozen=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @property
    def ok(self) -> bool:
        return STATUSES.get(self.sw3, Status("", "", "", SamFault)).error is None

    def raise_for_status(self) -> Response:
        if not self.ok:
            raise status_error(self.sw3)
        return self


def _body_error(kind: type[ProtocolError], en: str, zh: str) -> ProtocolError:
    return kind(f"card reader link: {en}", f"读卡器通讯错误:{zh}")


def _parse_body(length_bytes: bytes, body: bytes) -> Response:
    """``body`` is SW1..CHK (LEN bytes)."""
    expected = checksum(length_bytes + body[:-1])
    if body[-1] != expected:
        raise _body_error(FrameChecksumError, f"checksum 0x{body[-1]:02X}, expected 0x{expected:02X}",
                          "校验和不符")
    return Response(body[0], body[1], body[2], bytes(body[3:-1]))


def _check_length(length: int) -> None:
    if not MIN_LEN <= length <= MAX_LEN:
        raise _body_error(FrameLengthError, f"frame length {length} outside {MIN_LEN}..{MAX_LEN}",
                          f"帧长度{length}无效")


def parse_response(frame: bytes) -> Response:
    """Parse exactly one complete reply frame."""
    if not frame.startswith(PREAMBLE):
        raise _body_error(ProtocolError, "frame does not start with the preamble AA AA AA 96 69", "帧头错误")
    if len(frame) < len(PREAMBLE) + 2:
        raise _body_error(TruncatedFrame, f"frame of {len(frame)} bytes is cut short", "数据帧不完整")
    length = int.from_bytes(frame[5:7], "big")
    _check_length(length)
    body = frame[7:]
    if len(body) < length:
        raise _body_error(TruncatedFrame, f"frame has {len(body)} of {length} bytes", "数据帧不完整")
    if len(body) > length:
        raise _body_error(FrameLengthError, f"{len(body) - length} bytes after the frame", "帧尾有多余数据")
    return _parse_body(frame[5:7], body)


class FrameDecoder:
    """Finds reply frames in a byte stream: skips noise before a preamble, keeps partial frames.

    A corrupt frame (bad length or checksum) raises once and is dropped, so decoding resumes at
    the next preamble instead of stalling on the same bytes.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0  # bytes of noise discarded (diagnostics)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def pending(self) -> int:
        """Bytes held that belong to a frame not yet complete."""
        return len(self._buffer)

    def clear(self) -> None:
        self._buffer.clear()

    def next_frame(self) -> Response | None:
        start = self._buffer.find(PREAMBLE)
        if start < 0:
            keep = next((n for n in range(len(PREAMBLE) - 1, 0, -1)
                         if self._buffer.endswith(PREAMBLE[:n])), 0)
            self.skipped += len(self._buffer) - keep
            del self._buffer[:len(self._buffer) - keep]
            return None
        if start:
            self.skipped += start
            del self._buffer[:start]
        if len(self._buffer) < len(PREAMBLE) + 2:
            return None
        length = int.from_bytes(self._buffer[5:7], "big")
        try:
            _check_length(length)
        except FrameLengthError:
            del self._buffer[:1]
            raise
        end = len(PREAMBLE) + 2 + length
        if len(self._buffer) < end:
            return None
        frame = bytes(self._buffer[:end])
        try:
            response = _parse_body(frame[5:7], frame[7:])
        except FrameChecksumError:
            del self._buffer[:1]  # resynchronise on the next preamble
            raise
        del self._buffer[:end]
        return response


@dataclass(frozen=True)
class CardRecord:
    text: bytes
    photo: bytes
    fingerprint: bytes | None


def parse_read_data(data: bytes, with_fingerprint: bool = False) -> CardRecord:
    """Split a read reply's data into text, photo (and fingerprint) by its length words."""
    words = 3 if with_fingerprint else 2
    if len(data) < 2 * words:
        raise _body_error(FrameLengthError, f"read reply of {len(data)} bytes has no length words",
                          "读卡应答缺少长度字段")
    sizes = [int.from_bytes(data[2 * i:2 * i + 2], "big") for i in range(words)]
    limits = (TEXT_SIZE, PHOTO_SIZE, FINGERPRINT_MAX)[:words]
    if sizes[0] != TEXT_SIZE or any(size > limit for size, limit in zip(sizes, limits, strict=True)):
        raise _body_error(FrameLengthError, f"read reply announces sizes {sizes}", "读卡应答长度字段无效")
    if len(data) != 2 * words + sum(sizes):
        raise _body_error(FrameLengthError, f"read reply carries {len(data) - 2 * words} bytes, "
                          f"announced {sum(sizes)}", "读卡应答长度不符")
    offset = 2 * words
    text = data[offset:offset + sizes[0]]
    photo = data[offset + sizes[0]:offset + sizes[0] + sizes[1]]
    fingerprint = data[offset + sizes[0] + sizes[1]:] if with_fingerprint else None
    return CardRecord(bytes(text), bytes(photo), bytes(fingerprint) if fingerprint is not None else None)


def build_read_data(text: bytes, photo: bytes, fingerprint: bytes | None = None) -> bytes:
    """The data of a read reply (for emulators): length words, then the blocks."""
    blocks = [text, photo] + ([fingerprint] if fingerprint is not None else [])
    return b"".join(len(b).to_bytes(2, "big") for b in blocks) + b"".join(blocks)
