"""Property-based tests: the reader and parser survive anything; the value encoder round-trips.

Settings are bounded so that the whole module runs in a few seconds.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govmail.imap.protocol import (
    CommandReader,
    ContinuationLine,
    LiteralRequest,
    ProtocolError,
    RawCommand,
    ReaderLimits,
    parse_command,
)
from govmail.imap.protocol import values as v
from govmail.imap.protocol.tokens import Atom, Literal, ParenList, Quoted, Token

FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SENTINEL = b"zz999 NOOP\r\n"
LIMITS = ReaderLimits(
    max_line_length=2048,
    max_literal_size=512,
    max_append_literal_size=512,
    max_command_literal_total=1024,
    max_discard_size=512,
)

VALID_COMMANDS = [
    b"a001 LOGIN SMITH SESAME\r\n",
    b'a LOGIN "nguyen.van.a" {4}\r\npass\r\n',
    b"A142 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
    b'a CREATE "H&Htk-p th&AbA- c&AaE- quan/&ARAA4w- g&Hu0-i" (USE (\\Sent))\r\n',
    b"A683 RENAME blurdybloop sarasoop\r\n",
    b'A01 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("%" "INBOX") RETURN (STATUS (MESSAGES))\r\n',
    b'A002 LSUB "#news." "comp.mail.*"\r\n',
    b"A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)\r\n",
    b'A003 APPEND saved (\\Seen) "17-Jul-1996 02:44:25 -0700" {11+}\r\nDate: x\r\n\r\n'
    b" ~{2}\r\nab\r\n",
    b"a APPEND INBOX UTF8 (~{3}\r\nabc)\r\n",
    b"A282 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR FLAGGED "
    b'(SINCE 1-Feb-1994 NOT FROM "Smith") UID 1:*\r\n',
    b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338 HEADER Subject {3}\r\nabc\r\n',
    b"A654 FETCH 2:4 (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.100> BINARY[1.2] "
    b"BODY[1.MIME])\r\n",
    b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
    b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
    b"a UID MOVE 42:69 foo\r\n",
    b'A302 COPY $ "Other Messages"\r\n',
    b"A003 UID EXPUNGE 3000:3002\r\n",
    b'a023 ID ("name" "sodr" "version" NIL)\r\n',
    b"t2 ENABLE CONDSTORE UTF8=ACCEPT\r\n",
    b'S0000 SETQUOTA "#user/alice" (STORAGE 510)\r\n',
    b"A002 SETACL INBOX/Drafts Chris +cda\r\n",
    b"a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
    b"a IDLE\r\n",
]


def run(
    chunks: list[bytes], accept: bool, limits: ReaderLimits = LIMITS
) -> tuple[list[RawCommand], bool]:
    """Feed chunks; parse every command. Only ProtocolError may escape the reader/parser."""
    reader = CommandReader(limits)
    seen: list[RawCommand] = []
    fatal = False
    for chunk in chunks:
        reader.feed(chunk)
        while True:
            try:
                event = reader.next_event()
            except ProtocolError as err:
                assert err.reason and "\n" not in err.reason
                fatal = fatal or err.fatal
                continue
            if event is None:
                break
            if isinstance(event, LiteralRequest):
                if accept:
                    reader.accept_literal()
                else:
                    reader.reject_literal()
                continue
            assert not isinstance(event, ContinuationLine)
            seen.append(event)
            for utf8 in (False, True):
                try:
                    parse_command(event, utf8=utf8)
                except ProtocolError as err:
                    assert err.tag == event.tag
    return seen, fatal


def assert_recovers(data: bytes, cuts: list[int], accept: bool) -> None:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    # Enough sentinels to flush any pending literal (at most LIMITS.max_discard_size octets).
    chunks.append(b"\r\n" + SENTINEL * 100)
    seen, fatal = run(chunks, accept)
    if not fatal:
        assert any(cmd.tag == "zz999" and cmd.name == "NOOP" for cmd in seen)


@FUZZ
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=6), st.booleans())
def test_random_bytes_only_raise_protocol_errors(
    data: bytes, cuts: list[int], accept: bool
) -> None:
    assert_recovers(data, cuts, accept)


IMAPISH = st.sampled_from(
    [
        b" ",
        b"(",
        b")",
        b"[",
        b"]",
        b"{",
        b"}",
        b"~",
        b"+",
        b'"',
        b"\\",
        b"\r",
        b"\n",
        b"\r\n",
        b"*",
        b"%",
        b"<",
        b">",
        b".",
        b":",
        b",",
        b"$",
        b"NIL",
        b"{3}\r\n",
        b"{2+}\r\n",
        b"~{1}\r\n",
        b"BODY[",
        b"HEADER.FIELDS (",
        b"\x00",
        b"\xff",
        b"&",
        b"-",
        b"1",
        b"0",
    ]
)


@st.composite
def mutated_command(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID_COMMANDS)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate"]))
        if action == "delete":
            end = draw(st.integers(pos, min(len(data), pos + 8)))
            del data[pos:end]
        elif action == "insert":
            data[pos:pos] = draw(st.one_of(IMAPISH, st.binary(min_size=1, max_size=4)))
        elif action == "replace":
            data[pos] = draw(st.integers(0, 255))
        elif action == "duplicate":
            end = draw(st.integers(pos, min(len(data), pos + 16)))
            data[pos:pos] = data[pos:end]
        else:
            del data[pos:]
    return bytes(data)


@FUZZ
@given(mutated_command(), st.lists(st.integers(0, 400), max_size=4), st.booleans())
def test_mutated_commands_only_raise_protocol_errors(
    data: bytes, cuts: list[int], accept: bool
) -> None:
    assert_recovers(data, cuts, accept)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(VALID_COMMANDS), st.lists(st.integers(0, 400), max_size=8))
def test_valid_commands_parse_however_they_are_chunked(data: bytes, cuts: list[int]) -> None:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    seen, fatal = run(chunks, accept=True, limits=ReaderLimits())
    assert not fatal and len(seen) == 1
    parse_command(seen[0])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(VALID_COMMANDS), min_size=1, max_size=10))
def test_pipelined_commands_all_arrive(lines: list[bytes]) -> None:
    seen, _ = run([b"".join(lines)], accept=True, limits=ReaderLimits())
    assert len(seen) == len(lines)


# --------------------------------------------------------------------------- value encoder


def first_argument(wire: bytes) -> Token:
    seen, fatal = run([b"t1 LOGIN " + wire + b" x\r\n"], accept=True, limits=ReaderLimits())
    assert not fatal and len(seen) == 1
    return seen[0].args[0]


def token_bytes(token: Token) -> bytes:
    if isinstance(token, Quoted | Literal):
        return token.value
    assert isinstance(token, Atom) and token.section is None
    return token.value.encode("ascii")


@FUZZ
@given(st.binary(max_size=200), st.booleans())
def test_string_round_trips_any_bytes(data: bytes, utf8: bool) -> None:
    token = first_argument(v.string(data, utf8=utf8))
    assert isinstance(token, Quoted | Literal)
    assert token.value == data


@FUZZ
@given(st.one_of(st.binary(max_size=100), st.text(max_size=50)), st.booleans())
def test_astring_round_trips(data: bytes | str, utf8: bool) -> None:
    expected = data.encode() if isinstance(data, str) else data
    token = first_argument(v.astring(data, utf8=utf8))
    assert token_bytes(token) == expected
    if isinstance(token, Atom):
        assert token.value.upper() != "NIL"


@FUZZ
@given(st.text(max_size=40), st.booleans())
def test_mailbox_names_round_trip_through_parser(name: str, utf8: bool) -> None:
    import unicodedata

    seen, _ = run([b"t SELECT " + v.mailbox(name, utf8=utf8) + b"\r\n"], True, ReaderLimits())
    command = parse_command(seen[0], utf8=utf8)
    expected = unicodedata.normalize("NFC", name)
    assert command.mailbox == ("INBOX" if expected.upper() == "INBOX" else expected)  # type: ignore[attr-defined]


VALUES = st.recursive(
    st.one_of(st.none(), st.integers(0, 2**63), st.binary(max_size=30)),
    lambda children: st.lists(children, max_size=4),
    max_leaves=12,
)


def as_python(token: Token) -> object:
    if isinstance(token, ParenList):
        return [as_python(t) for t in token.items]
    if isinstance(token, Atom):
        return None if token.value == "NIL" else int(token.value)
    return token.value


@FUZZ
@given(VALUES)
def test_nested_values_round_trip(value: object) -> None:
    token = first_argument(v.encode(value))  # type: ignore[arg-type]
    assert as_python(token) == value
