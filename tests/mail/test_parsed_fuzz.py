"""Mutated real-shaped messages: parse_message never raises and every offset stays inside
the raw message (see ``check_invariants``)."""

import email.message

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govmail.mail.parsed import decoded_part, parse_message, walk_parts
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


# --- well-formed messages written by the standard library ------------------------------------

_words = st.sampled_from(
    ["Công", "văn", "số", "Đặng", "Ủy", "ban", "hỏa", "tốc", "report", "2024", "Hà", "Nội"]
)
_text = st.lists(_words, min_size=1, max_size=30).map(" ".join)
_leaf = st.one_of(
    st.tuples(st.just("text"), _text),
    st.tuples(st.just("html"), _text),
    st.tuples(st.just("file"), st.tuples(_text, st.binary(max_size=300))),
)
_tree = st.recursive(_leaf, lambda kids: st.lists(kids, min_size=1, max_size=4), max_leaves=8)


def _build(node: object) -> "email.message.EmailMessage":
    from email.message import EmailMessage

    msg = EmailMessage()
    if isinstance(node, list):
        msg.make_mixed()
        for child in node:
            msg.attach(_build(child))
        return msg
    assert isinstance(node, tuple)
    kind, value = node
    if kind == "text":
        msg.set_content(value)
    elif kind == "html":
        msg.set_content(f"<p>{value}</p>", subtype="html")
    else:
        name, data = value
        msg.set_content(data, maintype="application", subtype="pdf", filename=name + ".pdf")
    return msg


@given(_tree, _text)
@settings(max_examples=60, deadline=None)
def test_stdlib_written_messages(tree: object, subject: str) -> None:
    import email
    import email.policy

    msg = _build(tree if isinstance(tree, list) else [tree])
    msg["Subject"] = subject
    msg["From"] = "Văn thư <vanthu@bo.gov.vn>"
    raw = msg.as_bytes(policy=email.policy.SMTP)
    pm = parse_message(raw)
    check_invariants(raw, pm)
    reparsed = email.message_from_bytes(raw, policy=email.policy.default)
    # Compared with the standard library's reading, not with ``subject``: its encoder drops
    # the space at a fold between two encoded-words (RFC 2047 ignores that whitespace).
    assert pm.subject == str(reparsed["Subject"])
    assert pm.subject.replace(" ", "") == subject.replace(" ", "")
    assert pm.from_display == "Văn thư"
    ours = [
        (part.media_type, decoded_part(raw, pm, num), part.filename)
        for num, part in walk_parts(pm)
        if not part.parts
    ]
    theirs = [
        (leaf.get_content_type(), leaf.get_payload(decode=True), leaf.get_filename())
        for leaf in reparsed.walk()
        if not leaf.is_multipart()
    ]
    assert ours == theirs
    names = [a.filename for a in pm.attachments]
    assert names == [f for _, _, f in theirs if f is not None]
