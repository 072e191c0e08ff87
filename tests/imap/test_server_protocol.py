"""IMAP4rev1 and extensions over real sockets: imaplib and a raw client against a running
govmail (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import imaplib
import re

import pytest
from tests.imap.conftest import (
    PASSWORD,
    USERS,
    RawClient,
    RunningServer,
    message,
    with_attachment,
)

from govmail.imap.protocol import mutf7


def ok(result: tuple[str, list[object]]) -> list[object]:
    typ, data = result
    assert typ == "OK", data
    return data


def tagged(c: imaplib.IMAP4, *args: str) -> bytes:
    """The text of the tagged OK of a command (imaplib hides it for UID commands)."""
    typ, data = c._simple_command(*args)
    assert typ == "OK", data
    return data[-1]  # type: ignore[no-any-return]


def test_greeting_capabilities_and_login(server: RunningServer) -> None:
    raw = RawClient(server.port("imap"))
    assert raw.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
    assert b"STARTTLS" in raw.greeting and b"AUTH=PLAIN" in raw.greeting
    # Commands of the wrong state are refused and the session goes on.
    assert raw.cmd("a1", "SELECT INBOX")[-1].startswith(b"a1 BAD")
    lines = raw.cmd("a2", f'LOGIN {USERS["an"]} "wrong password"')
    assert lines[-1].startswith(b"a2 NO [AUTHENTICATIONFAILED]")
    lines = raw.cmd("a3", f'LOGIN {USERS["an"]} "{PASSWORD}"')
    assert lines[-1].startswith(b"a3 OK [CAPABILITY ")
    assert b"CONDSTORE" in lines[-1] and b"QRESYNC" in lines[-1] and b"MOVE" in lines[-1]
    assert raw.cmd("a4", "LOGIN x y")[-1].startswith(b"a4 BAD")
    lines = raw.cmd("a5", "NAMESPACE")
    assert lines[0] == b'* NAMESPACE (("" "/")) NIL (("Shared/" "/"))'
    lines = raw.cmd("a6", 'ID ("name" "pytest")')
    assert lines[0].startswith(b'* ID ("name" "govmail"')
    lines = raw.cmd("a7", "LOGOUT")
    assert lines[0].startswith(b"* BYE") and lines[-1].startswith(b"a7 OK")
    raw.close()


def test_authenticate_plain_starttls_and_implicit_tls(server: RunningServer) -> None:
    token = base64.b64encode(f"\0{USERS['binh']}\0{PASSWORD}".encode()).decode()
    raw = RawClient(server.port("imap"))
    assert raw.cmd("p1", f"AUTHENTICATE PLAIN {token}")[-1].startswith(b"p1 OK")
    raw.close()
    # Without SASL-IR: the server asks with "+ ".
    raw = RawClient(server.port("imap"))
    raw.send("p2 AUTHENTICATE PLAIN\r\n")
    assert raw.line() == b"+ "
    raw.send(token + "\r\n")
    assert raw.until("p2")[-1].startswith(b"p2 OK")
    raw.close()
    raw = RawClient(server.port("imap"))
    raw.send("p3 AUTHENTICATE PLAIN\r\n")
    raw.line()
    raw.send("*\r\n")
    assert raw.until("p3")[-1].startswith(b"p3 BAD")
    assert raw.cmd("p4", "AUTHENTICATE CRAM-MD5")[-1].startswith(b"p4 NO")
    raw.close()

    client = server.connect()
    ok(client.starttls())
    assert "STARTTLS" not in client.capabilities
    ok(client.login(USERS["binh"], PASSWORD))
    ok(client.select("INBOX"))
    client.logout()

    tls = server.connect_tls()
    assert "STARTTLS" not in tls.capabilities and "AUTH=PLAIN" in tls.capabilities
    ok(tls.login(USERS["binh"], PASSWORD))
    tls.logout()


def test_passwords_refused_in_clear_unless_loopback_allowed(server: RunningServer) -> None:
    listeners = server.settings.listeners
    listeners.allow_plaintext_auth_on_loopback = False
    try:
        raw = RawClient(server.port("imap"))
        assert b"LOGINDISABLED" in raw.greeting and b"AUTH=PLAIN" not in raw.greeting
        lines = raw.cmd("t1", f'LOGIN {USERS["an"]} "{PASSWORD}"')
        assert lines[-1].startswith(b"t1 NO [PRIVACYREQUIRED]")
        raw.close()
        tls = server.connect_tls()
        ok(tls.login(USERS["an"], PASSWORD))
        tls.logout()
    finally:
        listeners.allow_plaintext_auth_on_loopback = True


def test_starttls_discards_pipelined_plaintext(server: RunningServer) -> None:
    raw = RawClient(server.port("imap"))
    raw.send(f's1 STARTTLS\r\ns2 LOGIN {USERS["an"]} "{PASSWORD}"\r\n')
    lines = []
    with pytest.raises(ConnectionError):
        while True:
            lines.append(raw.line())
    assert lines[0].startswith(b"s1 OK")
    assert not any(line.startswith(b"s2") for line in lines)
    raw.close()


def test_mailbox_commands_with_vietnamese_names(server: RunningServer) -> None:
    c = server.connect("an")
    name = "Văn bản đến/Năm 2024"
    wire = mutf7.encode(name)
    assert wire == "V&AQM-n b&HqM-n &AREevw-n/N&AQM-m 2024"
    ok(c.create(f'"{wire}"'))
    data = ok(c.list('""', '"V*"'))
    assert b'(\\HasChildren) "/" "V&AQM-n b&HqM-n &AREevw-n"' in data
    assert b'(\\HasNoChildren) "/" "V&AQM-n b&HqM-n &AREevw-n/N&AQM-m 2024"' in data
    assert c.create(f'"{wire}"')[0] == "NO"
    assert c.create('"Shared/abc"')[0] == "NO"
    ok(c.create("Tmp/"))
    ok(c.rename("Tmp", f'"{mutf7.encode("Tạm thời")}"'))
    data = ok(c.list('""', "%"))
    names = [re.sub(rb'^\([^)]*\) "/" ', b"", d) for d in data]  # type: ignore[arg-type]
    assert b'"T&HqE-m th&Ht0-i"' in names and b"Tmp" not in names
    assert b"Shared" not in names  # An handles no agency mailbox
    ok(c.subscribe(f'"{wire}"'))
    ok(c.unsubscribe("Sent"))
    lsub = ok(c.lsub('""', "*"))
    assert any(b"N&AQM-m 2024" in d for d in lsub)  # type: ignore[operator]
    assert not any(d.endswith(b" Sent") for d in lsub)  # type: ignore[union-attr]
    assert c.delete("INBOX")[0] == "NO"
    assert c.delete("Trash")[0] == "NO"  # special-use folders stay
    ok(c.delete(f'"{mutf7.encode("Tạm thời")}"'))
    assert c.select('"No such"')[0] == "NO"
    # A name that is not modified UTF-7 is a syntax error, and the session goes on.
    raw = RawClient(server.port("imap"))
    raw.login("an")
    assert raw.cmd("m1", "CREATE &Jjo")[-1].startswith(b"m1 BAD")
    assert raw.cmd("m2", 'CREATE "Caf\xc3\xa9"'.encode("latin-1"))[-1].startswith(b"m2 BAD")
    assert raw.cmd("m3", "NOOP")[-1].startswith(b"m3 OK")
    # Extended LIST: special-use selection, subscription and status in one answer.
    lines = raw.cmd("m4", 'LIST (SPECIAL-USE) "" "*" RETURN (STATUS (MESSAGES UIDVALIDITY))')
    assert lines[0].startswith(b'* LIST (\\HasNoChildren \\Archive) "/" Archive')
    assert lines[1].startswith(b"* STATUS Archive (MESSAGES 0 UIDVALIDITY ")
    assert not any(b"INBOX" in line for line in lines)
    lines = raw.cmd("m5", 'LIST "" "INBOX" RETURN (SUBSCRIBED CHILDREN)')
    assert lines[0] == b'* LIST (\\HasNoChildren \\Subscribed) "/" INBOX'
    assert raw.cmd("m6", 'LIST "" ""')[0] == b'* LIST (\\Noselect) "/" ""'
    raw.close()
    c.logout()


def test_append_fetch_sections(server: RunningServer) -> None:
    c = server.connect("an")
    ok(c.create("Fetch"))
    plain = message(subject="Báo cáo tháng 5", body="Dòng một\r\nDòng hai\r\n")
    data = ok(c.append("Fetch", "(\\Flagged)", '"07-May-2024 08:30:00 +0700"', plain))
    assert re.match(rb"\[APPENDUID \d+ 1\]", data[0])  # type: ignore[arg-type]
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8
    attached = with_attachment("Giấy mời họp", "Giấy mời.pdf", pdf)
    ok(c.append("Fetch", None, None, attached))
    ok(c.select("Fetch"))

    data = ok(c.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE)"))
    assert data[0] == (
        b'1 (FLAGS (\\Flagged \\Recent) INTERNALDATE "07-May-2024 08:30:00 +0700" '
        b"RFC822.SIZE %d)" % len(plain)
    )
    data = ok(c.fetch("1", "(BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.9>)"))
    assert data[0][1] == plain  # type: ignore[index]
    assert data[1][1] == b"Subject: "  # type: ignore[index]
    data = ok(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (Subject From To Date Message-ID)])"))
    assert data[0][1].startswith(b"MIME-Version: 1.0\r\n")  # type: ignore[index]
    assert data[0][1].endswith(b"8bit\r\n\r\n")  # type: ignore[index]
    data = ok(c.fetch("1", "(FLAGS)"))
    assert b"\\Seen" not in data[0]  # type: ignore[operator]
    data = ok(c.fetch("1", "(BODY[TEXT])"))
    assert data[0][1] == "Dòng một\r\nDòng hai\r\n".encode()  # type: ignore[index]
    assert b"\\Seen" in data[1]  # type: ignore[operator]  # FLAGS reported after \\Seen was set

    data = ok(c.fetch("2", "(BODYSTRUCTURE)"))
    bs = data[0]
    assert b'("TEXT" "PLAIN" ("CHARSET" "utf-8")' in bs  # type: ignore[operator]
    assert b'"APPLICATION" "PDF"' in bs and b'"MIXED"' in bs  # type: ignore[operator]
    assert b'"ATTACHMENT" ("FILENAME*" "utf-8\'\'Gi%E1%BA%A5y' in bs  # type: ignore[operator]
    data = ok(c.fetch("2", "(BODY.PEEK[2.MIME] BODY.PEEK[2] BINARY.PEEK[2] BINARY.SIZE[2])"))
    assert data[0][1].startswith(b"Content-Type: application/pdf")  # type: ignore[index]
    assert base64.b64decode(data[1][1]) == pdf  # type: ignore[index]
    assert data[2][1] == pdf  # type: ignore[index]
    assert data[3].endswith(b"BINARY.SIZE[2] %d)" % len(pdf))  # type: ignore[union-attr]
    # A section that does not exist is NIL; the command still succeeds.
    data = ok(c.fetch("2", "(BODY.PEEK[7] BODY.PEEK[1.2.3] BODY.PEEK[1.HEADER])"))
    assert data == [b"2 (BODY[7] NIL BODY[1.2.3] NIL BODY[1.HEADER] NIL)"]
    data = ok(c.fetch("1:2", "(UID RFC822.SIZE BODY)"))
    assert data[0].startswith(b"1 (UID 1 RFC822.SIZE ") and b"BODY (" in data[0]  # type: ignore[union-attr]
    data = ok(c.fetch("2", "(ENVELOPE)"))
    assert b"=?utf-8?" in data[0]  # type: ignore[operator]
    data = ok(c.fetch("1", "(RFC822.HEADER RFC822.TEXT)"))
    assert data[0][1] == plain.split(b"\r\n\r\n")[0] + b"\r\n\r\n"  # type: ignore[index]
    # Message numbers beyond the mailbox are an error; UIDs beyond it are not.
    with pytest.raises(imaplib.IMAP4.error, match="invalid message sequence number"):
        c.fetch("3", "(FLAGS)")
    assert ok(c.uid("FETCH", "3:10", "(FLAGS)")) == [None]
    c.logout()


def test_store_copy_move_expunge(server: RunningServer) -> None:
    c = server.connect("binh")
    ok(c.create("Work"))
    ok(c.create("Archive/2024"))
    for i in range(5):
        ok(c.append("Work", None, None, message(subject=f"Thư {i}")))
    ok(c.select("Work"))
    data = ok(c.store("1:2", "+FLAGS", "(\\Deleted $Important)"))
    assert data[0] == b"1 (UID 1 FLAGS (\\Deleted \\Recent $Important))"
    with pytest.raises(imaplib.IMAP4.error, match="Recent"):
        c.store("1", "+FLAGS", "(\\Recent)")
    data = ok(c.uid("STORE", "3", "+FLAGS.SILENT", "(\\Seen)"))
    assert data == [None]
    assert re.match(rb"\[COPYUID \d+ 3:4 1:2\]", tagged(c, "UID", "COPY", "3:4", "Archive/2024"))
    typ, data = c.uid("MOVE", "5", "Archive/2024")
    assert typ == "OK"
    assert c.untagged_responses.pop("EXPUNGE") == [b"5"]
    assert c.uid("COPY", "1", "Nowhere")[0] == "NO"
    data = ok(c.expunge())
    assert data == [b"2", b"1"]  # descending numbers: each valid when sent
    data = ok(c.fetch("1:*", "(UID FLAGS)"))
    assert data == [b"1 (UID 3 FLAGS (\\Seen \\Recent))", b"2 (UID 4 FLAGS (\\Recent))"]
    ok(c.store("2", "+FLAGS", "(\\Deleted)"))
    ok(c.uid("EXPUNGE", "3"))  # UIDPLUS: only UID 3, which is not \\Deleted
    assert ok(c.search(None, "ALL")) == [b"1 2"]
    ok(c.close())  # expunges UID 4 silently
    ok(c.select("Work", readonly=True))
    assert ok(c.search(None, "ALL")) == [b"1"]
    assert c.store("1", "+FLAGS", "(\\Flagged)")[0] == "NO"
    ok(c.unselect()) if hasattr(c, "unselect") else c._simple_command("UNSELECT")
    ok(c.select("Archive/2024"))
    data = ok(c.fetch("1:*", "(FLAGS)"))
    assert data[0] == b"1 (FLAGS (\\Seen \\Recent))" and len(data) == 3
    c.logout()


def test_search_vietnamese_and_extensions(server: RunningServer) -> None:
    c = server.connect("tam")
    ok(c.create("Search"))
    ok(c.append("Search", None, None, message(subject="Công văn về việc họp")))
    ok(
        c.append(
            "Search",
            None,
            None,
            message(subject="Lịch công tác", sender="Đặng Thu Hà <hadt@mic.gov.vn>"),
        )
    )
    ok(
        c.append(
            "Search",
            "(\\Seen)",
            None,
            message(subject="Báo cáo", body="Nội dung công văn số 5\r\n"),
        )
    )
    ok(
        c.append(
            "Search", None, None, message(subject="Thông báo", extra_headers="X-Priority: 1\r\n")
        )
    )
    ok(c.select("Search"))

    def search(*criteria: str) -> bytes:
        return ok(c.uid("SEARCH", *criteria))[0]  # type: ignore[return-value]

    assert search("SUBJECT", '"cong van"') == b"1"
    c.literal = "CÔNG VĂN".encode()  # imaplib sends it as a literal
    assert search("CHARSET", "UTF-8", "SUBJECT") == b"1"
    assert search("FROM", '"dang thu"') == b"2"
    assert search("TEXT", '"cong van"') == b"1 3"
    assert search("BODY", '"so 5"') == b"3"
    assert search("UNSEEN", "NOT", "SUBJECT", "lich") == b"1 4"
    assert search("OR", "SEEN", "FROM", "hadt") == b"2 3"
    assert search("HEADER", "X-Priority", "1") == b"4"
    assert search("HEADER", "X-Priority", '""') == b"4"
    assert search("LARGER", "1", "SMALLER", "100000", "2:3") == b"2 3"
    assert search("SENTSINCE", "1-May-2024", "SENTBEFORE", "7-May-2024") == b"1 2 3 4"
    assert search("ON", "1-Jan-2000") == b""
    assert search("YOUNGER", "3600") == b"1 2 3 4"
    # Vietnamese in a literal (as clients send 8-bit criteria).
    raw = RawClient(server.port("imap"))
    raw.login("tam")
    raw.cmd("s0", "SELECT Search")
    text = "Công tác".encode()
    raw.send(b"s1 UID SEARCH CHARSET UTF-8 SUBJECT {%d}\r\n" % len(text))
    assert raw.line().startswith(b"+ ")
    raw.send(text + b"\r\n")
    assert raw.until("s1")[0] == b"* SEARCH 2"
    # LITERAL+ needs no continuation.
    raw.send(b"s2 UID SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n" % len(text) + text + b"\r\n")
    assert raw.until("s2")[0] == b"* SEARCH 2"
    lines = raw.cmd("s3", "UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert lines[0] == b'* ESEARCH (TAG "s3") UID MIN 1 MAX 4 COUNT 3 ALL 1:2,4'
    lines = raw.cmd("s4", "SEARCH RETURN (SAVE) SUBJECT bao")
    assert lines[0].startswith(b"s4 OK")
    lines = raw.cmd("s5", "FETCH $ (UID)")
    assert lines[0] == b"* 3 FETCH (UID 3)"
    lines = raw.cmd("s6", "SEARCH CHARSET KOI8-X ALL")
    assert lines[-1].startswith(b"s6 NO [BADCHARSET")
    lines = raw.cmd("s7", "SEARCH SUBJECT")
    assert lines[-1].startswith(b"s7 BAD")
    raw.close()
    c.logout()


def test_status_quota_enable_and_recent(server: RunningServer) -> None:
    c = server.connect("duc")
    ok(c.create("Quota"))
    ok(c.append("Quota", None, None, message()))
    data = ok(c.status("Quota", "(MESSAGES RECENT UIDNEXT UNSEEN DELETED SIZE HIGHESTMODSEQ)"))
    assert re.match(
        rb"Quota \(MESSAGES 1 RECENT 1 UIDNEXT 2 UNSEEN 1 DELETED 0 SIZE \d+ HIGHESTMODSEQ \d+\)",
        data[0],  # type: ignore[arg-type]
    )
    typ, data = c._simple_command("GETQUOTAROOT", "INBOX")
    assert typ == "OK"
    assert c.untagged_responses["QUOTAROOT"] == [b'INBOX ""']
    assert re.match(rb'"" \(STORAGE \d+ \d+\)', c.untagged_responses["QUOTA"][0])
    assert c._simple_command("SETQUOTA", '""', "(STORAGE 10)")[0] == "NO"
    # \Recent: the first read-write session sees it, the next one does not.
    ok(c.select("Quota"))
    assert c.untagged_responses.get("RECENT") == [b"1"]
    d = server.connect("duc")
    ok(d.select("Quota"))
    assert d.untagged_responses.get("RECENT") == [b"0"]
    assert ok(d.search(None, "RECENT")) == [b""]
    assert ok(c.search(None, "NEW")) == [b"1"]
    d.logout()
    raw = RawClient(server.port("imap"))
    raw.login("duc")
    lines = raw.cmd("e1", "ENABLE CONDSTORE UTF8=ACCEPT X-UNKNOWN")
    assert lines[0] == b"* ENABLED CONDSTORE UTF8=ACCEPT"
    lines = raw.cmd("e2", 'CREATE "Tiếng Việt"')
    assert lines[-1].startswith(b"e2 OK")
    lines = raw.cmd("e3", 'LIST "" "Ti*"')
    assert lines[0] == '* LIST (\\HasNoChildren) "/" "Tiếng Việt"'.encode()
    raw.close()
    c.logout()


def test_imap4rev2_when_enabled(server: RunningServer) -> None:
    raw = RawClient(server.port("imap"))
    raw.login("an")
    assert raw.cmd("r1", "ENABLE IMAP4rev2")[0] == b"* ENABLED IMAP4rev2"
    lines = raw.cmd("r2", "SELECT INBOX")
    assert not any(line.endswith(b"RECENT") for line in lines)
    assert b'* LIST () "/" INBOX' in lines
    lines = raw.cmd("r3", "SEARCH ALL")
    assert lines[0].startswith(b'* ESEARCH (TAG "r3")')
    raw.close()


def test_sequence_sets_in_an_empty_mailbox(server: RunningServer) -> None:
    raw = RawClient(server.port("imap"))
    raw.login("binh")
    raw.cmd("e0", "CREATE Empty")
    raw.cmd("e1", "SELECT Empty")
    assert raw.cmd("e2", "FETCH 1:* (FLAGS)") == [b"e2 OK FETCH completed"]
    assert raw.cmd("e3", "SEARCH 1:5")[0] == b"* SEARCH"
    assert raw.cmd("e4", "UID FETCH 1:* (FLAGS)") == [b"e4 OK FETCH completed"]
    assert raw.cmd("e5", "FETCH 2 (FLAGS)")[-1].startswith(b"e5 BAD")
    assert raw.cmd("e6", "STORE 1:* +FLAGS (\\Seen)")[-1].startswith(b"e6 OK")
    raw.close()
