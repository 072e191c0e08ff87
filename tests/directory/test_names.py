import pytest

from govmail.directory.errors import DirectoryError
from govmail.directory.names import (
    ascii_fold,
    first_free,
    render_local_part,
    split_name,
    validate_local_part,
    validate_template,
)


@pytest.mark.parametrize(
    ("name", "template", "expected"),
    [
        ("Nguyễn Thị Minh Hằng", "{given}{initials}", "hangntm"),
        ("Nguyễn Thị Minh Hằng", "{given}.{initials}", "hang.ntm"),
        ("Đặng Văn Đức", "{given}{initials}", "ducdv"),
        ("Trương Thị Ngọc Ưng", "{given}{initials}", "ungttn"),
        ("Phạm Quang Ơn", "{given}.{family}", "on.pham"),
        ("Lê Thị Thu Thủy", "{given}{initials}", "thuyltt"),
        ("Hoàng Ngọc Ánh", "{family}.{given}", "hoang.anh"),
        ("Bùi Xuân Trường", "{given_initial}{family}", "tbui"),
        ("Huỳnh Thị Bích Ngọc", "{given}-{initials}", "ngoc-htb"),
        ("Lò Văn Giàng", "{given}{initials}", "gianglv"),
        ("H'Hen Niê", "{given}{initials}", "nieh"),
        ("Minh", "{given}.{initials}", "minh"),
    ],
)
def test_render_local_part(name: str, template: str, expected: str) -> None:
    assert render_local_part(template, name) == expected


def test_nfd_input_folds_like_nfc() -> None:
    import unicodedata

    name = "Nguyễn Thị Minh Hằng"
    assert render_local_part("{given}{initials}", unicodedata.normalize("NFD", name)) == "hangntm"


def test_ascii_fold_handles_d_stroke_and_horn_letters() -> None:
    assert ascii_fold("Đường Ương Ơn Ẵm Ấu Ễnh Ỗi") == "duong uong on am au enh oi"


@pytest.mark.parametrize("name", ["", "   ", "!!!", "李小龍", "—"])
def test_name_that_folds_to_nothing_is_refused(name: str) -> None:
    with pytest.raises(DirectoryError) as exc:
        render_local_part("{given}{initials}", name)
    assert exc.value.key == "name.folds_to_nothing"


def test_split_name() -> None:
    p = split_name("Nguyễn Thị Minh Hằng")
    assert (p.family, p.middle, p.given) == ("nguyen", ("thi", "minh"), "hang")


def test_collisions_are_deterministic() -> None:
    assert first_free("hangntm", set()) == "hangntm"
    assert first_free("hangntm", {"hangntm"}) == "hangntm2"
    assert first_free("hangntm", {"hangntm", "hangntm2", "hangntm3"}) == "hangntm4"
    assert first_free("vanthu", set(), reserved={"vanthu"}) == "vanthu2"


@pytest.mark.parametrize(
    "template", ["{given}{oops}", "nothing", "{given} {initials}", "{given}@x"]
)
def test_bad_templates(template: str) -> None:
    with pytest.raises(DirectoryError):
        validate_template(template)


@pytest.mark.parametrize("local", ["", ".a", "a.", "a..b", "a b", "ăn", "a" * 65, "-x"])
def test_bad_local_parts(local: str) -> None:
    with pytest.raises(DirectoryError) as exc:
        validate_local_part(local)
    assert exc.value.key == "address.invalid_local_part"
