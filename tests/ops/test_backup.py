"""Backups: online and consistent while mail arrives, incremental after the first,
restored into an empty installation to exactly the backed-up state, verified in a scratch
directory; damaged or truncated backups are refused with the damaged file named."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from govmail.config import Settings, load_settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import Pipeline
from govmail.ops.backup import Backups, RestoreError, message_digest, next_run
from govmail.ops.backup_target import DirTarget, sigv4_headers
from govmail.store.db import Store
from govmail.store.repos.ops import OpsRepo
from tests.ops import support
from tests.ops.support import make_message, make_rig

sqlite_store = support.sqlite_store  # fixture


def env(rcpt: str = "hangntm@mic.gov.vn") -> Envelope:
    return Envelope("nguoigui@example.org", [rcpt], "mx", client_ip="192.0.2.1")


async def listing(store: Store) -> list[tuple]:
    """Every message as (mailbox, folder, uid, flags, body) — the state a user sees."""
    out = []
    async with store.read() as tx:
        for address in ("hangntm@mic.gov.vn", "ductv@mic.gov.vn", "tamlv@phuyen.gov.vn"):
            mb = await tx.directory.mailbox_by_address(address)
            assert mb is not None
            for f in await tx.mail.folders_of(mb.id):
                for m in await tx.mail.messages(f.id):
                    sha = await tx.mail.blob_sha_of(m)
                    out.append((address, f.name, m.uid, m.seen, m.flagged, m.keywords, sha,
                                store.blobs.get_sync(sha)))
    return sorted(out)


async def restored_state(settings: Settings) -> tuple[list[tuple], tuple[str, int]]:
    """What a restored installation holds: its listing and its message digest."""
    store = Store(settings.database_url, settings.blob_dir)
    await store.open()
    try:
        return await listing(store), await message_digest(store)
    finally:
        await store.close()


def restored_settings(tmp_path: Path, name: str, target: Path) -> Settings:
    s = load_settings(general={"data_dir": tmp_path / name})
    s.backup.target = str(target)
    return s


async def test_backup_write_more_restore_finds_exactly_the_backed_up_state(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "backups"
    settings.backup.target = str(target)
    async for r in make_rig(sqlite_store, settings, []):
        for i in range(30):
            await r.pipeline.deliver(env(), make_message(f"Thư số {i}", f"Nội dung {i}"))
        await r.pipeline.deliver(env("tamlv@phuyen.gov.vn"), make_message("Phú Yên", "x"))
        inbox = await support.folder_of(r.store, "hangntm@mic.gov.vn", "INBOX")
        await r.mailstore.set_flags(inbox.id, [1, 2, 3], "add", ["\\Seen", "\\Flagged"])
        archive = await support.folder_of(r.store, "hangntm@mic.gov.vn", "Archive")
        await r.mailstore.copy(inbox.id, [4, 5], archive, move=True)

        backups = Backups(settings, r.store)
        first = await backups.backup()
        assert first.kind == "full" and first.messages == 31
        assert first.blobs_copied == first.blobs_total == 31
        at_backup = await listing(r.store)
        digest_at_backup = await message_digest(r.store)

        # More mail after the backup, while a second backup runs concurrently with it.
        async def more_mail(pipeline: Pipeline) -> None:
            for i in range(20):
                await pipeline.deliver(env("ductv@mic.gov.vn"), make_message(f"Sau {i}", "y"))

        writer = asyncio.create_task(more_mail(r.pipeline))
        second = await backups.backup()
        await writer
        assert second.kind == "incremental"
        assert second.blobs_copied == second.blobs_total - 31  # only new bodies copied
        await r.mailstore.set_flags(inbox.id, [6], "add", ["\\Deleted"])
        await r.mailstore.expunge(inbox.id)
        assert await listing(r.store) != at_backup

        tgt = DirTarget(target)
        assert backups.snapshots(tgt) == sorted([first.snapshot, second.snapshot])
        v = await backups.verify(snapshot=second.snapshot)  # consistent despite the writer
        assert v.ok, v.problems

    new = restored_settings(tmp_path, "restored", target)
    name, messages = await Backups(new).restore(snapshot=first.snapshot)
    assert (name, messages) == (first.snapshot, 31)
    assert await restored_state(new) == (at_backup, digest_at_backup)

    with pytest.raises(RestoreError, match="not empty"):
        await Backups(new).restore(snapshot=first.snapshot)


async def test_verify_and_restore_refuse_damaged_or_truncated_backups(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "backups"
    settings.backup.target = str(target)
    async for r in make_rig(sqlite_store, settings, []):
        for i in range(5):
            await r.pipeline.deliver(env(), make_message(f"Thư {i}", f"Nội dung {i}"))
        backups = Backups(settings, r.store)
        snap = (await backups.backup()).snapshot
        assert (await backups.verify()).ok
        blob = sorted((target / "blobs").rglob("*"))[-1]
        good = blob.read_bytes()
        blob.write_bytes(good[:-10] + b"0123456789")  # damaged body
        v = await backups.verify()
        assert not v.ok and any(blob.name in p and "damaged" in p for p in v.problems)
        async with r.store.read() as tx:
            runs = await OpsRepo(tx.session, "sqlite").backup_runs()
        assert [x.kind for x in runs][:2] == ["verify", "verify"]
        assert runs[0].status == "failed" and runs[1].status == "ok"

    fresh = restored_settings(tmp_path, "r1", target)
    with pytest.raises(RestoreError) as exc:
        await Backups(fresh).restore()
    assert f"blobs/{blob.name[:2]}/{blob.name}" in str(exc.value)
    # Nothing was left behind: the installation is still empty and can take a good backup.
    assert not any(p.name != "tmp" for p in fresh.blob_dir.iterdir())
    assert not Path(fresh.database_url.split(":///")[1]).exists()
    key = f"blobs/{blob.name[:2]}/{blob.name}"
    blob.write_bytes(good[: len(good) // 2])  # truncated body
    with pytest.raises(RestoreError, match=f"{key} is truncated"):
        await Backups(fresh).restore()
    blob.unlink()  # lost body
    with pytest.raises(RestoreError, match=f"{key}: missing from the backup"):
        await Backups(fresh).restore()
    assert not any(p.name != "tmp" for p in fresh.blob_dir.iterdir())
    blob.write_bytes(good)

    db = target / "snapshots" / snap / "database.sqlite.gz"
    full = db.read_bytes()
    db.write_bytes(full[: len(full) // 2])  # truncated database
    with pytest.raises(RestoreError, match=r"database\.sqlite\.gz is truncated"):
        await Backups(fresh).restore()
    db.write_bytes(full)

    manifest = target / "snapshots" / snap / "manifest.json"
    m = json.loads(manifest.read_text())
    m["counts"]["message"] = 999  # tampered manifest
    manifest.write_text(json.dumps(m))
    with pytest.raises(RestoreError, match=r"manifest\.json is damaged"):
        await Backups(fresh).restore()
    manifest.write_text("{not json")
    with pytest.raises(RestoreError, match=r"manifest\.json is damaged"):
        await Backups(fresh).restore()


async def test_a_backup_cancelled_by_a_stopping_server_is_recorded_as_failed(
    sqlite_store: Store, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.backup.target = str(tmp_path / "backups")
    started = asyncio.Event()

    async def stuck(*_args: object) -> None:
        started.set()
        await asyncio.sleep(60)

    monkeypatch.setattr(Backups, "_backup", stuck)
    async for r in make_rig(sqlite_store, settings, []):
        task = asyncio.create_task(Backups(settings, r.store).backup())
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with r.store.read() as tx:
            runs = await OpsRepo(tx.session, "sqlite").backup_runs()
        assert [(x.status, x.error) for x in runs] == [("failed", "interrupted")]
        assert runs[0].finished_at is not None


async def test_a_run_left_running_by_a_dead_process_is_closed_and_backups_are_exclusive(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    """A backup killed with its process stays "running" in the table; the next start of
    the backup service (or the next backup) records it as failed. While another process
    holds the installation's backup lock, nothing is closed and a backup is refused."""
    import fcntl
    import os

    from govmail.ops.backup import BackupError, BackupService

    settings.backup.target = str(tmp_path / "backups")
    async for r in make_rig(sqlite_store, settings, []):
        async with r.store.write() as tx:
            await OpsRepo(tx.session, "sqlite").start_backup_run("backup", "x")  # the dead one
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(settings.data_dir / "backup.lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a backup running in another process
            with pytest.raises(BackupError, match="another backup"):
                await Backups(settings, r.store).backup()
            await BackupService(settings, r.store).start()
            async with r.store.read() as tx:
                runs = await OpsRepo(tx.session, "sqlite").backup_runs()
            assert [x.status for x in runs] == ["running"]
        finally:
            os.close(fd)
        service = BackupService(settings, r.store)
        await service.start()
        await service.stop()
        async with r.store.read() as tx:
            runs = await OpsRepo(tx.session, "sqlite").backup_runs()
        assert [(x.status, x.error) for x in runs] == [
            ("failed", "interrupted: the process running it ended")
        ]
        result = await Backups(settings, r.store).backup()
        assert result.snapshot


async def test_the_database_dump_is_streamed_not_held_in_memory(
    sqlite_store: Store, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100,000 messages the gzip'd SQLite file is over a GiB: it goes to and from the
    target through files (put_file/get_file), never as one bytes object."""
    target = tmp_path / "backups"
    settings.backup.target = str(target)
    real_put, real_get = DirTarget.put, DirTarget.get

    def put(self: DirTarget, key: str, data: bytes) -> None:
        assert "/database." not in key, key
        real_put(self, key, data)

    def get(self: DirTarget, key: str) -> bytes:
        assert "/database." not in key, key
        return real_get(self, key)

    monkeypatch.setattr(DirTarget, "put", put)
    monkeypatch.setattr(DirTarget, "get", get)
    async for r in make_rig(sqlite_store, settings, []):
        await r.pipeline.deliver(env(), make_message("Một thư", "Nội dung"))
        at_backup = await listing(r.store), await message_digest(r.store)
        snap = (await Backups(settings, r.store).backup()).snapshot
    assert (target / "snapshots" / snap / "database.sqlite.gz").stat().st_size > 0
    new = restored_settings(tmp_path, "restored", target)
    assert (await Backups(new).restore())[1] == 1
    assert await restored_state(new) == at_backup
    assert not any(p.name.startswith(".restore-") for p in new.data_dir.iterdir())


async def test_keep_prunes_old_snapshots_and_unneeded_bodies(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "backups"
    settings.backup.target = str(target)
    settings.backup.keep = 2
    async for r in make_rig(sqlite_store, settings, []):
        backups = Backups(settings, r.store)
        await r.pipeline.deliver(env(), make_message("một", "1"))
        await backups.backup()
        inbox = await support.folder_of(r.store, "hangntm@mic.gov.vn", "INBOX")
        await r.mailstore.set_flags(inbox.id, [1], "add", ["\\Deleted"])
        await r.mailstore.expunge(inbox.id)
        async with r.store.write() as tx:  # the body is no longer referenced by anything
            for b in await tx.mail.unreferenced_blobs():
                await tx.mail.delete_blob_row(b.id)
        await r.pipeline.deliver(env(), make_message("hai", "2"))
        await backups.backup()
        await backups.backup()
    tgt = DirTarget(target)
    assert len(Backups.snapshots(tgt)) == 2
    assert len(tgt.list("blobs/")) == 1


def test_schedule_is_in_local_time() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 01:00 in Hà Nội
    assert next_run("02:00", "Asia/Ho_Chi_Minh", now) == datetime(2026, 11, 25, 19, 0,
                                                                  tzinfo=UTC)
    now = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 03:00: tomorrow
    assert next_run("02:00", "Asia/Ho_Chi_Minh", now) == datetime(2026, 11, 26, 19, 0,
                                                                  tzinfo=UTC)


def test_sigv4_matches_the_s3_documentation_example() -> None:
    """AWS's worked example (GET /test.txt with a Range header, 2013-05-24)."""
    from datetime import UTC, datetime

    h = sigv4_headers(
        "GET", "https://examplebucket.s3.amazonaws.com/test.txt", region="us-east-1",
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        now=datetime(2013, 5, 24, tzinfo=UTC), extra={"range": "bytes=0-9"},
    )
    assert h["authorization"].endswith(
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date" in h["authorization"]


def test_blob_listing_is_gzip_of_sha_and_size(tmp_path: Path) -> None:
    t = DirTarget(tmp_path)
    t.put("snapshots/x/blobs.txt.gz", gzip.compress(b"ab 1\n"))
    assert t.list("snapshots/") == ["snapshots/x/blobs.txt.gz"]
    with pytest.raises(Exception, match="outside"):
        t.put("../evil", b"x")
