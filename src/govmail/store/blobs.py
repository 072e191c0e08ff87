"""Content-addressed blob files: one file per distinct message body.

A blob is named by the SHA-256 of its bytes and lives at ``root/ab/<sha256>`` (256
directories; a million messages is ~4,000 files per directory, which ext4 and XFS handle
well). Writes are atomic and durable: temp file, fsync, rename, fsync of the directory.
A batch's fsyncs run in parallel, so the file system commits them together (one journal
commit instead of one per file) without weakening the per-file guarantee.
Reads verify the hash. Reference counts live in the ``blob`` table (see repos);
this module only handles the files.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path


class BlobError(Exception):
    """Base of blob-store errors."""


class BlobNotFound(BlobError):
    pass


class BlobCorrupt(BlobError):
    """The stored file does not hash to its name: it was damaged on disk."""


class BlobStoreFull(BlobError):
    """The disk is full (ENOSPC/EDQUOT): nothing was written."""


@dataclass(frozen=True, slots=True)
class BlobRef:
    sha256: str
    size: int


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_POOL: list[ThreadPoolExecutor] = []


def _fsync_pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(8, thread_name_prefix="fsync"))
    return _POOL[0]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"

    def ensure(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha: str) -> Path:
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError(f"not a sha256 hex digest: {sha!r}")
        return self.root / sha[:2] / sha

    # -- writing -------------------------------------------------------------------------
    def put_sync(self, data: bytes) -> BlobRef:
        return self.put_many_sync([data])[0]

    def put_many_sync(self, items: Iterable[bytes]) -> list[BlobRef]:
        """Write several blobs durably; returns only after all are on disk.

        Files already present (same hash) are not rewritten.
        """
        refs: list[BlobRef] = []
        pending: list[tuple[Path, Path, bytes]] = []
        seen: set[str] = set()
        for data in items:
            sha = sha256_hex(data)
            refs.append(BlobRef(sha, len(data)))
            if sha in seen:
                continue
            seen.add(sha)
            final = self.path_for(sha)
            if not final.exists():
                pending.append((self.tmp / f"{sha}.{os.getpid()}.tmp", final, data))
        if not pending:
            return refs
        try:
            if len(pending) == 1:
                self._write_file(pending[0][0], pending[0][2])
            else:
                list(_fsync_pool().map(lambda p: self._write_file(p[0], p[2]), pending))
            dirs: set[Path] = set()
            for tmp, final, _data in pending:
                if not final.parent.exists():
                    final.parent.mkdir(exist_ok=True)
                    dirs.add(self.root)
                os.replace(tmp, final)
                dirs.add(final.parent)
            if len(dirs) == 1:
                _fsync_dir(dirs.pop())
            else:
                list(_fsync_pool().map(_fsync_dir, dirs))
        except OSError as exc:
            for tmp, _final, _data in pending:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    pass
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise BlobStoreFull("no space left for message storage") from exc
            raise
        return refs

    @staticmethod
    def _write_file(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)

    async def put(self, data: bytes) -> BlobRef:
        return await asyncio.to_thread(self.put_sync, data)

    async def put_many(self, items: list[bytes]) -> list[BlobRef]:
        return await asyncio.to_thread(self.put_many_sync, items)

    # -- reading -------------------------------------------------------------------------
    def get_sync(self, sha: str, *, verify: bool = True) -> bytes:
        path = self.path_for(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(sha) from None
        if verify and sha256_hex(data) != sha:
            raise BlobCorrupt(f"blob {sha} is damaged on disk ({path})")
        return data

    async def get(self, sha: str, *, verify: bool = True) -> bytes:
        return await asyncio.to_thread(self.get_sync, sha, verify=verify)

    def exists(self, sha: str) -> bool:
        return self.path_for(sha).exists()

    # -- removal -------------------------------------------------------------------------
    def delete_sync(self, sha: str) -> None:
        path = self.path_for(sha)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    async def delete(self, sha: str) -> None:
        await asyncio.to_thread(self.delete_sync, sha)

    def iter_shas(self) -> Iterable[str]:
        """Every blob file on disk (for garbage collection and backups)."""
        if not self.root.exists():
            return
        for a in sorted(self.root.iterdir()):
            if len(a.name) != 2 or not a.is_dir():
                continue
            for f in sorted(a.iterdir()):
                if len(f.name) == 64:
                    yield f.name

    def clean_tmp(self) -> int:
        """Remove temp files left by a crash mid-write; returns how many."""
        n = 0
        if self.tmp.exists():
            for f in self.tmp.iterdir():
                f.unlink(missing_ok=True)
                n += 1
        return n
