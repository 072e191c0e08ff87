import unicodedata

import pytest

from govmail.mail.textfold import fold, fold_query, nfc, normalize_tone_placement, query_terms


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Công văn", "cong van"),
        ("cong van", "cong van"),
        ("CÔNG  VĂN\t\n số 12", "cong van so 12"),
        ("Đặng", "dang"),
        ("ĐẶNG THỊ ĐÀO", "dang thi dao"),
        ("Nguyễn Thị Ưng", "nguyen thi ung"),
        ("Phở bò", "pho bo"),
        ("Sở Tư pháp", "so tu phap"),
        ("thương mại", "thuong mai"),
        ("Hỏa tốc", "hoa toc"),
        ("Hoả tốc", "hoa toc"),
        ("  leading and trailing  ", "leading and trailing"),
        ("", ""),
        ("Straße", "strasse"),
        ("ﬁle №5", "file no5"),
        ("Văn\x00bản\x00", "van ban"),  # NUL is a space (PostgreSQL text cannot hold it)
        ("van\x00\x00ban", "van ban"),
    ],
)
def test_fold_examples(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_nfd_input_from_macos() -> None:
    decomposed = unicodedata.normalize("NFD", "Ủy ban nhân dân tỉnh Đồng Tháp")
    assert decomposed != "Ủy ban nhân dân tỉnh Đồng Tháp"
    assert fold(decomposed) == "uy ban nhan dan tinh dong thap"
    assert fold(decomposed) == fold("Ủy ban nhân dân tỉnh Đồng Tháp")


def test_tone_placement_variants_fold_equal() -> None:
    # U+1ECF (o with hook above) vs U+1EA3 (a with hook above)
    assert "Hỏa" != "Hoả"
    assert fold("Hỏa") == fold("Hoả") == "hoa"
    assert fold("thủy lợi") == fold("thuỷ lợi")


def test_fold_is_idempotent_and_query_matches_substring() -> None:
    text = fold("Về việc triển khai Nghị định 30/2020/NĐ-CP")
    assert fold(text) == text
    assert fold_query("nghị ĐỊNH 30") in text
    assert fold_query("nd-cp") in text


def test_fold_keeps_other_scripts() -> None:
    assert fold("Hà Nội 河内 한국") == "ha noi 河内 한국"


def test_query_terms_keep_quoted_phrases() -> None:
    assert query_terms('"Công văn" đến  Hà Nội') == ["cong van", "den", "ha", "noi"]
    assert query_terms('"unterminated phrase') == ["unterminated phrase"]
    assert query_terms('  "" ') == []


def test_nfc() -> None:
    assert nfc(unicodedata.normalize("NFD", "Việt")) == "Việt"
    assert len(nfc(unicodedata.normalize("NFD", "Việt"))) == 4


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("hoà", "hòa"),
        ("Hoả tốc", "Hỏa tốc"),
        ("HOẢ TỐC", "HỎA TỐC"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("giấy uỷ quyền", "giấy ủy quyền"),
        ("oà", "òa"),
        ("oá", "óa"),
        ("Nguyễn Văn Thuỷ", "Nguyễn Văn Thủy"),
        # already canonical or not affected
        ("hòa", "hòa"),
        ("ủy", "ủy"),
        ("quý", "quý"),
        ("quả", "quả"),
        ("hoàng", "hoàng"),
        ("khuyến", "khuyến"),
        ("khuỷu", "khuỷu"),
        ("ngoài", "ngoài"),
        ("xoáy", "xoáy"),
        ("mùa", "mùa"),
        ("Photoshop hoa", "Photoshop hoa"),
        # closed syllables take the tone on the second vowel
        ("hòan", "hoàn"),
        ("tóan", "toán"),
    ],
)
def test_normalize_tone_placement(text: str, canonical: str) -> None:
    assert normalize_tone_placement(text) == canonical


def test_normalize_tone_placement_nfd_and_idempotent() -> None:
    nfd = unicodedata.normalize("NFD", "Cộng hoà xã hội chủ nghĩa Việt Nam")
    once = normalize_tone_placement(nfd)
    assert once == "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert normalize_tone_placement(once) == once


def test_decree_spellings_compare_equal_after_normalisation() -> None:
    assert normalize_tone_placement("Hoả tốc") == normalize_tone_placement("Hỏa tốc")
    assert normalize_tone_placement("HOẢ TỐC").lower() == normalize_tone_placement("hỏa tốc")
