"""govmail queue list | retry | delete | flush | stats | purge, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from govmail.cli import output, queue_cmd
from govmail.cli.runtime import state
from govmail.config import Settings
from govmail.store.db import Store
from govmail.store.models import OutboundMessage, utcnow

runner = CliRunner()


@pytest.fixture
def cli_settings(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(state, "_settings", db_settings)
    # Rich sizes its tables to the terminal; without one (CI, pytest-xdist workers) it
    # takes 80 columns and wraps the words these tests look for.
    monkeypatch.setattr(output.console, "_width", 160)
    monkeypatch.setattr(output.err_console, "_width", 160)
    return db_settings


def seed(settings: Settings) -> dict[str, int]:
    """Pending rows (queued; deferred, the oldest) hold one blob reference each; final
    rows (sent 40 days ago, bounced yesterday) hold none."""

    async def go() -> dict[str, int]:
        store = Store(settings.database_url, settings.blob_dir)
        await store.open()
        now = utcnow()
        try:
            ref = await store.blobs.put(b"Subject: x\r\n\r\nbody\r\n")
            ids: dict[str, int] = {}
            async with store.write() as tx:
                blob_id = await tx.mail.add_blob_refs(ref.sha256, ref.size, 2)
                for name, status, created, recipients in (
                    ("queued", "queued", now, ["a@far.example"]),
                    ("deferred", "deferred", now - timedelta(hours=2), ["b@other.example"]),
                    ("sent", "sent", now - timedelta(days=40), ["c@far.example"]),
                    ("bounced", "bounced", now - timedelta(days=1), ["d@far.example"]),
                ):
                    row = await tx.queue.add(
                        OutboundMessage(
                            blob_id=blob_id,
                            mail_from="hangntm@mic.gov.vn",
                            domain=recipients[0].split("@")[1],
                            recipients=recipients,
                            status=status,
                            attempts=0 if status == "queued" else 3,
                            next_attempt_at=created + timedelta(hours=1)
                            if status == "deferred" else created,
                            created_at=created,
                            expires_at=created + timedelta(days=5),
                            last_error="mx.other.example: 451 4.7.1 greylisted"
                            if status == "deferred" else None,
                        )
                    )
                    ids[name] = row.id
                ids["blob"] = blob_id
            return ids
        finally:
            await store.close()

    return asyncio.run(go())


def blob_refs_and_rows(settings: Settings, blob_id: int) -> tuple[int, dict[int, str]]:
    async def go() -> tuple[int, dict[int, str]]:
        store = Store(settings.database_url, settings.blob_dir)
        await store.open()
        try:
            async with store.read() as tx:
                blob = await tx.mail.blob_by_id(blob_id)
                rows = await tx.queue.listing()
                assert blob is not None
                return blob.refcount, {r.id: r.status for r in rows}
        finally:
            await store.close()

    return asyncio.run(go())


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(queue_cmd.app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_list_shows_pending_rows_by_default(cli_settings: Settings) -> None:
    ids = seed(cli_settings)
    code, out = invoke("list", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [ids["deferred"], ids["queued"]]
    deferred = rows[0]
    assert deferred["status"] == "deferred" and deferred["recipients"] == ["b@other.example"]
    assert deferred["attempts"] == 3 and "451 4.7.1" in deferred["last_error"]
    code, out = invoke("list", "--all", "--json")
    assert {r["status"] for r in json.loads(out)} == {"queued", "deferred", "sent", "bounced"}
    code, out = invoke("list", "--status", "sent", "--json")
    assert [r["id"] for r in json.loads(out)] == [ids["sent"]]
    code, out = invoke("list")
    assert code == 0 and "Trạng thái" in out and "b@other.example" in out


def test_retry_delete_flush_stats_purge(cli_settings: Settings) -> None:
    ids = seed(cli_settings)

    code, out = invoke("retry", str(ids["deferred"]))
    assert code == 0 and "sẽ được gửi lại ngay" in out, out
    code, out = invoke("list", "--json")
    retried = next(r for r in json.loads(out) if r["id"] == ids["deferred"])
    assert retried["next_attempt_at"] <= utcnow().isoformat()

    code, out = invoke("retry", str(ids["sent"]))
    assert code == 1 and "đã kết thúc" in out and "already finished" in out
    code, out = invoke("retry", "987654")
    assert code == 1 and "987654" in out

    code, out = invoke("stats", "--json")
    stats = json.loads(out)
    assert (stats["queued"], stats["deferred"], stats["sent"], stats["bounced"]) == (1, 1, 1, 1)
    assert stats["pending"] == 2
    assert 7100 < stats["oldest_pending_seconds"] < 7300

    code, out = invoke("purge", "--days", "50")
    assert code == 0 and "Đã xóa 0" in out, out
    code, out = invoke("purge", "--days", "30")
    assert code == 0 and "Đã xóa 1" in out, out
    refs, rows = blob_refs_and_rows(cli_settings, ids["blob"])
    assert refs == 2 and ids["sent"] not in rows and ids["bounced"] in rows

    code, out = invoke("delete", str(ids["queued"]))
    assert code == 0 and "a@far.example" in out, out
    refs, rows = blob_refs_and_rows(cli_settings, ids["blob"])
    assert refs == 1 and ids["queued"] not in rows  # the pending row's reference went
    code, out = invoke("delete", str(ids["bounced"]))  # final: its reference went already
    assert code == 0
    refs, rows = blob_refs_and_rows(cli_settings, ids["blob"])
    assert refs == 1 and rows == {ids["deferred"]: "deferred"}
    code, out = invoke("delete", str(ids["bounced"]))
    assert code == 1

    code, out = invoke("flush")
    assert code == 0 and "1 thư" in out, out
