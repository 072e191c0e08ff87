"""Blob store: atomic, durable, content-addressed, verified on read."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from govmail.store.blobs import BlobCorrupt, BlobNotFound, BlobStore, BlobStoreFull, sha256_hex


def test_put_get_roundtrip_and_dedup(tmp_path: Path) -> None:
    bs = BlobStore(tmp_path / "blobs")
    bs.ensure()
    data = "Công văn số 22/BC-BTTTT\r\n".encode() * 100
    ref = bs.put_sync(data)
    assert ref.sha256 == sha256_hex(data) and ref.size == len(data)
    path = bs.path_for(ref.sha256)
    assert path.exists() and path.parent.parent == bs.root
    mtime = path.stat().st_mtime_ns
    again = bs.put_sync(data)
    assert again == ref and path.stat().st_mtime_ns == mtime  # not rewritten
    assert bs.get_sync(ref.sha256) == data
    assert list(bs.iter_shas()) == [ref.sha256]
    assert list(bs.tmp.iterdir()) == []


def test_put_many_writes_each_once(tmp_path: Path) -> None:
    bs = BlobStore(tmp_path)
    bs.ensure()
    items = [b"a" * 10, b"b" * 10, b"a" * 10]
    refs = bs.put_many_sync(items)
    assert [r.sha256 for r in refs] == [sha256_hex(i) for i in items]
    assert sorted(bs.iter_shas()) == sorted({r.sha256 for r in refs})


def test_corruption_is_detected(tmp_path: Path) -> None:
    bs = BlobStore(tmp_path)
    bs.ensure()
    ref = bs.put_sync(b"original content")
    path = bs.path_for(ref.sha256)
    path.write_bytes(b"tampered content")
    with pytest.raises(BlobCorrupt):
        bs.get_sync(ref.sha256)
    with pytest.raises(BlobNotFound):
        bs.get_sync("0" * 64)
    with pytest.raises(ValueError):
        bs.path_for("../../etc/passwd")


def test_disk_full_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bs = BlobStore(tmp_path)
    bs.ensure()
    real_write = os.write

    def full(fd: int, data: bytes | memoryview) -> int:
        if len(data) > 100:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(BlobStoreFull):
        bs.put_many_sync([b"small", b"x" * 1000])
    assert list(bs.tmp.iterdir()) == []
    assert list(bs.iter_shas()) == []


def test_blob_survives_kill_right_after_write_returns(tmp_path: Path) -> None:
    """A writer is SIGKILLed the instant put() returns: the blob is complete and valid."""
    root = tmp_path / "blobs"
    script = textwrap.dedent(
        f"""
        import sys, time
        from govmail.store.blobs import BlobStore
        bs = BlobStore({str(root)!r}); bs.ensure()
        for i in range(20):
            ref = bs.put_sync(("thư số %d " % i).encode() * 50000)
            print(ref.sha256, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    shas = []
    for _ in range(20):
        shas.append(proc.stdout.readline().strip())
        if len(shas) == 7:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    bs = BlobStore(root)
    for i, sha in enumerate(shas):
        assert bs.get_sync(sha) == f"thư số {i} ".encode() * 50000
    # Whatever the killed writer had in flight is only a temp file, cleaned on next open.
    bs.clean_tmp()
    assert set(shas) <= set(bs.iter_shas())


def test_cached_reads_check_the_hash_once_per_file_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import govmail.store.blobs as blobs_module
    from govmail.store.blobs import VerifiedFiles

    bs = BlobStore(tmp_path)
    bs.ensure()
    bs.verified = VerifiedFiles(settle=0)
    data = "Công văn số 7/BC\r\n".encode() * 50
    ref = bs.put_sync(data)
    hashed: list[int] = []
    real = blobs_module.sha256_hex
    monkeypatch.setattr(blobs_module, "sha256_hex", lambda d: hashed.append(1) or real(d))

    assert bs.get_if_cached(ref.sha256) == data  # just written: in the page cache
    assert bs.get_if_cached(ref.sha256) == data
    assert len(hashed) == 1  # the second read trusted the first check
    assert bs.get_sync(ref.sha256) == data and len(hashed) == 2  # reads that may hit the disk
    assert bs.get_if_cached(ref.sha256, max_size=len(data) - 1) is None  # too big to inline

    # Rewritten in place, same size and mtime: the ctime moved, so it is hashed again.
    path = bs.path_for(ref.sha256)
    st = path.stat()
    path.write_bytes(data.replace(b"7/BC", b"8/BC"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(BlobCorrupt):
        bs.get_if_cached(ref.sha256)
    assert len(bs.verified) == 0

    # Entries expire, and files changed within `settle` seconds are not remembered.
    path.write_bytes(data)
    bs.verified = VerifiedFiles(ttl=0)
    bs.get_if_cached(ref.sha256)
    assert len(bs.verified) == 0  # just rewritten
    bs.verified = VerifiedFiles(settle=0, ttl=0)
    bs.get_if_cached(ref.sha256)
    before = len(hashed)
    bs.get_if_cached(ref.sha256)
    assert len(hashed) == before + 1  # expired at once
    # Bounded.
    small = VerifiedFiles(limit=2, settle=0)
    for i in range(5):
        small.remember(f"{i:064x}", (1, i, 1, 1, 1))
    assert len(small) == 2 and small.trusts(f"{4:064x}", (1, 4, 1, 1, 1))
    assert not small.trusts(f"{0:064x}", (1, 0, 1, 1, 1))


def test_reads_not_in_the_page_cache_are_left_to_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import govmail.store.blobs as blobs_module

    bs = BlobStore(tmp_path)
    bs.ensure()
    data = os.urandom(64 * 1024)
    ref = bs.put_sync(data)
    assert bs.get_if_cached(ref.sha256) == data

    def would_wait(fd: int, buffers: list[bytearray], offset: int, flags: int = 0) -> int:
        assert flags == os.RWF_NOWAIT
        raise BlockingIOError(errno.EAGAIN, "would wait for the disk")

    def partly(fd: int, buffers: list[bytearray], offset: int, flags: int = 0) -> int:
        return 4096

    def unsupported(fd: int, buffers: list[bytearray], offset: int, flags: int = 0) -> int:
        raise OSError(errno.EOPNOTSUPP, "not supported")

    for fake in (would_wait, partly):
        monkeypatch.setattr(blobs_module.os, "preadv", fake)
        assert bs.get_if_cached(ref.sha256) is None
        assert bs.get_sync(ref.sha256) == data  # the worker thread's way
    monkeypatch.setattr(blobs_module, "_NOWAIT", [os.RWF_NOWAIT])
    monkeypatch.setattr(blobs_module.os, "preadv", unsupported)
    assert bs.get_if_cached(ref.sha256) is None
    assert blobs_module._NOWAIT == [None]  # not tried again
    with pytest.raises(BlobNotFound):
        bs.get_sync("1" * 64)
