"""The webmail in a real browser (Debian's chromium driven by Playwright): the daily flow,
hostile mail that must stay inert, pages at 1024×768 and on a phone, and no JavaScript."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.browser_support import DESKTOP, PHONE, SCREENSHOTS, launch_chromium
from tests.web.conftest import DUC, HANG, PASSWORD, append, base_url, folder_id, folder_messages
from tests.web.hostile_corpus import HOSTILE, combined
from tests.web.test_webmail import PDF, fill_inbox, mail

from govmail.app import App

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    """The browser sees the same pages on either database: SQLite only."""
    return "sqlite"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async for b in launch_chromium():
        yield b


class Watch:
    """Everything a page does that hostile mail would want: dialogs, requests, navigation."""

    def __init__(self, page: Any, origin: str) -> None:
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.pwned: list[str] = []
        self.origin = origin
        page.on("dialog", self._dialog)
        page.on("request", self._request)
        page.on("popup", lambda popup: self.foreign.append("popup:" + popup.url))

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def _request(self, request: Any) -> None:
        url = request.url
        if "pwned" in url:
            self.pwned.append(url)
        if not url.startswith(self.origin) and not url.startswith(("data:", "about:")):
            self.foreign.append(url)


async def login(page: Any, app: App, account: str) -> None:
    await page.goto(base_url(app) + "/login")
    await page.fill("input[name=account]", account)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.box button")
    await page.wait_for_url("**/mail/f/**")


async def logout(page: Any) -> None:
    await page.click(".tools form[action='/logout'] button")
    await page.wait_for_url("**/login**")


async def test_send_read_and_search_in_the_browser(
    server: App, browser: Any, tmp_path: Path
) -> None:
    context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = await context.new_page()
    watch = Watch(page, base_url(server))
    await login(page, server, HANG)
    await page.click("text=Soạn thư")
    await page.wait_for_url("**/compose")
    # Recipient suggestion from the directory, diacritics optional.
    await page.type("input[name=to]", "van duc", delay=20)
    await page.click(".suggest li >> text=Trần Văn Đức")
    assert "ductv@mic.gov.vn" in await page.input_value("input[name=to]")
    subject = "Báo cáo kết quả triển khai thư điện tử công vụ năm 2026"
    await page.fill("input[name=subject]", subject)
    await page.fill("textarea[name=body]", "Kính gửi anh Đức,\nEm gửi báo cáo đính kèm.")
    attachment = tmp_path / "Báo cáo năm 2026.pdf"
    attachment.write_bytes(PDF)
    await page.set_input_files("input[name=attachment]", str(attachment))
    await page.click("button[value=send]")
    await page.wait_for_url("**/mail/f/**")
    assert "Đã gửi thư." in await page.inner_text(".flash")
    await logout(page)

    await login(page, server, DUC)
    row = page.locator("table.msgs tr.unseen", has_text=subject)
    assert await row.count() == 1
    assert "Hộp thư đến 1" in " ".join((await page.inner_text("nav.side")).split())
    await row.locator("td.subj a").click()
    await page.wait_for_selector("h1.subject")
    assert await page.inner_text("h1.subject") == subject
    assert "Nguyễn Thị Minh Hằng" in await page.inner_text("dl.head")
    assert "Em gửi báo cáo đính kèm." in await page.inner_text("div.body")
    link = page.locator("ul.atts a[download]")
    assert await link.inner_text() == "Báo cáo năm 2026.pdf"
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == "Báo cáo năm 2026.pdf"
    assert Path(await download.path()).read_bytes() == PDF

    await page.fill("form.qs input[name=q]", "bao cao trien khai thu dien tu")
    await page.press("form.qs input[name=q]", "Enter")
    await page.wait_for_url("**/search?**")
    assert "Tìm thấy 1 thư" in await page.inner_text("section.content")
    assert await page.locator("table.msgs", has_text=subject).count() == 1
    assert watch.dialogs == [] and watch.foreign == []
    await context.close()


async def test_hostile_mail_runs_nothing_in_the_browser(server: App, browser: Any) -> None:
    uids: dict[str, int] = {}
    for name, html in [*HOSTILE.items(), ("combined", combined())]:
        raw = mail(f"Thư độc hại: {name}", "văn bản", html=f"<p>{name}</p>{html}")
        uids[name] = await append(server, HANG, raw)
    inbox = await folder_id(server, HANG)
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    origin = base_url(server)
    watch = Watch(page, origin)
    await context.route(lambda url: not url.startswith(origin), lambda route: route.abort())
    await login(page, server, HANG)
    for name, uid in uids.items():
        await page.goto(f"{origin}/mail/f/{inbox}/m/{uid}")
        frame_element = await page.wait_for_selector("iframe.body")
        frame = await frame_element.content_frame()
        assert frame is not None
        await frame.wait_for_load_state()
        assert await frame.evaluate("document.querySelectorAll('script').length") == 0, name
        handlers = await frame.evaluate(
            "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
            ".filter(a => a.name.startsWith('on')).map(a => a.name))"
        )
        assert handlers == [], name
        if name == "combined":
            # Click whatever can be clicked inside the mail; nothing may run or navigate.
            for anchor in await frame.query_selector_all("a, button, x, details summary"):
                if await anchor.is_visible():
                    await anchor.click(timeout=2000, no_wait_after=True)
            await page.wait_for_timeout(200)
        assert page.url.startswith(f"{origin}/mail/f/{inbox}/m/{uid}"), name
        assert frame.url.startswith(f"{origin}/mail/f/{inbox}/m/{uid}/body"), name
        assert await page.title() != "pwned"
    assert watch.dialogs == []
    assert watch.pwned == []
    assert watch.foreign == []
    await context.close()


async def test_remote_images_load_only_when_asked(server: App, browser: Any) -> None:
    raw = mail("Bản tin có ảnh", "x", html='<p>Ảnh:</p><img src="http://images.evil.test/a.png">')
    uid = await append(server, HANG, raw)
    inbox = await folder_id(server, HANG)
    context = await browser.new_context(viewport=DESKTOP)
    origin = base_url(server)
    requested: list[str] = []

    async def block(route: Any) -> None:
        requested.append(route.request.url)
        await route.abort()

    await context.route(lambda url: not url.startswith(origin), block)
    page = await context.new_page()
    await login(page, server, HANG)
    await page.goto(f"{origin}/mail/f/{inbox}/m/{uid}")
    await page.wait_for_selector("iframe.body")
    await page.wait_for_timeout(200)
    assert requested == []
    await page.click("text=Hiển thị hình ảnh")
    await page.wait_for_selector("iframe.body")
    await page.wait_for_timeout(300)
    assert requested == ["http://images.evil.test/a.png"]
    await context.close()


async def overflow(page: Any) -> int:
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


async def test_screenshots_fit_desktop_and_phone(server: App, browser: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await fill_inbox(server, 23)
    long_subject = "Giấy mời họp trực tuyến tổng kết công tác ứng dụng công nghệ thông tin " * 3
    uid = await append(
        server,
        HANG,
        mail(
            long_subject.strip(),
            "Kính gửi: Các sở, ban, ngành tỉnh Phú Yên\n\nhttps://phuyen.gov.vn/" + "x" * 150,
            sender="Văn phòng Ủy ban nhân dân tỉnh Phú Yên <vanphong@phuyen.gov.vn>",
            attachments=[("Giấy mời số 125-GM-UBND.pdf", "application/pdf", PDF)],
        ),
    )
    inbox = await folder_id(server, HANG)
    origin = base_url(server)
    pages = {
        "inbox": f"/mail/f/{inbox}",
        "message": f"/mail/f/{inbox}/m/{uid}",
        "compose": "/compose",
        "search": "/search?q=cong+van",
        "settings": "/settings",
    }
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = await browser.new_context(viewport=viewport, device_scale_factor=1)
        page = await context.new_page()
        await page.goto(origin + "/login")
        assert await overflow(page) <= 0, ("login", label)
        await page.screenshot(path=str(SCREENSHOTS / f"login-{label}.png"))
        await login(page, server, HANG)
        for name, path in pages.items():
            await page.goto(origin + path)
            await page.wait_for_load_state("load")
            assert await overflow(page) <= 0, (name, label)
            await page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"))
        await context.close()


async def test_the_webmail_works_without_javascript(server: App, browser: Any) -> None:
    await fill_inbox(server, 2)
    context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = await context.new_page()
    await login(page, server, HANG)
    assert await page.locator("table.msgs tr").count() == 2
    await page.locator("table.msgs td.subj a").first.click()
    await page.wait_for_selector("h1.subject")
    await page.click("text=Trả lời")
    await page.wait_for_url("**/compose?reply=**")
    assert (await page.input_value("input[name=subject]")).startswith("Re: Công văn số")
    await page.fill("textarea[name=body]", "Đã nhận, xin cảm ơn.")
    await page.click("button[value=send]")
    await page.wait_for_url("**/mail/f/**")
    (reply,) = await folder_messages(server, DUC)
    assert reply.subject.startswith("Re: Công văn số")
    # Select with a checkbox and move to Archive, all by plain form posts.
    await page.locator("table.msgs input[name=uid]").first.check()
    await page.select_option("select[name=target]", label="Lưu trữ")
    await page.click("button[value=move]")
    await page.wait_for_url("**flash=moved**")
    assert len(await folder_messages(server, HANG, "Archive")) == 1
    query = urllib.parse.quote("cong van")
    await page.goto(base_url(server) + f"/search?q={query}")
    assert "Tìm thấy 3 thư" in await page.inner_text("section.content")  # 2 + the reply
    await context.close()
