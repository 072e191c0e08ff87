"""Backups: ``govmail backup``, ``govmail restore``, ``govmail backup verify`` and the
daily schedule (the "backup" service).

A backup is taken online, while the server runs. The database is copied consistently —
SQLite with its online backup API, PostgreSQL with ``pg_dump --snapshot`` of a
REPEATABLE READ transaction that also lists the blobs and computes the figures below —
and then the message bodies it references. Bodies are files named by their SHA-256
and never change, so they go into one pool shared by every snapshot: after the first
(full) backup, a backup copies only bodies that are not in the pool yet (incremental).

Layout of a target (a directory or ``s3://bucket/prefix``)::

    blobs/ab/<sha256>                 message bodies (content-addressed, shared)
    snapshots/<name>/database.*       the database (SQLite file gzip'd, or pg_dump -Fc)
    snapshots/<name>/blobs.txt.gz     "<sha256> <size>" of every body the snapshot needs
    snapshots/<name>/manifest.json    checksums, counts, a digest of every message row;
                                      written last: a snapshot without it is incomplete

``restore`` checks every checksum before it trusts a file and refuses a damaged or
truncated backup, naming the file; it writes only into an empty installation.
``verify`` restores into a scratch directory (or scratch database) and compares the
restored counts and digest with the manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gzip
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from govmail.config import Settings
from govmail.ops.backup_target import BackupTarget, TargetError, file_sha256, open_target
from govmail.services import cancel_and_wait
from govmail.store.blobs import sha256_hex
from govmail.store.db import Store
from govmail.store.repos.ops import (
    OpsRepo,
    blob_list,
    pg_export_snapshot,
    sqlite_snapshot,
    user_table_count,
)

log = logging.getLogger("govmail.backup")
FORMAT = "govmail-backup/1"
COUNTED_TABLES = ("domain", "agency", "mailbox", "folder", "message", "blob", "outbound")
Progress = Callable[[str, int, int], None]  # (phase, done, total)


class BackupError(Exception):
    """A backup could not be made."""


class RestoreError(Exception):
    """A backup cannot be restored (damaged, truncated, or the installation is not empty)."""


@dataclass(slots=True)
class BackupResult:
    snapshot: str
    kind: str
    messages: int
    blobs_total: int
    blobs_copied: int
    bytes_copied: int
    seconds: float


@dataclass(slots=True)
class VerifyResult:
    snapshot: str
    messages: int
    blobs_checked: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def blob_key(sha: str) -> str:
    return f"blobs/{sha[:2]}/{sha}"


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _manifest_checksum(m: dict[str, Any]) -> str:
    body = {k: v for k, v in m.items() if k != "checksum"}
    return sha256_hex(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


async def message_digest(store: Store) -> tuple[str, int]:
    """SHA-256 over every message row (folder, UID, body, flags, date) in id order."""
    h = hashlib.sha256()
    n = 0
    after = 0
    while True:
        async with store.read() as tx:
            rows = await OpsRepo(tx.session, store.dialect).message_digest_rows(after, 5000)
        if not rows:
            break
        for r in rows:
            h.update(_digest_line(r))
        n += len(rows)
        after = rows[-1][0]
    return h.hexdigest(), n


def _digest_line(r: tuple[Any, ...]) -> bytes:
    _id, folder, uid, sha, seen, ans, flg, dele, drf, kw, date = r
    flags = "".join("1" if x else "0" for x in (seen, ans, flg, dele, drf))
    when = date.astimezone(UTC).strftime("%Y%m%dT%H%M%S") if date else ""
    return f"{folder}|{uid}|{sha}|{flags}|{kw}|{when}\n".encode()


async def _figures(session: Any, dialect: str) -> tuple[dict[str, int], str, list[tuple[str, int]]]:
    repo = OpsRepo(session, dialect)
    counts = await repo.table_counts(COUNTED_TABLES)
    h = hashlib.sha256()
    after = 0
    while True:
        rows = await repo.message_digest_rows(after, 5000)
        if not rows:
            break
        for r in rows:
            h.update(_digest_line(r))
        after = rows[-1][0]
    blobs: list[tuple[str, int]] = []
    after = 0
    while True:
        chunk = await blob_list(session, after, 10000)
        if not chunk:
            break
        blobs.extend((sha, size) for _i, sha, size in chunk)
        after = chunk[-1][0]
    return counts, h.hexdigest(), blobs


class Backups:
    """Backup, restore and verification for one installation."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store

    def target(self, override: str | None = None) -> BackupTarget:
        return open_target(self.settings.backup, self.settings.data_dir, override)

    # -- backup --------------------------------------------------------------------------
    async def backup(
        self, *, target: str | None = None, progress: Progress | None = None
    ) -> BackupResult:
        store = self.store
        assert store is not None, "backup needs the open store"
        tgt = self.target(target)
        with self._only_backup():
            await self._close_interrupted(store)
            return await self._backup_run(store, tgt, progress)

    async def close_interrupted(self) -> int:
        """Record as failed the runs left "running" by a process that ended without
        finishing them (a crash, a kill); none while another backup is running."""
        assert self.store is not None
        try:
            with self._only_backup():
                return await self._close_interrupted(self.store)
        except BackupError:
            return 0

    @contextlib.contextmanager
    def _only_backup(self) -> Iterator[None]:
        """One backup of an installation at a time, whichever process runs it (server,
        CLI): an exclusive lock on a file of the data directory, released by the kernel
        when the process ends, however it ends."""
        path = self.settings.data_dir / "backup.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BackupError("another backup of this installation is running") from None
            yield
        finally:
            os.close(fd)

    @staticmethod
    async def _close_interrupted(store: Store) -> int:
        async with store.write() as tx:
            return await OpsRepo(tx.session, store.dialect).fail_running_backups(
                "interrupted: the process running it ended", datetime.now(UTC)
            )

    async def _backup_run(
        self, store: Store, tgt: BackupTarget, progress: Progress | None
    ) -> BackupResult:
        async with store.write() as tx:
            run = await OpsRepo(tx.session, store.dialect).start_backup_run("backup", tgt.label)
            run_id = run.id
        started = datetime.now(UTC)
        try:
            result = await self._backup(store, tgt, progress)
        except asyncio.CancelledError:
            # The server is stopping: the run ends as failed, not "running" for ever.
            await self._finish(run_id, "failed", error="interrupted")
            raise
        except Exception as exc:
            await self._finish(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
            log.error("backup failed", extra={"target": tgt.label, "error": str(exc)})
            if isinstance(exc, BackupError | TargetError):
                raise BackupError(str(exc)) from exc
            raise
        result.seconds = (datetime.now(UTC) - started).total_seconds()
        await self._finish(run_id, "ok", result=result)
        log.info(
            "backup done",
            extra={"target": tgt.label, "snapshot": result.snapshot, "kind": result.kind,
                   "messages": result.messages, "blobs_copied": result.blobs_copied,
                   "bytes_copied": result.bytes_copied, "seconds": round(result.seconds, 2)},
        )
        await asyncio.to_thread(self._prune, tgt)
        return result

    async def _finish(
        self, run_id: int, status: str, *, result: BackupResult | None = None,
        error: str | None = None,
    ) -> None:
        assert self.store is not None
        async with self.store.write() as tx:
            run = await OpsRepo(tx.session, self.store.dialect).backup_run(run_id)
            if run is None:
                return
            run.status = status
            run.finished_at = datetime.now(UTC)
            run.error = error
            if result is not None:
                run.kind = result.kind
                run.snapshot = result.snapshot
                run.messages = result.messages
                run.blobs_total = result.blobs_total
                run.blobs_copied = result.blobs_copied
                run.bytes_copied = result.bytes_copied

    async def _backup(
        self, store: Store, tgt: BackupTarget, progress: Progress | None
    ) -> BackupResult:
        name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        prefix = f"snapshots/{name}"
        existing = await asyncio.to_thread(self.snapshots, tgt)
        with tempfile.TemporaryDirectory(prefix="govmail-backup-") as tmpdir:
            tmp = Path(tmpdir)
            if store.is_sqlite:
                db_file, counts, digest, blobs = await self._sqlite_dump(store, tmp)
            else:
                db_file, counts, digest, blobs = await self._pg_dump(store, tmp)
            copied, copied_bytes = await asyncio.to_thread(
                self._copy_blobs, store, tgt, blobs, progress
            )
            db_sha, db_size = await asyncio.to_thread(file_sha256, db_file)
            await asyncio.to_thread(tgt.put_file, f"{prefix}/{db_file.name}", db_file)
            listing = gzip.compress(
                "".join(f"{sha} {size}\n" for sha, size in blobs).encode(), mtime=0
            )
            await asyncio.to_thread(tgt.put, f"{prefix}/blobs.txt.gz", listing)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "name": name,
            "created_at": datetime.now(UTC).isoformat(),
            "dialect": store.dialect,
            "kind": "incremental" if existing else "full",
            "base": existing[-1] if existing else None,
            "database": {"file": db_file.name, "sha256": db_sha, "size": db_size},
            "blobs": {"file": "blobs.txt.gz", "sha256": sha256_hex(listing),
                      "count": len(blobs), "bytes": sum(s for _h, s in blobs)},
            "counts": counts,
            "messages_digest": digest,
        }
        manifest["checksum"] = _manifest_checksum(manifest)
        await asyncio.to_thread(
            tgt.put, f"{prefix}/manifest.json",
            json.dumps(manifest, indent=1, sort_keys=True).encode(),
        )
        return BackupResult(
            name, manifest["kind"], counts.get("message", 0), len(blobs), copied,
            copied_bytes + db_size + len(listing), 0.0,
        )

    async def _sqlite_dump(
        self, store: Store, tmp: Path
    ) -> tuple[Path, dict[str, int], str, list[tuple[str, int]]]:
        raw = tmp / "database.sqlite"
        src = _sqlite_path(store.url)
        # The snapshot sees every committed transaction (WAL included) at one instant.
        await asyncio.to_thread(sqlite_snapshot, str(src), str(raw))
        snap = Store(f"sqlite+aiosqlite:///{raw}", tmp / "unused-blobs")
        try:
            async with snap.read() as tx:
                counts, digest, blobs = await _figures(tx.session, "sqlite")
        finally:
            await snap.close()
        for extra in (raw.with_name(raw.name + "-wal"), raw.with_name(raw.name + "-shm")):
            extra.unlink(missing_ok=True)
        out = tmp / "database.sqlite.gz"
        await asyncio.to_thread(_gzip_file, raw, out)
        return out, counts, digest, blobs

    async def _pg_dump(
        self, store: Store, tmp: Path
    ) -> tuple[Path, dict[str, int], str, list[tuple[str, int]]]:
        out = tmp / "database.pgdump"
        async with store.read() as tx:
            snapshot_id = await pg_export_snapshot(tx.session)
            counts, digest, blobs = await _figures(tx.session, "postgresql")
            proc = await asyncio.create_subprocess_exec(
                "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                f"--snapshot={snapshot_id}", f"--file={out}", _libpq_url(store.url),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            _o, err = await proc.communicate()
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {err.decode(errors='replace').strip()}")
        return out, counts, digest, blobs

    @staticmethod
    def _copy_blobs(
        store: Store, tgt: BackupTarget, blobs: list[tuple[str, int]], progress: Progress | None
    ) -> tuple[int, int]:
        have = {k.rsplit("/", 1)[-1] for k in tgt.list("blobs/")}
        copied = copied_bytes = 0
        total = len(blobs)
        for i, (sha, _size) in enumerate(blobs, 1):
            if sha not in have:
                try:
                    data = store.blobs.get_sync(sha)
                except Exception as exc:
                    raise BackupError(f"message body {sha} cannot be read: {exc}") from exc
                tgt.put(blob_key(sha), data)
                copied += 1
                copied_bytes += len(data)
                have.add(sha)
            if progress is not None and (i % 200 == 0 or i == total):
                progress("blobs", i, total)
        return copied, copied_bytes

    def _prune(self, tgt: BackupTarget) -> None:
        """Keep the newest ``backup.keep`` snapshots; bodies no snapshot needs are removed."""
        names = self.snapshots(tgt)
        keep = self.settings.backup.keep
        if len(names) <= keep:
            return
        for old in names[:-keep]:
            for key in tgt.list(f"snapshots/{old}/"):
                if key.endswith("manifest.json"):
                    continue
                tgt.delete(key)
            tgt.delete(f"snapshots/{old}/manifest.json")
        needed: set[str] = set()
        for name in names[-keep:]:
            needed |= {sha for sha, _s in self._blob_listing(tgt, name, self._manifest(tgt, name))}
        for key in tgt.list("blobs/"):
            if key.rsplit("/", 1)[-1] not in needed:
                tgt.delete(key)

    # -- reading a backup ----------------------------------------------------------------
    @staticmethod
    def snapshots(tgt: BackupTarget) -> list[str]:
        """Complete snapshots (those with a manifest), oldest first."""
        return sorted(
            {k.split("/")[1] for k in tgt.list("snapshots/") if k.endswith("/manifest.json")}
        )

    @staticmethod
    def _manifest(tgt: BackupTarget, name: str) -> dict[str, Any]:
        key = f"snapshots/{name}/manifest.json"
        try:
            m = json.loads(tgt.get(key))
        except TargetError as exc:
            raise RestoreError(str(exc)) from exc
        except ValueError as exc:
            raise RestoreError(f"{key} is damaged (not JSON)") from exc
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise RestoreError(f"{key} is not a govmail backup manifest")
        if m.get("checksum") != _manifest_checksum(m):
            raise RestoreError(f"{key} is damaged (checksum mismatch)")
        return m

    @staticmethod
    def _checked(tgt: BackupTarget, key: str, sha: str, size: int | None = None) -> bytes:
        try:
            data = tgt.get(key)
        except TargetError as exc:
            raise RestoreError(str(exc)) from exc
        _check(key, sha256_hex(data), len(data), sha, size)
        return data

    @staticmethod
    def _checked_file(tgt: BackupTarget, key: str, sha: str, size: int, dest: Path) -> None:
        """``_checked`` for the database dump, streamed through a file."""
        try:
            tgt.get_file(key, dest)
        except TargetError as exc:
            raise RestoreError(str(exc)) from exc
        got_sha, got_size = file_sha256(dest)
        _check(key, got_sha, got_size, sha, size)

    def _blob_listing(
        self, tgt: BackupTarget, name: str, m: dict[str, Any]
    ) -> list[tuple[str, int]]:
        key = f"snapshots/{name}/{m['blobs']['file']}"
        data = self._checked(tgt, key, m["blobs"]["sha256"])
        try:
            text = gzip.decompress(data).decode()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise RestoreError(f"{key} is damaged ({exc})") from exc
        out = []
        for line in text.splitlines():
            sha, size = line.split()
            out.append((sha, int(size)))
        return out

    def resolve(self, tgt: BackupTarget, snapshot: str | None) -> str:
        names = self.snapshots(tgt)
        if not names:
            raise RestoreError(f"no complete backup in {tgt.label}")
        if snapshot is None or snapshot == "latest":
            return names[-1]
        if snapshot not in names:
            raise RestoreError(f"no snapshot {snapshot} in {tgt.label}")
        return snapshot

    # -- restore -------------------------------------------------------------------------
    async def restore(
        self, *, target: str | None = None, snapshot: str | None = None,
        progress: Progress | None = None,
    ) -> tuple[str, int]:
        """Restore into this (empty) installation; returns (snapshot, messages)."""
        tgt = self.target(target)
        name = await asyncio.to_thread(self.resolve, tgt, snapshot)
        m = await asyncio.to_thread(self._manifest, tgt, name)
        settings = self.settings
        url = settings.database_url
        dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        if dialect != m["dialect"]:
            raise RestoreError(
                f"snapshot {name} is a {m['dialect']} backup; this installation uses {dialect}"
            )
        await self._require_empty(url)
        blobs = await asyncio.to_thread(self._blob_listing, tgt, name, m)
        db_key = f"snapshots/{name}/{m['database']['file']}"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # The dump goes through a file beside the data, never whole into memory.
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=settings.data_dir) as tmpdir:
            db_file = Path(tmpdir) / m["database"]["file"]
            await asyncio.to_thread(
                self._checked_file, tgt, db_key, m["database"]["sha256"],
                m["database"]["size"], db_file,
            )
            blob_root = settings.blob_dir
            store_for_blobs = Store(url, blob_root)
            store_for_blobs.blobs.ensure()
            written: list[str] = []
            try:
                await asyncio.to_thread(
                    self._restore_blobs, tgt, blobs, store_for_blobs, written, progress
                )
                if dialect == "sqlite":
                    await asyncio.to_thread(
                        self._restore_sqlite, db_key, db_file, _sqlite_path(url)
                    )
                else:
                    await self._restore_pg(db_file, url)
            except BaseException:
                for sha in written:
                    store_for_blobs.blobs.delete_sync(sha)
                raise
            finally:
                await store_for_blobs.close()
        store = Store(url, blob_root)
        try:
            await store.open()  # brings an older backup up to the current schema
        finally:
            await store.close()
        log.info("restore done", extra={"snapshot": name, "messages": m["counts"]["message"]})
        return name, int(m["counts"].get("message", 0))

    async def _require_empty(self, url: str) -> None:
        blob_dir = self.settings.blob_dir
        if blob_dir.exists() and any(
            p.name != "tmp" for p in blob_dir.iterdir()
        ):
            raise RestoreError(f"the installation is not empty: {blob_dir} holds messages")
        if url.startswith("sqlite"):
            path = _sqlite_path(url)
            if path.exists() and path.stat().st_size > 0:
                probe = Store(url, blob_dir)
                try:
                    async with probe.read() as tx:
                        n = await user_table_count(tx.session, "sqlite")
                finally:
                    await probe.close()
                if n:
                    raise RestoreError(f"the installation is not empty: {path} exists")
            return
        probe = Store(url, blob_dir)
        try:
            async with probe.read() as tx:
                n = await user_table_count(tx.session, "postgresql")
        finally:
            await probe.close()
        if n:
            raise RestoreError("the installation is not empty: the database has tables")

    def _restore_blobs(
        self, tgt: BackupTarget, blobs: list[tuple[str, int]], store: Store,
        written: list[str], progress: Progress | None,
    ) -> None:
        total = len(blobs)
        batch: list[bytes] = []
        for i, (sha, size) in enumerate(blobs, 1):
            data = self._checked(tgt, blob_key(sha), sha, size)
            batch.append(data)
            if len(batch) >= 200 or i == total:
                refs = store.blobs.put_many_sync(batch)
                written.extend(r.sha256 for r in refs)
                batch = []
            if progress is not None and (i % 200 == 0 or i == total):
                progress("blobs", i, total)

    @staticmethod
    def _restore_sqlite(key: str, src: Path, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".restoring")
        try:
            with gzip.open(src, "rb") as fin, open(tmp, "wb") as fh:
                shutil.copyfileobj(fin, fh, 1024 * 1024)
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, EOFError) as exc:
            tmp.unlink(missing_ok=True)
            raise RestoreError(f"{key} is damaged ({exc})") from exc
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            extra.unlink(missing_ok=True)
        os.replace(tmp, path)

    @staticmethod
    async def _restore_pg(src: Path, url: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
            f"--dbname={_libpq_url(url)}", str(src),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        _o, err = await proc.communicate()
        if proc.returncode != 0:
            raise RestoreError(f"pg_restore failed: {err.decode(errors='replace').strip()}")

    # -- verify --------------------------------------------------------------------------
    async def verify(
        self, *, target: str | None = None, snapshot: str | None = None,
        progress: Progress | None = None,
    ) -> VerifyResult:
        """Restore into a scratch place and compare with the manifest."""
        tgt = self.target(target)
        name = await asyncio.to_thread(self.resolve, tgt, snapshot)
        m = await asyncio.to_thread(self._manifest, tgt, name)
        result = VerifyResult(name, int(m["counts"].get("message", 0)), 0)
        with tempfile.TemporaryDirectory(prefix="govmail-verify-") as scratch:
            s = Path(scratch)
            scratch_settings = self.settings.model_copy(deep=True)
            scratch_settings.general.data_dir = s / "data"
            scratch_settings.blobs.path = None
            pg_db: str | None = None
            if m["dialect"] == "postgresql":
                pg_db = await _create_scratch_pg(self.settings.database_url)
                scratch_settings.database.url = pg_db
            else:
                scratch_settings.database.url = ""
            try:
                await Backups(scratch_settings).restore(
                    target=tgt.label, snapshot=name, progress=progress
                )
                result.blobs_checked = int(m["blobs"]["count"])
                store = Store(scratch_settings.database_url, scratch_settings.blob_dir)
                try:
                    async with store.read() as tx:
                        counts, digest, blobs = await _figures(tx.session, store.dialect)
                    for table, n in m["counts"].items():
                        if counts.get(table) != n:
                            result.problems.append(
                                f"{table}: {counts.get(table)} rows restored, {n} backed up"
                            )
                    if digest != m["messages_digest"]:
                        result.problems.append("the restored messages differ from the backup")
                    missing = [sha for sha, _s in blobs if not store.blobs.exists(sha)]
                    if missing:
                        result.problems.append(f"{len(missing)} message bodies missing")
                finally:
                    await store.close()
            except RestoreError as exc:
                result.problems.append(str(exc))
            finally:
                if pg_db is not None:
                    await _drop_scratch_pg(self.settings.database_url, pg_db)
        if self.store is not None:
            async with self.store.write() as tx:
                run = await OpsRepo(tx.session, self.store.dialect).start_backup_run(
                    "verify", tgt.label
                )
                run.snapshot = name
                run.status = "ok" if result.ok else "failed"
                run.finished_at = datetime.now(UTC)
                run.messages = result.messages
                run.blobs_total = result.blobs_checked
                run.error = "; ".join(result.problems) or None
        return result


def _check(key: str, got_sha: str, got_size: int, sha: str, size: int | None) -> None:
    if size is not None and got_size != size:
        raise RestoreError(f"{key} is truncated or damaged ({got_size} bytes, {size} expected)")
    if got_sha != sha:
        raise RestoreError(f"{key} is damaged (checksum mismatch)")


def _gzip_file(src: Path, dst: Path) -> None:
    with (
        open(src, "rb") as fin,
        open(dst, "wb") as raw_out,
        gzip.GzipFile(fileobj=raw_out, mode="wb", compresslevel=3, mtime=0) as fout,
    ):
        shutil.copyfileobj(fin, fout, 1024 * 1024)


async def _create_scratch_pg(url: str) -> str:
    import secrets

    import asyncpg

    base, _db = _libpq_url(url).rsplit("/", 1)
    name = f"govmail_verify_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        raise RestoreError(f"cannot create a scratch database to verify into: {exc}") from exc
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


async def _drop_scratch_pg(url: str, scratch_url: str) -> None:
    import asyncpg

    base = _libpq_url(url).rsplit("/", 1)[0]
    name = scratch_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# -- the daily schedule ------------------------------------------------------------------
def next_run(daily_at: str, tz: str, now: datetime) -> datetime:
    hh, mm = (int(x) for x in daily_at.split(":"))
    local = now.astimezone(ZoneInfo(tz))
    run = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if run <= local:
        run += timedelta(days=1)
    return run.astimezone(UTC)


class BackupService:
    """The "backup" service: a backup every day at ``backup.daily_at`` (local time), and
    the archive journal's retention right after it; ``run_now`` starts one at once (the
    console's button). One backup at a time."""

    name = "backup"

    def __init__(
        self, settings: Settings, store: Store,
        after: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.backups = Backups(settings, store)
        self.store = store
        self.after = after
        self._task: asyncio.Task[None] | None = None
        self._now: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.last: BackupResult | None = None
        self.last_error: str | None = None

    async def start(self) -> None:
        await self.backups.close_interrupted()
        if self.settings.backup.daily_at:
            self._task = asyncio.create_task(self._run(), name="backup-schedule")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)  # type: ignore[arg-type]
        await cancel_and_wait(self._now)  # type: ignore[arg-type]
        self._task = self._now = None

    def healthy(self) -> bool:
        return self._task is None or not self._task.done()

    @property
    def busy(self) -> bool:
        return self._lock.locked() or (self._now is not None and not self._now.done())

    async def run_now(self, actor: str, source: str, remote_addr: str | None = None) -> bool:
        """Start a backup in the background, audited as ``actor``; False (and nothing
        recorded) while a backup is already running."""
        if self.busy:
            return False
        self._now = asyncio.create_task(self._once(), name="backup-now")
        async with self.store.write() as tx:
            await tx.audit.record(
                actor=actor, source=source, remote_addr=remote_addr, action="backup.run",
                object_type="backup", object_id=self.backups.target().label[:320],
            )
        return True

    async def _once(self) -> None:
        async with self._lock:
            try:
                self.last = await self.backups.backup()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = str(exc)
                log.exception("backup failed")
            if self.after is not None:
                try:
                    await self.after()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("after-backup maintenance failed")

    async def _run(self) -> None:
        s = self.settings
        while True:
            now = datetime.now(UTC)
            when = next_run(s.backup.daily_at, s.general.timezone, now)
            await asyncio.sleep(max(1.0, (when - now).total_seconds()))
            await self._once()
