"""The console and the public directory in a real browser (Debian's chromium through
Playwright): the installation administrator suspends a mailbox and its owner can no
longer log in; screenshots of the console's main pages and of the directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tests.web.admin_fixtures import PHUYEN, QUANTRI, SO_TTTT, add_admins
from tests.web.browser_support import DESKTOP, PHONE, SCREENSHOTS, launch_chromium
from tests.web.conftest import DUC, PASSWORD, base_url
from tests.web.test_admin import hr_csv, seed_queue

from govmail.app import App
from govmail.delivery.dkim_sign import generate_key
from govmail.store.models_api import AgencyProfile
from govmail.store.repos.admin import AdminRepo

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async for b in launch_chromium():
        yield b


async def overflow(page: Any) -> int:
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


async def login(page: Any, app: App, account: str) -> None:
    await page.goto(base_url(app) + "/login")
    await page.fill("input[name=account]", account)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.box button")


async def furnish(app: App) -> None:
    """Enough of an installation for pages worth looking at."""
    await add_admins(app)
    private_pem, _public = generate_key(1024)
    async with app.directory.ops() as ops:
        await ops.set_dkim_key("mic.gov.vn", "gm202611", private_pem)
        for name, position in (
            ("Hoàng Thị Thu Trang", "Phó Giám đốc"),
            ("Võ Minh Tuấn", "Chuyên viên"),
            ("Đinh Thị Hồng Nhung", "Văn thư"),
        ):
            await ops.add_mailbox(full_name=name, agency=SO_TTTT, position=position)
        for address, used in ((DUC, 730), ("hangntm@mic.gov.vn", 1410)):
            m = await ops.mailbox(address)
            m.used_bytes, m.quota_bytes = used * 1048576, 2048 * 1048576
        phuyen = await ops.agency(PHUYEN)
        await AdminRepo(ops.tx.session, ops.tx.store.dialect).add(
            AgencyProfile(
                agency_id=phuyen.id,
                regulation_adopted=True,
                regulation_date=date(2015, 3, 12),
                regulation_number="08/2015/QĐ-UBND",
            )
        )
        await ops.set_headcount(phuyen.id, 120)
    await seed_queue(app)
    await app.pipeline.local_domains(refresh=True)


async def shoot(page: Any, name: str, *, check_fit: bool = True) -> None:
    await page.wait_for_load_state("load")
    if check_fit:
        assert await overflow(page) <= 0, name
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def test_admin_suspends_a_mailbox_and_its_owner_cannot_log_in(
    server: App, browser: Any, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await furnish(server)
    origin = base_url(server)
    context = await browser.new_context(viewport=DESKTOP, locale="vi-VN", device_scale_factor=1)
    page = await context.new_page()
    await login(page, server, QUANTRI)
    await page.wait_for_url("**/mail/**")
    await page.goto(origin + "/admin")
    assert "Tổng quan hệ thống thư" in await page.inner_text("h1")
    await shoot(page, "admin-dashboard")

    await page.click("nav.side >> text=Hộp thư")
    await page.fill("input[name=q]", "tran van duc")
    await page.click("form.bar button")
    await page.wait_for_url("**/admin/mailboxes?q=**")
    await shoot(page, "admin-mailboxes")
    await page.click(f"table.grid >> text={DUC}")
    await page.wait_for_selector("button[value=suspend]")
    await shoot(page, "admin-mailbox")
    await page.click("button[value=suspend]")
    await page.wait_for_selector(".flash")
    assert "Đã lưu." in await page.inner_text(".flash")
    assert "Tạm khóa" in await page.inner_text("dl.head")
    assert await page.locator("button[value=reactivate]").count() == 1

    # Đức, on his own computer, is refused.
    other = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
    duc = await other.new_page()
    await login(duc, server, DUC)
    await duc.wait_for_selector(".error")
    assert "Sai địa chỉ thư hoặc mật khẩu" in await duc.inner_text(".error")
    assert "/login" in duc.url
    await other.close()

    for name, path in (
        ("admin-agencies", "/admin/agencies"),
        ("admin-domain", "/admin/domains/mic.gov.vn"),  # the DKIM record to publish
        ("admin-quotas", "/admin/quotas"),
        ("admin-queue", "/admin/queue"),
        ("admin-audit", "/admin/audit"),
        ("admin-tokens", "/admin/tokens"),
    ):
        await page.goto(origin + path)
        await shoot(page, name)

    await page.goto(origin + "/admin/import")
    staff = tmp_path / "nhan-su-so-tttt.csv"
    staff.write_bytes(
        hr_csv(
            [
                ["PY-301", "Trương Thị Mai", SO_TTTT, "Chuyên viên", ""],
                ["PY-302", "Lý Văn Phúc", SO_TTTT, "Chuyên viên", ""],
                ["PY-303", "", SO_TTTT, "", ""],
            ]
        )
    )
    await page.set_input_files("input[name=file]", str(staff))
    await page.click("form[enctype] button")
    await page.wait_for_selector("table.report")
    assert "Tạo mới: 2" in " ".join((await page.inner_text("section.box")).split())
    await shoot(page, "admin-import")
    await context.close()

    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = await browser.new_context(
            viewport=viewport, locale="vi-VN", device_scale_factor=1
        )
        page = await context.new_page()
        for name, path in (
            ("directory", "/danh-ba"),
            ("directory-agency", f"/danh-ba/{SO_TTTT}"),
            ("directory-search", "/danh-ba?q=nguyen+thi"),
        ):
            await page.goto(origin + path)
            await shoot(page, f"{name}-{label}")
        await context.close()


async def test_the_console_works_without_javascript(server: App, browser: Any) -> None:
    await add_admins(server)
    context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = await context.new_page()
    await login(page, server, QUANTRI)
    await page.goto(base_url(server) + "/admin/agencies")
    await page.fill("input[name=name]", "Sở Tư pháp tỉnh Phú Yên")
    await page.fill("input[name=short_name]", "STP")
    await page.select_option("select[name=kind]", "department")
    async with server.store.read() as tx:
        phuyen = await tx.directory.agency_by_code(PHUYEN)
    assert phuyen is not None
    await page.select_option("form.box select[name=parent]", str(phuyen.id))
    await page.click("form.box button.primary")
    await page.wait_for_selector(".flash")
    assert "Sở Tư pháp tỉnh Phú Yên" in await page.inner_text("ul.tree")
    await context.close()
