"""The reports page, its charts and exports, the import form, the settings, and the API:
an installation administrator sees everything, an agency administrator its subtree."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from govmail.app import App
from govmail.config import Settings
from govmail.reports.periods import current_quarter
from govmail.store.models import AuditEntry
from tests.web import admin_fixtures
from tests.web.admin_fixtures import MIC, PHUYEN, Api, make_token
from tests.web.conftest import WebClient, start_server

DATA = Path(__file__).with_name("data")
PERIOD = current_quarter(date.today()).label  # the test mailboxes exist from today
org = admin_fixtures.org
quantri = admin_fixtures.quantri
tam = admin_fixtures.tam


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def server(db_settings: Settings) -> AsyncIterator[App]:
    app = await start_server(db_settings)
    try:
        yield app
    finally:
        await app.pipeline.wait_background()
        await app.stop()


async def refusals(app: App) -> list[AuditEntry]:
    async with app.store.read() as tx:
        q = select(AuditEntry).where(AuditEntry.action == "admin.refused")
        return list((await tx.session.scalars(q)).all())


async def test_installation_admin_sees_the_national_report(org: App, quantri: WebClient) -> None:
    async with org.directory.ops() as ops:
        await ops.set_headcount(MIC, 4)
    r = await quantri.get(f"/admin/reports?period={PERIOD}")
    assert r.status_code == 200, r.text
    html = r.text
    assert "Báo cáo tình hình sử dụng hệ thống thư điện tử trong các cơ quan nhà nước" in html
    assert "Bảng 1: Tỷ lệ cán bộ, công chức được cung cấp hộp thư điện tử" in html
    # MIC: Hằng, Đức and the administrator over a headcount of 4; Phú Yên has none.
    assert "75%" in html and "3/4" in html
    assert "Chưa có biên chế (số CBCC) của Ủy ban nhân dân tỉnh Phú Yên" in html
    assert 'href="/admin/reports"' in html and "<script" not in html.split("</header>")[1]
    svg = await quantri.get(f"/admin/reports/chart/fig1.svg?period={PERIOD}")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    texts = " ".join(
        e.text or "" for e in ET.fromstring(svg.content).iter() if e.tag.endswith("}text")
    )
    assert "Hình 1: Tỷ lệ cán bộ, công chức" in texts
    png = await quantri.get(f"/admin/reports/chart/rank-1.png?period={PERIOD}")
    assert png.content.startswith(b"\x89PNG")
    assert (await quantri.get(f"/admin/reports/chart/nope.svg?period={PERIOD}")).status_code == 404
    xlsx = await quantri.get(f"/admin/reports/export/xlsx?period={PERIOD}")
    assert "attachment" in xlsx.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb["Bảng 1"]["C4"].value == "Bộ Thông tin và Truyền thông"
    csv = await quantri.get(f"/admin/reports/export/csv?period={PERIOD}")
    assert csv.text.startswith("\ufeffBảng,")
    bad = await quantri.get("/admin/reports?period=2025-Q9")
    assert bad.status_code == 200 and "2025-Q9" in bad.text  # shown, with the default period


async def test_agency_admin_sees_only_its_subtree(org: App, tam: WebClient) -> None:
    r = await tam.get(f"/admin/reports?period={PERIOD}")
    assert r.status_code == 200
    assert "của Ủy ban nhân dân tỉnh Phú Yên" in r.text
    assert "Bộ Thông tin và Truyền thông" not in r.text
    assert "Sở Thông tin và Truyền thông tỉnh Phú Yên" in r.text  # its unit, ranked and linked
    before = len(await refusals(org))
    for path in (
        f"/admin/reports?period={PERIOD}&agency={MIC}",
        f"/admin/reports/chart/fig1.svg?agency={MIC}",
        f"/admin/reports/export/xlsx?agency={MIC}",
        "/admin/reports/import",
        "/admin/reports/settings",
    ):
        assert (await tam.get(path)).status_code == 403, path
    assert len(await refusals(org)) == before + 5


async def test_import_and_settings_forms(org: App, quantri: WebClient) -> None:
    await quantri.get("/admin/reports/import")
    files = {"file": ("seed_bang1.csv", (DATA / "seed_bang1.csv").read_bytes(), "text/csv")}
    form = {"period": "2011", "mode": "apply", "indicator": "", "class": "", "_csrf": quantri.csrf}
    r = await quantri.http.post("/admin/reports/import", data=form, files=files)
    assert r.status_code == 200, r.text
    assert "27 số liệu dùng được (27 mới, 0 thay thế), 0 dòng lỗi" in r.text
    report = await quantri.get("/admin/reports?period=2011")
    assert "Bộ Giáo dục và Đào tạo" in report.text and "Tự báo cáo" in report.text
    await quantri.get("/admin/reports/import")
    bad = {"file": ("b4.csv", (DATA / "seed_bang4.csv").read_bytes(), "text/csv")}
    form = {"period": "2011", "mode": "dry_run", "_csrf": quantri.csrf}
    r = await quantri.http.post("/admin/reports/import", data=form, files=bad)
    assert "Cung cấp 210 tài khoản thư điện tử" in r.text and "chưa nhập" in r.text

    await quantri.get("/admin/reports/settings")
    r = await quantri.post_form(
        "/admin/reports/settings", {"min_days": "5", "window": "10", "spam": "on", "virus": "off"}
    )
    assert r.status_code == 303
    page = await quantri.get("/admin/reports/settings")
    assert 'name="min_days" min="1" max="366" value="5"' in page.text
    r = await quantri.post_form("/admin/reports/settings", {"min_days": "30", "window": "10"})
    assert r.status_code == 400 and "(30)" in r.text
    r = await quantri.post_form(
        "/admin/reports/calendar", {"day": "2026-05-04", "working": "0", "note": "Nghỉ bù 30/4"}
    )
    assert r.status_code == 303
    page = await quantri.get("/admin/reports/settings?year=2026")
    assert "04/05/2026" in page.text and "Nghỉ bù 30/4" in page.text


async def test_api(org: App) -> None:
    reader = Api(org, await make_token(org, ["directory:read"]))
    province = Api(org, await make_token(org, ["directory:read"], agency=PHUYEN))
    writer = Api(org, await make_token(org, ["directory:read", "directory:write"]))
    try:
        r = await reader.get(f"/reports?period={PERIOD}")
        assert r.status_code == 200
        body = r.json()
        assert body["tables"][0]["key"] == "mailbox_share.ministries"
        assert body["period"]["label"] == PERIOD
        r = await reader.get(f"/reports?period={PERIOD}&agency={PHUYEN}&format=xlsx")
        assert load_workbook(io.BytesIO(r.content)).sheetnames[0] == "Bảng 1"
        assert (await province.get(f"/reports?period={PERIOD}")).status_code == 403
        assert (await province.get(f"/reports?agency={MIC}")).status_code == 403
        own = await province.get(
            f"/reports?period={PERIOD}&agency={PHUYEN}&indicator=mailbox_share"
        )
        assert own.status_code == 200 and len(own.json()["tables"]) == 1
        bad = await reader.get("/reports?period=2025-13")
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
        csv = (DATA / "seed_bang3.csv").read_bytes()
        r = await writer.http.post(
            "/reports/self-reported?period=2011&dry_run=1",
            content=csv,
            headers={"content-type": "text/csv"},
        )
        assert r.status_code == 200 and r.json()["figures"] == 24 and not r.json()["applied"]
        r = await reader.http.post(
            "/reports/self-reported?period=2011", content=csv, headers={"content-type": "text/csv"}
        )
        assert r.status_code == 403
    finally:
        for c in (reader, province, writer):
            await c.close()
