"""Export of one mailbox to mbox (mboxrd) and Maildir++, read back with Python's mailbox
module: every message, its flags and its date."""

from __future__ import annotations

import mailbox
from pathlib import Path

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.imap.protocol import mutf7
from govmail.ops.export import Exporter, ExportError, mboxrd_escape
from govmail.store.db import Store
from tests.ops import support
from tests.ops.support import make_message, make_rig

sqlite_store = support.sqlite_store  # fixture


def test_mboxrd_escaping() -> None:
    assert mboxrd_escape(b"a\nFrom me\n>From you\nFromage\n") == (
        b"a\n>From me\n>>From you\nFromage\n")


async def test_mbox_and_maildir_export(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    async for r in make_rig(sqlite_store, settings, []):
        for i in range(4):
            await r.pipeline.deliver(
                Envelope("a@example.org", ["hangntm@mic.gov.vn"], "mx", client_ip="192.0.2.1"),
                make_message(f"Thư {i}", f"Dòng đầu\nFrom the start {i}\n"),
            )
        inbox = await support.folder_of(r.store, "hangntm@mic.gov.vn", "INBOX")
        await r.mailstore.set_flags(inbox.id, [1], "add", ["\\Seen", "\\Flagged"])
        work = None
        async with r.store.write() as tx:
            mb = await tx.directory.mailbox_by_address("hangntm@mic.gov.vn")
            work = await tx.mail.create_folder(mb.id, "Công việc/Dự án")  # type: ignore[union-attr]
        await r.mailstore.copy(inbox.id, [2], work, move=True)

        ex = Exporter(r.store)
        rep = await ex.to_mbox("hangntm@mic.gov.vn", tmp_path / "mbox")
        assert rep.messages == 4
        box = mailbox.mbox(str(tmp_path / "mbox" / "INBOX.mbox"))
        msgs = list(box)
        assert len(msgs) == 3
        assert "R" in msgs[0].get_flags() and "F" in msgs[0].get_flags()
        assert msgs[1].get_flags() == "O"
        assert msgs[0].get_from().startswith("nguoigui@example.org ")
        sub = mailbox.mbox(str(tmp_path / "mbox" / "Công việc.Dự án.mbox"))
        from email.header import decode_header, make_header

        assert [str(make_header(decode_header(m["Subject"]))) for m in sub] == ["Thư 1"]

        rep = await ex.to_maildir("hangntm@mic.gov.vn", tmp_path / "md")
        assert rep.messages == 4
        md = mailbox.Maildir(str(tmp_path / "md"), create=False)
        flags = sorted(m.get_flags() for m in md)
        assert flags == ["", "", "FS"]
        work_name = mutf7.encode("Công việc.Dự án")
        assert sorted(md.list_folders()) == sorted(
            ["Archive", "Drafts", "Junk", "Sent", "Trash", work_name])
        assert len(list(md.get_folder(work_name))) == 1
        stored = {await support.raw_of(r.store, m) for m in await support.messages_in(
            r.store, "hangntm@mic.gov.vn", "INBOX")}
        assert {md.get_bytes(k) for k in md.iterkeys()} == stored  # byte for byte

        try:
            await ex.to_mbox("nobody@mic.gov.vn", tmp_path / "x")
        except ExportError as exc:
            assert "nobody@mic.gov.vn" in str(exc)
        else:
            raise AssertionError("export of an unknown mailbox must fail")
