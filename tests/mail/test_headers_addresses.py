"""The address-list shortcut for the usual forms reads every list exactly as the tokenizer
does, and steps aside for anything else: compared on generated lists, from the plain
forms to ones full of quotes, comments, groups, brackets, dots and stray specials."""

from hypothesis import given, settings
from hypothesis import strategies as st

from govmail.mail.headers import (
    Address,
    _plain_address_list,
    _tokenized_address_list,
    parse_address_list,
)

_atom = st.text(
    alphabet=st.sampled_from("abcXYZ019-_+=?!#$%&'*/^`{|}~ệĐ\u00a0"), min_size=1, max_size=6
)
_dot_atom = st.lists(_atom, min_size=1, max_size=3).map(".".join)
_addr = st.builds(lambda local, domain: f"{local}@{domain}", _dot_atom, _dot_atom)
_ws = st.sampled_from(["", " ", "  ", "\t", " \t "])
_phrase = st.lists(_atom, min_size=1, max_size=3).flatmap(
    lambda words: st.builds(
        lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True)).rstrip(" \t"),
        st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=len(words), max_size=len(words)),
    )
)
_plain_entry = st.one_of(
    st.builds(lambda a, b, c: f"{a}{b}{c}", _ws, _addr, _ws),
    st.builds(lambda a, b, c, d: f"{a}<{b}{c}{b}>{d}", _ws, _ws, _addr, _ws),
    st.builds(lambda a, n, b, c, d: f"{a}{n}{b}<{c}>{d}", _ws, _phrase, _ws, _addr, _ws),
    _ws,  # an empty entry, as in "a@b, , c@d"
)
_plain_list = st.lists(_plain_entry, min_size=1, max_size=5).map(",".join)
_specials = st.sampled_from([*'<>@,;:."()[]\\', "\r\n ", "<>", "=?utf-8?q?=C3?="])
_any_list = st.lists(
    st.one_of(_plain_entry, _specials, _atom, _ws), min_size=1, max_size=12
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_plain_list, st.integers(min_value=1, max_value=6))
def test_plain_lists_take_the_shortcut_and_read_the_same(text: str, limit: int) -> None:
    plain = _plain_address_list(text, limit)
    assert plain is not None
    assert plain == _tokenized_address_list(text, limit)


@settings(max_examples=600, deadline=None)
@given(_any_list)
def test_any_list_reads_the_same_either_way(text: str) -> None:
    plain = _plain_address_list(text, 10000)
    if plain is not None:
        assert plain == _tokenized_address_list(text, 10000)


def test_forms_the_shortcut_leaves_to_the_tokenizer() -> None:
    for text in (
        '"Nguyễn, Văn A" <a@b.vn>',
        "a@b.vn (Phòng Tổng hợp)",
        "undisclosed-recipients:;",
        "<@relay.vn:a@b.vn>",
        "a@[127.0.0.1]",
        "John Q. Public <john@b.vn>",
        "<>",
        "<a,b@c.vn>",
    ):
        assert _plain_address_list(text, 10000) is None, text
    assert _plain_address_list("a@b.vn", 0) is None  # no limit to keep to: the tokenizer's
    assert parse_address_list("Văn thư <vanthu@phuyen.gov.vn>, b@MIC.gov.vn") == [
        Address("Văn thư", None, "vanthu", "phuyen.gov.vn"),
        Address(None, None, "b", "MIC.gov.vn"),
    ]
    assert parse_address_list(b"=?utf-8?q?V=C4=83n?= <a@b.vn>,\r\n c@d.vn") == [
        Address("=?utf-8?q?V=C4=83n?=", None, "a", "b.vn"),
        Address(None, None, "c", "d.vn"),
    ]
