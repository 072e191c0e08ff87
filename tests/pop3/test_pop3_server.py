"""The POP3 doors over real sockets, with Python's poplib and with raw bytes."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import poplib
import socket
import ssl

import pytest
from tests.pop3.conftest import (
    OTHER,
    PASSWORD,
    USER,
    inbox,
    login,
    pop_plain,
    pop_tls,
    port,
    put,
    run,
    tls_client,
    uidvalidity,
)
from tests.pop3.samples import simple, vietnamese_message_with_pdf

from govmail.app import App
from govmail.delivery.envelope import Envelope


def joined(lines: list[bytes]) -> bytes:
    """poplib's RETR lines back to the message bytes."""
    return b"".join(line + b"\r\n" for line in lines)


def hang_up(pop: poplib.POP3) -> None:
    """Drop the connection without QUIT (shutdown sends the FIN whatever holds the fd)."""
    pop.sock.shutdown(socket.SHUT_RDWR)
    pop.close()


class Raw:
    """A POP3 connection where the test writes and reads exact bytes."""

    def __init__(self, app: App, name: str = "pop3") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port(app, name)), timeout=10)
        self.conn: socket.socket | ssl.SSLSocket = self.sock
        if name == "pop3s":
            self.conn = tls_client().wrap_socket(self.sock)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multi(self) -> list[bytes]:
        out = []
        while (line := self.line()) != b".":
            out.append(line)
        return out

    def closed(self) -> bool:
        try:
            return self.conn.recv(1) == b""
        except (ConnectionError, ssl.SSLError):
            return True

    def starttls(self) -> None:
        assert not self.buf
        self.conn = tls_client().wrap_socket(self.sock)

    def close(self) -> None:
        self.conn.close()


# -- both ports, TLS and plaintext refusal ----------------------------------------------------


async def test_both_ports_greet_and_login(server: App) -> None:
    await put(server, simple(1))

    def go() -> tuple[bytes, bytes, tuple[int, int], tuple[int, int]]:
        a = pop_tls(server)
        welcome_tls = a.getwelcome()
        a.user(USER)
        a.pass_(PASSWORD)
        stat_tls = a.stat()
        a.quit()
        b = pop_plain(server)
        welcome = b.getwelcome()
        b.stls(context=tls_client())
        b.user(USER)
        b.pass_(PASSWORD)
        stat = b.stat()
        b.quit()
        return welcome_tls, welcome, stat_tls, stat

    welcome_tls, welcome, stat_tls, stat = await run(go)
    assert welcome.startswith(b"+OK mail.mic.gov.vn") and welcome_tls == welcome
    assert stat_tls == stat == (1, len(simple(1)))
    assert server.service("pop3").healthy() and server.service("pop3s").healthy()


async def test_plaintext_passwords_refused_off_loopback(server: App) -> None:
    # A loopback client stands for a remote one once the loopback exception is off.
    server.settings.listeners.allow_plaintext_auth_on_loopback = False

    def go() -> dict[str, object]:
        out: dict[str, object] = {}
        pop = pop_plain(server)
        caps = pop.capa()
        out["caps"] = caps
        for name, fn in (
            ("user", lambda: pop.user(USER)),
            ("pass", lambda: pop._shortcmd(f"PASS {PASSWORD}")),
            ("auth", lambda: pop._shortcmd("AUTH PLAIN " + plain(USER, PASSWORD))),
            ("auth_list", lambda: pop._shortcmd("AUTH")),
        ):
            with pytest.raises(poplib.error_proto) as exc:
                fn()
            out[name] = exc.value.args[0]
        pop.stls(context=tls_client())
        out["caps_tls"] = pop.capa()
        pop.user(USER)
        out["pass_tls"] = pop.pass_(PASSWORD)
        pop.quit()
        return out

    out = await run(go)
    assert "STLS" in out["caps"] and "USER" not in out["caps"] and "SASL" not in out["caps"]  # type: ignore[operator]
    for key in ("user", "pass", "auth", "auth_list"):
        resp = out[key]
        assert isinstance(resp, bytes) and resp.startswith(b"-ERR [AUTH] "), resp
        assert b"STLS" in resp and b"Can ma hoa" in resp  # Vietnamese (ASCII) first
    assert "USER" in out["caps_tls"] and "STLS" not in out["caps_tls"]  # type: ignore[operator]
    assert out["pass_tls"] == b"+OK hangntm@mic.gov.vn has 0 messages (0 octets)"


async def test_plaintext_allowed_on_loopback_when_configured(server: App) -> None:
    assert server.settings.listeners.allow_plaintext_auth_on_loopback

    def go() -> bytes:
        pop = pop_plain(server)
        pop.user(USER)
        resp = pop.pass_(PASSWORD)
        pop.quit()
        return resp

    assert (await run(go)).startswith(b"+OK")


def plain(user: str, password: str, authz: str = "") -> str:
    return base64.b64encode(f"{authz}\0{user}\0{password}".encode()).decode()


async def test_sasl_plain_and_login(server: App) -> None:
    def go() -> list[bytes]:
        out = []
        r = Raw(server, "pop3s")
        out.append(r.line())
        r.send(b"AUTH\r\n")
        out.append(r.line())
        out += r.multi()
        r.send(b"AUTH PLAIN\r\n")
        out.append(r.line())  # "+ "
        r.send(b"*\r\n")
        out.append(r.line())  # cancelled
        r.send(b"AUTH PLAIN !!notbase64\r\n")
        out.append(r.line())
        r.send(f"AUTH PLAIN {plain(USER, PASSWORD, authz=OTHER)}\r\n".encode())
        out.append(r.line())
        r.send(b"AUTH LOGIN\r\n")
        out.append(r.line())
        r.send(base64.b64encode(USER.encode()) + b"\r\n")
        out.append(r.line())
        r.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
        out.append(r.line())
        r.send(b"QUIT\r\n")
        out.append(r.line())
        r.close()
        r = Raw(server, "pop3s")
        r.line()
        r.send(b"AUTH PLAIN\r\n")
        r.line()
        r.send(plain(USER, PASSWORD).encode() + b"\r\n")
        out.append(r.line())
        r.close()
        return out

    out = await run(go)
    assert out[0].startswith(b"+OK")
    assert out[1:4] == [b"+OK SASL mechanisms follow", b"PLAIN", b"LOGIN"]
    assert out[4] == b"+ "
    assert out[5] == b"-ERR authentication cancelled"
    assert out[6] == b"-ERR invalid base64"
    assert out[7].startswith(b"-ERR [AUTH] ")
    assert out[8] == b"+ " + base64.b64encode(b"Username:")
    assert out[9] == b"+ " + base64.b64encode(b"Password:")
    assert out[10].startswith(b"+OK hangntm@mic.gov.vn has 0 messages")
    assert out[12].startswith(b"+OK hangntm@mic.gov.vn has 0 messages")


async def test_wrong_password_and_lockout(server: App) -> None:
    server.guard.by_account.limit = 3
    server.guard.max_delay = 0.05

    def go() -> list[bytes]:
        out = []
        pop = pop_tls(server)
        for _ in range(3):
            pop.user(USER)
            with pytest.raises(poplib.error_proto) as exc:
                pop.pass_("sai mat khau")
            out.append(exc.value.args[0])
        pop.user(USER)
        with pytest.raises(poplib.error_proto) as exc:
            pop.pass_(PASSWORD)  # right password, but the account is locked now
        out.append(exc.value.args[0])
        pop.quit()
        # another account from the same address is not locked
        other = login(server, OTHER)
        out.append((other.stat()[0] == 0 and b"other ok") or b"")
        other.quit()
        return out

    out = await run(go)
    for resp in out[:3]:
        assert (
            resp == b"-ERR [AUTH] Sai ten dang nhap hoac mat khau. / Wrong user name or password."
        )
    assert out[3].startswith(b"-ERR [LOGIN-DELAY] Tam khoa dang nhap")
    assert out[4] == b"other ok"
    assert server.guard.stats[("pop3", "failure")] == 3
    assert server.guard.stats[("pop3", "locked")] == 1
    assert any(lock.key == USER for lock in server.guard.locks())


async def test_utf8_command_gives_vietnamese_text(server: App) -> None:
    def go() -> tuple[bytes, bytes]:
        r = Raw(server, "pop3s")
        r.line()
        r.send(b"UTF8\r\n")
        utf8 = r.line()
        r.send(f"USER {USER}\r\nPASS wrong\r\n".encode())
        r.line()
        return utf8, r.line()

    utf8, refused = await run(go)
    assert utf8 == b"+OK UTF8 enabled"
    assert refused.decode("utf-8").startswith("-ERR [AUTH] Sai tên đăng nhập hoặc mật khẩu.")


# -- TRANSACTION semantics --------------------------------------------------------------------


async def test_stat_list_uidl_top_dele_rset_quit(server: App) -> None:
    uids = [await put(server, simple(n)) for n in (1, 2, 3)]
    validity = await uidvalidity(server)
    sizes = [len(simple(n)) for n in (1, 2, 3)]

    def session1() -> dict[str, object]:
        out: dict[str, object] = {}
        pop = login(server)
        out["stat"] = pop.stat()
        out["list"] = pop.list()[1]
        out["uidl"] = pop.uidl()[1]
        out["list2"] = pop.list(2)
        out["uidl3"] = pop.uidl(3)
        out["top"] = pop.top(1, 1)[1]
        out["dele"] = pop.dele(2)
        out["stat_after"] = pop.stat()
        out["list_after"] = pop.list()[1]
        for name, fn in (
            ("list_deleted", lambda: pop.list(2)),
            ("retr_deleted", lambda: pop.retr(2)),
            ("dele_again", lambda: pop.dele(2)),
            ("no_such", lambda: pop.list(4)),
            ("zero", lambda: pop.retr(0)),
            ("bad_number", lambda: pop._shortcmd("RETR x")),
            ("top_missing", lambda: pop._shortcmd("TOP 1")),
            ("stls_late", lambda: pop._shortcmd("STLS")),
            ("user_late", lambda: pop._shortcmd("USER x")),
        ):
            with pytest.raises(poplib.error_proto) as exc:
                fn()
            out[name] = exc.value.args[0]
        out["rset"] = pop.rset()
        out["stat_rset"] = pop.stat()
        pop.dele(2)
        out["noop"] = pop.noop()
        out["quit"] = pop.quit()
        return out

    out = await run(session1)
    assert out["stat"] == (3, sum(sizes))
    assert out["list"] == [f"{i} {s}".encode() for i, s in enumerate(sizes, 1)]
    assert out["uidl"] == [f"{i} {validity}.{u}".encode() for i, u in enumerate(uids, 1)]
    assert out["list2"] == f"+OK 2 {sizes[1]}".encode()
    assert out["uidl3"] == f"+OK 3 {validity}.{uids[2]}".encode()
    header, _body = simple(1).split(b"\r\n\r\n", 1)
    assert out["top"] == [*header.split(b"\r\n"), b"", b"Noi dung 1."]
    assert out["dele"] == b"+OK message 2 deleted"
    assert out["stat_after"] == (2, sizes[0] + sizes[2])
    assert out["list_after"] == [f"1 {sizes[0]}".encode(), f"3 {sizes[2]}".encode()]
    assert out["list_deleted"] == out["retr_deleted"] == out["dele_again"]
    assert out["list_deleted"] == b"-ERR message 2 already deleted"
    assert out["no_such"] == out["zero"] == b"-ERR no such message"
    assert out["bad_number"] == b"-ERR invalid number"
    assert out["top_missing"].startswith(b"-ERR TOP takes")  # type: ignore[union-attr]
    assert out["stls_late"] == b"-ERR STLS is not valid in this state"
    assert out["user_late"] == b"-ERR USER is not valid in this state"
    assert out["rset"] == f"+OK maildrop has 3 messages ({sum(sizes)} octets)".encode()
    assert out["stat_rset"] == (3, sum(sizes))
    assert out["noop"] == b"+OK"
    assert out["quit"] == b"+OK mail.mic.gov.vn POP3 server signing off (2 messages left)"

    # QUIT expunged message 2 through MailStore; the others keep their UIDL
    left = await inbox(server)
    assert [m.uid for m in left] == [uids[0], uids[2]]
    assert not any(m.seen for m in left)  # TOP does not mark seen

    def session2() -> tuple[list[bytes], tuple[int, int]]:
        pop = login(server)
        uidl, stat = pop.uidl()[1], pop.stat()
        pop.quit()
        return uidl, stat

    uidl, stat = await run(session2)
    assert uidl == [f"1 {validity}.{uids[0]}".encode(), f"2 {validity}.{uids[2]}".encode()]
    assert stat == (2, sizes[0] + sizes[2])


async def test_no_quit_means_no_deletion_but_retr_marks_seen(server: App) -> None:
    for n in (1, 2, 3):
        await put(server, simple(n))

    def go() -> None:
        pop = login(server)
        pop.retr(1)
        pop.retr(2)
        pop.dele(2)
        pop.dele(3)
        hang_up(pop)  # the connection drops without QUIT

    await run(go)
    for _ in range(100):  # the server notices the drop asynchronously
        msgs = await inbox(server)
        if msgs[0].seen:
            break
        await asyncio.sleep(0.05)
    # deletions are forgotten (RFC 1939 §6); what was retrieved is marked \Seen anyway
    assert len(msgs) == 3 and not any(m.deleted for m in msgs)
    assert [m.seen for m in msgs] == [True, True, False]


async def test_retr_marks_seen_on_quit(server: App) -> None:
    await put(server, simple(1))
    await put(server, simple(2))
    changes = server.events.subscribe((await inbox(server))[0].folder_id)

    def go() -> None:
        pop = login(server)
        pop.retr(2)
        pop.quit()

    await run(go)
    msgs = await inbox(server)
    assert [m.seen for m in msgs] == [False, True]
    change = changes.get_nowait()
    assert change.kind == "flags" and change.uid == msgs[1].uid


async def test_dele_publishes_expunge_and_frees_quota(server: App) -> None:
    await put(server, simple(1))
    await put(server, simple(2))
    folder_id = (await inbox(server))[0].folder_id
    changes = server.events.subscribe(folder_id)

    def go() -> bytes:
        pop = login(server)
        pop.retr(1)
        pop.dele(1)
        pop.dele(2)
        return pop.quit()

    assert await run(go) == b"+OK mail.mic.gov.vn POP3 server signing off (0 messages left)"
    assert await inbox(server) == []
    kinds = []
    while not changes.empty():
        kinds.append(changes.get_nowait().kind)
    assert kinds.count("expunge") == 2
    async with server.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(USER)
        assert mb is not None and mb.used_bytes == 0


async def test_imap_deleted_messages_are_hidden(server: App) -> None:
    await put(server, simple(1), flags=("\\Deleted",))
    await put(server, simple(2))

    def go() -> tuple[int, int]:
        pop = login(server)
        stat = pop.stat()
        pop.quit()
        return stat

    assert await run(go) == (1, len(simple(2)))
    assert len(await inbox(server)) == 2  # POP3 QUIT did not expunge what IMAP marked


async def test_message_removed_by_another_session(server: App) -> None:
    uid = await put(server, simple(1))
    await put(server, simple(2))
    folder_id = (await inbox(server))[0].folder_id

    def connect() -> poplib.POP3_SSL:
        return login(server)

    pop = await run(connect)
    await server.mailstore.set_flags(folder_id, [uid], "add", ["\\Deleted"])
    await server.mailstore.expunge(folder_id, [uid])

    def go() -> tuple[bytes, tuple[int, int], bytes]:
        with pytest.raises(poplib.error_proto) as exc:
            pop.retr(1)
        stat = pop.stat()  # the snapshot is unchanged
        pop.dele(1)
        return exc.value.args[0], stat, pop.quit()

    refused, stat, quit_resp = await run(go)
    assert refused == (
        b"-ERR Thu so 1 da bi xoa boi mot phien khac. / Message 1 was removed by another session."
    )
    assert stat[0] == 2
    assert quit_resp.startswith(b"+OK")
    assert len(await inbox(server)) == 1


# -- concurrency --------------------------------------------------------------------------------


async def test_second_session_gets_in_use(server: App) -> None:
    await put(server, simple(1))

    def go() -> tuple[bytes, bytes, bytes]:
        first = login(server)
        second = pop_plain(server)  # the other port shares the lock
        second.stls(context=tls_client())
        second.user(USER)
        with pytest.raises(poplib.error_proto) as exc:
            second.pass_(PASSWORD)
        other = login(server, OTHER)  # a different mailbox is not affected
        other.quit()
        first.quit()
        second.user(USER)
        again = second.pass_(PASSWORD)  # the lock went with the first session
        second.quit()
        third = login(server)
        first_gone = third.stat() and b"ok"
        hang_up(third)
        return exc.value.args[0], again, first_gone

    in_use, again, ok = await run(go)
    assert in_use.startswith(b"-ERR [IN-USE] Hop thu dang duoc mot phien POP3 khac su dung")
    assert again.startswith(b"+OK") and ok == b"ok"
    # a dropped connection releases the lock too
    for _ in range(100):
        if not server.service("pop3").ctx.locks._owners:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    assert await run(lambda: login(server).quit()) == (
        b"+OK mail.mic.gov.vn POP3 server signing off (1 messages left)"
    )


# -- content ----------------------------------------------------------------------------------


async def test_dot_stuffed_round_trip(server: App) -> None:
    raw = (
        b"From: <a@example.org>\r\nSubject: dots\r\n\r\n"
        b".\r\n..\r\n.leading dot\r\n. \r\nmiddle . dot\r\n\r\n.\r\nlast line without CRLF."
    )
    await put(server, raw)

    def go() -> tuple[list[bytes], bytes, list[bytes]]:
        r = Raw(server, "pop3s")
        r.line()
        r.send(f"USER {USER}\r\nPASS {PASSWORD}\r\nRETR 1\r\n".encode())
        r.line()
        r.line()
        head = r.line()
        wire = r.multi()
        r.send(b"QUIT\r\n")
        r.line()
        pop = login(server)
        lines = pop.retr(1)[1]
        pop.quit()
        return wire, head, lines

    wire, head, lines = await run(go)
    expected = raw + b"\r\n"  # the last line gets its CRLF on the wire
    assert head == f"+OK {len(expected)} octets".encode()
    assert wire[3:9] == [b"..", b"...", b"..leading dot", b".. ", b"middle . dot", b""]
    assert joined(lines) == expected


async def test_vietnamese_subject_and_pdf_byte_for_byte(server: App) -> None:
    raw, pdf = vietnamese_message_with_pdf()
    await put(server, raw)

    def go() -> tuple[list[bytes], bytes, list[bytes]]:
        pop = login(server)
        listing = pop.list()[1]
        resp, lines, _octets = pop.retr(1)
        pop.quit()
        return listing, resp, lines

    listing, resp, lines = await run(go)
    assert listing == [f"1 {len(raw)}".encode()]
    assert resp == f"+OK {len(raw)} octets".encode()
    got = joined(lines)
    assert got == raw
    parsed = email.message_from_bytes(got, policy=email.policy.default)
    assert parsed["Subject"] == (
        "Công văn số 1234/BTTTT-VP về việc triển khai hệ thống thư điện tử công vụ"
    )
    (attachment,) = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_filename() == "Công văn 1234.pdf"
    assert attachment.get_content() == pdf


async def test_message_delivered_by_the_pipeline(server: App) -> None:
    raw = simple(9)
    result = await server.pipeline.deliver(
        Envelope(mail_from="", rcpt_to=[USER], source="system"), raw
    )
    assert result.accepted
    (stored,) = await inbox(server)
    stored_raw = await server.mailstore.read_raw(stored)
    assert stored_raw.endswith(raw)

    def go() -> list[bytes]:
        pop = login(server)
        lines = pop.retr(1)[1]
        pop.quit()
        return lines

    assert joined(await run(go)) == stored_raw


# -- robustness ---------------------------------------------------------------------------------


async def test_garbage_never_crashes_the_server(server: App) -> None:
    def go() -> list[bytes]:
        out = []
        r = Raw(server)
        r.line()
        for junk in (
            b"\x00\x01\x02\r\n",
            b"\xff\xfe\xfd\r\n",
            b"HELLO\r\n",
            b"\r\n",
            b"RETR 1\r\n",  # not authenticated
            b"APOP user 0123456789abcdef0123456789abcdef\r\n",
            b"LIST\tx\r\n",
        ):
            r.send(junk)
            out.append(r.line())
        r.send(b"X" * 5000 + b"\r\n")
        out.append(r.line())
        out.append(b"closed" if r.closed() else b"open")
        r.close()
        # ten bad commands end the session
        r = Raw(server)
        r.line()
        r.send(b"BAD\r\n" * 10)
        lines = [r.line() for _ in range(10)]
        out.append(lines[-1])
        out.append(b"closed" if r.closed() else b"open")
        r.close()
        # a client that sends bytes and vanishes mid-line
        s = socket.create_connection(("127.0.0.1", port(server, "pop3")), timeout=10)
        s.recv(100)
        s.sendall(b"USER abc")
        s.close()
        # TLS garbage on the implicit-TLS port
        s = socket.create_connection(("127.0.0.1", port(server, "pop3s")), timeout=10)
        s.sendall(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 100)
        s.close()
        return out

    out = await run(go)
    assert out[0] == b"-ERR control characters in command"
    assert out[1] == b"-ERR command is not UTF-8"
    assert out[2] == b"-ERR unknown command"
    assert out[3] == b"-ERR empty command"
    assert out[4] == b"-ERR RETR is not valid in this state"
    assert out[5] == b"-ERR unknown command"
    assert out[6] == b"-ERR unknown command"
    assert out[7].startswith(b"-ERR Dong lenh qua dai")
    assert out[8] == b"closed"
    assert out[9].startswith(b"-ERR Qua nhieu lenh sai")
    assert out[10] == b"closed"
    # still serving
    await put(server, simple(1))
    assert await run(lambda: login(server).stat()) == (1, len(simple(1)))


async def test_idle_timeout(server: App) -> None:
    for name in ("pop3", "pop3s"):
        server.service(name).ctx.idle_timeout = 0.3  # type: ignore[attr-defined]

    def go() -> tuple[bytes, bool]:
        r = Raw(server, "pop3s")
        r.line()
        r.send(f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode())
        r.line()
        r.line()
        return r.line(), r.closed()

    line, closed = await run(go)
    assert line.startswith(b"-ERR Khong hoat dong") and closed


async def test_pipelining(server: App) -> None:
    await put(server, simple(1))

    def go() -> list[bytes]:
        r = Raw(server, "pop3s")
        r.line()
        r.send(f"CAPA\r\nUSER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nUIDL 1\r\nQUIT\r\n".encode())
        out = [r.line(), *r.multi()]
        out += [r.line() for _ in range(5)]
        return out

    out = await run(go)
    assert out[0] == b"+OK Capability list follows" and b"PIPELINING" in out
    assert out[-5].startswith(b"+OK send PASS")
    assert out[-4].startswith(b"+OK hangntm@mic.gov.vn has 1 messages")
    assert out[-3] == f"+OK 1 {len(simple(1))}".encode()
    assert out[-2].startswith(b"+OK 1 ") and out[-1].startswith(b"+OK")


async def test_stls_discards_plaintext_injected_after_it(server: App) -> None:
    server.settings.listeners.allow_plaintext_auth_on_loopback = False

    def go() -> tuple[bytes, bytes, bytes]:
        r = Raw(server)
        r.line()
        # what follows STLS in the same packet was sent in the clear and must not run
        r.send(b"STLS\r\nUSER injected@mic.gov.vn\r\n")
        ok = r.line()
        r.buf = b""
        r.starttls()
        r.send(f"PASS {PASSWORD}\r\n".encode())
        after = r.line()
        r.send(b"STLS\r\n")
        again = r.line()
        return ok, after, again

    ok, after, again = await run(go)
    assert ok == b"+OK Begin TLS negotiation"
    assert after == b"-ERR send USER first"
    assert again == b"-ERR command not permitted when TLS active"


async def test_connection_limit(server: App) -> None:
    svc = server.service("pop3")
    limit = svc.connections.limit  # type: ignore[attr-defined]
    svc.connections.limit = 2  # type: ignore[attr-defined]
    try:

        def go() -> bytes:
            a, b = pop_plain(server), pop_plain(server)
            r = Raw(server)
            line = r.line()
            a.quit()
            b.quit()
            return line

        line = await run(go)
    finally:
        svc.connections.limit = limit  # type: ignore[attr-defined]
    assert line.startswith(b"-ERR [SYS/TEMP] Qua nhieu ket noi")


async def test_stop_closes_open_sessions(server: App) -> None:
    await put(server, simple(1))
    pop = await run(lambda: login(server))
    svc = server.service("pop3s")
    await svc.stop()
    assert not svc.healthy()

    def go() -> bool:
        try:
            pop.stat()
        except (poplib.error_proto, OSError, EOFError):
            return True
        return False

    assert await run(go)
    assert len(await inbox(server)) == 1
