"""``govmail migrate imap``: copy mailboxes from an existing IMAP server (Zimbra, MDaemon,
Dovecot, Exchange…) into govmail: every folder, every message with its flags and its
internal date.

Resumable and idempotent: each copied message is recorded (account, source folder,
UIDVALIDITY, source UID → govmail folder and UID), so a second run copies nothing and a
run after an interruption carries on where it stopped. The one message that may have been
stored just before an interruption, without its record, is recognised by Message-ID, size
and internal date in the first batch of each folder. A source folder whose UIDVALIDITY
changed is copied again (the server renumbered it; this is what IMAP says to do).

The source is read with the standard library's imaplib in worker threads (one connection
per account, ``workers`` accounts at a time); nothing is ever changed on the source.
"""

from __future__ import annotations

import asyncio
import csv
import imaplib
import logging
import re
import ssl
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from govmail.delivery.mailstore import MailStore, MailStoreError
from govmail.imap.protocol import mutf7
from govmail.store.db import Store
from govmail.store.models import Folder
from govmail.store.repos.ops import OpsRepo

log = logging.getLogger("govmail.migrate")
Security = Literal["ssl", "starttls", "plain"]
Progress = Callable[[str, int, int], None]  # (account, messages done, messages in total)
SYSTEM_FLAGS = {"\\seen", "\\answered", "\\flagged", "\\deleted", "\\draft"}
SPECIAL_BY_ATTR = {"\\sent": "\\Sent", "\\drafts": "\\Drafts", "\\trash": "\\Trash",
                   "\\junk": "\\Junk", "\\archive": "\\Archive"}
SPECIAL_BY_NAME = {
    "sent": "\\Sent", "sent items": "\\Sent", "sent messages": "\\Sent", "sent mail": "\\Sent",
    "đã gửi": "\\Sent", "drafts": "\\Drafts", "draft": "\\Drafts", "thư nháp": "\\Drafts",
    "trash": "\\Trash", "deleted items": "\\Trash", "deleted messages": "\\Trash",
    "thùng rác": "\\Trash", "junk": "\\Junk", "spam": "\\Junk", "junk e-mail": "\\Junk",
    "junk email": "\\Junk", "bulk mail": "\\Junk", "thư rác": "\\Junk", "archive": "\\Archive",
    "archives": "\\Archive", "lưu trữ": "\\Archive",
}
_LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?P<delim>"(?:\\.|[^"])*"|NIL) (?P<name>.+)$')
_FETCH_META = re.compile(
    rb"UID (\d+)|FLAGS \(([^)]*)\)|INTERNALDATE \"([^\"]+)\"|RFC822\.SIZE (\d+)"
)


class MigrationError(Exception):
    """An account could not be migrated (login refused, connection lost, bad CSV)."""


@dataclass(slots=True)
class AccountSpec:
    source_user: str
    source_password: str
    target: str  # govmail address


@dataclass(slots=True)
class FolderReport:
    source: str
    target: str
    messages: int = 0
    copied: int = 0
    skipped: int = 0


@dataclass(slots=True)
class AccountReport:
    account: str
    source_user: str
    folders: list[FolderReport] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def copied(self) -> int:
        return sum(f.copied for f in self.folders)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.folders)

    @property
    def messages(self) -> int:
        return sum(f.messages for f in self.folders)

    @property
    def ok(self) -> bool:
        return self.error is None


def read_accounts(path: Path) -> list[AccountSpec]:
    """CSV: source_user,source_password[,target_address] (a header line is optional;
    without a target the source user name is the govmail address)."""
    out: list[AccountSpec] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MigrationError(f"{path}: {exc.strerror or exc}") from exc
    for n, row in enumerate(csv.reader(text.splitlines()), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if n == 1 and row[0].strip().lower() in ("source_user", "user", "username", "email"):
            continue
        if len(row) < 2:
            raise MigrationError(f"{path}:{n}: needs at least user,password")
        user, password = row[0].strip(), row[1]
        target = (row[2].strip() if len(row) > 2 and row[2].strip() else user).lower()
        if "@" not in target:
            raise MigrationError(f"{path}:{n}: '{target}' is not an e-mail address")
        out.append(AccountSpec(user, password, target))
    return out


def parse_list_line(line: bytes) -> tuple[set[str], str | None, str] | None:
    """(attributes, delimiter, decoded name) of one LIST response, or None."""
    m = _LIST_RE.match(line.strip())
    if not m:
        return None
    attrs = {a.lower() for a in m["attrs"].decode("ascii", "replace").split()}
    delim_raw = m["delim"].decode()
    delim = None if delim_raw == "NIL" else delim_raw[1:-1].replace("\\\\", "\\")
    name_raw = m["name"].strip()
    if name_raw.startswith(b'"') and name_raw.endswith(b'"'):
        name_raw = re.sub(rb"\\(.)", rb"\1", name_raw[1:-1])
    try:
        name = mutf7.decode(name_raw)
    except Exception:
        name = name_raw.decode("utf-8", "replace")
    return attrs, delim, unicodedata.normalize("NFC", name)


def parse_internaldate(value: str) -> datetime:
    return datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S %z")


def parse_fetch_meta(data: Sequence[Any]) -> list[tuple[int, list[str], datetime, int]]:
    """(uid, flags, internal date, size) from an imaplib UID FETCH response."""
    out: list[tuple[int, list[str], datetime, int]] = []
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid = size = None
        flags: list[str] = []
        date: datetime | None = None
        for m in _FETCH_META.finditer(line):
            if m.group(1):
                uid = int(m.group(1))
            elif m.group(2) is not None:
                flags = m.group(2).decode("utf-8", "replace").split()
            elif m.group(3):
                date = parse_internaldate(m.group(3).decode())
            elif m.group(4):
                size = int(m.group(4))
        if uid is not None and date is not None:
            out.append((uid, flags, date, size or 0))
    return out


def target_folder(name: str, delim: str | None, attrs: set[str]) -> tuple[str, str | None]:
    """The govmail folder name and special-use for a source folder."""
    if name.upper() == "INBOX":
        return "INBOX", None
    for attr, special in SPECIAL_BY_ATTR.items():
        if attr in attrs:
            return name.split(delim)[-1] if delim else name, special
    parts = name.split(delim) if delim else [name]
    if len(parts) == 1 or (len(parts) == 2 and parts[0].upper() == "INBOX"):
        special = SPECIAL_BY_NAME.get(parts[-1].strip().lower())
        if special:
            return parts[-1], special
    if parts[0].upper() == "INBOX" and len(parts) > 1:
        parts = ["INBOX", *parts[1:]]
    return "/".join(p.replace("/", "-") for p in parts), None


class _Source:
    """One imaplib connection (blocking; used from a worker thread)."""

    def __init__(self, host: str, port: int, security: Security, timeout: float,
                 verify_tls: bool) -> None:
        ctx = ssl.create_default_context()
        if not verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if security == "ssl":
            self.conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, ssl_context=ctx,
                                                         timeout=timeout)
        else:
            self.conn = imaplib.IMAP4(host, port, timeout=timeout)
            if security == "starttls":
                self.conn.starttls(ssl_context=ctx)

    def login(self, user: str, password: str) -> None:
        try:
            self.conn.login(user, password)
        except imaplib.IMAP4.error as exc:
            raise MigrationError(f"login refused for {user}: {exc}") from None

    def folders(self) -> list[tuple[set[str], str | None, str, bytes]]:
        typ, data = self.conn.list()
        if typ != "OK":
            raise MigrationError(f"LIST failed: {data!r}")
        out = []
        for line in data:
            if isinstance(line, tuple):  # a name sent as a literal
                line = line[0].rsplit(b"{", 1)[0] + b'"' + line[1] + b'"'
            parsed = parse_list_line(line) if isinstance(line, bytes) else None
            if parsed is None:
                continue
            attrs, delim, name = parsed
            if "\\noselect" in attrs or "\\nonexistent" in attrs:
                continue
            out.append((attrs, delim, name, mutf7.encode(name).encode()))
        return out

    def select(self, encoded: bytes) -> tuple[int, int]:
        typ, data = self.conn.select(_quote(encoded), readonly=True)
        if typ != "OK":
            raise MigrationError(f"cannot open folder {encoded!r}: {data!r}")
        exists = int(data[0] or 0)
        _t, uv = self.conn.response("UIDVALIDITY")
        uidvalidity = int(uv[0]) if uv and uv[0] else 0
        return exists, uidvalidity

    def listing(self) -> list[tuple[int, list[str], datetime, int]]:
        typ, data = self.conn.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE)")
        if typ != "OK":
            raise MigrationError(f"FETCH failed: {data!r}")
        return parse_fetch_meta(data)

    def bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        typ, data = self.conn.uid("FETCH", ",".join(str(u) for u in uids), "(UID BODY.PEEK[])")
        if typ != "OK":
            raise MigrationError(f"FETCH failed: {data!r}")
        out: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) >= 2:
                m = re.search(rb"UID (\d+)", item[0])
                if m:
                    out[int(m.group(1))] = item[1]
        return out

    def close(self) -> None:
        try:
            self.conn.logout()
        except Exception:
            try:
                self.conn.shutdown()
            except Exception:
                pass


def _quote(name: bytes) -> str:
    text = name.decode("ascii")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapMigrator:
    def __init__(
        self,
        store: Store,
        mailstore: MailStore,
        host: str,
        port: int = 993,
        *,
        security: Security = "ssl",
        timeout: float = 60.0,
        verify_tls: bool = True,
        batch: int = 50,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.mailstore = mailstore
        self.host = host
        self.port = port
        self.security = security
        self.timeout = timeout
        self.verify_tls = verify_tls
        self.batch = batch
        self.progress = progress

    async def run(self, accounts: Sequence[AccountSpec], workers: int = 4) -> list[AccountReport]:
        sem = asyncio.Semaphore(max(1, workers))

        async def one(spec: AccountSpec) -> AccountReport:
            async with sem:
                return await self.migrate_account(spec)

        return list(await asyncio.gather(*(one(a) for a in accounts)))

    async def migrate_account(self, spec: AccountSpec) -> AccountReport:
        report = AccountReport(spec.target, spec.source_user)
        started = time.monotonic()
        src: _Source | None = None
        try:
            async with self.store.read() as tx:
                mailbox = await tx.directory.mailbox_by_address(spec.target)
            if mailbox is None:
                raise MigrationError(f"no govmail mailbox {spec.target}; create it first")
            src = await asyncio.to_thread(
                _Source, self.host, self.port, self.security, self.timeout, self.verify_tls
            )
            await asyncio.to_thread(src.login, spec.source_user, spec.source_password)
            folders = await asyncio.to_thread(src.folders)
            plans: list[tuple[FolderReport, bytes, Folder, int, list[Any]]] = []
            for attrs, delim, name, encoded in folders:
                exists, uidvalidity = await asyncio.to_thread(src.select, encoded)
                listing = await asyncio.to_thread(src.listing) if exists else []
                dest_name, special = target_folder(name, delim, attrs)
                folder = await self._folder(mailbox.id, dest_name, special)
                fr = FolderReport(name, folder.name, len(listing))
                report.folders.append(fr)
                plans.append((fr, encoded, folder, uidvalidity, listing))
            total = sum(len(p[4]) for p in plans)
            done = 0
            for fr, encoded, folder, uidvalidity, listing in plans:
                done = await self._copy_folder(
                    spec, src, fr, encoded, folder, uidvalidity, listing, done, total
                )
        except MigrationError as exc:
            report.error = str(exc)
        except (TimeoutError, imaplib.IMAP4.abort, OSError, EOFError) as exc:
            report.error = (
                f"connection to {self.host}:{self.port} lost ({type(exc).__name__}: {exc}) "
                f"after {report.copied} messages; run the same command again to resume"
            )
        except imaplib.IMAP4.error as exc:
            report.error = f"IMAP error from {self.host}: {exc}"
        finally:
            if src is not None:
                await asyncio.to_thread(src.close)
        report.seconds = time.monotonic() - started
        log.info(
            "migrated account",
            extra={"account": spec.target, "copied": report.copied, "skipped": report.skipped,
                   "error": report.error, "seconds": round(report.seconds, 1)},
        )
        return report

    async def _folder(self, mailbox_id: int, name: str, special: str | None) -> Folder:
        async with self.store.write() as tx:
            if special:
                f = await tx.mail.special_folder(mailbox_id, special)
                if f is not None:
                    return f
            f = await tx.mail.folder(mailbox_id, name)
            if f is not None:
                return f
            parts = name.split("/")
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i])
                if await tx.mail.folder(mailbox_id, parent) is None:
                    await tx.mail.create_folder(mailbox_id, parent)
            return await tx.mail.create_folder(mailbox_id, name, special)

    async def _copy_folder(
        self, spec: AccountSpec, src: _Source, fr: FolderReport, encoded: bytes,
        folder: Folder, uidvalidity: int, listing: list[Any], done: int, total: int,
    ) -> int:
        async with self.store.read() as tx:
            have = await OpsRepo(tx.session, self.store.dialect).migrated_uids(
                spec.target, fr.source, uidvalidity
            )
        todo = [item for item in listing if item[0] not in have]
        fr.skipped = len(listing) - len(todo)
        done += fr.skipped
        if self.progress:
            self.progress(spec.target, done, total)
        if not todo:
            return done
        await asyncio.to_thread(src.select, encoded)
        first = True
        for i in range(0, len(todo), self.batch):
            chunk = todo[i : i + self.batch]
            bodies = await asyncio.to_thread(src.bodies, [u for u, _f, _d, _s in chunk])
            records: list[tuple[int, int, int]] = []
            try:
                for uid, flags, date, _size in chunk:
                    raw = bodies.get(uid)
                    if raw is None:  # expunged on the source meanwhile
                        continue
                    if first:
                        existing = await self._existing_copy(folder, raw, date)
                        if existing is not None:
                            records.append((uid, folder.id, existing))
                            fr.skipped += 1
                            continue
                    keep = [f for f in flags if f.lower() != "\\recent"]
                    try:
                        appended = await self.mailstore.append(folder, raw, keep, date)
                    except MailStoreError as exc:
                        raise MigrationError(
                            f"{spec.target}/{folder.name}: cannot store message UID {uid}: {exc}"
                        ) from exc
                    records.append((uid, folder.id, appended.uid))
                    fr.copied += 1
            finally:
                if records:
                    async with self.store.write() as tx:
                        await OpsRepo(tx.session, self.store.dialect).record_migrated(
                            spec.target, fr.source, uidvalidity, records
                        )
            first = False
            done += len(chunk)
            if self.progress:
                self.progress(spec.target, done, total)
        return done

    async def _existing_copy(self, folder: Folder, raw: bytes, date: datetime) -> int | None:
        from govmail.mail.parsed import parse_message

        parsed = parse_message(raw)
        async with self.store.read() as tx:
            return await OpsRepo(tx.session, self.store.dialect).find_copy(
                folder.id, parsed.message_id, len(raw), date
            )
