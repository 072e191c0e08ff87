"""Content-addressed blob files: one file per distinct message body.

A blob is named by the SHA-256 of its bytes and lives at ``root/ab/<sha256>`` (256
directories; a million messages is ~4,000 files per directory, which ext4 and XFS handle
well). Writes are atomic and durable: temp file, fsync, rename, fsync of the directory.
A batch's fsyncs run in parallel, so the file system commits them together (one journal
commit instead of one per file) without weakening the per-file guarantee.
Reads verify the hash (once per file and state, see :class:`VerifiedFiles`); small
files in the page cache can be read on the event loop (:meth:`BlobStore.get_if_cached`).
Reference counts live in the ``blob`` table (see repos);
this module only handles the files, and the bodies the delivery writer has made durable in
the database's blob journal but not yet written as files (``store/blob_journal.py``):
reads find those in memory, or in the journal through :attr:`BlobStore.journal_reader`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
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


_HEX = frozenset("0123456789abcdef")
# Reading from the page cache without waiting for the disk (Linux); None where unsupported.
_NOWAIT: list[int | None] = [getattr(os, "RWF_NOWAIT", None)]
# Larger blobs are read in a worker thread even when cached (copying and hashing them
# would hold up the event loop).
INLINE_MAX = 256 * 1024


def _read_all(fd: int, size: int) -> bytes:
    """The ``size`` bytes of an open file (fewer if it was cut short meanwhile)."""
    data = os.read(fd, size) if size else b""
    if len(data) < size:
        parts = [data]
        got = len(data)
        while got < size:
            chunk = os.read(fd, size - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        data = b"".join(parts)
    return data


_POOL: list[ThreadPoolExecutor] = []


def _fsync_pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(8, thread_name_prefix="fsync"))
    return _POOL[0]


def _fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# What identifies a file's state: device, inode, size, mtime and ctime (nanoseconds).
Stamp = tuple[int, int, int, int, int]
_NO_STAMP: Stamp = (0, 0, 0, 0, 0)


class VerifiedFiles:
    """Blob files whose SHA-256 this process has checked, with the :data:`Stamp` each
    had then: a bounded, in-process memory that lets a read from the page cache skip
    hashing a file again when it is still exactly the file that was checked.

    Why that is sound enough to keep the integrity promise:

    * any change to a file through the file system (a write, truncation, a file copied
      or renamed over it, a restored backup) changes its ctime, which nobody can set back,
      or its inode: the stamp no longer matches and the file is hashed again;
    * damage below the file system (the disk, its controller) reaches us only through a
      read from the disk; reads that may wait for the disk (:meth:`BlobStore.get_sync`)
      always hash, and only page-cache reads (:meth:`BlobStore.get_if_cached`) trust this
      memory. Pages another process brought back from the disk could still carry such
      damage, so an entry is trusted for :attr:`ttl` seconds at most;
    * a file changed within :attr:`settle` seconds is never trusted (ctime is coarse);
    * it is bounded: the oldest entries are dropped beyond :attr:`limit` (≈ 250 bytes
      each).
    """

    def __init__(self, limit: int = 20_000, ttl: float = 600.0, settle: float = 2.0) -> None:
        self.limit = limit
        self.ttl = ttl
        self.settle = settle
        self._seen: dict[str, tuple[Stamp, float]] = {}
        self._lock = threading.Lock()  # get_sync runs in worker threads

    def trusts(self, sha: str, stamp: Stamp) -> bool:
        seen = self._seen.get(sha)
        return seen is not None and seen[0] == stamp and time.monotonic() - seen[1] < self.ttl

    def remember(self, sha: str, stamp: Stamp) -> None:
        if stamp == _NO_STAMP or time.time_ns() - stamp[4] < self.settle * 1e9:
            return
        with self._lock:
            self._seen.pop(sha, None)
            self._seen[sha] = (stamp, time.monotonic())
            while len(self._seen) > self.limit:
                del self._seen[next(iter(self._seen))]

    def forget(self, sha: str) -> None:
        with self._lock:
            self._seen.pop(sha, None)

    def __len__(self) -> int:
        return len(self._seen)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self._root = str(self.root)
        self.verified = VerifiedFiles()
        # Journaled bodies of this process not yet in files, by hash (see the module doc).
        self._journaled: dict[str, bytes] = {}
        # Looks a body up in the database's blob journal (bodies journaled by another
        # process, or before a restart); set by the Store.
        self.journal_reader: Callable[[str], bytes | None] | None = None

    # -- journaled bodies ----------------------------------------------------------------
    def hold(self, items: dict[str, bytes]) -> None:
        """Serve these bodies from memory until :meth:`release`: their journal rows are
        committed, their files not yet written."""
        self._journaled.update(items)

    def release(self, shas: Iterable[str]) -> None:
        """Their files are durable now."""
        for sha in shas:
            self._journaled.pop(sha, None)

    def held(self, sha: str) -> bool:
        return sha in self._journaled

    def ensure(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha: str) -> Path:
        return Path(self._file(sha))

    def _file(self, sha: str) -> str:
        if len(sha) != 64 or not _HEX.issuperset(sha):
            raise ValueError(f"not a sha256 hex digest: {sha!r}")
        return f"{self._root}/{sha[:2]}/{sha}"

    # -- writing -------------------------------------------------------------------------
    def put_sync(self, data: bytes) -> BlobRef:
        return self.put_many_sync([data])[0]

    def put_many_sync(self, items: Iterable[bytes]) -> list[BlobRef]:
        """Write several blobs durably; returns only after all are on disk.

        Files already present (same hash) are not rewritten. Paths are plain strings:
        on the delivery path ``pathlib`` costs more than the system calls it wraps.
        """
        refs: list[BlobRef] = []
        pending: list[tuple[str, str, bytes]] = []  # temporary file, final file, data
        seen: set[str] = set()
        pid = os.getpid()
        for data in items:
            sha = sha256_hex(data)
            refs.append(BlobRef(sha, len(data)))
            if sha in seen:
                continue
            seen.add(sha)
            final = self._file(sha)
            if not os.path.exists(final):
                pending.append((f"{self._root}/tmp/{sha}.{pid}.tmp", final, data))
        if not pending:
            return refs
        try:
            if len(pending) == 1:
                self._write_file(pending[0][0], pending[0][2])
            else:
                list(_fsync_pool().map(lambda p: self._write_file(p[0], p[2]), pending))
            dirs: set[str] = set()
            for tmp, final, _data in pending:
                shard = final[: final.rindex("/")]
                try:
                    os.replace(tmp, final)
                except FileNotFoundError:
                    if not os.path.exists(tmp):
                        raise
                    os.makedirs(shard, exist_ok=True)  # the first blob of this shard
                    dirs.add(self._root)
                    os.replace(tmp, final)
                dirs.add(shard)
            if len(dirs) == 1:
                _fsync_dir(dirs.pop())
            else:
                list(_fsync_pool().map(_fsync_dir, dirs))
        except OSError as exc:
            for tmp, _final, _data in pending:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise BlobStoreFull("no space left for message storage") from exc
            raise
        return refs

    @staticmethod
    def _write_file(path: str | Path, data: bytes) -> None:
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
        """The blob, read from wherever it is (the disk if need be), its hash checked."""
        data, stamp = self._read(sha, wait=True)
        assert data is not None
        if verify:
            self._verify(sha, data, stamp)
        return data

    async def get(self, sha: str, *, verify: bool = True) -> bytes:
        return await asyncio.to_thread(self.get_sync, sha, verify=verify)

    def get_if_cached(self, sha: str, max_size: int = INLINE_MAX) -> bytes | None:
        """The blob if it is at most ``max_size`` bytes and all of it is in the page cache;
        None if reading it would wait for the disk (then read it with :meth:`get` or, in
        a worker thread, :meth:`get_sync`). Cheap enough to call on the event loop: the
        data is read with ``RWF_NOWAIT``, which fails instead of waiting.

        Its hash is checked, except when this process has checked it already and the file
        is as it was then (see :class:`VerifiedFiles`).
        """
        data, stamp = self._read(sha, wait=False, max_size=max_size)
        if data is not None and not self.verified.trusts(sha, stamp):
            self._verify(sha, data, stamp)
        return data

    def _read(
        self, sha: str, *, wait: bool, max_size: int = 0, again: bool = True
    ) -> tuple[bytes | None, Stamp]:
        """The whole file and its :data:`Stamp`; without ``wait``, no data unless it is at
        most ``max_size`` bytes and all in the page cache. A body not yet in its file
        comes from the journal (with no stamp)."""
        nowait = _NOWAIT[0]
        if not wait and nowait is None:
            return None, _NO_STAMP
        try:
            fd = os.open(self._file(sha), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            data = self._journaled.get(sha)
            if data is None and self.journal_reader is not None:
                if not wait:  # the journal is a database query: not on the event loop
                    return None, _NO_STAMP
                data = self.journal_reader(sha)
            if data is None:
                # Its file may have been written meanwhile: a journal row goes only after.
                if again and self.has_file(sha):
                    return self._read(sha, wait=wait, max_size=max_size, again=False)
                raise BlobNotFound(sha) from None
            if not wait and len(data) > max_size:
                return None, _NO_STAMP
            return data, _NO_STAMP
        try:
            st = os.fstat(fd)
            stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            size = st.st_size
            if wait:
                return _read_all(fd, size), stamp
            if size > max_size or nowait is None:
                return None, stamp
            buf = bytearray(size)
            try:
                n = os.preadv(fd, [buf], 0, nowait) if size else 0
            except BlockingIOError:
                return None, stamp
            except OSError as exc:
                if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):  # not on this file system
                    _NOWAIT[0] = None
                    return None, stamp
                raise
            # Partly cached: not a whole read.
            return (bytes(buf) if n == size else None), stamp
        finally:
            os.close(fd)

    def _verify(self, sha: str, data: bytes, stamp: Stamp) -> None:
        if sha256_hex(data) != sha:
            self.verified.forget(sha)
            raise BlobCorrupt(f"blob {sha} is damaged on disk ({self._file(sha)})")
        self.verified.remember(sha, stamp)

    def exists(self, sha: str) -> bool:
        return sha in self._journaled or self.has_file(sha)

    def has_file(self, sha: str) -> bool:
        return os.path.exists(self._file(sha))

    # -- removal -------------------------------------------------------------------------
    def delete_sync(self, sha: str) -> None:
        path = self.path_for(sha)
        self.verified.forget(sha)
        self._journaled.pop(sha, None)
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
