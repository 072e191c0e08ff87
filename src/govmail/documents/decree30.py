"""Nghị định 30/2020/NĐ-CP (công tác văn thư): the administrative document types and their
abbreviations, confidentiality and urgency levels, number and symbol, place and date.

Pure data and pure functions: no I/O.

* The 29 types of Điều 7, in the decree's order, with the abbreviations of Phụ lục III.
  ``DocumentType.number`` is the position in that list; it is also the edXML
  ``DocumentType/Type`` code (see docs/documents.md: the public samples send 18 for Công
  văn, item 18 of the list). Parsing accepts the older Thông tư 01/2011/TT-BNV forms (GN,
  TTh, NP); only the new ones are written.
* Công văn (18) and Thư công (29) have no abbreviation: a Công văn's ký hiệu is the agency
  abbreviation followed by the drafting unit's ("588/BTTTT-THH").
* Confidentiality (độ mật) and urgency (mức độ khẩn) keep the decree's spellings; input is
  matched without diacritics and case, so "Hoả tốc", "HỎA TỐC" and "hoa toc" are one level.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final

from govmail.mail.textfold import fold, normalize_tone_placement

__all__ = [
    "CONFIDENTIALITY",
    "CONG_VAN",
    "COPY_TYPES",
    "DOCUMENT_TYPES",
    "URGENCY",
    "DocumentType",
    "Level",
    "Symbol",
    "SymbolError",
    "confidentiality",
    "document_id",
    "format_number",
    "format_place_date",
    "format_symbol",
    "lookup_type",
    "parse_symbol",
    "type_by_abbreviation",
    "type_by_name",
    "type_by_number",
    "type_of_symbol",
    "urgency",
]


@dataclass(frozen=True, slots=True)
class DocumentType:
    number: int  # position in Điều 7 (1-29); the edXML DocumentType/Type code
    name: str  # tên loại, e.g. "Báo cáo"
    abbreviation: str  # Phụ lục III, "" for Công văn and Thư công
    old_abbreviations: tuple[str, ...] = ()  # Thông tư 01/2011/TT-BNV forms, read only


DOCUMENT_TYPES: Final[tuple[DocumentType, ...]] = (
    DocumentType(1, "Nghị quyết", "NQ"),
    DocumentType(2, "Quyết định", "QĐ"),
    DocumentType(3, "Chỉ thị", "CT"),
    DocumentType(4, "Quy chế", "QC"),
    DocumentType(5, "Quy định", "QyĐ"),
    DocumentType(6, "Thông cáo", "TC"),
    DocumentType(7, "Thông báo", "TB"),
    DocumentType(8, "Hướng dẫn", "HD"),
    DocumentType(9, "Chương trình", "CTr"),
    DocumentType(10, "Kế hoạch", "KH"),
    DocumentType(11, "Phương án", "PA"),
    DocumentType(12, "Đề án", "ĐA"),
    DocumentType(13, "Dự án", "DA"),
    DocumentType(14, "Báo cáo", "BC"),
    DocumentType(15, "Biên bản", "BB"),
    DocumentType(16, "Tờ trình", "TTr"),
    DocumentType(17, "Hợp đồng", "HĐ"),
    DocumentType(18, "Công văn", ""),
    DocumentType(19, "Công điện", "CĐ"),
    DocumentType(20, "Bản ghi nhớ", "BGN", ("GN",)),
    DocumentType(21, "Bản thỏa thuận", "BTT", ("TTh",)),
    DocumentType(22, "Giấy ủy quyền", "GUQ"),
    DocumentType(23, "Giấy mời", "GM"),
    DocumentType(24, "Giấy giới thiệu", "GGT"),
    DocumentType(25, "Giấy nghỉ phép", "GNP", ("NP",)),
    DocumentType(26, "Phiếu gửi", "PG"),
    DocumentType(27, "Phiếu chuyển", "PC"),
    DocumentType(28, "Phiếu báo", "PB"),
    DocumentType(29, "Thư công", ""),
)
CONG_VAN: Final = DOCUMENT_TYPES[17]
# Bản sao (Phụ lục III): sao y, trích sao, sao lục.
COPY_TYPES: Final[dict[str, str]] = {"SY": "Bản sao y", "TrS": "Bản trích sao", "SL": "Bản sao lục"}

_BY_NUMBER = {t.number: t for t in DOCUMENT_TYPES}
# Abbreviations compare case-insensitively, but Đ stays apart from D (HĐ ≠ HD, ĐA ≠ DA):
# str.casefold keeps đ distinct from d.
_BY_ABBR: dict[str, DocumentType] = {}
for _t in DOCUMENT_TYPES:
    for _a in (_t.abbreviation, *_t.old_abbreviations):
        if _a:
            _BY_ABBR[unicodedata.normalize("NFC", _a).casefold()] = _t
_BY_NAME = {fold(t.name): t for t in DOCUMENT_TYPES}
_BY_NAME.update({"nghi quyet ca biet": _BY_NUMBER[1], "quyet dinh ca biet": _BY_NUMBER[2]})


def type_by_number(number: int) -> DocumentType | None:
    return _BY_NUMBER.get(number)


def type_by_abbreviation(abbr: str) -> DocumentType | None:
    """The type an abbreviation stands for ("BC", "QyĐ", the old "TTh"), or None."""
    return _BY_ABBR.get(unicodedata.normalize("NFC", abbr.strip()).casefold())


def type_by_name(name: str) -> DocumentType | None:
    """The type a written name designates ("Báo cáo", "BÁO CÁO", "Bản thoả thuận")."""
    key = fold(normalize_tone_placement(name))
    key = re.sub(r"\s*\(.*?\)\s*", " ", key).strip()
    return _BY_NAME.get(key)


def lookup_type(value: str | int) -> DocumentType | None:
    """A type from its number, abbreviation or name (what a user or a form gives)."""
    if isinstance(value, int):
        return type_by_number(value)
    text = value.strip()
    if text.isdigit():
        return type_by_number(int(text))
    if fold(text) in ("cv", "cong van"):
        return CONG_VAN
    return type_by_abbreviation(text) or type_by_name(text)


# --------------------------------------------------------------------------- levels


@dataclass(frozen=True, slots=True)
class Level:
    key: str  # stored value, ASCII
    name: str  # the decree's spelling
    stamp: str  # as stamped on paper (uppercase)
    priority: int  # edXML OtherInfo/Priority for urgency; rank for confidentiality


CONFIDENTIALITY: Final[tuple[Level, ...]] = (
    Level("mat", "Mật", "MẬT", 1),
    Level("toi_mat", "Tối mật", "TỐI MẬT", 2),
    Level("tuyet_mat", "Tuyệt mật", "TUYỆT MẬT", 3),
)
# edXML Priority: 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ.
URGENCY: Final[tuple[Level, ...]] = (
    Level("thuong", "Thường", "", 0),
    Level("khan", "Khẩn", "KHẨN", 1),
    Level("thuong_khan", "Thượng khẩn", "THƯỢNG KHẨN", 2),
    Level("hoa_toc", "Hỏa tốc", "HỎA TỐC", 3),
    Level("hoa_toc_hen_gio", "Hỏa tốc hẹn giờ", "HỎA TỐC HẸN GIỜ", 4),
)


def _level(levels: tuple[Level, ...], value: str | int | None) -> Level | None:
    if value is None:
        return None
    if isinstance(value, int):
        return next((lv for lv in levels if lv.priority == value), None)
    text = value.strip()
    if not text:
        return None
    key = fold(text).replace("_", " ")
    for lv in levels:
        if key in (fold(lv.name), lv.key.replace("_", " ")):
            return lv
    return None


def confidentiality(value: str | int | None) -> Level | None:
    """The confidentiality level of "Mật", "TỐI MẬT", "tuyet_mat"…; None for none/unknown."""
    if isinstance(value, str) and fold(value) in ("", "thuong", "khong", "none"):
        return None
    return _level(CONFIDENTIALITY, value)


def urgency(value: str | int | None) -> Level | None:
    """The urgency level of "Khẩn", "Hoả tốc", "HỎA TỐC", 3…; None for unknown."""
    if isinstance(value, str) and fold(value) in ("", "none", "binh thuong"):
        return URGENCY[0]
    return _level(URGENCY, value)


# --------------------------------------------------------------------------- number, symbol

_SYMBOL_RE = re.compile(
    r"^\s*(?:s[ốo]\s*:?\s*)?(?P<number>\d{1,11})\s*/\s*(?:(?P<year>\d{4})\s*/\s*)?"
    r"(?P<notation>[^\s/]+(?:\s*-\s*[^\s/-]+)*)\s*$",
    re.IGNORECASE,
)
_NOTATION_GROUP_RE = re.compile(r"^[0-9A-Za-zĐđƯưƠơÂâĂăÊêÔô&.()]+$")


class SymbolError(ValueError):
    """A number and symbol that cannot be read ("22/BC-BTTTT" is the form)."""


@dataclass(frozen=True, slots=True)
class Symbol:
    number: str  # CodeNumber as written ("22", "05")
    notation: str  # CodeNotation ("BC-BTTTT", "2008/CT-TTg" for a legal document)

    @property
    def text(self) -> str:
        return f"{self.number}/{self.notation}"


def format_number(n: int) -> str:
    """The số of a document: Arabic digits, with a leading zero below 10 (Phụ lục I)."""
    if n < 1:
        raise ValueError("document numbers start at 1")
    return f"{n:02d}"


def format_symbol(
    number: int | str, doc_type: DocumentType, agency_symbol: str, unit_symbol: str = ""
) -> Symbol:
    """Số, ký hiệu of a new document: "22/BC-BTTTT", Công văn "588/BTTTT-THH"."""
    num = format_number(number) if isinstance(number, int) else number
    agency_symbol = unicodedata.normalize("NFC", agency_symbol.strip())
    unit_symbol = unicodedata.normalize("NFC", unit_symbol.strip())
    if not agency_symbol:
        raise SymbolError("ký hiệu cơ quan trống / empty agency symbol")
    if doc_type.abbreviation:
        parts = [doc_type.abbreviation, agency_symbol]
        if unit_symbol:
            parts.append(unit_symbol)
    else:
        parts = [agency_symbol] + ([unit_symbol] if unit_symbol else [])
    notation = "-".join(parts)
    if len(notation) > 30:
        raise SymbolError(f"ký hiệu quá 30 ký tự / notation longer than 30: {notation}")
    return Symbol(num, notation)


def parse_symbol(text: str) -> Symbol:
    """Read "Số: 22/BC-BTTTT", "588/BTTTT-THH", "34/2008/CT-TTg" into number and notation."""
    t = unicodedata.normalize("NFC", text).replace("\u2013", "-").replace("\u2011", "-")
    m = _SYMBOL_RE.match(t)
    if m is None:
        raise SymbolError(f"không đọc được số, ký hiệu / cannot read number and symbol: {text!r}")
    notation = re.sub(r"\s*-\s*", "-", m.group("notation"))
    if not all(_NOTATION_GROUP_RE.match(g) for g in notation.split("-")) or len(notation) > 30:
        raise SymbolError(f"ký hiệu không hợp lệ / malformed notation: {notation!r}")
    if m.group("year"):
        notation = f"{m.group('year')}/{notation}"
    return Symbol(m.group("number"), notation)


def type_of_symbol(symbol: Symbol) -> DocumentType:
    """The type a ký hiệu names: its first group when that is a type abbreviation, else
    Công văn (whose ký hiệu starts with the agency's abbreviation)."""
    first = symbol.notation.rsplit("/", 1)[-1].split("-", 1)[0]
    return type_by_abbreviation(first) or CONG_VAN


def document_id(organ_id: str, issued: date, symbol: Symbol) -> str:
    """The edXML DocumentId: ``OrganId,yyyy/MM/dd,Number/Notation``."""
    return f"{organ_id},{issued:%Y/%m/%d},{symbol.number}/{symbol.notation}"


def format_place_date(place: str, day: date) -> str:
    """ "Hà Nội, ngày 05 tháng 3 năm 2020": days below 10 and months 1-2 with a leading 0."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    text = f"ngày {day.day:02d} tháng {month} năm {day.year}"
    return f"{place.strip()}, {text}" if place.strip() else text
