"""CommandReader: framing, literals, limits and resynchronisation after bad input."""

from __future__ import annotations

import pytest

from govmail.imap.protocol import (
    CommandReader,
    ContinuationLine,
    ErrorKind,
    LiteralRequest,
    ProtocolError,
    RawCommand,
    ReaderLimits,
    ReaderStateError,
    ResponseCode,
)
from govmail.imap.protocol.tokens import Atom, Literal, ParenList, Quoted

Event = RawCommand | LiteralRequest | ContinuationLine | ProtocolError


def drain(reader: CommandReader, *, accept: bool = True) -> list[Event]:
    """All events available now; synchronising literals are accepted (or rejected)."""
    out: list[Event] = []
    while True:
        try:
            event = reader.next_event()
        except ProtocolError as err:
            out.append(err)
            continue
        if event is None:
            return out
        out.append(event)
        if isinstance(event, LiteralRequest):
            if accept:
                reader.accept_literal()
            else:
                reader.reject_literal()


def read(data: bytes, **kwargs: object) -> list[Event]:
    limits = kwargs.pop("limits", None)
    reader = CommandReader(limits)  # type: ignore[arg-type]
    reader.feed(data)
    return drain(reader, **kwargs)  # type: ignore[arg-type]


def commands(events: list[Event]) -> list[RawCommand]:
    return [e for e in events if isinstance(e, RawCommand)]


def only_command(data: bytes) -> RawCommand:
    events = [e for e in read(data) if not isinstance(e, LiteralRequest)]
    assert len(events) == 1 and isinstance(events[0], RawCommand), events
    return events[0]


# --------------------------------------------------------------------------- framing


def test_simple_commands_crlf_and_bare_lf() -> None:
    events = read(b"a001 CAPABILITY\r\na002 noop\na003 LOGOUT\r\n")
    assert [(c.tag, c.name, c.args) for c in commands(events)] == [
        ("a001", "CAPABILITY", ()),
        ("a002", "NOOP", ()),
        ("a003", "LOGOUT", ()),
    ]


def test_bytes_arriving_one_at_a_time() -> None:
    data = b"A1 LOGIN {5+}\r\nfred\n {3}\r\nabc\r\nA2 NOOP\r\n"
    reader = CommandReader()
    events: list[Event] = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        events.extend(drain(reader))
    cmds = commands(events)
    assert [c.tag for c in cmds] == ["A1", "A2"]
    assert cmds[0].args == (Literal(b"fred\n", synchronizing=False), Literal(b"abc"))
    assert [e for e in events if isinstance(e, LiteralRequest)] == [
        LiteralRequest("A1", "LOGIN", 3, False)
    ]


def test_empty_lines_are_ignored() -> None:
    assert [c.tag for c in commands(read(b"\r\n\n   \r\nx NOOP\r\n"))] == ["x"]


def test_atoms_quoted_lists_and_nil() -> None:
    line = 'a STATUS "Hộp \\"thư\\" \\\\ x" (MESSAGES UNSEEN) NIL\r\n'.encode()
    cmd = only_command(line)
    assert cmd.args == (
        Quoted('Hộp "thư" \\ x'.encode()),
        ParenList((Atom("MESSAGES"), Atom("UNSEEN"))),
        Atom("NIL"),
    )


def test_nested_lists_and_empty_list() -> None:
    cmd = only_command(b"t SEARCH (OR (SEEN) ()) ALL\r\n")
    assert cmd.args == (
        ParenList((Atom("OR"), ParenList((Atom("SEEN"),)), ParenList(()))),
        Atom("ALL"),
    )


def test_fetch_section_with_header_list_and_partial() -> None:
    cmd = only_command(b"a FETCH 1:* (BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.2048> UID)\r\n")
    (seq, atts) = cmd.args
    assert seq == Atom("1:*")
    assert isinstance(atts, ParenList)
    body = atts.items[0]
    assert isinstance(body, Atom)
    assert body.value == "BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.2048>"
    assert body.head == "BODY.PEEK"
    assert body.section == (Atom("HEADER.FIELDS"), ParenList((Atom("DATE"), Atom("FROM"))))
    assert body.tail == "<0.2048>"
    assert atts.items[1] == Atom("UID")


def test_literal_inside_section() -> None:
    cmd = only_command(b"a FETCH 1 BODY[HEADER.FIELDS ({7}\r\nSubject)]\r\n")
    body = cmd.args[1]
    assert isinstance(body, Atom)
    assert body.section == (Atom("HEADER.FIELDS"), ParenList((Literal(b"Subject"),)))
    assert body.value == "BODY[HEADER.FIELDS ({7})]"


def test_unquoted_mailbox_with_brackets_is_one_word() -> None:
    cmd = only_command(b"a SELECT [Gmail]/Sent\r\n")
    assert cmd.args == (Atom("[Gmail]/Sent"),)
    cmd = only_command(b"a SELECT Foo]\r\n")
    assert cmd.args == (Atom("Foo]"),)
    cmd = only_command(b"a LIST (a[b [) x[y]z[w]\r\n")
    assert cmd.args == (ParenList((Atom("a[b"), Atom("["))), Atom("x[y]z[w]"))


def test_literal8_and_nonsync_flags() -> None:
    cmd = only_command(b"a APPEND x ~{3+}\r\n\x00\x01\x02\r\n")
    assert cmd.args[1] == Literal(b"\x00\x01\x02", binary=True, synchronizing=False)


def test_literal_may_contain_anything() -> None:
    payload = b'line1\r\nline2 {5}\r\n)("\\'
    cmd = only_command(b"a APPEND x {%d+}\r\n" % len(payload) + payload + b"\r\n")
    assert cmd.args[1] == Literal(payload, synchronizing=False)


def test_synchronising_literal_waits_for_decision() -> None:
    reader = CommandReader()
    reader.feed(b"a1 LOGIN {4}\r\n")
    event = reader.next_event()
    assert event == LiteralRequest("a1", "LOGIN", 4, False)
    with pytest.raises(ReaderStateError):
        reader.next_event()
    reader.accept_literal()
    assert reader.next_event() is None
    reader.feed(b"fred {6}\r\n")
    assert reader.next_event() == LiteralRequest("a1", "LOGIN", 6, False)
    reader.accept_literal()
    reader.feed(b"secret\r\n")
    assert reader.next_event() == RawCommand("a1", "LOGIN", (Literal(b"fred"), Literal(b"secret")))


def test_rejected_literal_resynchronises_on_next_line() -> None:
    reader = CommandReader()
    reader.feed(b"a1 LOGIN {4}\r\n")
    assert isinstance(reader.next_event(), LiteralRequest)
    reader.reject_literal()
    reader.feed(b"a2 NOOP\r\n")
    assert reader.next_event() == RawCommand("a2", "NOOP", ())


def test_state_errors_for_out_of_order_calls() -> None:
    reader = CommandReader()
    with pytest.raises(ReaderStateError):
        reader.accept_literal()
    with pytest.raises(ReaderStateError):
        reader.reject_literal()
    reader.feed(b"a LOGIN x {1}\r\n")
    assert isinstance(reader.next_event(), LiteralRequest)
    with pytest.raises(ReaderStateError):
        reader.expect_line()


def test_expect_line_returns_raw_line_for_idle_and_sasl() -> None:
    reader = CommandReader()
    reader.feed(b"a IDLE\r\n")
    assert reader.next_event() == RawCommand("a", "IDLE", ())
    reader.expect_line()
    reader.feed(b"DONE\r\nb AUTHENTICATE PLAIN\r\n")
    assert reader.next_event() == ContinuationLine(b"DONE")
    assert reader.next_event() == RawCommand("b", "AUTHENTICATE", (Atom("PLAIN"),))
    reader.expect_line()
    reader.feed(b"AGZyZWQAc2VjcmV0\r\n")
    assert reader.next_event() == ContinuationLine(b"AGZyZWQAc2VjcmV0")


def test_in_command_and_buffered() -> None:
    reader = CommandReader()
    assert not reader.in_command
    reader.feed(b"a LOGIN {3+}\r\nab")
    assert reader.next_event() is None
    assert reader.in_command
    assert reader.buffered == 2
    reader.feed(b"c x\r\n")
    assert isinstance(reader.next_event(), RawCommand)
    assert not reader.in_command


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("line", "tag", "fragment"),
    [
        (b"* NOOP\r\n", None, "tag"),
        (b"+ NOOP\r\n", None, "tag"),
        (b"(a) NOOP\r\n", None, "tag"),
        (b"abc\r\n", "abc", "missing command name"),
        (b"abc (\r\n", "abc", "command name"),
        (b'a LOGIN "unterminated\r\n', "a", "unterminated quoted string"),
        (b'a LOGIN "bad \\n escape"\r\n', "a", "escape"),
        (b"a LOGIN (x\r\n", "a", "missing ')'"),
        (b"a LOGIN x)\r\n", "a", "unexpected ')'"),
        (b"a FETCH 1 BODY[TEXT\r\n", "a", "missing ']'"),
        (b"a FETCH 1 BODY[a[b]]\r\n", "a", "nested"),
        (b"a LOGIN {5} x\r\n", "a", "must end the line"),
        (b"a LOGIN {x}\r\n", "a", "malformed literal"),
        (b"a LOGIN {99999999999}\r\n", "a", "32-bit"),
        (b"a LOGIN \xc3\xa9\r\n", "a", "8-bit"),
        (b"a LOGIN x\x01y\r\n", "a", "control character"),
        (b'a LOGIN "x"y\r\n', "a", "expected a space"),
        (b"a LOGIN (x)(y)\r\n", "a", "expected a space"),
        (b"a FETCH 1 BODY[1]x[2]\r\n", "a", "only one"),
        (b"a FETCH 1 (body.peek[1 FLAGS)\r\n", "a", "unexpected ')'"),
    ],
)
def test_bad_lines_raise_protocol_error_and_reader_continues(
    line: bytes, tag: str | None, fragment: str
) -> None:
    events = read(line + b"ok NOOP\r\n")
    assert len(events) == 2, events
    err, cmd = events
    assert isinstance(err, ProtocolError)
    assert err.tag == tag
    assert fragment in err.reason
    assert not err.fatal
    assert cmd == RawCommand("ok", "NOOP", ())


def test_bad_line_ending_in_nonsync_literal_skips_its_data() -> None:
    events = read(b'a LOGIN "bad\\q" {9+}\r\nb NOOP\r\n rest\r\nc NOOP\r\n')
    assert isinstance(events[0], ProtocolError) and events[0].tag == "a"
    assert commands(events) == [RawCommand("c", "NOOP", ())]


def test_line_too_long_with_line_end() -> None:
    limits = ReaderLimits(max_line_length=100)
    events = read(b"a1 NOOP " + b"x" * 200 + b"\r\na2 NOOP\r\n", limits=limits)
    err, cmd = events
    assert isinstance(err, ProtocolError)
    assert err.tag == "a1" and err.kind is ErrorKind.LINE_TOO_LONG
    assert err.code == ResponseCode.TOOBIG
    assert cmd == RawCommand("a2", "NOOP", ())


def test_line_too_long_detected_before_line_end_and_streamed_away() -> None:
    reader = CommandReader(ReaderLimits(max_line_length=100))
    reader.feed(b"a1 SEARCH " + b"x" * 150)
    events = drain(reader)
    assert len(events) == 1 and isinstance(events[0], ProtocolError)
    assert events[0].tag == "a1"
    for _ in range(50):
        reader.feed(b"y" * 1000)
        assert drain(reader) == []
        assert reader.buffered == 0
    reader.feed(b"\r\na2 NOOP\r\n")
    assert drain(reader) == [RawCommand("a2", "NOOP", ())]


def test_line_limit_counts_all_lines_of_a_command() -> None:
    limits = ReaderLimits(max_line_length=60)
    data = b"a LOGIN {3+}\r\nabc " + b"x" * 30 + b" {3+}\r\nabc " + b"y" * 30 + b"\r\nb NOOP\r\n"
    events = read(data, limits=limits)
    assert isinstance(events[0], ProtocolError) and events[0].kind is ErrorKind.LINE_TOO_LONG
    assert commands(events) == [RawCommand("b", "NOOP", ())]


def test_too_long_line_in_expect_line_mode_has_no_tag() -> None:
    reader = CommandReader(ReaderLimits(max_line_length=10))
    reader.expect_line()
    reader.feed(b"a NOOP " + b"z" * 20 + b"\r\nb NOOP\r\n")
    events = drain(reader)
    assert isinstance(events[0], ProtocolError) and events[0].tag is None
    assert events[1] == RawCommand("b", "NOOP", ())


def test_oversized_sync_literal_is_refused_before_data() -> None:
    limits = ReaderLimits(max_literal_size=10, max_append_literal_size=100)
    reader = CommandReader(limits)
    reader.feed(b"a1 LOGIN {11}\r\n")
    with pytest.raises(ProtocolError) as info:
        reader.next_event()
    err = info.value
    assert (err.tag, err.status, err.code, err.kind) == (
        "a1",
        "NO",
        ResponseCode.TOOBIG,
        ErrorKind.LITERAL_TOO_BIG,
    )
    assert not err.fatal
    # The client got NO instead of "+", so it sends no literal data: next line is a command.
    reader.feed(b"a2 APPEND INBOX {100}\r\n")
    assert reader.next_event() == LiteralRequest("a2", "APPEND", 100, False)
    reader.reject_literal()
    reader.feed(b"a3 APPEND INBOX {101}\r\n")
    with pytest.raises(ProtocolError):
        reader.next_event()


def test_oversized_nonsync_literal_is_answered_then_discarded() -> None:
    limits = ReaderLimits(max_literal_size=10)
    reader = CommandReader(limits)
    reader.feed(b"a1 LOGIN {20+}\r\n0123456789")
    with pytest.raises(ProtocolError) as info:
        reader.next_event()
    assert info.value.tag == "a1" and info.value.status == "BAD"
    assert info.value.code == ResponseCode.TOOBIG and not info.value.fatal
    assert reader.next_event() is None
    reader.feed(b"a2 NOOP\r\n")  # still literal data (10 more octets), then end of command
    assert reader.next_event() is None
    reader.feed(b"x pw {3+}\r\nabc\r\na3 NOOP\r\n")
    assert drain(reader) == [RawCommand("a3", "NOOP", ())]


def test_huge_nonsync_literal_is_fatal() -> None:
    limits = ReaderLimits(max_literal_size=10, max_discard_size=1000)
    reader = CommandReader(limits)
    reader.feed(b"a1 LOGIN {5000+}\r\n")
    with pytest.raises(ProtocolError) as info:
        reader.next_event()
    assert info.value.fatal
    assert reader.closed
    reader.feed(b"a2 NOOP\r\n")
    assert reader.next_event() is None


def test_total_literal_limit_per_command() -> None:
    limits = ReaderLimits(max_append_literal_size=10, max_command_literal_total=15)
    events = read(
        b"a APPEND x {10+}\r\n0123456789 {10+}\r\n0123456789\r\nb NOOP\r\n", limits=limits
    )
    assert isinstance(events[0], ProtocolError)
    assert "total" in events[0].reason
    assert commands(events) == [RawCommand("b", "NOOP", ())]


def test_nesting_depth_is_bounded() -> None:
    events = read(b"a SEARCH " + b"(" * 5000 + b"SEEN" + b")" * 5000 + b"\r\nb NOOP\r\n")
    assert isinstance(events[0], ProtocolError) and "nested too deeply" in events[0].reason
    assert events[1] == RawCommand("b", "NOOP", ())
    cmd = only_command(b"a SEARCH " + b"(" * 50 + b"SEEN" + b")" * 50 + b"\r\n")
    assert cmd.tag == "a"


def test_literal_minus_limits_only_nonsync_literals() -> None:
    limits = ReaderLimits(max_nonsync_literal_size=4096)
    big = b"x" * 5000
    events = read(b"a APPEND INBOX {5000+}\r\n" + big + b"\r\nb NOOP\r\n", limits=limits)
    assert isinstance(events[0], ProtocolError)
    assert events[0].status == "BAD" and events[0].code == ResponseCode.TOOBIG
    assert events[1:] == [RawCommand("b", "NOOP", ())]
    events = read(b"a APPEND INBOX {5000}\r\n" + big + b"\r\n", limits=limits)
    assert events[0] == LiteralRequest("a", "APPEND", 5000, False)
    assert events[1] == RawCommand("a", "APPEND", (Atom("INBOX"), Literal(big)))
    events = read(
        b"a LOGIN {4096+}\r\n" + b"y" * 4096 + b" z\r\n",
        limits=ReaderLimits(max_nonsync_literal_size=4096, max_literal_size=8192),
    )
    assert commands(events)[0].args[0] == Literal(b"y" * 4096, synchronizing=False)
