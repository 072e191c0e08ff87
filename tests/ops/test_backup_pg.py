"""Backups on PostgreSQL: pg_dump of a REPEATABLE READ snapshot shared with the figures in
the manifest, restored with pg_restore into an empty database, verified in a scratch
database."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from govmail.config import Settings, load_settings
from govmail.delivery.envelope import Envelope
from govmail.ops.backup import Backups, RestoreError, message_digest
from govmail.store.db import Store
from tests.conftest import _async_url, _pg_exec
from tests.ops.support import make_message, make_rig

pytestmark = pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump not installed")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_backup_restore_verify(
    store: Store, db_settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "bk"
    db_settings.backup.target = str(target)
    async for r in make_rig(store, db_settings, []):
        for i in range(12):
            await r.pipeline.deliver(
                Envelope("a@example.org", ["hangntm@mic.gov.vn", "tamlv@phuyen.gov.vn"], "mx",
                         client_ip="192.0.2.1"), make_message(f"Thư {i}"))
        backups = Backups(db_settings, r.store)
        result = await backups.backup()
        assert result.messages == 24 and result.blobs_total == 12
        digest = await message_digest(r.store)
        v = await backups.verify()
        assert v.ok, v.problems

    name = f"govmail_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f"CREATE DATABASE {name}")
    try:
        new = load_settings(general={"data_dir": tmp_path / "new"})
        new.database.url = _async_url(name)
        new.backup.target = str(target)
        _snap, messages = await Backups(new).restore()
        assert messages == 24
        restored = Store(new.database_url, new.blob_dir)
        await restored.open()
        try:
            assert await message_digest(restored) == digest
        finally:
            await restored.close()
        with pytest.raises(RestoreError, match="not empty"):
            await Backups(new).restore()
    finally:
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
