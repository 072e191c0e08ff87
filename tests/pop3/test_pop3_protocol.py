"""The POP3 parser, serializers and maildrop, without sockets."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govmail.pop3 import protocol as p
from govmail.pop3.maildrop import Maildrop, MaildropLocks, MessageDeleted, NoSuchMessage


def unstuff(wire: bytes) -> bytes:
    """What a client does with a multi-line body: drop the terminator, undo stuffing."""
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    body = wire[: -len(p.TERMINATOR)]
    lines = body.split(b"\r\n")
    out = [line[1:] if line.startswith(b".") else line for line in lines]
    return b"\r\n".join(out)


# -- commands ---------------------------------------------------------------------------------


def test_parse_command_basic() -> None:
    cmd = p.parse_command(b"list 3\r")
    assert cmd.name == "LIST" and cmd.args == ("3",) and cmd.rest == "3"
    assert p.parse_command(b"STAT").args == ()
    assert p.parse_command(b"TOP  1   10").args == ("1", "10")


def test_pass_keeps_spaces_in_the_password() -> None:
    cmd = p.parse_command("PASS  mật khẩu có dấu cách ".encode())
    assert cmd.rest == " mật khẩu có dấu cách "


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"   ",
        b"\r",
        b"LI",
        b"LISTS",
        b"LI-T",
        b"1LST",
        b"STAT\x00",
        b"\xff\xfe",
        b"RETR\r1",
        b"-ERR",
    ],
)
def test_parse_command_refuses(line: bytes) -> None:
    with pytest.raises(p.Pop3SyntaxError):
        p.parse_command(line)


@pytest.mark.parametrize("arg", ["", "-1", "+1", " 1", "1 ", "1_0", "١", "0x1", "12345678901"])
def test_parse_number_refuses(arg: str) -> None:
    with pytest.raises(p.Pop3SyntaxError):
        p.parse_number(arg)


def test_parse_number() -> None:
    assert p.parse_number("0") == 0 and p.parse_number("0042") == 42


@given(st.binary(max_size=300))
def test_parse_command_never_crashes(line: bytes) -> None:
    try:
        cmd = p.parse_command(line)
    except p.Pop3SyntaxError:
        return
    assert (
        cmd.name.isalnum()
        and cmd.name.isascii()
        and cmd.name == cmd.name.upper()
        and 3 <= len(cmd.name) <= 4
    )


# -- responses --------------------------------------------------------------------------------


def test_ok_and_err_lines() -> None:
    assert p.ok() == b"+OK\r\n"
    assert p.ok("2 320") == b"+OK 2 320\r\n"
    assert p.err("no such message") == b"-ERR no such message\r\n"
    assert p.err("Sai mật khẩu", p.AUTH) == b"-ERR [AUTH] Sai mat khau\r\n"
    assert p.err("Sai mật khẩu", p.AUTH, utf8=True) == "-ERR [AUTH] Sai mật khẩu\r\n".encode()


def test_response_text_is_one_clean_line() -> None:
    assert p.response_text("a\r\n-ERR injected\x00x", utf8=True) == "a -ERR injected x"
    assert p.ascii_text("Đề nghị ĐẮK LẮK đồng ý") == "De nghi DAK LAK dong y"
    # NFD input (macOS) comes out NFC when UTF-8 is allowed
    assert p.response_text("Hà Nội".encode().decode(), utf8=True) == "Hà Nội"
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Hằng")
    assert p.response_text(nfd, utf8=True) == unicodedata.normalize("NFC", "Hằng")


def test_multiline_stuffs_listing_lines() -> None:
    out = p.multiline(p.ok("x"), ["1 10", ".hidden", b"2 20"])
    assert out == b"+OK x\r\n1 10\r\n..hidden\r\n2 20\r\n.\r\n"


def test_capabilities_follow_state() -> None:
    before = p.capabilities(stls=True, passwords=False, transaction=False)
    assert "STLS" in before and "USER" not in before and "SASL PLAIN LOGIN" not in before
    after = p.capabilities(stls=False, passwords=True, transaction=False)
    assert "STLS" not in after and "USER" in after and "SASL PLAIN LOGIN" in after
    inside = p.capabilities(stls=True, passwords=True, transaction=True)
    assert "STLS" not in inside and "USER" not in inside
    for caps in (before, after, inside):
        assert {"TOP", "UIDL", "RESP-CODES", "PIPELINING"} <= set(caps)


# -- message transfer -------------------------------------------------------------------------


def test_dot_stuffing() -> None:
    data = p.wire_form(b".first\r\nok\r\n.\r\n..two\r\nend")
    assert data.endswith(b"end\r\n")
    wire = p.dot_stuff(data)
    assert wire == b"..first\r\nok\r\n..\r\n...two\r\nend\r\n.\r\n"
    assert unstuff(wire) == data


def test_bare_line_ends_become_crlf() -> None:
    assert p.wire_form(b"a\nb\rc\r\n") == b"a\r\nb\r\nc\r\n"
    assert p.dot_stuff(p.wire_form(b"")) == b".\r\n"
    # a bare-LF "." line cannot end the transfer early (smuggling)
    assert p.dot_stuff(p.wire_form(b"x\n.\nEVIL\r\n")) == b"x\r\n..\r\nEVIL\r\n.\r\n"


@given(st.binary(max_size=2000))
def test_dot_stuff_round_trip(raw: bytes) -> None:
    data = p.wire_form(raw)
    wire = p.dot_stuff(data)
    # the only terminator line is the last one
    assert wire.endswith(b".\r\n")
    lines = wire.split(b"\r\n")
    assert lines.count(b".") == 1 and lines[-2] == b"."
    assert unstuff(wire) == data


MSG = b"From: a@b\r\nSubject: s\r\n\r\nline 1\r\nline 2\r\nline 3\r\n"


def test_top() -> None:
    assert p.top_of(MSG, 0) == b"From: a@b\r\nSubject: s\r\n\r\n"
    assert p.top_of(MSG, 2) == b"From: a@b\r\nSubject: s\r\n\r\nline 1\r\nline 2\r\n"
    assert p.top_of(MSG, 99) == MSG
    assert (
        p.top_of(b"From: a@b\nSubject: s\n\nl1\nl2", 1) == b"From: a@b\r\nSubject: s\r\n\r\nl1\r\n"
    )
    assert p.top_of(b"Subject: only headers", 5) == b"Subject: only headers\r\n"
    assert p.top_of(b"\r\nbody1\r\nbody2\r\n", 1) == b"\r\nbody1\r\n"


@given(st.binary(max_size=500), st.integers(min_value=0, max_value=50))
def test_top_is_a_prefix(raw: bytes, n: int) -> None:
    assert p.wire_form(raw).startswith(p.top_of(raw, n))


# -- SASL ------------------------------------------------------------------------------------


def test_sasl_plain() -> None:
    data = p.decode_sasl(base64.b64encode("\0hằng@mic.gov.vn\0mật khẩu".encode()).decode())
    assert p.decode_plain(data) == ("", "hằng@mic.gov.vn", "mật khẩu")
    assert p.decode_sasl("=") == b""


@pytest.mark.parametrize("b64", ["***", "YQ", "YWJj!", "éé"])
def test_sasl_bad_base64(b64: str) -> None:
    with pytest.raises(p.SaslError):
        p.decode_sasl(b64)


@pytest.mark.parametrize(
    "data", [b"", b"a\0b", b"a\0b\0c\0d", b"\0\0pw", b"\0user\0", b"\0\xff\0x"]
)
def test_sasl_plain_malformed(data: bytes) -> None:
    with pytest.raises(p.SaslError):
        p.decode_plain(data)


# -- maildrop ---------------------------------------------------------------------------------


def test_maildrop_numbers_marks_and_ids() -> None:
    drop = Maildrop(7, 4242, [(3, 100), (5, 200), (9, 300)])
    assert drop.stat() == (3, 600)
    assert drop.get(2).uid == 5 and drop.unique_id(drop.get(2)) == "4242.5"
    drop.delete(2)
    assert drop.stat() == (2, 400)
    assert [e.number for e in drop.live()] == [1, 3]  # numbers do not shift
    with pytest.raises(MessageDeleted):
        drop.get(2)
    with pytest.raises(MessageDeleted):
        drop.delete(2)
    for n in (0, 4, 10**9):
        with pytest.raises(NoSuchMessage):
            drop.get(n)
    drop.get(1).retrieved = True
    drop.get(3).retrieved = True
    drop.delete(3)
    assert drop.deleted_uids() == [5, 9] and drop.retrieved_uids() == [3, 9]
    drop.reset()
    assert drop.stat() == (3, 600) and drop.deleted_uids() == []


def test_locks() -> None:
    locks, a, b = MaildropLocks(), object(), object()
    assert locks.acquire(1, a) and locks.acquire(1, a)
    assert not locks.acquire(1, b)
    locks.release(1, b)  # not the holder: no effect
    assert locks.held(1)
    locks.release(1, a)
    assert not locks.held(1) and locks.acquire(1, b)
