"""Decree 30/2020 data: the 29 types and their abbreviations (old forms read, new ones
written), number and symbol, confidentiality and urgency spellings, place and date."""

from __future__ import annotations

from datetime import date

import pytest

from govmail.documents import decree30 as d


def test_the_29_types_in_the_decree_order_with_the_new_abbreviations() -> None:
    assert len(d.DOCUMENT_TYPES) == 29
    assert [t.number for t in d.DOCUMENT_TYPES] == list(range(1, 30))
    assert d.type_by_number(14).abbreviation == "BC"  # type: ignore[union-attr]
    assert d.type_by_number(18).name == "Công văn"  # type: ignore[union-attr]
    assert d.type_by_number(18).abbreviation == ""  # type: ignore[union-attr]
    abbreviations = [t.abbreviation for t in d.DOCUMENT_TYPES if t.abbreviation]
    assert len(abbreviations) == len(set(abbreviations)) == 27
    assert {"BGN", "BTT", "GNP", "QyĐ", "CTr", "TTr"} <= set(abbreviations)


@pytest.mark.parametrize(
    ("old", "new"), [("GN", "BGN"), ("TTh", "BTT"), ("NP", "GNP"), ("BGN", "BGN")]
)
def test_old_circular_01_2011_abbreviations_are_read_as_the_new_types(old: str, new: str) -> None:
    t = d.type_by_abbreviation(old)
    assert t is not None and t.abbreviation == new
    symbol = d.format_symbol(3, t, "BTTTT")
    assert symbol.notation == f"{new}-BTTTT"  # written in the new form only


def test_d_with_stroke_is_significant_and_case_is_not() -> None:
    assert d.type_by_abbreviation("HĐ").name == "Hợp đồng"  # type: ignore[union-attr]
    assert d.type_by_abbreviation("HD").name == "Hướng dẫn"  # type: ignore[union-attr]
    assert d.type_by_abbreviation("ĐA").name == "Đề án"  # type: ignore[union-attr]
    assert d.type_by_abbreviation("DA").name == "Dự án"  # type: ignore[union-attr]
    assert d.type_by_abbreviation("qyđ").name == "Quy định"  # type: ignore[union-attr]
    assert d.type_by_abbreviation("XYZ") is None


def test_types_by_name_whatever_the_tone_placement_and_case() -> None:
    assert d.type_by_name("BÁO CÁO").number == 14  # type: ignore[union-attr]
    assert d.type_by_name("Bản thoả thuận").number == 21  # type: ignore[union-attr]
    assert d.type_by_name("Giấy uỷ quyền").number == 22  # type: ignore[union-attr]
    assert d.type_by_name("Quyết định (cá biệt)").number == 2  # type: ignore[union-attr]
    assert d.lookup_type("CV") is d.CONG_VAN
    assert d.lookup_type("23").name == "Giấy mời"  # type: ignore[union-attr]


def test_numbers_have_a_leading_zero_below_ten() -> None:
    assert d.format_number(5) == "05"
    assert d.format_number(22) == "22"
    with pytest.raises(ValueError):
        d.format_number(0)


def test_symbols_of_a_report_and_of_a_cong_van() -> None:
    bc = d.format_symbol(22, d.type_by_abbreviation("BC"), "BTTTT")  # type: ignore[arg-type]
    assert bc.text == "22/BC-BTTTT"
    cv = d.format_symbol(588, d.CONG_VAN, "BTTTT", "THH")
    assert cv.text == "588/BTTTT-THH"
    assert d.format_symbol(15, d.CONG_VAN, "UBND", "VP").text == "15/UBND-VP"


@pytest.mark.parametrize(
    ("text", "number", "notation", "type_no"),
    [
        ("Số: 22/BC-BTTTT", "22", "BC-BTTTT", 14),
        ("588/BTTTT-THH", "588", "BTTTT-THH", 18),
        ("Số: 2125/BTTTT-ƯDCNTT", "2125", "BTTTT-ƯDCNTT", 18),
        ("34/2008/CT-TTg", "34", "2008/CT-TTg", 3),
        ("  05 / QĐ - UBND ", "05", "QĐ-UBND", 2),
        ("12/GN-BNG", "12", "GN-BNG", 20),
    ],
)
def test_reading_number_and_symbol(text: str, number: str, notation: str, type_no: int) -> None:
    s = d.parse_symbol(text)
    assert (s.number, s.notation) == (number, notation)
    assert d.type_of_symbol(s).number == type_no


@pytest.mark.parametrize("bad", ["", "BC-BTTTT", "22/", "x/BC", "22/BC BTTTT", "22/<script>"])
def test_unreadable_symbols_are_refused(bad: str) -> None:
    with pytest.raises(d.SymbolError):
        d.parse_symbol(bad)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Hỏa tốc", "hoa_toc"),
        ("Hoả tốc", "hoa_toc"),
        ("HỎA TỐC", "hoa_toc"),
        ("HOẢ TỐC", "hoa_toc"),
        ("thượng khẩn", "thuong_khan"),
        ("Khẩn", "khan"),
        ("", "thuong"),
    ],
)
def test_urgency_spellings_are_one_level(text: str, key: str) -> None:
    level = d.urgency(text)
    assert level is not None and level.key == key
    assert d.urgency(3).name == "Hỏa tốc"  # type: ignore[union-attr]  # edXML Priority 3


@pytest.mark.parametrize(
    ("text", "key"),
    [("Mật", "mat"), ("MẬT", "mat"), ("tối mật", "toi_mat"), ("TUYỆT MẬT", "tuyet_mat")],
)
def test_confidentiality_spellings(text: str, key: str) -> None:
    level = d.confidentiality(text)
    assert level is not None and level.key == key
    assert d.confidentiality("") is None
    assert d.confidentiality("Thường") is None
    assert d.confidentiality("mật khẩu") is None


def test_place_and_date_and_document_id() -> None:
    assert d.format_place_date("Hà Nội", date(2020, 3, 5)) == "Hà Nội, ngày 05 tháng 3 năm 2020"
    assert d.format_place_date("Phú Yên", date(2014, 2, 26)).endswith("ngày 26 tháng 02 năm 2014")
    assert d.format_place_date("Huế", date(2011, 11, 18)).endswith("ngày 18 tháng 11 năm 2011")
    s = d.parse_symbol("7816/VPCP-TTĐT")
    assert d.document_id("000.00.00.G22", date(2015, 9, 30), s) == (
        "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    )
