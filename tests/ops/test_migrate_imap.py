"""govmail migrate imap against the reference Dovecot (../shared/peers, IMAP on
127.0.0.1:1143, test users user0091…user0100): every folder, flag and internal date;
a second run copies nothing; a connection dropped mid-way is resumed without duplicates."""

from __future__ import annotations

import asyncio
import imaplib
import socket
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govmail.config import Settings
from govmail.delivery.committer import GroupCommitter
from govmail.delivery.events import MailEvents
from govmail.delivery.mailstore import MailStore
from govmail.imap.protocol import mutf7
from govmail.ops.migrate_imap import (
    AccountSpec,
    ImapMigrator,
    MigrationError,
    parse_list_line,
    read_accounts,
    target_folder,
)
from govmail.store.db import Store
from tests.ops import support
from tests.ops.support import make_message

sqlite_store = support.sqlite_store  # fixture
HOST, PORT = "127.0.0.1", 1143
START = Path("/work/shared/peers/start.sh")
SOURCE_FOLDERS = {  # Dovecot's separator is "."
    "INBOX": 12, "Sent": 3, "Công việc": 2, "Công việc.Dự án": 2, "Junk": 1,
}


def _dovecot_up() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def dovecot() -> None:
    if not _dovecot_up() and START.exists():
        subprocess.run(["bash", str(START)], capture_output=True, timeout=60)  # left running
    if not _dovecot_up():
        pytest.skip("the reference Dovecot (shared/peers) is not available on 127.0.0.1:1143")


def _q(name: str) -> str:
    return '"' + mutf7.encode(name) + '"'


def populate(user: str) -> dict[str, list[tuple[bytes, set[str], datetime]]]:
    """Empty the test user's mailbox on Dovecot and fill it; returns what was put where."""
    c = imaplib.IMAP4(HOST, PORT)
    c.login(user, "secret")
    _t, lines = c.list()
    for line in lines or []:
        parsed = parse_list_line(line) if isinstance(line, bytes) else None
        if parsed and parsed[2] != "INBOX":
            c.delete(_q(parsed[2]))
    _t, exists = c.select("INBOX")
    if int(exists[0] or 0):
        c.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        c.expunge()
    put: dict[str, list[tuple[bytes, set[str], datetime]]] = {}
    base = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    n = 0
    for folder, count in SOURCE_FOLDERS.items():
        if folder != "INBOX":
            c.create(_q(folder))
        for i in range(count):
            n += 1
            flags = set()
            if i % 2 == 0:
                flags.add("\\Seen")
            if i % 3 == 0:
                flags.add("\\Flagged")
            if i % 4 == 1:
                flags.add("\\Answered")
            if i == 2:
                flags.add("$Label1")
            when = base + timedelta(days=n, minutes=7 * n)
            raw = make_message(f"{folder} thư {i}", f"Nội dung {folder} {i}\r\nFrom here\r\n",
                               sender=f"nguoi{i}@cu.gov.vn", date=when)
            typ, data = c.append(_q(folder), "(" + " ".join(sorted(flags)) + ")",
                                 imaplib.Time2Internaldate(when.timestamp()), raw)
            assert typ == "OK", data
            put.setdefault(folder, []).append((raw, flags, when))
    c.logout()
    return put


@pytest.fixture
async def target(sqlite_store: Store, settings: Settings) -> AsyncIterator[MailStore]:
    await support.build_org(sqlite_store, settings)
    committer = GroupCommitter(sqlite_store)
    await committer.start()
    try:
        yield MailStore(sqlite_store, committer, MailEvents(), settings.limits.max_message_size)
    finally:
        await committer.stop()


async def stored(store: Store, address: str) -> dict[str, list[tuple[bytes, set[str], datetime]]]:
    out: dict[str, list] = {}
    async with store.read() as tx:
        mb = await tx.directory.mailbox_by_address(address)
        assert mb is not None
        for f in await tx.mail.folders_of(mb.id):
            for m in await tx.mail.messages(f.id):
                flags = {n for n, on in (("\\Seen", m.seen), ("\\Flagged", m.flagged),
                                          ("\\Answered", m.answered)) if on}
                flags |= set(m.keywords.split())
                raw = store.blobs.get_sync(await tx.mail.blob_sha_of(m))
                out.setdefault(f.name, []).append((raw, flags, m.internal_date))
    return out


def test_folder_mapping_and_list_parsing() -> None:
    assert target_folder("INBOX", ".", set()) == ("INBOX", None)
    assert target_folder("Sent Items", "/", set()) == ("Sent Items", "\\Sent")
    assert target_folder("Thư rác", ".", set()) == ("Thư rác", "\\Junk")
    assert target_folder("Elsewhere", ".", {"\\sent"}) == ("Elsewhere", "\\Sent")
    assert target_folder("Công việc.Dự án", ".", set()) == ("Công việc/Dự án", None)
    assert target_folder("INBOX/Projects/A", "/", set()) == ("INBOX/Projects/A", None)
    line = b'(\\HasChildren) "." "' + mutf7.encode("Công việc").encode() + b'"'
    attrs, delim, name = parse_list_line(line)  # type: ignore[misc]
    assert (delim, name) == (".", "Công việc") and "\\haschildren" in attrs


def test_csv_reading(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("source_user,source_password,target\nold1@cu.vn,p1,hangntm@mic.gov.vn\n"
                 "# comment\nold2@cu.vn,\"p,2\"\n")
    accts = read_accounts(f)
    assert [(a.source_user, a.source_password, a.target) for a in accts] == [
        ("old1@cu.vn", "p1", "hangntm@mic.gov.vn"), ("old2@cu.vn", "p,2", "old2@cu.vn")]
    f.write_text("only-one-column\n")
    with pytest.raises(MigrationError, match=r"a\.csv:1"):
        read_accounts(f)


async def test_migrate_every_folder_flag_and_date_then_nothing_twice(
    dovecot: None, sqlite_store: Store, target: MailStore
) -> None:
    user = "user0091@bench.gov.vn"
    put = await asyncio.to_thread(populate, user)
    spec = AccountSpec(user, "secret", "hangntm@mic.gov.vn")
    seen: list[tuple[int, int]] = []
    m = ImapMigrator(sqlite_store, target, HOST, PORT, security="plain", batch=5,
                     progress=lambda _a, d, t: seen.append((d, t)))
    [report] = await m.run([spec])
    assert report.ok, report.error
    total = sum(SOURCE_FOLDERS.values())
    assert (report.copied, report.skipped, report.messages) == (total, 0, total)
    assert seen[-1] == (total, total)
    got = await stored(sqlite_store, "hangntm@mic.gov.vn")
    expected_names = {"INBOX": "INBOX", "Sent": "Sent", "Công việc": "Công việc",
                      "Công việc.Dự án": "Công việc/Dự án", "Junk": "Junk"}
    for src, dst in expected_names.items():
        want = sorted(put[src], key=lambda x: x[2])
        have = sorted(got[dst], key=lambda x: x[2])
        assert [w[0] for w in want] == [h[0] for h in have], dst  # byte-identical bodies
        assert [w[1] for w in want] == [h[1] for h in have], dst  # flags and keywords
        assert [w[2] for w in want] == [h[2] for h in have], dst  # internal dates

    [again] = await m.run([spec])
    assert again.ok and again.copied == 0 and again.skipped == total
    assert await stored(sqlite_store, "hangntm@mic.gov.vn") == got

    [bad] = await m.run([AccountSpec(user, "wrong", "hangntm@mic.gov.vn")])
    assert not bad.ok and "login refused" in (bad.error or "")
    [nobody] = await m.run([AccountSpec(user, "secret", "nobody@mic.gov.vn")])
    assert "no govmail mailbox" in (nobody.error or "")


class DroppingProxy:
    """Forwards to Dovecot and cuts every connection after ``limit`` bytes from the server."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.server: asyncio.Server | None = None
        self.cuts = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection(HOST, PORT)
        sent = 0

        async def up() -> None:
            while data := await cr.read(65536):
                sw.write(data)
                await sw.drain()

        async def down() -> None:
            nonlocal sent
            while data := await sr.read(65536):
                if sent + len(data) > self.limit:
                    cw.write(data[: self.limit - sent])
                    self.cuts += 1
                    return
                sent += len(data)
                cw.write(data)
                await cw.drain()

        t_up = asyncio.create_task(up())
        await down()
        t_up.cancel()
        for w in (cw, sw):
            w.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


async def test_dropped_connection_is_reported_and_resumed_without_duplicates(
    dovecot: None, sqlite_store: Store, target: MailStore
) -> None:
    user = "user0092@bench.gov.vn"
    await asyncio.to_thread(populate, user)
    total = sum(SOURCE_FOLDERS.values())
    proxy = DroppingProxy(limit=12_000)
    port = await proxy.start()
    try:
        flaky = ImapMigrator(sqlite_store, target, HOST, port, security="plain", batch=4,
                             timeout=10)
        [first] = await flaky.run([AccountSpec(user, "secret", "ductv@mic.gov.vn")])
    finally:
        await proxy.stop()
    assert not first.ok and "lost" in (first.error or "") and "resume" in (first.error or "")
    assert proxy.cuts == 1 and 0 < first.copied < total
    direct = ImapMigrator(sqlite_store, target, HOST, PORT, security="plain", batch=4)
    [second] = await direct.run([AccountSpec(user, "secret", "ductv@mic.gov.vn")])
    assert second.ok, second.error
    assert second.copied + second.skipped == total and second.skipped >= first.copied
    got = await stored(sqlite_store, "ductv@mic.gov.vn")
    assert sum(len(v) for v in got.values()) == total
    bodies = [raw for msgs in got.values() for raw, _f, _d in msgs]
    assert len(set(bodies)) == total  # nothing copied twice
