"""Export one mailbox to mbox (one file per folder, mboxrd quoting) or to a Maildir++
tree (INBOX at the top, other folders as ".Name" directories), flags kept (Status /
X-Status headers in mbox; the ":2,FRST" suffix in Maildir) and internal dates kept (the
"From " line in mbox; the file times in Maildir)."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from govmail.imap.protocol import mutf7
from govmail.store.db import Store
from govmail.store.repos.ops import OpsRepo

Progress = Callable[[str, int], None]  # (folder, messages written so far)
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


class ExportError(Exception):
    pass


@dataclass(slots=True)
class ExportReport:
    folders: int = 0
    messages: int = 0
    bytes: int = 0


def mboxrd_escape(raw: bytes) -> bytes:
    """mboxrd: every line starting with zero or more '>' then 'From ' gets one more '>'."""
    return _FROM_LINE.sub(rb">\1", raw)


def mbox_entry(raw: bytes, sender: str, when: object, flags: tuple[bool, ...]) -> bytes:
    seen, answered, flagged, deleted, draft = flags
    date = when.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")  # type: ignore[attr-defined]
    body = raw.replace(b"\r\n", b"\n")
    status = ("R" if seen else "") + "O"
    xstatus = ("A" if answered else "") + ("F" if flagged else "") + ("D" if deleted else "") + (
        "T" if draft else ""
    )
    head, sep, rest = body.partition(b"\n\n")
    extra = f"Status: {status}\n" + (f"X-Status: {xstatus}\n" if xstatus else "")
    body = head + b"\n" + extra.encode() + sep[1:] + rest if sep else body + b"\n" + extra.encode()
    out = f"From {sender or 'MAILER-DAEMON'} {date}\n".encode() + mboxrd_escape(body)
    if not out.endswith(b"\n"):
        out += b"\n"
    return out + b"\n"


def maildir_flags(flags: tuple[bool, ...]) -> str:
    seen, answered, flagged, deleted, draft = flags
    letters = ("D" if draft else "") + ("F" if flagged else "") + ("R" if answered else "") + (
        "S" if seen else ""
    ) + ("T" if deleted else "")
    return ":2," + letters


def _safe_name(name: str) -> str:
    return name.replace("/", ".").replace(os.sep, "_")


class Exporter:
    def __init__(self, store: Store, progress: Progress | None = None) -> None:
        self.store = store
        self.progress = progress

    async def _folders(self, address: str) -> tuple[int, list[tuple[int, str]]]:
        async with self.store.read() as tx:
            repo = OpsRepo(tx.session, self.store.dialect)
            mb = await repo.mailbox_by_address(address)
            if mb is None:
                raise ExportError(f"no mailbox {address}")
            folders = [(f.id, f.name) for f in await repo.folders(mb.id)]
        return mb.id, folders

    async def _messages(self, folder_id: int):  # type: ignore[no-untyped-def]
        after = 0
        while True:
            async with self.store.read() as tx:
                rows = await OpsRepo(tx.session, self.store.dialect).export_rows(
                    folder_id, after, 500
                )
            if not rows:
                return
            for row in rows:
                uid, sha, date, seen, ans, flg, dele, drf, _kw = row
                raw = await self.store.blobs.get(sha)
                yield uid, raw, date, (seen, ans, flg, dele, drf)
            after = rows[-1][0]

    async def to_mbox(self, address: str, out_dir: Path, folder: str | None = None) -> (
        ExportReport
    ):
        """One ``<folder>.mbox`` file per folder under ``out_dir``."""
        _mid, folders = await self._folders(address)
        out_dir.mkdir(parents=True, exist_ok=True)
        report = ExportReport()
        for fid, name in folders:
            if folder is not None and name != folder:
                continue
            path = out_dir / f"{_safe_name(name)}.mbox"
            report.folders += 1
            with open(path, "wb") as fh:
                async for _uid, raw, date, flags in self._messages(fid):
                    from govmail.mail.parsed import parse_message

                    sender = parse_message(raw).from_addr or ""
                    data = mbox_entry(raw, sender, date, flags)
                    fh.write(data)
                    report.messages += 1
                    report.bytes += len(data)
                    if self.progress:
                        self.progress(name, report.messages)
                fh.flush()
                os.fsync(fh.fileno())
        return report

    async def to_maildir(self, address: str, out_dir: Path) -> ExportReport:
        """A Maildir++ tree: INBOX in ``out_dir``, folder "A/B" in ``out_dir/.A.B``."""
        _mid, folders = await self._folders(address)
        report = ExportReport()
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        for fid, name in folders:
            base = out_dir if name == "INBOX" else out_dir / ("." + mutf7.encode(
                name.replace(".", "_").replace("/", ".")))
            for sub in ("cur", "new", "tmp"):
                (base / sub).mkdir(parents=True, exist_ok=True)
            report.folders += 1
            async for uid, raw, date, flags in self._messages(fid):
                ts = int(date.timestamp())
                filename = f"{ts}.M{uid}P{os.getpid()}.{host},S={len(raw)}{maildir_flags(flags)}"
                tmp = base / "tmp" / filename
                final = base / "cur" / filename
                with open(tmp, "wb") as fh:
                    fh.write(raw)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.utime(tmp, (ts, ts))
                os.replace(tmp, final)
                report.messages += 1
                report.bytes += len(raw)
                if self.progress:
                    self.progress(name, report.messages)
        return report
