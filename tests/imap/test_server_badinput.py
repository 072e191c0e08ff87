"""Bad input never stops the server nor disturbs other sessions: malformed commands, huge
literals and lines, bad tags, commands in the wrong state, garbage, random and mutated
commands (hypothesis) against a live server while another session keeps working."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.imap.conftest import PASSWORD, USERS, RawClient, RunningServer


def test_malformed_commands_get_bad_and_the_session_goes_on(server: RunningServer) -> None:
    raw = RawClient(server.port("imap"))
    for line, expect in [
        (b"a1 FETCH", b"a1 BAD"),  # wrong state and no arguments
        (b"a2 NOSUCHCOMMAND x", b"a2 BAD"),
        (b"a3 LOGIN", b"a3 BAD"),
        (b'a4 LOGIN "unterminated', b"a4 BAD"),
        (b"a5 LOGIN a (b", b"a5 BAD"),
        (b"+x NOOP", b"* BAD"),  # not a valid tag
        (b"\x00\xff\xfe garbage", b"* BAD"),
        (b"a6 UID FROB 1", b"a6 BAD"),
        (b"a7 CAPABILITY extra", b"a7 BAD"),
    ]:
        raw.send(line + b"\r\n")
        got = raw.line()
        assert got.startswith(expect), (line, got)
    assert raw.cmd("a8", "NOOP")[-1] == b"a8 OK NOOP completed"
    raw.login("an")
    raw.cmd("b0", "SELECT INBOX")
    for line, expect in [
        (b"b1 FETCH 1:* (BODY[1.2.TEXT.X])", b"b1 BAD"),
        (b"b2 FETCH x (FLAGS)", b"b2 BAD"),
        (b"b3 SEARCH (((((", b"b3 BAD"),
        (b"b4 STORE 1 FLAGS (\\Recent)", b"b4 BAD"),
        (b"b5 SELECT &AGE", b"b5 BAD"),
        (b"b6 STATUS INBOX (BOGUS)", b"b6 BAD"),
        (b"b7 LOGIN a b", b"b7 BAD"),  # wrong state
        (b'b9 SEARCH BODY "' + b"x" * 1001 + b'"', b"b9 NO [LIMIT]"),
        (b"b10 SEARCH TEXT {60000+}\r\n" + b"y" * 60000, b"b10 NO [LIMIT]"),
        (b"b11 SEARCH HEADER X-Ref {1001+}\r\n" + b"z" * 1001, b"b11 NO [LIMIT]"),
    ]:
        got = raw.cmd(line.split()[0].decode(), line.split(b" ", 1)[1])[-1]
        assert got.startswith(expect), (line, got)
    assert raw.cmd("b8", "NOOP")[-1].startswith(b"b8 OK")
    raw.close()


def test_literal_and_line_limits(server: RunningServer) -> None:
    raw = RawClient(server.port("imap"))
    # Before login, a literal over 8 KiB is refused before it is sent (no "+").
    raw.send(b"l1 LOGIN {100000}\r\n")
    assert raw.line().startswith(b"l1 NO [TOOBIG]")
    raw.login("an")
    limit = server.settings.limits.max_message_size
    raw.send(b"l2 APPEND INBOX {%d}\r\n" % (limit + 1))
    assert raw.line().startswith(b"l2 NO [TOOBIG]")
    # A non-synchronising literal over the limit is read and thrown away.
    big = 70 * 1024
    raw.send(b"l3 SEARCH SUBJECT {%d+}\r\n" % big + b"x" * big + b"\r\n")
    assert raw.line().startswith(b"l3 BAD [TOOBIG]")
    # A command line over the limit.
    raw.send(b"l4 NOOP " + b"a" * (100 * 1024) + b"\r\n")
    assert raw.line().startswith(b"l4 BAD [TOOBIG]")
    assert raw.cmd("l5", "NOOP")[-1].startswith(b"l5 OK")
    raw.close()


def test_garbage_and_abrupt_disconnects_leave_others_untouched(server: RunningServer) -> None:
    observer = RawClient(server.port("imap"))
    observer.login("binh")
    observer.cmd("o1", "SELECT INBOX")
    for payload in (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS hello
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"a APPEND INBOX {10}\r\n",  # announces, never sends
        b"a LOGIN {3+}\r\nab",  # cut inside a literal
        bytes(range(256)) * 40,
    ):
        s = socket.create_connection(("127.0.0.1", server.port("imap")))
        s.recv(4096)
        s.sendall(payload)
        s.close()
    # Garbage where a TLS handshake is expected (port 993), and a handshake cut short.
    for payload in (b"a1 LOGIN x y\r\n", b"\x16\x03\x01\x00\x05hello", b"\x00" * 5000):
        s = socket.create_connection(("127.0.0.1", server.port("imaps")))
        s.sendall(payload)
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()
    # Too many bad commands in a row: the server says BYE and closes.
    s = socket.create_connection(("127.0.0.1", server.port("imap")))
    s.sendall(b"x\r\n" * 30)
    data = b""
    s.settimeout(10)
    while chunk := s.recv(65536):
        data += chunk
    assert b"* BYE" in data
    s.close()
    assert observer.cmd("o2", "NOOP")[-1].startswith(b"o2 OK")
    observer.close()


def test_failed_logins_are_rate_limited(server: RunningServer) -> None:
    raw = RawClient(server.port("imap"))
    for i in range(4):
        assert raw.cmd(f"f{i}", f'LOGIN {USERS["tam"]} "wrong{i}"')[-1].startswith(
            f"f{i} NO [AUTHENTICATIONFAILED]".encode()
        )
    raw.send(f'f9 LOGIN {USERS["tam"]} "wrong"\r\n')
    lines = [raw.line(), raw.line()]
    assert lines[0].startswith(b"f9 NO") and lines[1].startswith(b"* BYE")
    raw.close()
    guard = server.app.guard
    assert guard.by_account.count(USERS["tam"]) >= 5
    # The account is locked once its failures reach the limit, whatever the session.
    for _ in range(guard.by_account.limit):
        guard.by_account.allow(USERS["tam"])
    raw = RawClient(server.port("imap"))
    lines = raw.cmd("g1", f'LOGIN {USERS["tam"]} "{PASSWORD}"')
    assert lines[-1].startswith(b"g1 NO [UNAVAILABLE]")
    raw.close()
    guard.by_account._events.pop(USERS["tam"], None)


# --------------------------------------------------------------------------- fuzzing

_WORDS = [
    b"NOOP", b"CAPABILITY", b"LOGIN", b"SELECT", b"EXAMINE", b"FETCH", b"UID", b"STORE",
    b"SEARCH", b"LIST", b"LSUB", b"STATUS", b"APPEND", b"CREATE", b"DELETE", b"RENAME",
    b"COPY", b"MOVE", b"EXPUNGE", b"IDLE", b"ENABLE", b"ID", b"NAMESPACE", b"GETACL",
    b"MYRIGHTS", b"GETQUOTAROOT", b"AUTHENTICATE", b"PLAIN", b"CLOSE", b"UNSELECT",
    b"INBOX", b"Sent", b"Shared/vanthu@mic.gov.vn/INBOX", b"&AQM-", b"&Jjo", b"1:*", b"*",
    b"$", b"1,3:5", b"0", b"4294967296", b"(FLAGS)", b"BODY[]", b"BODY.PEEK[HEADER.FIELDS (A)]",
    b"BODY[1.2.MIME]<0.10>", b"BINARY[1]", b"(\\Seen)", b"+FLAGS", b"RETURN", b"(ALL)",
    b"CHARSET", b"UTF-8", b"SUBJECT", b"TEXT", b"OR", b"NOT", b"MODSEQ", b"(CONDSTORE)",
    b"(CHANGEDSINCE 1 VANISHED)", b"QRESYNC", b"(", b")", b"[", b"]", b"{", b"}", b'"',
    b'"a\\"b"', b"NIL", b"\\", b"%", b"~{3}", b"\xc3\xa9", b"\x00", b"\r", b"\n",
]  # fmt: skip
_token = st.one_of(
    st.sampled_from(_WORDS),
    st.binary(max_size=12),
    st.integers(0, 64).map(lambda n: b"{%d}\r\n" % n + b"x" * n),
    st.integers(0, 64).map(lambda n: b"{%d+}\r\n" % n + b"y" * n),
    st.integers(0, 8).map(lambda n: b"{%d}" % n),
)
_command = st.tuples(
    st.sampled_from([b"f1 ", b"f2 UID ", b"", b"* ", b"f3 "]),
    st.lists(_token, max_size=12),
).map(lambda t: t[0] + b" ".join(t[1]))


@pytest.fixture(scope="module")
def observer(server: RunningServer) -> Iterator[RawClient]:
    """A session that works throughout the fuzzing."""
    raw = RawClient(server.port("imap"))
    raw.login("an")
    raw.cmd("o0", "SELECT INBOX")
    yield raw
    raw.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(_command, min_size=1, max_size=4), log_in=st.booleans())
def test_random_and_mutated_commands(
    server: RunningServer, observer: RawClient, commands: list[bytes], log_in: bool
) -> None:
    # Random LOGINs fail; keep the login guard's delays and locks out of the way.
    server.app.guard.by_account._events.clear()
    server.app.guard.by_address._events.clear()
    raw = RawClient(server.port("imap"))
    try:
        if log_in:
            raw.login("duc")
            raw.cmd("s0", "SELECT INBOX")
        raw.send(b"\r\n".join(commands) + b"\r\n" + b"\r\n" * 40)
        # Whatever state the session is in now (IDLE, a SASL exchange...), this gets out.
        raw.send(b"DONE\r\n*\r\nzz NOOP\r\n")
        raw.sock.settimeout(15)
        try:
            while True:
                line = raw.line()
                if line.startswith(b"zz "):
                    assert line.startswith(b"zz OK"), line
                    break
        except ConnectionError:
            pass  # the server may close a session that sent too much garbage (after BYE)
    finally:
        raw.close()
    assert observer.cmd("n1", "NOOP")[-1].startswith(b"n1 OK")
