"""Agency mailboxes under Shared/: visible to their handlers only, rights from the
directory (clerk or not), every action recorded in the audit log."""

from __future__ import annotations

import re

from tests.imap.conftest import AGENCY, USERS, RawClient, RunningServer, message

from govmail.delivery.envelope import Envelope
from govmail.imap.protocol import mutf7
from govmail.store.models import AuditEntry

INBOX = f"Shared/{AGENCY}/INBOX"


async def _audit(server: RunningServer, actor: str) -> list[AuditEntry]:
    async with server.app.store.read() as tx:
        return list(await tx.audit.search(actor=actor, action="imap."))


def test_shared_mailbox_for_handlers_only(server: RunningServer) -> None:
    env = Envelope(mail_from="lamdv@mic.gov.vn", rcpt_to=[AGENCY], source="mx")
    for subject in ("Công văn đến số 1", "Giấy mời họp"):
        assert server.run(server.app.pipeline.deliver(env, message(subject=subject, to=AGENCY)))

    outsider = RawClient(server.port("imap"))
    outsider.login("tam")
    lines = outsider.cmd("o1", 'LIST "" "*"')
    assert not any(b"Shared" in line for line in lines)
    assert outsider.cmd("o2", f"SELECT {INBOX}")[-1].startswith(b"o2 NO [NONEXISTENT]")
    assert outsider.cmd("o3", f"STATUS {INBOX} (MESSAGES)")[-1].startswith(b"o3 NO")
    assert outsider.cmd("o4", f"APPEND {INBOX} {{1+}}\r\nx")[-1].startswith(b"o4 NO [TRYCREATE]")
    outsider.close()

    clerk = RawClient(server.port("imap"))
    clerk.login("hang")
    lines = clerk.cmd("h1", 'LIST "" "Shared/*"')
    assert f'* LIST (\\Noselect \\HasChildren) "/" Shared/{AGENCY}'.encode() in lines
    assert f'* LIST (\\HasNoChildren) "/" {INBOX}'.encode() in lines
    assert f"* MYRIGHTS {INBOX} lrswikxtea".encode() in clerk.cmd("h2", f"MYRIGHTS {INBOX}")
    acl = clerk.cmd("h3", f"GETACL {INBOX}")[0]
    assert acl == f"* ACL {INBOX} {USERS['duc']} lrswi {USERS['hang']} lrswikxtea".encode()
    assert clerk.cmd("h4", f"SETACL {INBOX} {USERS['tam']} lr")[-1].startswith(b"h4 NO [NOPERM]")
    lines = clerk.cmd("h5", f"SELECT {INBOX}")
    assert b"* 2 EXISTS" in lines
    lines = clerk.cmd("h6", 'UID SEARCH SUBJECT "cong van"')
    assert lines[0] == b"* SEARCH 1"
    clerk.cmd("h7", "FETCH 1 (BODY[TEXT])")
    clerk.cmd("h8", "UID STORE 2 +FLAGS.SILENT ($Registered)")
    lines = clerk.cmd("h9", "UID MOVE 2 INBOX")  # into the clerk's own INBOX
    assert re.search(rb"\[COPYUID \d+ 2 \d+\]", lines[0])
    done = mutf7.encode(f"Shared/{AGENCY}/Đã xử lý")
    assert clerk.cmd("h10", f'CREATE "{done}"')[-1].startswith(b"h10 OK")
    lines = clerk.cmd("h11", "GETQUOTAROOT INBOX")
    assert lines[0] == b'* QUOTAROOT INBOX ""'
    lines = clerk.cmd("h12", f"GETQUOTAROOT {INBOX}")
    assert lines[0] == f"* QUOTAROOT {INBOX} {AGENCY}".encode()
    clerk.close()

    handler = RawClient(server.port("imap"))
    handler.login("duc")
    assert f"* MYRIGHTS {INBOX} lrswi".encode() in handler.cmd("d1", f"MYRIGHTS {INBOX}")
    assert handler.cmd("d2", f"GETACL {INBOX}")[-1].startswith(b"d2 NO [NOPERM]")
    handler.cmd("d3", f"SELECT {INBOX}")
    assert handler.cmd("d4", "STORE 1 +FLAGS (\\Deleted)")[-1].startswith(b"d4 NO [NOPERM]")
    assert handler.cmd("d5", "STORE 1 +FLAGS.SILENT (\\Flagged)")[-1].startswith(b"d5 OK")
    assert handler.cmd("d6", "EXPUNGE")[-1].startswith(b"d6 NO [NOPERM]")
    assert handler.cmd("d7", "MOVE 1 INBOX")[-1].startswith(b"d7 NO [NOPERM]")
    assert handler.cmd("d8", "COPY 1 INBOX")[-1].startswith(b"d8 OK [COPYUID")
    assert handler.cmd("d9", f'CREATE "Shared/{AGENCY}/X"')[-1].startswith(b"d9 NO [NOPERM]")
    assert handler.cmd("d10", f"DELETE Shared/{AGENCY}/Sent")[-1].startswith(b"d10 NO")
    # Unsubscribing a shared folder is per person.
    handler.cmd("d11", f"UNSUBSCRIBE Shared/{AGENCY}/Junk")
    assert not any(b"Junk" in line for line in handler.cmd("d12", 'LSUB "" "Shared/*"'))
    handler.close()
    other = RawClient(server.port("imap"))
    other.login("hang")
    assert any(b"Junk" in line for line in other.cmd("h13", 'LSUB "" "Shared/*"'))
    other.close()

    clerk_actions = {e.action for e in server.run(_audit(server, USERS["hang"]))}
    assert {"imap.select", "imap.read", "imap.flags", "imap.move_out", "imap.create"} <= (
        clerk_actions
    )
    entries = server.run(_audit(server, USERS["duc"]))
    flags = [e for e in entries if e.action == "imap.flags"]
    assert flags and flags[0].object_id == f"{AGENCY}/INBOX"
    assert flags[0].after == {"mode": "add", "flags": ["\\Flagged"], "uids": "1", "count": 1}
    assert flags[0].source == "imap" and flags[0].remote_addr == "127.0.0.1"
    assert "imap.copy_out" in {e.action for e in entries}
    # Nothing is audited for what people do in their own mailboxes.
    assert server.run(_audit(server, USERS["tam"])) == []
