"""The 256-byte text block a SAM returns: UCS-2 little-endian fields, space padded.

Bytes 248-249 name the card kind: blank for the resident ID card, ``J`` for the Hong Kong/Macau/
Taiwan residence permit, ``I`` for the foreigner's permanent residence card (2017) and ``Y`` for
the 2023 one. The resident layout is GA/T 467's; the J layout adds the pass number and the issue
count; the I and Y layouts follow the vendor SDK documentation and should be checked against a
real card when one is at hand. ``encode`` is the exact inverse of ``decode`` (the emulators use it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.cardreader.base import CardReadError, IdentityCard
from boothcore.cardkind import CardKind

TEXT_BLOCK_SIZE = 256
LONG_TERM = "长期"

GENDERS = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
GENDER_CODES = {name: code for code, name in GENDERS.items()}

# GB/T 3304 ethnic group codes as printed on the card (民族).
ETHNIC_GROUPS = dict(enumerate((
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
    "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
    "鄂伦春", "赫哲", "门巴", "珞巴", "基诺"), start=1))
ETHNIC_GROUPS |= {97: "其他", 98: "外国血统中国籍人士"}
ETHNIC_CODES = {name: code for code, name in ETHNIC_GROUPS.items()}


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    size: int  # bytes; characters = size // 2


def _layout(*fields: tuple[str, int, int]) -> tuple[Field, ...]:
    return tuple(Field(*f) for f in fields)


_RESIDENT = _layout(("name", 0, 30), ("gender", 30, 2), ("nationality", 32, 4), ("birth_date", 36, 16),
                    ("address", 52, 70), ("id_number", 122, 36), ("authority", 158, 30),
                    ("valid_from", 188, 16), ("valid_to", 204, 16))
LAYOUTS: dict[CardKind, tuple[Field, ...]] = {
    CardKind.RESIDENT: _RESIDENT,
    CardKind.HMT_PERMIT: (*_RESIDENT, *_layout(("pass_number", 220, 18), ("issue_count", 238, 4))),
    CardKind.FOREIGN_2017: _layout(
        ("name_en", 0, 120), ("gender", 120, 2), ("id_number", 122, 30), ("nationality", 152, 6),
        ("name", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth_date", 220, 16),
        ("card_version", 236, 4), ("authority", 240, 8)),
    CardKind.FOREIGN_2023: _layout(
        ("name", 0, 30), ("gender", 30, 2), ("issue_count", 32, 4), ("birth_date", 36, 16),
        ("name_en", 52, 70), ("id_number", 122, 36), ("name_en_more", 158, 30), ("valid_from", 188, 16),
        ("valid_to", 204, 16), ("nationality", 220, 6)),
}
KIND_MARKERS = {CardKind.HMT_PERMIT: "J", CardKind.FOREIGN_2017: "I", CardKind.FOREIGN_2023: "Y"}
_MARKER_KINDS = {marker: kind for kind, marker in KIND_MARKERS.items()} | {" ": CardKind.RESIDENT,
                                                                          "\0": CardKind.RESIDENT}
_MARKER_OFFSET = 248


class TextBlockError(CardReadError):
    """The text block is not a well-formed card record (corrupt read or an unknown card)."""

    code = "text_block"


def _error(en: str, zh: str) -> TextBlockError:
    return TextBlockError(f"card data unreadable: {en}", f"证件信息无法识别:{zh}")


def _text(block: bytes, field: Field) -> str:
    raw = block[field.offset:field.offset + field.size]
    try:
        text = raw.decode("utf-16-le")
    except UnicodeDecodeError:
        raise _error(f"{field.name} is not valid UCS-2", f"{field.name}编码错误") from None
    return text.replace("\0", " ").strip()


def _date(value: str, field: str) -> dt.date:
    if len(value) != 8 or not value.isdigit():
        raise _error(f"{field} '{value}' is not a YYYYMMDD date", f"{field}日期格式错误")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _error(f"{field} {value} is not a real date", f"{field}日期无效") from None


def card_kind(block: bytes) -> CardKind:
    """Which card the block describes, from its marker at bytes 248-249."""
    if len(block) != TEXT_BLOCK_SIZE:
        raise _error(f"text block has {len(block)} bytes, expected {TEXT_BLOCK_SIZE}",
                     f"文字信息长度为{len(block)}字节,应为{TEXT_BLOCK_SIZE}")
    marker = _text_raw(block[_MARKER_OFFSET:_MARKER_OFFSET + 2])
    kind = _MARKER_KINDS.get(marker)
    if kind is None:
        raise _error(f"unknown card type marker {block[248:250].hex()}", "未知证件类型")
    return kind


def _text_raw(raw: bytes) -> str:
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError:
        return "?"


def decode(block: bytes, photo: bytes | None = None) -> IdentityCard:
    """The card described by ``block``; raises TextBlockError (a ReaderError) if it is malformed."""
    kind = card_kind(block)
    values = {field.name: _text(block, field) for field in LAYOUTS[kind]}
    id_number = values["id_number"]
    if not id_number:
        raise _error("the ID number is empty", "证件号码为空")
    if not values.get("name") and not values.get("name_en"):
        raise _error("the name is empty", "姓名为空")
    gender = GENDERS.get(values["gender"])
    if gender is None:
        raise _error(f"gender code '{values['gender']}' is unknown", "性别代码无效")
    nationality = values.get("nationality") or None
    if kind in (CardKind.RESIDENT, CardKind.HMT_PERMIT) and nationality is not None:
        if not (nationality.isascii() and nationality.isdigit()) or int(nationality) not in ETHNIC_GROUPS:
            raise _error(f"nationality code '{nationality}' is unknown", "民族代码无效")
        nationality = ETHNIC_GROUPS[int(nationality)]
    valid_to_text = values["valid_to"]
    long_term = valid_to_text == LONG_TERM
    issue_count = values.get("issue_count") or None
    if issue_count is not None and not (issue_count.isascii() and issue_count.isdigit()):
        raise _error(f"issue count '{issue_count}' is not a number", "签发次数无效")
    name_en = values.get("name_en") or None
    if values.get("name_en_more"):  # Y: the English name runs on in a second field
        layout = {field.name: field for field in LAYOUTS[kind]}
        name_en = (block[layout["name_en"].offset:layout["name_en"].offset + layout["name_en"].size]
                   .decode("utf-16-le") + values["name_en_more"]).strip()
    return IdentityCard(
        kind=kind,
        id_number=id_number,
        name=values.get("name") or name_en,
        gender=gender,
        nationality=nationality,
        birth_date=_date(values["birth_date"], "birth_date"),
        address=values.get("address") or None,
        authority=values.get("authority") or None,
        valid_from=_date(values["valid_from"], "valid_from"),
        valid_to=None if long_term else _date(valid_to_text, "valid_to"),
        long_term=long_term,
        photo=photo,
        name_en=name_en,
        pass_number=values.get("pass_number") or None,
        issue_count=int(issue_count) if issue_count is not None else None,
    )


def _put(block: bytearray, field: Field, value: str) -> None:
    raw = value.encode("utf-16-le")
    if len(raw) > field.size:
        raise ValueError(f"{field.name} '{value}' does not fit in {field.size // 2} characters")
    block[field.offset:field.offset + field.size] = raw + " ".encode("utf-16-le") * ((field.size - len(raw)) // 2)


def encode(card: IdentityCard) -> bytes:
    """The text block a SAM would return for ``card`` (for emulators and virtual cards)."""
    if card.kind not in LAYOUTS:
        raise ValueError(f"{card.kind} cards carry no SAM text block")
    block = bytearray(" ".encode("utf-16-le") * (TEXT_BLOCK_SIZE // 2))
    nationality = card.nationality or ""
    if card.kind in (CardKind.RESIDENT, CardKind.HMT_PERMIT) and nationality:
        nationality = f"{ETHNIC_CODES[nationality]:02d}"
    name_en = card.name_en or ""
    values = {
        "name": card.name if card.kind != CardKind.FOREIGN_2017 or card.name != card.name_en else "",
        "name_en": name_en, "gender": GENDER_CODES.get(card.gender or "", "0"),
        "nationality": nationality, "birth_date": f"{card.birth_date:%Y%m%d}" if card.birth_date else "",
        "address": card.address or "", "id_number": card.id_number, "authority": card.authority or "",
        "valid_from": f"{card.valid_from:%Y%m%d}" if card.valid_from else "",
        "valid_to": LONG_TERM if card.long_term else (f"{card.valid_to:%Y%m%d}" if card.valid_to else ""),
        "pass_number": card.pass_number or "",
        "issue_count": f"{card.issue_count:02d}" if card.issue_count is not None else "",
        "card_version": "", "name_en_more": "",
    }
    layout = LAYOUTS[card.kind]
    if card.kind == CardKind.FOREIGN_2023 and len(name_en) > 35:
        values["name_en"], values["name_en_more"] = name_en[:35], name_en[35:]
    for field in layout:
        _put(block, field, values[field.name] or "")
    if card.kind in KIND_MARKERS:
        block[_MARKER_OFFSET:_MARKER_OFFSET + 2] = KIND_MARKERS[card.kind].encode("utf-16-le")
    return bytes(block)
