"""The demo organisation: completeness against the seed report, codes, domains, staff."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter, defaultdict

import pytest

from govmail.directory.demo_data import (
    AGENCY_CODE_RE,
    DISTRICTS,
    FAMILY_NAMES,
    GIVEN_NAMES,
    MIDDLE_NAMES,
    MINISTRIES,
    POSITIONS,
    PROVINCES,
    AgencySeed,
    DemoDataError,
    UnknownAgencyCodeError,
    agencies_with_role,
    agency_by_code,
    child_code,
    demo_staff,
    domain_of,
    find_by_name,
    is_valid_domain,
    iter_demo_agencies,
    leader_titles,
    name_key,
    staff_id_for,
)
from govmail.directory.names import ascii_fold

# Rows of the appendix of Báo cáo 22/BC-BTTTT, exactly as written there (typos included).
BANG_1 = (
    "Bộ Giáo dục và Đào tạo",
    "Bộ Khoa học và Công nghệ",
    "Bộ Ngoại giao",
    "Bộ Tư pháp",
    "Bộ Nội vụ",
    "Bộ Thông tin và Truyền thông",
    "Thanh tra Chính phủ",
    "Bộ Lao động, Thương binh và Xã hội",
    "Ngân hàng Nhà nước Việt Nam",
    "Bộ Công Thương",
    "Bộ Giao thông vận tải",
    "Viện Khoa học và Công nghệ Việt Nam",
    "Bộ Nông nghiệp và Phát triển nông thôn",
    "Bộ Kế hoạch và Đầu tư",
    "Bộ Tài chính",
    "Bộ Y tế",
    "Ủy ban Dân tộc",
    "Bộ Xây dựng",
    "Bảo hiểm xã hội Việt Nam",
    "Bộ Tài nguyên và Môi trường",
    "Đài Truyền hình Việt Nam",
    "Bộ Văn hóa, Thể thao và Du lịch",
    "Học viện Chính trị - Hành chính quốc gia Hồ Chí Minh",
    "Thông tấn xã Việt Nam",
    "Bộ Quốc phòng",
    "Ban Quản lý Lăng Chủ tịch Hồ Chí Minh",
    "Viện Khoa học và Xã hội Việt Nam",
)

BANG_2 = (
    "Thông tấn xã Việt Nam",
    "Bộ Giáo dục và Đào tạo",
    "Bộ Thông tin và Truyền thông",
    "Đài Truyền hình Việt Nam",
    "Bộ Công Thương",
    "Bộ Ngoại giao",
    "Bộ Giao thông vận tải",
    "Bộ Nông nghiệp và Phát triển nông thôn",
    "Bộ Tư pháp",
    "Bộ Lao động, Thương binh và Xã hội",
    "Viện Khoa học và Công nghệ Việt Nam",
    "Bộ Tài chính",
    "Bộ Kế hoạch và Đầu tư",
    "Bộ Nội vụ",
    "Bộ Khoa học và Công nghệ",
    "Bộ Y tế",
    "Ngân hàng Nhà nước Việt Nam",
    "Bộ Xây dựng",
    "Học viện Chính trị - Hành chính quốc gia Hồ Chí Minh",
    "Viện Khoa học và Xã hội Việt Nam",
    "Bộ Tài nguyên và Môi trường",
    "Bộ Văn hóa, Thể thao và Du lịch",
    "Ủy ban Dân tộc",
    "Bảo hiểm xã hội Việt Nam",
    "Bộ Quốc phòng",
    "Thanh tra Chính phủ",
    "Ban quản lý Lăng Chủ tịch Hồ Chí Minh",
)

BANG_3 = (
    "Bộ Thông tin và Truyền thông",
    "Bộ Xây dựng",
    "Ngân hàng Nhà nước Việt Nam",
    "Bộ Giáo dục và Đào tạo",
    "Bộ Tư pháp",
    "Bộ Khoa học và Công nghệ",
    "Bộ Ngoại giao",
    "Học viện Chính trị - Hành chính quốc gia Hồ Chí Minh",
    "Đài Truyền hình Việt Nam",
    "Bộ Nội vụ (tại khối cơ quan Bộ)",
    "Bộ Công Thương",
    "Bộ Lao động, Thương binh và Xã hội",
    "Thanh tra Chính phủ",
    "Bộ Giao thông vận tải",
    "Viện Khoa học và Công nghệ Việt Nam",
    "Bộ Y tế",
    "Bộ Tài chính (tại trụ sở Bộ)",
    "Ủy ban Dân tộc",
    "Bộ Nông nghiệp và Phát triển nông thôn",
    "Bảo hiểm xã hội Việt Nam",
    "Bộ Quốc phòng",
    "Thông tấn xã Việt Nam",
    "Ban quản lý Lăng Chủ tịch Hồ Chí Minh",
    "Viện Khoa học và Xã hội Việt Nam",
)

BANG_4 = (
    "Bắc Ninh",
    "Bình Thuận",
    "Đà Nẵng",
    "Hải Phòng",
    "Hà Nam",
    "Hung Yên",
    "Nghệ An",
    "Thái Bình",
    "Thái Nguyên",
    "Thanh Hóa",
    "Thừa Thiên Huế",
    "Bắc Kạn",
    "Bắc Giang",
    "Bà Rịa- Vũng Tàu",
    "Quảng Bình",
    "Ninh Bình",
    "Long An",
    "Quảng Ngãi",
    "TP Hồ Chí Minh",
    "Khánh Hòa",
    "Cần Thơ",
    "Đắk Lắk",
    "Tây Ninh",
    "Bến Tre",
    "Quảng Ninh",
    "Hà Tĩnh",
    "Tiền Giang",
    "Đông Nai",
    "Kiên Giang",
    "Gia Lai",
    "Vĩnh Long",
    "Bình Dương",
    "Trà Vinh",
    "An Giang",
    "Nam Định",
    "Quảng Trị",
    "Lào Cai",
    "Lâm Đồng",
    "Hòa Bình",
    "Lạng Sơn",
    "Ninh Thuận",
    "Phú Thọ",
    "Quảng Nam",
    "Điện Biên",
    "Yên Bái",
    "Bình Định",
    "Kon Tum",
    "Vĩnh Phúc",
    "Hậu Giang",
    "Bình Phước",
    "Đồng Tháp",
    "Sóc Trăng",
    "Hải Dương",
    "Cà Mau",
    "Hà Nội",
    "Sơn La",
    "Bạc Liêu",
    "Tuyên Quang (chưa có hệ thống thư điện tử chính thức)",
    "Đắk Nông(chưa có hệ thống thư điện tử chính thức)",
    "Lai Châu (chưa có hệ thống thư điện tử chính thức)",
    "Cao Bằng",
    "Phú Yên",
    "Hà Giang (chưa có hệ thống thư điện tử chính thức)",
)

BANG_5 = (
    "Hà Nội",
    "Đà Nẵng",
    "Bình Thuận",
    "Bà Rịa – Vũng Tàu",
    "Lâm Đồng",
    "Nghệ An",
    "Bắc Giang",
    "Đông Tháp",
    "Quảng Ninh",
    "Tiền Giang",
    "Bắc Ninh",
    "Bạc Liêu",
    "Quảng Nam",
    "Thái Nguyên",
    "Thanh Hóa",
    "Trà Vinh",
    "Thừa Thiên Huế",
    "Đắk Lắk",
    "Thái Bình",
    "Vĩnh Phúc",
    "Bình Dương",
    "Bến Tre",
    "An Giang",
    "Khánh Hòa",
    "Lào Cai",
    "Phú Thọ",
    "Ninh Thuận",
    "Lạng Sơn",
    "Hải Phòng",
    "Kiên Giang",
    "Nam Định",
    "Quảng Ngãi",
    "Cần Thơ",
    "Bắc Kạn",
    "Đông Nai",
    "Long An",
    "Vĩnh Long",
    "TP Hồ Chí Minh",
    "Ninh Bình",
    "Hà Tĩnh",
    "Sơn La",
    "Quảng Bình",
    "Phú Yên",
    "Cà Mau",
    "Bình Định",
    "Hà Nam",
    "Tây Ninh",
    "Tuyên Quang",
    "Yên Bái",
    "Hậu Giang",
    "Đắk Nông",
    "Hòa Bình",
    "Lai Châu",
    "Quảng Trị",
    "Kon Tum",
    "Hưng Yên",
    "Gia Lai",
    "Sóc Trăng",
    "Hải Dương",
    "Điện Biên",
    "Cao Bằng",
    "Hà Giang",
    "Bình Phước",
)

BANG_6 = (
    "Yên Bái",
    "Hậu Giang",
    "Thái Nguyên",
    "Bình Thuận",
    "Thanh Hóa",
    "An Giang",
    "Bắc Giang",
    "Cần Thơ",
    "Đồng Tháp",
    "Ninh Thuận",
    "Quảng Bình",
    "Tây Ninh",
    "Bạc Liêu",
    "Trà Vinh",
    "TP HCM",
    "Thái Bình",
    "Cà Mau",
    "Ninh Bình",
    "Bến Tre",
    "Lào Cai",
    "Lạng Sơn",
    "Nam Định",
    "Nghệ An",
    "Quảng Nam",
    "Quảng Trị",
    "Thừa Thiên Huế",
    "Tuyên Quang",
    "Vĩnh Phúc",
    "Đồng Nai",
    "Bắc Ninh",
    "Bình Định",
    "Bắc Kạn",
    "Đắk Lắk",
    "Lai Châu",
    "Bình Dương",
    "Đà Nẵng",
    "Lâm Đồng",
    "Hải Phòng",
    "Kon Tum",
    "Sơn La",
    "Tiền Giang",
    "Quảng Ngãi",
    "Hà Nam",
    "Hòa Bình",
    "Quảng Ninh",
    "Bà Rịa – Vũng Tàu",
    "Hải Dương",
    "Kiên Giang",
    "Cao Bằng",
    "Gia Lai",
    "Khánh Hòa",
    "Điện Biên",
    "Bình Phước",
    "Hà Giang",
    "Đắk Nông",
    "Long An",
    "Phú Thọ",
    "Hưng Yên",
    "Phú Yên",
    "Sóc Trăng",
)

ALL = list(iter_demo_agencies())
ROOTS = [a for a in ALL if a.parent_code is None]


def _strings(a: AgencySeed) -> list[str]:
    out = [a.name, a.short_name, a.symbol, a.kind, a.code, a.abbr, *a.aliases]
    return out + [s for s in (a.domain, a.parent_code, a.role, a.place) if s is not None]


# --------------------------------------------------------------------------- completeness


@pytest.mark.parametrize("table", [BANG_1, BANG_2, BANG_3], ids=["Bang1", "Bang2", "Bang3"])
def test_every_ministry_row_of_the_seed_maps_to_one_ministry(table: tuple[str, ...]) -> None:
    found = [find_by_name(row) for row in table]
    missing = [row for row, hit in zip(table, found, strict=True) if hit is None]
    assert missing == []
    assert all(a is not None and a.kind in ("ministry", "government_agency") for a in found)
    assert len({a.code for a in found if a}) == len(table)


def test_ministries_are_the_seed_bodies_plus_vpcp_and_bo_cong_an() -> None:
    seed = {find_by_name(r).code for r in BANG_1 + BANG_2 + BANG_3}  # type: ignore[union-attr]
    assert len(seed) == 27
    names = {a.name for a in MINISTRIES if a.code not in seed}
    assert names == {"Văn phòng Chính phủ", "Bộ Công an"}
    assert len(MINISTRIES) == 29


@pytest.mark.parametrize(
    ("table", "count"), [(BANG_4, 63), (BANG_5, 63), (BANG_6, 60)], ids=["Bang4", "Bang5", "Bang6"]
)
def test_every_province_row_of_the_seed_maps_to_one_province(
    table: tuple[str, ...], count: int
) -> None:
    found = [find_by_name(row) for row in table]
    assert [row for row, hit in zip(table, found, strict=True) if hit is None] == []
    assert all(a is not None and a.kind == "province" for a in found)
    assert len({a.code for a in found if a}) == count


def test_sixty_three_provinces() -> None:
    assert len(PROVINCES) == 63
    assert {a.code for a in PROVINCES} == {f"000.00.00.H{n:02d}" for n in range(1, 64)}


def test_seed_typos_are_fixed_in_the_official_names() -> None:
    assert find_by_name("Hung Yên").name == "Ủy ban nhân dân tỉnh Hưng Yên"  # type: ignore[union-attr]
    assert find_by_name("Đông Nai").place == "Đồng Nai"  # type: ignore[union-attr]
    assert find_by_name("Đông Tháp").place == "Đồng Tháp"  # type: ignore[union-attr]
    lang = find_by_name("Ban quản lý Lăng Chủ tịch Hồ Chí Minh")
    assert lang is not None and lang.name == "Ban Quản lý Lăng Chủ tịch Hồ Chí Minh"
    assert find_by_name("Thanh tra Chính phủ").name == "Thanh tra Chính phủ"  # type: ignore[union-attr]
    everything = " | ".join(s for a in ALL for s in (a.name, a.short_name, a.place or ""))
    for typo in ("Hung Yên", "Đông Nai", "Đông Tháp", "Ban quản lý Lăng", "Khoa học và Xã hội"):
        assert typo not in everything


def test_kinds_of_ministries() -> None:
    kinds = {a.name: a.kind for a in MINISTRIES}
    for name in (
        "Ngân hàng Nhà nước Việt Nam",
        "Thanh tra Chính phủ",
        "Ủy ban Dân tộc",
        "Văn phòng Chính phủ",
        "Bộ Tài chính",
    ):
        assert kinds[name] == "ministry"
    for name in (
        "Đài Truyền hình Việt Nam",
        "Thông tấn xã Việt Nam",
        "Bảo hiểm xã hội Việt Nam",
        "Học viện Chính trị - Hành chính quốc gia Hồ Chí Minh",
        "Viện Khoa học và Công nghệ Việt Nam",
        "Viện Khoa học xã hội Việt Nam",
        "Ban Quản lý Lăng Chủ tịch Hồ Chí Minh",
    ):
        assert kinds[name] == "government_agency"
    assert all(a.kind == "ministry" for a in MINISTRIES if a.name.startswith("Bộ "))


# --------------------------------------------------------------------------- codes


def test_codes_are_well_formed_and_unique() -> None:
    codes = [a.code for a in ALL]
    assert all(AGENCY_CODE_RE.match(c) for c in codes)
    assert len(codes) == len(set(codes))


def test_ministry_codes_follow_the_reference() -> None:
    reference = {
        "G01": "Bộ Công an",
        "G02": "Bộ Công Thương",
        "G03": "Bộ Giáo dục và Đào tạo",
        "G04": "Bộ Giao thông vận tải",
        "G05": "Bộ Kế hoạch và Đầu tư",
        "G06": "Bộ Khoa học và Công nghệ",
        "G07": "Bộ Lao động, Thương binh và Xã hội",
        "G08": "Bộ Ngoại giao",
        "G09": "Bộ Nội vụ",
        "G10": "Bộ Nông nghiệp và Phát triển nông thôn",
        "G11": "Bộ Quốc phòng",
        "G12": "Bộ Tài chính",
        "G14": "Bộ Thông tin và Truyền thông",
        "G15": "Bộ Tư pháp",
        "G16": "Bộ Văn hóa, Thể thao và Du lịch",
        "G17": "Bộ Xây dựng",
        "G18": "Bộ Y tế",
        "G19": "Ngân hàng Nhà nước Việt Nam",
        "G20": "Thanh tra Chính phủ",
        "G21": "Ủy ban Dân tộc",
        "G22": "Văn phòng Chính phủ",
    }
    for suffix, name in reference.items():
        a = agency_by_code(f"000.00.00.{suffix}")
        assert (a.name, a.code_is_demo) == (name, False)
    tnmt = agency_by_code("000.00.00.G13")  # only inferred by the reference
    assert (tnmt.name, tnmt.code_is_demo) == ("Bộ Tài nguyên và Môi trường", True)
    for a in MINISTRIES:
        if int(a.code[-2:]) >= 23:
            assert a.code_is_demo and a.kind == "government_agency"


def test_known_province_codes_hold() -> None:
    known = {
        "H29": "Hồ Chí Minh",
        "H37": "Lạng Sơn",
        "H41": "Nghệ An",
        "H49": "Quảng Ninh",
        "H57": "Thừa Thiên Huế",
    }
    for suffix, place in known.items():
        a = agency_by_code(f"000.00.00.{suffix}")
        assert (a.place, a.code_is_demo) == (place, False)
    assert {a.code[-3:] for a in PROVINCES if not a.code_is_demo} == set(known)
    # Two more codes seen in public samples, consistent with the ordering.
    assert agency_by_code("000.00.00.H14").place == "Cao Bằng"
    assert agency_by_code("000.00.00.H19").place == "Đồng Nai"


def test_province_numbering_is_the_ascii_order_of_the_place_names() -> None:
    by_ascii = sorted(PROVINCES, key=lambda a: ascii_fold(a.place or ""))
    assert [a.code for a in by_ascii] == [f"000.00.00.H{n:02d}" for n in range(1, 64)]


def test_units_extend_their_parent_code_at_level_2() -> None:
    for a in ALL:
        if a.parent_code is None:
            assert a.code.startswith("000.00.00.")
            continue
        parent = agency_by_code(a.parent_code)
        assert parent.parent_code is None
        assert a.code.startswith("000.00.") and a.code[-3:] == parent.code[-3:]
        assert a.code != parent.code and a.code_is_demo


def test_child_code_rejects_bad_input() -> None:
    assert child_code("000.00.00.H45", 2) == "000.00.02.H45"
    with pytest.raises(DemoDataError):
        child_code("000.00.02.H45", 1)
    with pytest.raises(DemoDataError):
        child_code("000.00.00.H45", 100)
    with pytest.raises(DemoDataError):
        child_code("H45", 1)


def test_parents_come_first() -> None:
    seen: set[str] = set()
    for a in ALL:
        assert a.parent_code is None or a.parent_code in seen
        seen.add(a.code)


# --------------------------------------------------------------------------- names, domains


def test_all_strings_are_nfc_and_fold_to_something() -> None:
    for a in ALL:
        for s in _strings(a):
            assert unicodedata.is_normalized("NFC", s), s
        for s in (a.name, a.short_name, a.place or "x"):
            assert ascii_fold(s).strip(), s
    pools = [f for f, _ in FAMILY_NAMES] + [*POSITIONS]
    for g in ("male", "female"):
        pools += [*MIDDLE_NAMES[g], *GIVEN_NAMES[g]]  # type: ignore[index]
    assert all(unicodedata.is_normalized("NFC", s) and ascii_fold(s) for s in pools)


def test_short_names_unique_among_siblings_and_fit_the_store() -> None:
    groups: dict[str | None, list[str]] = defaultdict(list)
    for a in ALL:
        groups[a.parent_code].append(a.short_name)
        assert len(a.short_name) <= 60 and len(a.name) <= 300
    for parent, names in groups.items():
        assert len(names) == len(set(names)), (parent, Counter(names).most_common(2))


def test_root_domains_are_valid_unique_gov_vn() -> None:
    domains = [a.domain for a in ROOTS]
    assert all(d is not None for d in domains)
    assert len(domains) == len(set(domains))
    for d in domains:
        assert d is not None and d.endswith(".gov.vn") and d == d.lower() and d.isascii()
        assert is_valid_domain(d), d
    for d in (
        "hanoi.gov.vn",
        "hochiminhcity.gov.vn",
        "phuyen.gov.vn",
        "baria-vungtau.gov.vn",
        "thuathienhue.gov.vn",
        "daklak.gov.vn",
        "mic.gov.vn",
        "vpcp.gov.vn",
    ):
        assert d in domains
    assert not is_valid_domain("-bad.gov.vn") and not is_valid_domain("hà nội.gov.vn")


def test_units_inherit_the_parent_domain() -> None:
    for a in ALL:
        if a.parent_code is not None:
            assert a.domain is None
            assert domain_of(a.code) == agency_by_code(a.parent_code).domain
    assert domain_of("000.00.02.H45") == "phuyen.gov.vn"


def test_province_names() -> None:
    assert agency_by_code("000.00.00.H45").name == "Ủy ban nhân dân tỉnh Phú Yên"
    hanoi = find_by_name("Hà Nội")
    assert hanoi is not None and hanoi.name == "Ủy ban nhân dân thành phố Hà Nội"
    assert hanoi.place == "Hà Nội" and hanoi.symbol == "UBND" and hanoi.kind == "province"
    hcm = agency_by_code("000.00.00.H29")
    assert hcm.name == "Ủy ban nhân dân Thành phố Hồ Chí Minh"


# --------------------------------------------------------------------------- units


def test_every_province_has_the_department_templates() -> None:
    ict = agencies_with_role("dept_ict")
    assert len(ict) == 63 and {a.parent_code for a in ict} == {a.code for a in PROVINCES}
    assert {a.short_name for a in ict} == {"STTTT"}
    for role, short in [
        ("office", "VP"),
        ("dept_home_affairs", "SNV"),
        ("dept_finance", "STC"),
        ("dept_planning", "SKHĐT"),
        ("dept_education", "SGDĐT"),
        ("dept_health", "SYT"),
    ]:
        units = [a for a in agencies_with_role(role) if a.kind == "department"]
        assert len(units) == 63 and {a.short_name for a in units} == {short}
    sttt_py = find_by_name("Sở TT&TT", parent_code="000.00.00.H45")
    assert sttt_py is not None and sttt_py.name == "Sở Thông tin và Truyền thông tỉnh Phú Yên"


def test_every_ministry_has_an_it_unit_and_office() -> None:
    it = agencies_with_role("it_unit")
    assert len(it) == len(MINISTRIES)
    assert {a.parent_code for a in it} == {a.code for a in MINISTRIES}
    assert all(a.kind == "unit" for a in it)
    mic_it = next(a for a in it if a.parent_code == "000.00.00.G14")
    assert mic_it.short_name == "UDCNTT"  # the unit of "476/BTTTT-UDCNTT" in the seed report
    for m in MINISTRIES:
        kids = {a.role for a in ALL if a.parent_code == m.code}
        assert kids == {"office", "it_unit", "personnel", "planning_finance"}


def test_real_districts() -> None:
    def districts(code: str) -> set[str]:
        return {a.name for a in ALL if a.parent_code == code and a.kind == "district"}

    assert districts("000.00.00.H45") == {
        "Ủy ban nhân dân thành phố Tuy Hòa",
        "Ủy ban nhân dân thị xã Sông Cầu",
    }
    assert districts("000.00.00.H24") == {
        "Ủy ban nhân dân quận Ba Đình",
        "Ủy ban nhân dân thị xã Sơn Tây",
    }
    assert "Ủy ban nhân dân Quận 1" in districts("000.00.00.H29")
    assert set(DISTRICTS) <= {a.place for a in PROVINCES}
    for a in ALL:
        if a.kind == "district":
            assert a.role == "district" and a.symbol == "UBND"
            assert re.match(r"Ủy ban nhân dân (quận|huyện|thị xã|thành phố|Quận \d)", a.name)


def test_leader_titles() -> None:
    assert leader_titles(agency_by_code("000.00.00.H45")) == ("Chủ tịch", "Phó Chủ tịch")
    assert leader_titles(agency_by_code("000.00.02.H45")) == ("Giám đốc", "Phó Giám đốc")
    assert leader_titles(agency_by_code("000.00.01.H45"))[0] == "Chánh Văn phòng"
    assert leader_titles(agency_by_code("000.00.00.G19"))[0] == "Thống đốc"
    assert leader_titles(agency_by_code("000.00.00.G14")) == ("Bộ trưởng", "Thứ trưởng")
    assert leader_titles(agency_by_code("000.00.03.G14"))[0] == "Vụ trưởng"
    assert leader_titles(agency_by_code("000.00.02.G14"))[0] == "Cục trưởng"


# --------------------------------------------------------------------------- find_by_name


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Bộ Nội vụ (tại khối cơ quan Bộ)", "000.00.00.G09"),
        ("Bộ Tài chính (tại trụ sở Bộ)", "000.00.00.G12"),
        ("BỘ THÔNG TIN VÀ TRUYỀN THÔNG", "000.00.00.G14"),
        ("bo thong tin va truyen thong", "000.00.00.G14"),
        ("Thông tin và Truyền thông", "000.00.00.G14"),
        ("Bộ TT&TT", "000.00.00.G14"),
        ("BTTTT", "000.00.00.G14"),
        ("Uỷ ban Dân tộc", "000.00.00.G21"),
        ("Tỉnh Phú Yên", "000.00.00.H45"),
        ("Ủy ban nhân dân tỉnh Phú Yên", "000.00.00.H45"),
        ("UBND Tỉnh Nghệ An", "000.00.00.H41"),
        ("TP. Hồ Chí Minh", "000.00.00.H29"),
        ("Thành phố Hồ Chí Minh", "000.00.00.H29"),
        ("TP HCM", "000.00.00.H29"),
        ("Thành phố Hà Nội", "000.00.00.H24"),
        ("Bà Rịa-Vũng Tàu", "000.00.00.H02"),
        (unicodedata.normalize("NFD", "Thừa Thiên Huế"), "000.00.00.H57"),
    ],
)
def test_find_by_name_tolerates_spelling(written: str, code: str) -> None:
    hit = find_by_name(written)
    assert hit is not None and hit.code == code


def test_find_by_name_refuses_unknown_or_ambiguous() -> None:
    assert find_by_name("Bộ Ngoại thương") is None
    assert find_by_name("") is None
    assert find_by_name("Sở Y tế") is None  # every province has one: needs parent_code
    assert find_by_name("Sở Y tế", parent_code="000.00.00.H24") is not None


def test_root_name_keys_do_not_collide() -> None:
    owners: dict[str, str] = {}
    for a in ROOTS:
        for key in {name_key(a.name), *(name_key(x) for x in a.aliases)}:
            assert owners.setdefault(key, a.code) == a.code, key


# --------------------------------------------------------------------------- staff


def test_family_names_follow_the_frequency_order() -> None:
    weight = dict(FAMILY_NAMES)
    weight["Hoàng"] += weight.pop("Huỳnh")
    weight["Vũ"] += weight.pop("Võ")
    order = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ"]
    assert sorted(weight, key=weight.__getitem__, reverse=True)[: len(order)] == order
    for name in ("Hồ", "Ngô", "Dương", "Lý"):
        assert name in weight


def test_given_names_use_every_vietnamese_letter() -> None:
    letters = "".join(GIVEN_NAMES["male"] + GIVEN_NAMES["female"]).lower()
    base = unicodedata.normalize("NFD", letters)
    for needed in ("đ", "ư", "ơ", "ă", "â", "ê", "ô"):
        decomposed = unicodedata.normalize("NFD", needed)
        assert needed in letters or decomposed in base, needed


def test_demo_staff_is_deterministic_and_ignores_the_global_rng() -> None:
    random.seed(1)
    first = demo_staff("000.00.02.H45", 25)
    state = random.getstate()
    random.seed(2)
    second = demo_staff("000.00.02.H45", 25)
    assert first == second
    random.setstate(state)
    demo_staff("000.00.00.G14", 10)
    assert random.getstate() == state
    other = demo_staff("000.00.02.H45", 25, seed=7)
    assert [s.staff_id for s in other] == [s.staff_id for s in first]
    assert [s.full_name for s in other] != [s.full_name for s in first]


def test_demo_staff_content() -> None:
    staff = demo_staff("000.00.02.H45", 40)
    assert staff[0].staff_id == "PY-020001" and staff[0].position == "Giám đốc"
    assert "Văn thư" in [s.position for s in staff[:4]]
    assert [s.position for s in staff].count("Phó Giám đốc") >= 2
    assert len({s.full_name for s in staff}) == len(staff)
    for s in staff:
        assert s.agency_code == "000.00.02.H45" and s.position in POSITIONS
        assert s.full_name == f"{s.family_name} {s.middle_name} {s.given_name}"
        assert s.middle_name in MIDDLE_NAMES[s.gender] and s.given_name in GIVEN_NAMES[s.gender]
        assert unicodedata.is_normalized("NFC", s.full_name)
    assert demo_staff("000.00.00.H45", 1)[0].position == "Chủ tịch"
    assert demo_staff("000.00.00.H45", 0) == []


def test_staff_ids_unique_across_the_whole_demo() -> None:
    ids = [s.staff_id for a in ALL for s in demo_staff(a.code, 12)]
    assert len(ids) == len(set(ids)) == 12 * len(ALL)
    assert all(re.fullmatch(r"[A-Z]+-\d{6}", i) for i in ids)
    assert len({a.abbr for a in ROOTS}) == len(ROOTS)
    assert staff_id_for("000.00.00.H45", 123) == "PY-000123"


def test_demo_staff_rejects_bad_input() -> None:
    with pytest.raises(UnknownAgencyCodeError):
        demo_staff("000.00.00.H99", 3)
    with pytest.raises(LookupError):
        agency_by_code("nonsense")
    with pytest.raises(DemoDataError):
        demo_staff("000.00.00.H45", -1)
    with pytest.raises(DemoDataError):
        demo_staff("000.00.00.H45", 10_000)
    with pytest.raises(DemoDataError):
        staff_id_for("000.00.00.H45", 0)
