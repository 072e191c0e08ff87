"""Mutated real-shaped messages: parse_message never raises and every offset stays inside
the raw message (see ``check_invariants``)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govmail.mail.parsed import parse_message
from tests.mail.mail_corpus import ALL, check_invariants

_FRAGMENTS = [
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b"--",
    b"--outer",
    b"--outer--",
    b"------=_Part_0_1",
    b"--=_alt_7f3a\r\n",
    b"--L2\r\n",
    b"\r\n--L1--\r\n",
    b"Content-Type: multipart/mixed; boundary=outer\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Type: text/plain; charset=x-bogus\r\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''%C3; filename*1=",
    b"=?utf-8?B?",
    b"=?windows-1258?Q?=D2",
    b"?=",
    b'"',
    b"<",
    b">",
    b"(",
    b")",
    b":",
    b";",
    b",",
    b"@",
    b"\\",
    b" ",
    b"\t",
    b"\x00",
    b"\xff\xfe",
    "Đặng Việt".encode(),
    "Hà Nội".encode("cp1258", "replace"),
]

_mutation = st.one_of(
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 64)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(_FRAGMENTS)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.none()),
    st.tuples(st.just("duplicate"), st.floats(0, 1), st.integers(1, 200)),
)


def _apply(raw: bytes, mutations: list[tuple[str, float, object]]) -> bytes:
    data = bytearray(raw)
    for kind, where, arg in mutations:
        pos = int(where * len(data))
        if kind == "delete":
            assert isinstance(arg, int)
            del data[pos : pos + arg]
        elif kind == "insert":
            assert isinstance(arg, bytes)
            data[pos:pos] = arg
        elif kind == "flip" and data:
            assert isinstance(arg, int)
            data[min(pos, len(data) - 1)] = arg
        elif kind == "truncate":
            del data[pos:]
        elif kind == "duplicate":
            assert isinstance(arg, int)
            data[pos:pos] = data[pos : pos + arg]
    return bytes(data)


@given(
    name=st.sampled_from(sorted(ALL)),
    mutations=st.lists(_mutation, min_size=1, max_size=6),
)
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_mutated_messages(name: str, mutations: list[tuple[str, float, object]]) -> None:
    raw = _apply(ALL[name], mutations)
    check_invariants(raw, parse_message(raw))


@given(st.binary(max_size=600))
@settings(max_examples=200, deadline=None)
def test_random_bytes(raw: bytes) -> None:
    check_invariants(raw, parse_message(raw))


@given(st.lists(st.sampled_from([*_FRAGMENTS, b"Subject: x", b"From: a@b", b"x"]), max_size=60))
@settings(max_examples=200, deadline=None)
def test_fragment_soup(pieces: list[bytes]) -> None:
    raw = b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" + b"".join(pieces)
    check_invariants(raw, parse_message(raw))
