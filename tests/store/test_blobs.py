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
