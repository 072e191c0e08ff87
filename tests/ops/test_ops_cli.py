"""The operations commands as a person runs them (a TOML file; `govmail backup` and
`govmail restore` as real processes, the rest through Typer's runner)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner, Result

from govmail.cli.main import app as cli
from govmail.cli.runtime import state
from govmail.config import Settings, load_settings
from govmail.delivery.envelope import Envelope
from govmail.ops.archive import ArchiveJournal
from govmail.store.db import Store
from tests.ops.support import make_message, make_rig
from tests.support.procs import govmail, write_config


def invoke(settings: Settings, *args: str) -> Result:
    state._settings = settings
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        state._settings = None


async def _fill(settings: Settings) -> None:
    store = Store(settings.database_url, settings.blob_dir)
    await store.open()
    try:
        journal = ArchiveJournal(store, settings.archive)
        async for r in make_rig(store, settings, [], after=[journal]):
            for i in range(3):
                await r.pipeline.deliver(
                    Envelope("a@example.org", ["hangntm@mic.gov.vn"], "mx", client_ip="192.0.2.1"),
                    make_message(f"Thư {i}"))
    finally:
        await store.close()


def test_backup_verify_restore_status_archive_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir()
    write_config(home, extra=f'[backup]\ntarget = "{tmp_path / "bk"}"\n'
                             '[archive]\nagencies = ["000.00.00.G14"]\n')
    settings = load_settings(home / "govmail.toml")
    asyncio.run(_fill(settings))

    assert "3" in govmail(home, "backup").stdout  # a real process, as cron or a person runs it
    res = invoke(settings, "backup", "verify")
    assert res.exit_code == 0 and "nguyên vẹn" in res.output
    runs = json.loads(invoke(settings, "backup", "list", "--json").output)
    assert [r["kind"] for r in runs] == ["verify", "full"]
    assert all(r["status"] == "ok" for r in runs)
    status = json.loads(invoke(settings, "status", "--json").output)
    assert status["messages"] == 3 and status["backup_last_status"] == "ok"
    assert status["server"] == "not reachable" and status["archive_entries"] == 3
    res = invoke(settings, "archive", "verify")
    assert res.exit_code == 0 and "3" in res.output
    assert invoke(settings, "archive", "hold", "add", "hangntm@mic.gov.vn").exit_code == 0
    holds = json.loads(invoke(settings, "archive", "hold", "list", "--json").output)
    assert holds[0]["mailbox"] == "hangntm@mic.gov.vn"
    assert invoke(settings, "filter", "block", "@spam.example", "--agency",
                  "000.00.00.G14").exit_code == 0
    lists = json.loads(invoke(settings, "filter", "lists", "--json").output)
    assert [(x["kind"], x["pattern"]) for x in lists] == [("block", "@spam.example")]
    assert invoke(settings, "filter", "attachments", "000.00.00.H45", "--block",
                  "executable,archive").exit_code == 0
    bad = invoke(settings, "filter", "attachments", "000.00.00.H45", "--block", "nonsense")
    assert bad.exit_code == 2 and "nonsense" in bad.output
    assert invoke(settings, "export", "mbox", "hangntm@mic.gov.vn",
                  str(tmp_path / "mbox")).exit_code == 0
    assert (tmp_path / "mbox" / "INBOX.mbox").read_bytes().count(b"\nFrom ") == 2

    new = tmp_path / "new"
    new.mkdir()
    write_config(new, extra=f'[backup]\ntarget = "{tmp_path / "bk"}"\n')
    assert "3" in govmail(new, "restore").stdout
    new_settings = load_settings(new / "govmail.toml")
    again = invoke(new_settings, "restore")
    assert again.exit_code == 1 and "not empty" in again.output.replace("\n", " ")
    restored = json.loads(invoke(new_settings, "status", "--json").output)
    assert restored["messages"] == 3 and restored["mailboxes"] == status["mailboxes"]

    # A damaged body: verify fails (exit 1) naming the file.
    blob = sorted((tmp_path / "bk" / "blobs").rglob("*"))[-1]
    blob.write_bytes(b"damaged")
    res = invoke(settings, "backup", "verify")
    assert res.exit_code == 1 and blob.name in res.output.replace("\n", "")
