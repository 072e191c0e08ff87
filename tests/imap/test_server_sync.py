"""Several sessions on one mailbox: untagged EXISTS/EXPUNGE/FETCH, IDLE pushes, mail
delivered by the pipeline, CONDSTORE and QRESYNC resynchronisation."""

from __future__ import annotations

import re
import socket
import time

from tests.imap.conftest import USERS, RawClient, RunningServer, message

from govmail.delivery.envelope import Envelope


def deliver(server: RunningServer, to: str, raw: bytes) -> None:
    env = Envelope(mail_from="lamdv@mic.gov.vn", rcpt_to=[to], source="mx")
    result = server.run(server.app.pipeline.deliver(env, raw))
    assert result.accepted


def append(raw: RawClient, tag: str, mailbox: str, data: bytes, flags: str = "") -> bytes:
    raw.send(f"{tag} APPEND {mailbox} {flags} {{{len(data)}+}}\r\n".encode() + data + b"\r\n")
    line = raw.until(tag)[-1]
    assert line.startswith(f"{tag} OK".encode()), line
    return line


def read_until(raw: RawClient, predicate: object, timeout: float = 10) -> list[bytes]:
    """Untagged lines until one satisfies ``predicate`` (a compiled regex)."""
    raw.sock.settimeout(timeout)
    lines = []
    while True:
        line = raw.line()
        lines.append(line)
        if predicate.search(line):  # type: ignore[attr-defined]
            raw.sock.settimeout(30)
            return lines


def test_two_sessions_see_each_others_changes(server: RunningServer) -> None:
    a = RawClient(server.port("imap"))
    b = RawClient(server.port("imap"))
    a.login("an")
    b.login("an")
    a.cmd("c0", "CREATE Shared-work")
    for i in range(3):
        append(a, f"ap{i}", "Shared-work", message(subject=f"Việc {i}"))
    assert b"* 3 EXISTS" in a.cmd("a1", "SELECT Shared-work")
    assert b"* 3 EXISTS" in b.cmd("b1", "SELECT Shared-work")
    # A new message: the other session hears EXISTS at its next command.
    append(a, "a2", "Shared-work", message(subject="Việc 3"))
    lines = b.cmd("b2", "NOOP")
    assert b"* 4 EXISTS" in lines
    # Flags changed by A reach B as FETCH with the UID.
    a.cmd("a3", "STORE 2 +FLAGS.SILENT (\\Flagged)")
    lines = b.cmd("b3", "NOOP")
    assert any(re.match(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\)\)", line) for line in lines)
    # Expunge by A: B is told at NOOP, but not during a FETCH by sequence number.
    a.cmd("a4", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert b"* 1 EXPUNGE" in a.cmd("a5", "EXPUNGE")
    lines = b.cmd("b4", "FETCH 1:* (UID)")
    assert not any(b"EXPUNGE" in line for line in lines)
    assert b"* 2 FETCH (UID 2)" in lines  # message 1 is gone but its number is kept
    lines = b.cmd("b5", "NOOP")
    assert b"* 1 EXPUNGE" in lines
    assert b.cmd("b6", "FETCH 1 (UID)")[0] == b"* 1 FETCH (UID 2)"
    # MOVE by B: A gets the EXPUNGE, and the destination's EXISTS if it watches it.
    lines = b.cmd("b7", "UID MOVE 3 Archive")
    assert re.search(rb"\* OK \[COPYUID \d+ 3 1\]", lines[0])
    assert b"* 2 EXPUNGE" in lines
    assert b"* 2 EXPUNGE" in a.cmd("a6", "NOOP")
    a.close()
    b.close()


def test_idle_pushes_new_mail_flags_and_expunges(server: RunningServer) -> None:
    watcher = RawClient(server.port("imap"))
    actor = RawClient(server.port("imap"))
    watcher.login("binh")
    actor.login("binh")
    watcher.cmd("w0", "SELECT INBOX")
    watcher.send("w1 IDLE\r\n")
    assert watcher.line().startswith(b"+ ")
    # Mail delivered through the pipeline (another door) is pushed at once.
    deliver(server, USERS["binh"], message(subject="Hỏa tốc", to=USERS["binh"]))
    lines = read_until(watcher, re.compile(rb"^\* \d+ EXISTS$"))
    n = int(lines[-1].split()[1])
    actor.cmd("x1", "SELECT INBOX")
    actor.cmd("x2", f"STORE {n} +FLAGS.SILENT (\\Seen)")
    lines = read_until(watcher, re.compile(rb"FETCH \(UID \d+ FLAGS \(\\Seen"))
    actor.cmd("x3", f"STORE {n} +FLAGS.SILENT (\\Deleted)")
    actor.cmd("x4", "EXPUNGE")
    lines = read_until(watcher, re.compile(rb"^\* %d EXPUNGE$" % n))
    watcher.send("DONE\r\n")
    assert watcher.until("w1")[-1].startswith(b"w1 OK")
    # IDLE without a selected mailbox, ended by DONE in any case.
    actor.cmd("x5", "UNSELECT")
    actor.send("x6 IDLE\r\n")
    assert actor.line().startswith(b"+ ")
    actor.send("done\r\n")
    assert actor.until("x6")[-1].startswith(b"x6 OK")
    watcher.close()
    actor.close()


def test_condstore_and_qresync(server: RunningServer) -> None:
    a = RawClient(server.port("imap"))
    a.login("tam")
    a.cmd("c1", "CREATE Sync")
    for i in range(4):
        append(a, f"p{i}", "Sync", message(subject=f"Đồng bộ {i}"))
    lines = a.cmd("c2", "SELECT Sync (CONDSTORE)")
    highest = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(lines)).group(1))  # type: ignore[union-attr]
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(lines)).group(1))  # type: ignore[union-attr]
    lines = a.cmd("c3", "UID STORE 2 +FLAGS (\\Flagged)")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))  # type: ignore[union-attr]
    assert modseq > highest
    # Conditional STORE: refused for a message changed since the given MODSEQ.
    lines = a.cmd("c4", f"UID STORE 1:2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Seen)")
    assert lines[-1].startswith(b"c4 OK [MODIFIED 2]")
    assert any(line.startswith(b"* 1 FETCH (UID 1 FLAGS (\\Seen") for line in lines)
    lines = a.cmd("c5", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})")
    changed = sorted(int(m) for m in re.findall(rb"UID (\d+)", b"".join(lines[:-1])))
    assert changed == [1, 2]
    assert all(b"MODSEQ (" in line for line in lines[:-1])
    lines = a.cmd("c6", f"SEARCH MODSEQ {modseq}")
    assert re.match(rb"\* SEARCH [\d ]+ \(MODSEQ \d+\)", lines[0])
    # Another session expunges; a phone resynchronising with QRESYNC gets VANISHED.
    b = RawClient(server.port("imap"))
    b.login("tam")
    b.cmd("d1", "SELECT Sync")
    b.cmd("d2", "UID STORE 3 +FLAGS.SILENT (\\Deleted)")
    b.cmd("d3", "EXPUNGE")
    b.close()
    phone = RawClient(server.port("imap"))
    phone.login("tam")
    assert phone.cmd("q1", "ENABLE QRESYNC")[0] == b"* ENABLED QRESYNC"
    lines = phone.cmd("q2", f"SELECT Sync (QRESYNC ({uidvalidity} {highest} 1:4))")
    assert b"* VANISHED (EARLIER) 3" in lines
    fetched = [line for line in lines if b" FETCH (" in line]
    assert sorted(int(re.search(rb"UID (\d+)", f).group(1)) for f in fetched) == [1, 2]  # type: ignore[union-attr]
    lines = phone.cmd("q3", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
    assert lines[0] == b"* VANISHED (EARLIER) 3"
    # With QRESYNC enabled, expunges are reported as VANISHED.
    phone.cmd("q4", "UID STORE 4 +FLAGS.SILENT (\\Deleted)")
    assert b"* VANISHED 4" in phone.cmd("q5", "EXPUNGE")
    # Selecting another mailbox closes this one with [CLOSED].
    assert any(b"[CLOSED]" in line for line in phone.cmd("q6", "EXAMINE INBOX"))
    # A QRESYNC parameter without ENABLE is a client error.
    a.cmd("c7", "UNSELECT")
    assert a.cmd("c8", f"SELECT Sync (QRESYNC ({uidvalidity} 1))")[-1].startswith(b"c8 BAD")
    phone.close()
    a.close()


def test_many_idle_sessions_and_one_disconnecting_mid_literal(server: RunningServer) -> None:
    idlers = []
    for i in range(20):
        r = RawClient(server.port("imap"))
        r.login("duc")
        r.cmd(f"s{i}", "SELECT INBOX")
        r.send(f"i{i} IDLE\r\n")
        assert r.line().startswith(b"+ ")
        idlers.append(r)
    # A client that announces a literal and vanishes in the middle of it.
    s = socket.create_connection(("127.0.0.1", server.port("imap")))
    s.recv(1000)
    s.sendall(b"x LOGIN {5}\r\n")
    time.sleep(0.05)
    s.sendall(b"ab")
    s.close()
    deliver(server, USERS["duc"], message(subject="Gửi tất cả", to=USERS["duc"]))
    for r in idlers:
        read_until(r, re.compile(rb"EXISTS$"))
        r.send("DONE\r\n")
        assert r.until(f"i{idlers.index(r)}")[-1].endswith(b"OK IDLE terminated")
        r.close()


def test_deleting_a_selected_mailbox_ends_the_other_sessions(server: RunningServer) -> None:
    a = RawClient(server.port("imap"))
    b = RawClient(server.port("imap"))
    a.login("hang")
    b.login("hang")
    a.cmd("a1", "CREATE Gone")
    assert b.cmd("b1", "SELECT Gone")[-1].startswith(b"b1 OK")
    assert a.cmd("a2", "DELETE Gone")[-1].startswith(b"a2 OK")
    b.send("b2 NOOP\r\n")
    assert b.line().startswith(b"* BYE")
    a.close()
    b.close()


def test_concurrent_stores_do_not_undo_each_other(server: RunningServer) -> None:
    import threading

    setup = RawClient(server.port("imap"))
    setup.login("duc")
    setup.cmd("c0", "CREATE Race")
    for i in range(30):
        append(setup, f"r{i}", "Race", message(subject=f"Đua {i}"))
    setup.close()
    flags = ["\\Seen", "\\Flagged", "\\Answered", "$A", "$B", "$C"]
    errors: list[BaseException] = []

    def worker(flag: str) -> None:
        try:
            c = RawClient(server.port("imap"))
            c.login("duc")
            c.cmd("s", "SELECT Race")
            for n in range(1, 31):
                c.cmd(f"t{n}", f"STORE {n} +FLAGS.SILENT ({flag})")
            c.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f,)) for f in flags]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    check = RawClient(server.port("imap"))
    check.login("duc")
    check.cmd("x", "SELECT Race")
    lines = check.cmd("y", "FETCH 1:* (FLAGS)")[:-1]
    assert len(lines) == 30
    for line in lines:
        assert all(f.encode() in line for f in flags), line
    check.close()
