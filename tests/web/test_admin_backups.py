"""The console's backup page: the installation administrator sees the last backup, the
age of the last good one, the schedule and the recent runs, and can start a backup (CSRF,
audited); the dashboard warns when the last backup failed or is old; an agency
administrator is refused (audited) and starts nothing."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime, timedelta

from tests.web import admin_fixtures
from tests.web.admin_fixtures import QUANTRI, TAM, audit_actions
from tests.web.conftest import WebClient

from govmail.app import App
from govmail.ops.backup import BackupService
from govmail.store.repos.ops import OpsRepo

org = admin_fixtures.org
quantri = admin_fixtures.quantri
tam = admin_fixtures.tam


def service(app: App) -> BackupService:
    svc = app.ops.backup_service
    assert svc is not None
    return svc


def text_of(page: str, element_id: str) -> str:
    m = re.search(rf'<(td|table|p) [^>]*id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert m, element_id
    return html.unescape(re.sub(r"<[^>]+>", " ", m.group(2)))


async def runs(app: App) -> list[tuple[str, str]]:
    async with app.store.read() as tx:
        return [(r.kind, r.status) for r in await OpsRepo(tx.session, "").backup_runs(50)]


async def add_run(app: App, kind: str, status: str, *, hours_ago: float,
                  error: str | None = None) -> None:
    """A finished run as the backup service leaves it (what the console reads)."""
    async with app.store.write() as tx:
        run = await OpsRepo(tx.session, app.store.dialect).start_backup_run("backup", "/bk")
        end = datetime.now(UTC) - timedelta(hours=hours_ago)
        run.kind, run.status, run.error = kind, status, error
        run.started_at, run.finished_at = end - timedelta(minutes=3), end
        run.snapshot = "20260101T020000000000Z" if status == "ok" else None
        run.messages, run.blobs_total, run.blobs_copied = 7, 7, 2


async def wait_idle(app: App) -> None:
    for _ in range(300):  # 30 s at most
        if not service(app).busy:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the backup did not finish")


async def test_no_backup_yet_is_a_warning_on_the_dashboard_and_the_page(
    quantri: WebClient,
) -> None:
    dash = await quantri.get("/admin")
    assert dash.status_code == 200
    assert 'href="/admin/backups"' in dash.text  # in the menu and beside the figures
    assert "Chưa có bản sao lưu thành công nào." in dash.text
    page = await quantri.get("/admin/backups")
    assert page.status_code == 200
    assert "Chưa có bản sao lưu thành công nào." in page.text
    assert "Hằng ngày lúc 02:00 (giờ Asia/Ho_Chi_Minh)" in text_of(page.text, "backup-schedule")
    assert "Chưa có lần sao lưu nào." in text_of(page.text, "backup-runs")
    assert 'action="/admin/backups/run"' in page.text


async def test_back_up_now_runs_a_real_backup_shown_with_its_figures_and_audited(
    org: App, quantri: WebClient
) -> None:
    await quantri.get("/admin/backups")
    r = await quantri.post_form("/admin/backups/run")
    assert r.status_code == 303 and "flash=admin_backup_started" in r.headers["location"]
    await wait_idle(org)
    assert await runs(org) == [("full", "ok")]
    async with org.store.read() as tx:
        last = await OpsRepo(tx.session, org.store.dialect).last_backup()
    assert last is not None and last.snapshot and last.blobs_total == last.blobs_copied
    page = await quantri.get("/admin/backups")
    last_box = text_of(page.text, "backup-last")
    assert "Thành công" in last_box and "Toàn bộ" in last_box and last.snapshot in last_box
    assert "0 giờ 0 phút trước" in text_of(page.text, "backup-age")
    assert "Chưa có bản sao lưu" not in page.text
    dash = await quantri.get("/admin")
    assert "0 giờ 0 phút trước" in text_of(dash.text, "dashboard-backup")
    assert 'role="alert"' not in dash.text
    entries = await audit_actions(org, action="backup.run")
    assert [(e.actor, e.source) for e in entries] == [(QUANTRI, "web")]

    # The second one copies only what is new: incremental.
    await quantri.post_form("/admin/backups/run")
    await wait_idle(org)
    assert await runs(org) == [("incremental", "ok"), ("full", "ok")]
    page = await quantri.get("/admin/backups?lang=en")
    assert "Incremental" in text_of(page.text, "backup-last")
    assert "0 h 0 min ago" in text_of(page.text, "backup-age")


async def test_a_running_backup_is_not_started_twice(org: App, quantri: WebClient) -> None:
    await quantri.get("/admin/backups")
    async with service(org)._lock:  # as while the scheduled backup runs
        page = await quantri.get("/admin/backups")
        assert "Đang sao lưu…" in page.text and 'action="/admin/backups/run"' not in page.text
        r = await quantri.post_form("/admin/backups/run")
        assert "flash=admin_backup_busy" in r.headers["location"]
    assert await runs(org) == []
    assert await audit_actions(org, action="backup.run") == []


async def test_failed_and_old_backups_are_flagged(org: App, quantri: WebClient) -> None:
    await add_run(org, "full", "ok", hours_ago=30)
    dash = await quantri.get("/admin")
    assert "Bản sao lưu thành công gần nhất đã cũ hơn 26 giờ." in dash.text
    assert "30 giờ 0 phút trước" in text_of(dash.text, "dashboard-backup")

    await add_run(org, "backup", "failed", hours_ago=1, error="TargetError: /bk: disk full")
    for path in ("/admin", "/admin/backups"):
        r = await quantri.get(path)
        assert "Lần sao lưu gần nhất bị lỗi: TargetError: /bk: disk full" in r.text, path
    page = await quantri.get("/admin/backups")
    last_box = text_of(page.text, "backup-last")
    assert "Thất bại" in last_box and "disk full" in last_box
    assert "30 giờ 0 phút trước" in text_of(page.text, "backup-age")
    listed = text_of(page.text, "backup-runs")
    assert listed.count("Thất bại") == 1 and listed.count("Thành công") == 1

    await add_run(org, "full", "ok", hours_ago=80)  # an older success does not hide it
    await add_run(org, "incremental", "ok", hours_ago=0.5)
    dash = await quantri.get("/admin")
    assert 'role="alert"' not in dash.text


async def test_the_schedule_off_is_said(org: App, quantri: WebClient) -> None:
    org.settings.backup.daily_at = ""
    page = await quantri.get("/admin/backups?lang=en")
    assert "No scheduled backup" in text_of(page.text, "backup-schedule")


async def test_an_agency_admin_is_refused_and_starts_nothing(org: App, tam: WebClient) -> None:
    dash = await tam.get("/admin")
    assert dash.status_code == 200 and "/admin/backups" not in dash.text
    assert "sao lưu" not in dash.text.lower()
    assert (await tam.get("/admin/backups")).status_code == 403
    r = await tam.post_form("/admin/backups/run")
    assert r.status_code == 403 and "ngoài phạm vi" in r.text
    await asyncio.sleep(0.2)
    assert not service(org).busy and await runs(org) == []
    refusals = await audit_actions(org, action="admin.refused")
    assert {(e.actor, e.after["attempt"]) for e in refusals} == {
        (TAM, "backup.view"), (TAM, "backup.run")
    }
    assert await audit_actions(org, action="backup.run") == []
