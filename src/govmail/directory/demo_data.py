"""The demo organisation: ministries, the 63 provinces, their units and staff name pools.

Pure data plus small pure helpers: no I/O, no store. The directory layer loads
``iter_demo_agencies()`` in one pass (parents come before their children) and calls
``demo_staff()`` to fill each agency with people.

The agency list follows the appendix of Báo cáo 22/BC-BTTTT (2011): the 27 bodies of
Bảng 1–3, Văn phòng Chính phủ and Bộ Công an, and the 63 provinces and centrally-run
cities that existed before the 2025 mergers.

Agency codes use the QCVN 102:2016 form ``V1V2V3.Z1Z2.Y1Y2.MXX``, read right to left:
``MXX`` is level 1 (G = ministries and government agencies, H = provinces), ``Y1Y2`` is
level 2, ``Z1Z2`` level 3, ``V1V2V3`` level 4; unused levels are zero
(000.00.00.G12 = Bộ Tài chính, 000.00.18.G12 = Tổng cục Thuế). Units of the demo are level 2:
``000.00.NN.<level 1>``. ``code_is_demo`` is True for every code not backed by the project's
reference notes on Vietnamese e-government standards (§6, mã định danh).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

from govmail.directory.names import ascii_fold

AgencyKind = Literal["ministry", "government_agency", "province", "department", "district", "unit"]
Gender = Literal["male", "female"]

AGENCY_CODE_RE = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})$")
_DOMAIN_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_STAFF_PER_AGENCY = 9999


class DemoDataError(ValueError):
    """Bad input to a demo-data helper (unknown agency code, impossible count…)."""


class UnknownAgencyCodeError(DemoDataError, LookupError):
    """The code names no agency of the demo organisation."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"Không có cơ quan mã {code!r} trong dữ liệu mẫu / unknown demo agency")


@dataclass(frozen=True, slots=True)
class AgencySeed:
    """One agency of the demo tree.

    ``short_name`` is unique among siblings (for provinces: "UBND tỉnh Phú Yên");
    ``symbol`` is the agency part of a document symbol ("22/BC-BTTTT", "15/UBND-VP");
    ``abbr`` is ASCII, used to build staff ids; ``domain`` None means the parent's domain;
    ``aliases`` are other spellings met in real documents (including typos of the seed report).
    """

    name: str
    short_name: str
    symbol: str
    kind: AgencyKind
    code: str
    code_is_demo: bool
    domain: str | None
    parent_code: str | None
    role: str | None
    place: str | None
    abbr: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StaffSeed:
    staff_id: str
    full_name: str
    family_name: str
    middle_name: str
    given_name: str
    gender: Gender
    position: str
    agency_code: str


# --------------------------------------------------------------------------- codes


def level1_code(letter: str, number: int) -> str:
    return f"000.00.00.{letter}{number:02d}"


def child_code(parent_code: str, level2: int) -> str:
    """The level-2 code of unit ``level2`` (1–99) under a level-1 agency."""
    m = AGENCY_CODE_RE.match(parent_code)
    if m is None or m.group(1, 2, 3) != ("000", "00", "00"):
        raise DemoDataError(f"Mã cơ quan cấp 1 không hợp lệ / not a level-1 code: {parent_code!r}")
    if not 1 <= level2 <= 99:
        raise DemoDataError(f"Số thứ tự cấp 2 ngoài khoảng 1–99 / level 2 out of range: {level2}")
    return f"000.00.{level2:02d}.{m.group(4)}"


def level2_of(code: str) -> int:
    m = AGENCY_CODE_RE.match(code)
    if m is None:
        raise DemoDataError(f"Mã cơ quan không hợp lệ / malformed agency code: {code!r}")
    return int(m.group(3))


# --------------------------------------------------------------------------- ministries

# (G number, official name, kind, symbol, domain, code_is_demo, aliases)
# G01–G22 come from the reference (§6.2: one public seed list, G14/G12/G22 confirmed);
# G13 for Tài nguyên và Môi trường is only inferred there, so it stays a demo code.
# Bodies the reference does not number get G23 upward, in the order of Bảng 1.
_MINISTRY_ROWS: tuple[tuple[int, str, AgencyKind, str, str, bool, tuple[str, ...]], ...] = (
    (1, "Bộ Công an", "ministry", "BCA", "bocongan.gov.vn", False, ()),
    (2, "Bộ Công Thương", "ministry", "BCT", "moit.gov.vn", False, ()),
    (
        3,
        "Bộ Giáo dục và Đào tạo",
        "ministry",
        "BGDĐT",
        "moet.gov.vn",
        False,
        ("Bộ GD&ĐT", "Bộ GDĐT"),
    ),
    (4, "Bộ Giao thông vận tải", "ministry", "BGTVT", "mt.gov.vn", False, ("Bộ GTVT",)),
    (5, "Bộ Kế hoạch và Đầu tư", "ministry", "BKHĐT", "mpi.gov.vn", False, ("Bộ KH&ĐT",)),
    (6, "Bộ Khoa học và Công nghệ", "ministry", "BKHCN", "most.gov.vn", False, ("Bộ KH&CN",)),
    (
        7,
        "Bộ Lao động, Thương binh và Xã hội",
        "ministry",
        "LĐTBXH",
        "molisa.gov.vn",
        False,
        ("Bộ Lao động - Thương binh và Xã hội", "Bộ LĐ-TB&XH", "Bộ LĐTBXH"),
    ),
    (8, "Bộ Ngoại giao", "ministry", "BNG", "mofa.gov.vn", False, ()),
    (9, "Bộ Nội vụ", "ministry", "BNV", "moha.gov.vn", False, ()),
    (
        10,
        "Bộ Nông nghiệp và Phát triển nông thôn",
        "ministry",
        "BNN",
        "mard.gov.vn",
        False,
        ("Bộ NN&PTNT", "Bộ NNPTNT"),
    ),
    (11, "Bộ Quốc phòng", "ministry", "BQP", "mod.gov.vn", False, ()),
    (12, "Bộ Tài chính", "ministry", "BTC", "mof.gov.vn", False, ()),
    (13, "Bộ Tài nguyên và Môi trường", "ministry", "BTNMT", "monre.gov.vn", True, ("Bộ TN&MT",)),
    (14, "Bộ Thông tin và Truyền thông", "ministry", "BTTTT", "mic.gov.vn", False, ("Bộ TT&TT",)),
    (15, "Bộ Tư pháp", "ministry", "BTP", "moj.gov.vn", False, ()),
    (
        16,
        "Bộ Văn hóa, Thể thao và Du lịch",
        "ministry",
        "BVHTTDL",
        "bvhttdl.gov.vn",
        False,
        ("Bộ VH-TT&DL", "Bộ VHTTDL"),
    ),
    (17, "Bộ Xây dựng", "ministry", "BXD", "moc.gov.vn", False, ()),
    (18, "Bộ Y tế", "ministry", "BYT", "moh.gov.vn", False, ()),
    (
        19,
        "Ngân hàng Nhà nước Việt Nam",
        "ministry",
        "NHNN",
        "sbv.gov.vn",
        False,
        ("Ngân hàng Nhà nước",),
    ),
    (20, "Thanh tra Chính phủ", "ministry", "TTCP", "thanhtra.gov.vn", False, ()),
    (21, "Ủy ban Dân tộc", "ministry", "UBDT", "cema.gov.vn", False, ()),
    (22, "Văn phòng Chính phủ", "ministry", "VPCP", "vpcp.gov.vn", False, ()),
    (
        23,
        "Viện Khoa học và Công nghệ Việt Nam",
        "government_agency",
        "VKHCNVN",
        "vast.gov.vn",
        True,
        ("Viện Hàn lâm Khoa học và Công nghệ Việt Nam",),
    ),
    (
        24,
        "Bảo hiểm xã hội Việt Nam",
        "government_agency",
        "BHXH",
        "vss.gov.vn",
        True,
        ("BHXH Việt Nam",),
    ),
    (25, "Đài Truyền hình Việt Nam", "government_agency", "ĐTHVN", "vtv.gov.vn", True, ("VTV",)),
    (
        26,
        "Học viện Chính trị - Hành chính quốc gia Hồ Chí Minh",
        "government_agency",
        "HVCTHCQG",
        "hcma.gov.vn",
        True,
        ("Học viện Chính trị quốc gia Hồ Chí Minh", "Học viện CT-HC quốc gia Hồ Chí Minh"),
    ),
    (27, "Thông tấn xã Việt Nam", "government_agency", "TTXVN", "vnanet.gov.vn", True, ()),
    (
        28,
        "Ban Quản lý Lăng Chủ tịch Hồ Chí Minh",
        "government_agency",
        "BQLL",
        "bqllang.gov.vn",
        True,
        ("Ban Quản lý Lăng",),
    ),
    # The seed report writes "Viện Khoa học và Xã hội Việt Nam"; the body's name was
    # "Viện Khoa học xã hội Việt Nam" (Viện Hàn lâm … since 2012).
    (
        29,
        "Viện Khoa học xã hội Việt Nam",
        "government_agency",
        "VKHXHVN",
        "vass.gov.vn",
        True,
        ("Viện Khoa học và Xã hội Việt Nam", "Viện Hàn lâm Khoa học xã hội Việt Nam"),
    ),
)


def _ministry(row: tuple[int, str, AgencyKind, str, str, bool, tuple[str, ...]]) -> AgencySeed:
    number, name, kind, symbol, domain, demo, aliases = row
    return AgencySeed(
        name=name,
        short_name=symbol,
        symbol=symbol,
        kind=kind,
        code=level1_code("G", number),
        code_is_demo=demo,
        domain=domain,
        parent_code=None,
        role=None,
        place=None,
        abbr=ascii_fold(symbol).upper(),
        aliases=aliases,
    )


MINISTRIES: tuple[AgencySeed, ...] = tuple(_ministry(r) for r in _MINISTRY_ROWS)

# --------------------------------------------------------------------------- provinces

# H numbers. Known points (reference §6.2): H29 TP Hồ Chí Minh, H37 Lạng Sơn, H41 Nghệ An,
# H49 Quảng Ninh, H57 Thừa Thiên Huế. Sorting the 63 place names folded to ASCII
# (diacritics dropped, Đ -> D, "Thành phố" not part of the name, so "Ho Chi Minh" sorts before
# "Hoa Binh" because " " < "a") reproduces all five; strict Vietnamese collation does not
# (it gives Hòa Bình 29, Hồ Chí Minh 30, Lạng Sơn 36). Two more public samples agree with the
# ASCII order: H14 Cao Bằng (VNPT edXML SDK sample) and H19 Đồng Nai (a dichvucong link), which
# also rules out Cao Bằng H13. Where the two collations differ the ASCII one is followed:
# Bắc Giang, Bắc Kạn before Bạc Liêu; Bình Định before Bình Dương; Cần Thơ before Cao Bằng.
# Only the five reference codes are marked as real.
# tests/directory/test_demo_data.py re-derives the numbering from the names.
_KNOWN_H = frozenset({29, 37, 41, 49, 57})

# (H number, place, centrally-run city?, domain label, staff-id abbreviation, aliases)
_PROVINCE_ROWS: tuple[tuple[int, str, bool, str, str, tuple[str, ...]], ...] = (
    (1, "An Giang", False, "angiang", "AG", ()),
    (2, "Bà Rịa - Vũng Tàu", False, "baria-vungtau", "BRVT", ("BR-VT",)),
    (3, "Bắc Giang", False, "bacgiang", "BG", ()),
    (4, "Bắc Kạn", False, "backan", "BK", ()),
    (5, "Bạc Liêu", False, "baclieu", "BL", ()),
    (6, "Bắc Ninh", False, "bacninh", "BN", ()),
    (7, "Bến Tre", False, "bentre", "BTR", ()),
    (8, "Bình Định", False, "binhdinh", "BDH", ()),
    (9, "Bình Dương", False, "binhduong", "BDG", ()),
    (10, "Bình Phước", False, "binhphuoc", "BP", ()),
    (11, "Bình Thuận", False, "binhthuan", "BTH", ()),
    (12, "Cà Mau", False, "camau", "CM", ()),
    (13, "Cần Thơ", True, "cantho", "CT", ()),
    (14, "Cao Bằng", False, "caobang", "CB", ()),
    (15, "Đà Nẵng", True, "danang", "DNG", ()),
    (16, "Đắk Lắk", False, "daklak", "DLK", ("Đắc Lắc",)),
    (17, "Đắk Nông", False, "daknong", "DKN", ()),
    (18, "Điện Biên", False, "dienbien", "DB", ()),
    (19, "Đồng Nai", False, "dongnai", "DNI", ()),
    (20, "Đồng Tháp", False, "dongthap", "DT", ()),
    (21, "Gia Lai", False, "gialai", "GL", ()),
    (22, "Hà Giang", False, "hagiang", "HG", ()),
    (23, "Hà Nam", False, "hanam", "HNA", ()),
    (24, "Hà Nội", True, "hanoi", "HN", ()),
    (25, "Hà Tĩnh", False, "hatinh", "HT", ()),
    (26, "Hải Dương", False, "haiduong", "HD", ()),
    (27, "Hải Phòng", True, "haiphong", "HP", ()),
    (28, "Hậu Giang", False, "haugiang", "HGI", ()),
    (29, "Hồ Chí Minh", True, "hochiminhcity", "HCM", ("HCM", "TP.HCM", "TPHCM")),
    (30, "Hòa Bình", False, "hoabinh", "HB", ()),
    (31, "Hưng Yên", False, "hungyen", "HY", ()),
    (32, "Khánh Hòa", False, "khanhhoa", "KH", ()),
    (33, "Kiên Giang", False, "kiengiang", "KG", ()),
    (34, "Kon Tum", False, "kontum", "KT", ()),
    (35, "Lai Châu", False, "laichau", "LC", ()),
    (36, "Lâm Đồng", False, "lamdong", "LD", ()),
    (37, "Lạng Sơn", False, "langson", "LS", ()),
    (38, "Lào Cai", False, "laocai", "LCA", ()),
    (39, "Long An", False, "longan", "LA", ()),
    (40, "Nam Định", False, "namdinh", "ND", ()),
    (41, "Nghệ An", False, "nghean", "NA", ()),
    (42, "Ninh Bình", False, "ninhbinh", "NB", ()),
    (43, "Ninh Thuận", False, "ninhthuan", "NT", ()),
    (44, "Phú Thọ", False, "phutho", "PT", ()),
    (45, "Phú Yên", False, "phuyen", "PY", ()),
    (46, "Quảng Bình", False, "quangbinh", "QB", ()),
    (47, "Quảng Nam", False, "quangnam", "QNA", ()),
    (48, "Quảng Ngãi", False, "quangngai", "QNG", ()),
    (49, "Quảng Ninh", False, "quangninh", "QN", ()),
    (50, "Quảng Trị", False, "quangtri", "QT", ()),
    (51, "Sóc Trăng", False, "soctrang", "ST", ()),
    (52, "Sơn La", False, "sonla", "SL", ()),
    (53, "Tây Ninh", False, "tayninh", "TN", ()),
    (54, "Thái Bình", False, "thaibinh", "TB", ()),
    (55, "Thái Nguyên", False, "thainguyen", "TNG", ()),
    (56, "Thanh Hóa", False, "thanhhoa", "TH", ()),
    (57, "Thừa Thiên Huế", False, "thuathienhue", "TTH", ("Thừa Thiên - Huế",)),
    (58, "Tiền Giang", False, "tiengiang", "TG", ()),
    (59, "Trà Vinh", False, "travinh", "TV", ()),
    (60, "Tuyên Quang", False, "tuyenquang", "TQ", ()),
    (61, "Vĩnh Long", False, "vinhlong", "VL", ()),
    (62, "Vĩnh Phúc", False, "vinhphuc", "VP", ()),
    (63, "Yên Bái", False, "yenbai", "YB", ()),
)


def _province_phrase(place: str, is_city: bool) -> str:
    """How the province is named after "Ủy ban nhân dân"/"Sở …": "tỉnh Phú Yên"."""
    if place == "Hồ Chí Minh":
        return "Thành phố Hồ Chí Minh"  # "Thành phố" is part of this city's proper name
    return f"thành phố {place}" if is_city else f"tỉnh {place}"


def _province(row: tuple[int, str, bool, str, str, tuple[str, ...]]) -> AgencySeed:
    number, place, is_city, label, abbr, aliases = row
    phrase = _province_phrase(place, is_city)
    return AgencySeed(
        name=f"Ủy ban nhân dân {phrase}",
        short_name=f"UBND {phrase}",
        symbol="UBND",
        kind="province",
        code=level1_code("H", number),
        code_is_demo=number not in _KNOWN_H,
        domain=f"{label}.gov.vn",
        parent_code=None,
        role=None,
        place=place,
        abbr=abbr,
        aliases=aliases,
    )


PROVINCES: tuple[AgencySeed, ...] = tuple(_province(r) for r in _PROVINCE_ROWS)
_PROVINCE_IS_CITY: dict[str, bool] = {r[1]: r[2] for r in _PROVINCE_ROWS}

# --------------------------------------------------------------------------- unit templates


@dataclass(frozen=True, slots=True)
class UnitTemplate:
    """A unit every province (or ministry) of the demo gets; ``level2`` is its code slot."""

    level2: int
    name: str
    short_name: str
    kind: AgencyKind
    role: str
    aliases: tuple[str, ...] = ()


# Level-2 slots 01–49 are the UBND's office and sở; 51–59 are districts (see DISTRICTS).
PROVINCE_DEPARTMENTS: tuple[UnitTemplate, ...] = (
    UnitTemplate(
        1, "Văn phòng Ủy ban nhân dân", "VP", "department", "office", ("Văn phòng UBND", "VP UBND")
    ),
    UnitTemplate(
        2,
        "Sở Thông tin và Truyền thông",
        "STTTT",
        "department",
        "dept_ict",
        ("Sở TT&TT", "Sở TTTT"),
    ),
    UnitTemplate(3, "Sở Nội vụ", "SNV", "department", "dept_home_affairs"),
    UnitTemplate(4, "Sở Tài chính", "STC", "department", "dept_finance"),
    UnitTemplate(5, "Sở Kế hoạch và Đầu tư", "SKHĐT", "department", "dept_planning", ("Sở KH&ĐT",)),
    UnitTemplate(
        6, "Sở Giáo dục và Đào tạo", "SGDĐT", "department", "dept_education", ("Sở GD&ĐT",)
    ),
    UnitTemplate(7, "Sở Y tế", "SYT", "department", "dept_health"),
)

# Ministries: the IT unit is what "Đơn vị chuyên trách về CNTT của các Bộ…" lines target.
MINISTRY_UNITS: tuple[UnitTemplate, ...] = (
    UnitTemplate(1, "Văn phòng", "VP", "unit", "office"),
    UnitTemplate(
        2, "Trung tâm Tin học", "TTTH", "unit", "it_unit", ("Đơn vị chuyên trách về CNTT",)
    ),
    UnitTemplate(3, "Vụ Tổ chức cán bộ", "TCCB", "unit", "personnel"),
    UnitTemplate(4, "Vụ Kế hoạch - Tài chính", "KHTC", "unit", "planning_finance"),
)

# Where the real IT unit of 2011 had another name than "Trung tâm Tin học".
# Bộ TT&TT's is the "UDCNTT" of the seed report's symbol "476/BTTTT-UDCNTT".
_IT_UNIT_OVERRIDES: dict[str, tuple[str, str]] = {
    "BTTTT": ("Cục Ứng dụng công nghệ thông tin", "UDCNTT"),
    "BGDĐT": ("Cục Công nghệ thông tin", "CNTT"),
    "BTC": ("Cục Tin học và Thống kê tài chính", "THTK"),
    "NHNN": ("Cục Công nghệ tin học", "CNTH"),
}

# Real districts, as they were before the 2025 abolition of the district level.
# (type, name): type is "quận", "huyện", "thị xã" or "thành phố".
# Only real names belong here: a province whose districts are not known for sure gets none.
DISTRICTS: dict[str, tuple[tuple[str, str], ...]] = {
    "An Giang": (("thành phố", "Long Xuyên"), ("thành phố", "Châu Đốc")),
    "Bà Rịa - Vũng Tàu": (("thành phố", "Vũng Tàu"), ("thành phố", "Bà Rịa")),
    "Bạc Liêu": (("thành phố", "Bạc Liêu"), ("huyện", "Hồng Dân")),
    "Bắc Giang": (("thành phố", "Bắc Giang"), ("huyện", "Lục Ngạn")),
    "Bắc Kạn": (("thành phố", "Bắc Kạn"), ("huyện", "Ba Bể")),
    "Bắc Ninh": (("thành phố", "Bắc Ninh"), ("huyện", "Tiên Du")),
    "Bến Tre": (("thành phố", "Bến Tre"), ("huyện", "Mỏ Cày Nam")),
    "Bình Định": (("thành phố", "Quy Nhơn"), ("huyện", "Tuy Phước")),
    "Bình Dương": (("thành phố", "Thủ Dầu Một"), ("huyện", "Dầu Tiếng")),
    "Bình Phước": (("thành phố", "Đồng Xoài"), ("huyện", "Bù Đăng")),
    "Bình Thuận": (("thành phố", "Phan Thiết"), ("thị xã", "La Gi")),
    "Cà Mau": (("thành phố", "Cà Mau"), ("huyện", "Năm Căn")),
    "Cần Thơ": (("quận", "Ninh Kiều"), ("huyện", "Phong Điền")),
    "Cao Bằng": (("thành phố", "Cao Bằng"), ("huyện", "Trùng Khánh")),
    "Đà Nẵng": (("quận", "Hải Châu"), ("huyện", "Hòa Vang")),
    "Đắk Lắk": (("thành phố", "Buôn Ma Thuột"), ("thị xã", "Buôn Hồ")),
    "Đắk Nông": (("thành phố", "Gia Nghĩa"), ("huyện", "Cư Jút")),
    "Điện Biên": (("thành phố", "Điện Biên Phủ"), ("huyện", "Mường Chà")),
    "Đồng Nai": (("thành phố", "Biên Hòa"), ("thành phố", "Long Khánh")),
    "Đồng Tháp": (("thành phố", "Cao Lãnh"), ("thành phố", "Sa Đéc")),
    "Gia Lai": (("thành phố", "Pleiku"), ("thị xã", "An Khê")),
    "Hà Giang": (("thành phố", "Hà Giang"), ("huyện", "Đồng Văn")),
    "Hà Nam": (("thành phố", "Phủ Lý"), ("huyện", "Bình Lục")),
    "Hà Nội": (("quận", "Ba Đình"), ("thị xã", "Sơn Tây")),
    "Hà Tĩnh": (("thành phố", "Hà Tĩnh"), ("thị xã", "Hồng Lĩnh")),
    "Hải Dương": (("thành phố", "Hải Dương"), ("thành phố", "Chí Linh")),
    "Hải Phòng": (("quận", "Hồng Bàng"), ("huyện", "Cát Hải")),
    "Hậu Giang": (("thành phố", "Vị Thanh"), ("thành phố", "Ngã Bảy")),
    "Hồ Chí Minh": (("quận", "1"), ("huyện", "Củ Chi")),
    "Hòa Bình": (("thành phố", "Hòa Bình"), ("huyện", "Mai Châu")),
    "Hưng Yên": (("thành phố", "Hưng Yên"), ("thị xã", "Mỹ Hào")),
    "Khánh Hòa": (("thành phố", "Nha Trang"), ("thành phố", "Cam Ranh")),
    "Kiên Giang": (("thành phố", "Rạch Giá"), ("thành phố", "Hà Tiên")),
    "Kon Tum": (("thành phố", "Kon Tum"), ("huyện", "Đắk Hà")),
    "Lai Châu": (("thành phố", "Lai Châu"), ("huyện", "Tam Đường")),
    "Lâm Đồng": (("thành phố", "Đà Lạt"), ("thành phố", "Bảo Lộc")),
    "Lạng Sơn": (("thành phố", "Lạng Sơn"), ("huyện", "Cao Lộc")),
    "Lào Cai": (("thành phố", "Lào Cai"), ("thị xã", "Sa Pa")),
    "Long An": (("thành phố", "Tân An"), ("huyện", "Bến Lức")),
    "Nam Định": (("thành phố", "Nam Định"), ("huyện", "Hải Hậu")),
    "Nghệ An": (("thành phố", "Vinh"), ("thị xã", "Cửa Lò")),
    "Ninh Bình": (("thành phố", "Ninh Bình"), ("thành phố", "Tam Điệp")),
    "Ninh Thuận": (("thành phố", "Phan Rang - Tháp Chàm"), ("huyện", "Ninh Hải")),
    "Phú Thọ": (("thành phố", "Việt Trì"), ("thị xã", "Phú Thọ")),
    "Phú Yên": (("thành phố", "Tuy Hòa"), ("thị xã", "Sông Cầu")),
    "Quảng Bình": (("thành phố", "Đồng Hới"), ("huyện", "Bố Trạch")),
    "Quảng Nam": (("thành phố", "Tam Kỳ"), ("thành phố", "Hội An")),
    "Quảng Ngãi": (("thành phố", "Quảng Ngãi"), ("huyện", "Lý Sơn")),
    "Quảng Ninh": (("thành phố", "Hạ Long"), ("thành phố", "Uông Bí")),
    "Quảng Trị": (("thành phố", "Đông Hà"), ("thị xã", "Quảng Trị")),
    "Sóc Trăng": (("thành phố", "Sóc Trăng"), ("thị xã", "Vĩnh Châu")),
    "Sơn La": (("thành phố", "Sơn La"), ("huyện", "Mộc Châu")),
    "Tây Ninh": (("thành phố", "Tây Ninh"), ("huyện", "Tân Biên")),
    "Thái Bình": (("thành phố", "Thái Bình"), ("huyện", "Tiền Hải")),
    "Thái Nguyên": (("thành phố", "Thái Nguyên"), ("thành phố", "Sông Công")),
    "Thanh Hóa": (("thành phố", "Thanh Hóa"), ("thành phố", "Sầm Sơn")),
    "Thừa Thiên Huế": (("thành phố", "Huế"), ("thị xã", "Hương Thủy")),
    "Tiền Giang": (("thành phố", "Mỹ Tho"), ("thị xã", "Gò Công")),
    "Trà Vinh": (("thành phố", "Trà Vinh"), ("huyện", "Cầu Ngang")),
    "Tuyên Quang": (("thành phố", "Tuyên Quang"), ("huyện", "Na Hang")),
    "Vĩnh Long": (("thành phố", "Vĩnh Long"), ("huyện", "Long Hồ")),
    "Vĩnh Phúc": (("thành phố", "Vĩnh Yên"), ("thành phố", "Phúc Yên")),
    "Yên Bái": (("thành phố", "Yên Bái"), ("thị xã", "Nghĩa Lộ")),
}
DISTRICT_LEVEL2_START = 51


def _district_phrase(kind: str, name: str) -> str:
    # Numbered urban districts are written with a capital: "Quận 1".
    return f"{kind.capitalize()} {name}" if name.isdigit() else f"{kind} {name}"


def province_units(province: AgencySeed) -> tuple[AgencySeed, ...]:
    """The departments and districts of one province, in level-2 order."""
    if province.kind != "province" or province.place is None:
        raise DemoDataError(f"Không phải tỉnh / not a province: {province.code}")
    phrase = _province_phrase(province.place, _PROVINCE_IS_CITY[province.place])
    units = [
        AgencySeed(
            name=f"{t.name} {phrase}",
            short_name=t.short_name,
            symbol=t.short_name,
            kind=t.kind,
            code=child_code(province.code, t.level2),
            code_is_demo=True,
            domain=None,
            parent_code=province.code,
            role=t.role,
            place=province.place,
            abbr=ascii_fold(t.short_name).upper(),
            aliases=(t.name, *t.aliases),
        )
        for t in PROVINCE_DEPARTMENTS
    ]
    for i, (dkind, dname) in enumerate(DISTRICTS.get(province.place, ())):
        dphrase = _district_phrase(dkind, dname)
        units.append(
            AgencySeed(
                name=f"Ủy ban nhân dân {dphrase}",
                short_name=f"UBND {dphrase}",
                symbol="UBND",
                kind="district",
                code=child_code(province.code, DISTRICT_LEVEL2_START + i),
                code_is_demo=True,
                domain=None,
                parent_code=province.code,
                role="district",
                place=dphrase if dname.isdigit() else dname,
                abbr=f"UBND{DISTRICT_LEVEL2_START + i}",
                aliases=(dphrase,),
            )
        )
    return tuple(units)


def ministry_units(ministry: AgencySeed) -> tuple[AgencySeed, ...]:
    """Văn phòng, the IT unit, personnel and planning-finance units of one ministry."""
    if ministry.kind not in ("ministry", "government_agency"):
        raise DemoDataError(f"Không phải Bộ, ngành / not a ministry: {ministry.code}")
    is_bo = ministry.name.startswith("Bộ ")
    units = []
    for t in MINISTRY_UNITS:
        name, short = t.name, t.short_name
        if t.role == "it_unit" and ministry.symbol in _IT_UNIT_OVERRIDES:
            name, short = _IT_UNIT_OVERRIDES[ministry.symbol]
        elif ministry.kind == "government_agency" and name.startswith("Vụ "):
            name = "Ban " + name[len("Vụ ") :]  # cơ quan thuộc Chính phủ have "Ban", not "Vụ"
        if t.role == "office" and ministry.symbol == "VPCP":
            # "Văn phòng Văn phòng Chính phủ" does not exist: its văn thư is in Vụ Hành chính.
            name, short = "Vụ Hành chính", "HC"
            full, own = f"{name}, {ministry.name}", name
        elif t.role == "office":
            full = f"Văn phòng {ministry.name}"
            own = "Văn phòng Bộ" if is_bo else "Văn phòng"
        else:
            full = f"{name}, {ministry.name}"
            own = name
        units.append(
            AgencySeed(
                name=full,
                short_name=short,
                symbol=short,
                kind=t.kind,
                code=child_code(ministry.code, t.level2),
                code_is_demo=True,
                domain=None,
                parent_code=ministry.code,
                role=t.role,
                place=None,
                abbr=ascii_fold(short).upper(),
                aliases=(own, *t.aliases),
            )
        )
    return tuple(units)


def iter_demo_agencies() -> Iterator[AgencySeed]:
    """Every agency of the demo, each parent immediately followed by its units."""
    for ministry in MINISTRIES:
        yield ministry
        yield from ministry_units(ministry)
    for province in PROVINCES:
        yield province
        yield from province_units(province)


@cache
def _by_code() -> dict[str, AgencySeed]:
    return {a.code: a for a in iter_demo_agencies()}


def agency_by_code(code: str) -> AgencySeed:
    try:
        return _by_code()[code]
    except KeyError:
        raise UnknownAgencyCodeError(code) from None


def domain_of(code: str) -> str:
    """The mail domain of an agency: its own, else the nearest ancestor's."""
    agency = agency_by_code(code)
    while agency.domain is None:
        if agency.parent_code is None:
            raise DemoDataError(f"Cơ quan gốc không có tên miền / root without domain: {code}")
        agency = agency_by_code(agency.parent_code)
    return agency.domain


def agencies_with_role(role: str) -> tuple[AgencySeed, ...]:
    """E.g. ``agencies_with_role("dept_ict")``: the Sở TT&TT of every province."""
    return tuple(a for a in iter_demo_agencies() if a.role == role)


# --------------------------------------------------------------------------- name matching

_PARENS_RE = re.compile(r"\([^)]*\)")
_PUNCT_RE = re.compile(r"[^\w]+")
# Word sequences dropped from the front of a name before comparing (after folding).
_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("uy", "ban", "nhan", "dan"),
    ("ubnd",),
    ("tinh",),
    ("thanh", "pho"),
    ("tp",),
    ("bo",),
)


def name_key(name: str) -> str:
    """A comparison key tolerant of case, diacritics, punctuation, remarks in parentheses
    and the "Bộ" / "Tỉnh" / "Thành phố" / "TP" / "UBND" prefixes."""
    text = unicodedata.normalize("NFC", name)
    text = _PARENS_RE.sub(" ", text).replace("&", " và ")
    words = ascii_fold(_PUNCT_RE.sub(" ", text)).split()
    changed = True
    while changed and words:
        changed = False
        for prefix in _PREFIXES:
            if tuple(words[: len(prefix)]) == prefix and len(words) > len(prefix):
                words = words[len(prefix) :]
                changed = True
    return " ".join(words)


def _keys_of(agency: AgencySeed) -> set[str]:
    keys = {name_key(agency.name), *(name_key(a) for a in agency.aliases)}
    if agency.place and agency.kind == "province":
        keys.add(name_key(agency.place))
    if agency.symbol != "UBND":
        keys.add(name_key(agency.symbol))
    keys.discard("")
    return keys


@cache
def _name_index(parent_code: str | None) -> dict[str, tuple[AgencySeed, ...]]:
    index: dict[str, list[AgencySeed]] = {}
    for agency in iter_demo_agencies():
        if agency.parent_code != parent_code:
            continue
        for key in _keys_of(agency):
            index.setdefault(key, []).append(agency)
    return {k: tuple(v) for k, v in index.items()}


def find_by_name(name: str, parent_code: str | None = None) -> AgencySeed | None:
    """The agency a written name designates, or None when no agency (or more than one) fits.

    Without ``parent_code`` only ministries and provinces are searched ("Bộ Nội vụ (tại khối
    cơ quan Bộ)", "Hung Yên", "TP HCM"); with it, that agency's units ("Sở TT&TT").
    """
    hits = _name_index(parent_code).get(name_key(name), ())
    return hits[0] if len(hits) == 1 else None


# --------------------------------------------------------------------------- staff pools

# Family names with their approximate share of the population (percent), most frequent first.
# Hoàng/Huỳnh and Vũ/Võ are the same names in the northern and southern pronunciation; the
# frequency order counts each pair as one name.
FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.4),
    ("Trần", 12.1),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 3.2),
    ("Huỳnh", 1.9),
    ("Phan", 4.5),
    ("Vũ", 2.2),
    ("Võ", 1.7),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Trương", 0.4),
    ("Đinh", 0.4),
    ("Đào", 0.3),
    ("Mai", 0.3),
    ("Trịnh", 0.3),
    ("Lâm", 0.3),
    ("Cao", 0.2),
    ("Lương", 0.2),
    ("Tạ", 0.1),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


MIDDLE_NAMES: dict[Gender, tuple[str, ...]] = {
    "male": _words("Văn Đức Hữu Quang Minh Công Xuân Mạnh Tiến Thành Trọng Quốc Thanh Ngọc"),
    "female": (
        *_words("Thị Thu Ngọc Thanh Thùy Minh Phương Hồng Kim Bích Mai Diệu"),
        "Thị Minh",
        "Thị Thu",
    ),
}

# Given names; between them they use every Vietnamese letter with a diacritic (đ ư ơ ă â ê ô).
GIVEN_NAMES: dict[Gender, tuple[str, ...]] = {
    "male": _words(
        "Dũng Hùng Tuấn Đức Cường Hải Long Nam Sơn Thắng Trung Hiếu Khánh Lâm Phúc Thành Quân"
        " Đạt Việt Hưng Lực Vượng Lợi Công Tiến Bảo Kiên Tùng Đông Thịnh Ân Toàn"
    ),
    "female": _words(
        "Hằng Hương Trang Phương Nhung Thủy Thư Ngân Lan Hà Huyền Linh Mai Yến Oanh Thảo Nga"
        " Hạnh Vân Loan Dung Hiền Tâm Trâm Uyên Hường Thương Thơm Điệp Ánh Hồng Quyên"
    ),
}

# Rank-and-file positions drawn for staff after the leaders and the văn thư.
_STAFF_POSITIONS: tuple[tuple[str, int], ...] = (
    ("Chuyên viên", 40),
    ("Chuyên viên chính", 15),
    ("Trưởng phòng", 6),
    ("Phó Trưởng phòng", 8),
    ("Kế toán", 4),
    ("Văn thư", 2),
    ("Cán bộ", 10),
)

_TOP_LEADERS: dict[str, tuple[str, str]] = {
    "NHNN": ("Thống đốc", "Phó Thống đốc"),
    "TTCP": ("Tổng Thanh tra", "Phó Tổng Thanh tra"),
    "UBDT": ("Bộ trưởng, Chủ nhiệm", "Thứ trưởng, Phó Chủ nhiệm"),
    "VPCP": ("Bộ trưởng, Chủ nhiệm", "Phó Chủ nhiệm"),
    "BHXH": ("Tổng Giám đốc", "Phó Tổng Giám đốc"),
    "ĐTHVN": ("Tổng Giám đốc", "Phó Tổng Giám đốc"),
    "TTXVN": ("Tổng Giám đốc", "Phó Tổng Giám đốc"),
    "HVCTHCQG": ("Giám đốc", "Phó Giám đốc"),
    "VKHCNVN": ("Chủ tịch", "Phó Chủ tịch"),
    "VKHXHVN": ("Chủ tịch", "Phó Chủ tịch"),
    "BQLL": ("Trưởng ban", "Phó Trưởng ban"),
}

_UNIT_LEADERS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("Văn phòng", ("Chánh Văn phòng", "Phó Chánh Văn phòng")),
    ("Vụ ", ("Vụ trưởng", "Phó Vụ trưởng")),
    ("Ban ", ("Trưởng ban", "Phó Trưởng ban")),
    ("Cục ", ("Cục trưởng", "Phó Cục trưởng")),
    ("Trung tâm ", ("Giám đốc", "Phó Giám đốc")),
)


_LEADER_TITLES = (
    ("Chủ tịch", "Phó Chủ tịch"),
    ("Bộ trưởng", "Thứ trưởng"),
    ("Giám đốc", "Phó Giám đốc"),
    *_TOP_LEADERS.values(),
    *(titles for _, titles in _UNIT_LEADERS),
)

# Every position demo_staff() can give.
POSITIONS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *(title for pair in _LEADER_TITLES for title in pair),
            "Chánh Văn phòng",
            "Phó Chánh Văn phòng",
            *(p for p, _ in _STAFF_POSITIONS),
        ]
    )
)


def leader_titles(agency: AgencySeed) -> tuple[str, str]:
    """(head, deputy) titles of an agency: ("Giám đốc", "Phó Giám đốc") for a sở."""
    if agency.kind in ("province", "district"):
        return ("Chủ tịch", "Phó Chủ tịch")
    if agency.kind in ("ministry", "government_agency"):
        return _TOP_LEADERS.get(agency.symbol, ("Bộ trưởng", "Thứ trưởng"))
    for prefix, titles in _UNIT_LEADERS:
        if agency.name.startswith(prefix):
            return titles
    return ("Giám đốc", "Phó Giám đốc")


def _root_of(agency: AgencySeed) -> AgencySeed:
    while agency.parent_code is not None:
        agency = agency_by_code(agency.parent_code)
    return agency


def staff_id_for(agency_code: str, number: int) -> str:
    """Staff id "PY-020007": root abbreviation, level-2 slot (00 = the root itself), ordinal 1–9999.

    Abbreviations are unique among roots and slots unique under a root, so ids never collide.
    """
    if not 1 <= number <= MAX_STAFF_PER_AGENCY:
        raise DemoDataError(f"Số thứ tự ngoài khoảng 1–{MAX_STAFF_PER_AGENCY}: {number}")
    agency = agency_by_code(agency_code)
    return f"{_root_of(agency).abbr}-{level2_of(agency.code):02d}{number:04d}"


def _draw_person(rng: random.Random) -> tuple[Gender, str, str, str]:
    gender: Gender = "female" if rng.random() < 0.5 else "male"
    family = rng.choices([f for f, _ in FAMILY_NAMES], weights=[w for _, w in FAMILY_NAMES])[0]
    return gender, family, rng.choice(MIDDLE_NAMES[gender]), rng.choice(GIVEN_NAMES[gender])


def demo_staff(agency_code: str, count: int, seed: int = 0) -> list[StaffSeed]:
    """``count`` people for one agency: the head, deputies, a văn thư, then rank and file.

    Same arguments, same list (a private ``random.Random`` seeded from the code and ``seed``).
    Staff ids depend only on the agency and the position in the list, never on ``seed``.
    """
    if not 0 <= count <= MAX_STAFF_PER_AGENCY:
        raise DemoDataError(f"Số cán bộ ngoài khoảng 0–{MAX_STAFF_PER_AGENCY}: {count}")
    agency = agency_by_code(agency_code)
    head, deputy = leader_titles(agency)
    plan = [head]
    if count >= 3:
        plan.append(deputy)
    if count >= 8:
        plan.append(deputy)
    if count >= 2:
        plan.append("Văn thư")
    rng = random.Random(f"govmail-demo|{agency_code}|{seed}")
    titles = [p for p, _ in _STAFF_POSITIONS]
    weights = [w for _, w in _STAFF_POSITIONS]
    seen: set[str] = set()
    out: list[StaffSeed] = []
    for i in range(count):
        position = plan[i] if i < len(plan) else rng.choices(titles, weights=weights)[0]
        for _ in range(50):  # avoid namesakes inside one agency while the pools allow it
            gender, family, middle, given = _draw_person(rng)
            full = f"{family} {middle} {given}"
            if full not in seen:
                break
        seen.add(full)
        out.append(
            StaffSeed(
                staff_id=staff_id_for(agency_code, i + 1),
                full_name=full,
                family_name=family,
                middle_name=middle,
                given_name=given,
                gender=gender,
                position=position,
                agency_code=agency_code,
            )
        )
    return out


def is_valid_domain(domain: str) -> bool:
    labels = domain.split(".")
    return (
        len(domain) <= 253 and len(labels) >= 2 and all(_DOMAIN_LABEL_RE.match(x) for x in labels)
    )


__all__ = [
    "AGENCY_CODE_RE",
    "DISTRICTS",
    "FAMILY_NAMES",
    "GIVEN_NAMES",
    "MIDDLE_NAMES",
    "MINISTRIES",
    "MINISTRY_UNITS",
    "POSITIONS",
    "PROVINCES",
    "PROVINCE_DEPARTMENTS",
    "AgencySeed",
    "DemoDataError",
    "StaffSeed",
    "UnitTemplate",
    "UnknownAgencyCodeError",
    "agencies_with_role",
    "agency_by_code",
    "child_code",
    "demo_staff",
    "domain_of",
    "find_by_name",
    "is_valid_domain",
    "iter_demo_agencies",
    "leader_titles",
    "level1_code",
    "level2_of",
    "ministry_units",
    "name_key",
    "province_units",
    "staff_id_for",
]
