"""The web foundation: security headers, cookies, CSRF, sessions, body limit, languages,
error pages, static assets, and the message catalogues the templates use."""

from __future__ import annotations

import importlib
import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from tests.web.conftest import (
    DUC,
    HANG,
    PASSWORD,
    UPLOAD_LIMIT,
    WebClient,
    base_url,
    folder_messages,
)

from govmail.app import App
from govmail.store.models import WebSession, utcnow
from govmail.web.app import ROUTE_MODULES
from govmail.web.routing import safe_path
from govmail.web.security import PAGE_CSP


@pytest.fixture
def backend() -> str:
    """The foundation does not depend on the database: SQLite only (the webmail and rules
    tests run on both)."""
    return "sqlite"


TEMPLATES = Path(__file__).parents[2] / "src/govmail/web/templates"
I18N = Path(__file__).parents[2] / "src/govmail/i18n"


async def test_pages_carry_strict_security_headers(web: WebClient) -> None:
    r = await web.get("/login")
    assert r.status_code == 200
    h = r.headers
    assert h["content-security-policy"] == PAGE_CSP
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"):
        assert directive in h["content-security-policy"]
    assert "unsafe-inline" not in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
    # The anonymous CSRF binding cookie: HttpOnly, SameSite=Strict.
    cookie = h["set-cookie"].lower()
    assert cookie.startswith("gm_pre=") and "httponly" in cookie and "samesite=strict" in cookie
    assert r.text.startswith("<!doctype html>") and 'lang="vi"' in r.text


async def test_login_sets_httponly_samesite_session_cookie(web: WebClient) -> None:
    await web.get("/login")
    r = await web.post_form("/login", {"account": HANG, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/mail"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("gm_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    # Plain HTTP on loopback: Secure would stop the browser from sending it at all.
    assert "secure" not in cookie
    r = await web.follow(r)
    assert r.status_code == 200 and "Hộp thư đến" in r.text


async def test_wrong_password_is_refused_and_counted_by_the_shared_guard(
    server: App, web: WebClient
) -> None:
    await web.get("/login")
    r = await web.post_form("/login", {"account": HANG, "password": "sai mật khẩu"})
    assert r.status_code == 401
    assert "Sai địa chỉ thư hoặc mật khẩu" in r.text
    assert server.guard.by_account.count(HANG) == 1
    assert server.guard.stats[("web", "failure")] == 1
    # Past the limit the same guard that protects IMAP and SMTP locks the web door too.
    for _ in range(server.settings.auth.max_failures_per_account):
        server.guard.by_account.allow(HANG)
    r = await web.post_form("/login", {"account": HANG, "password": PASSWORD})
    assert r.status_code == 429 and "Tạm khóa đăng nhập" in r.text
    assert "gm_session" not in r.headers.get("set-cookie", "")


async def test_post_without_or_with_wrong_csrf_token_changes_nothing(
    server: App, hang: WebClient
) -> None:
    before = await folder_messages(server, HANG, "Drafts")
    data = {"to": DUC, "subject": "Nháp", "body": "x", "action": "draft"}
    for token in (None, "0" * 48, hang.csrf[:-1] + ("0" if hang.csrf[-1] != "0" else "1")):
        form = dict(data) if token is None else {**data, "_csrf": token}
        if token is None:
            r = await hang.http.post("/compose", data=form)
        else:
            r = await hang.post_form("/compose", form)
        assert r.status_code == 403
        assert "Biểu mẫu đã cũ" in r.text
    assert await folder_messages(server, HANG, "Drafts") == before
    # A token from another session does not work either.
    other = WebClient(server)
    try:
        await other.login(DUC)
        r = await hang.post_form("/compose", {**data, "_csrf": other.csrf})
        assert r.status_code == 403
    finally:
        await other.close()
    r = await hang.post_form("/compose", data)
    assert r.status_code == 303
    assert len(await folder_messages(server, HANG, "Drafts")) == len(before) + 1


async def test_every_post_route_checks_csrf(server: App, hang: WebClient) -> None:
    routes = [r for m in ROUTE_MODULES for r in importlib.import_module(m).router.routes]
    posts = [r.path for r in routes if "POST" in (r.methods or ())]
    assert "/compose" in posts and "/login" in posts and len(posts) >= 15
    for path in posts:
        url = re.sub(r"\{[a-z_]+(:int)?\}", "1", path)
        r = await hang.http.post(url, data={"x": "1"})
        assert r.status_code == 403, path


async def test_expired_session_redirects_reads_and_refuses_writes(
    server: App, hang: WebClient
) -> None:
    async with server.store.write() as tx:
        await tx.session.execute(
            update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = await hang.http.post(
        "/compose",
        data={"_csrf": hang.csrf, "to": DUC, "subject": "x", "body": "y", "action": "draft"},
    )
    assert r.status_code == 401
    assert "Phiên làm việc đã hết hạn nên thao tác chưa được thực hiện" in r.text
    assert await folder_messages(server, HANG, "Drafts") == []
    r = await hang.get("/mail")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert "expired=1" in r.headers["location"]
    r = await hang.follow(r)
    assert "Phiên làm việc đã hết hạn; xin đăng nhập lại" in r.text
    async with server.store.read() as tx:
        assert (await tx.session.execute(WebSession.__table__.select())).all() == []


async def test_logout_ends_the_session(server: App, hang: WebClient) -> None:
    r = await hang.post_form("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login?flash=logged_out"
    r = await hang.get("/mail")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_oversized_upload_gets_a_clear_413_and_stores_nothing(
    server: App, hang: WebClient
) -> None:
    big = b"\x00" * (UPLOAD_LIMIT + 2 * 1024 * 1024)
    r = await hang.http.post(
        "/compose",
        data={"_csrf": hang.csrf, "to": DUC, "subject": "To", "body": "b", "action": "send"},
        files={"attachment": ("lon.bin", big, "application/octet-stream")},
    )
    assert r.status_code == 413
    assert "vượt quá giới hạn cho phép; không có gì được lưu" in r.text
    assert await folder_messages(server, DUC) == []
    assert await folder_messages(server, HANG, "Sent") == []
    assert await folder_messages(server, HANG, "Drafts") == []

    # A body without Content-Length (chunked) is counted as it arrives.
    boundary = "govmailtest"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n{hang.csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="a.bin"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()

    async def chunks():  # type: ignore[no-untyped-def]
        yield head
        for _ in range(5):
            yield b"a" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await hang.http.post(
        "/compose",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413
    assert "vượt quá giới hạn" in r.text
    assert await folder_messages(server, DUC) == []
    assert await folder_messages(server, HANG, "Drafts") == []


async def test_language_switch_is_remembered_for_the_user(server: App, hang: WebClient) -> None:
    r = await hang.post_form("/lang", {"lang": "en", "next": "/mail"})
    assert r.status_code == 303
    r = await hang.follow(r)
    assert 'lang="en"' in r.text and "Inbox" in r.text and "Hộp thư đến" not in r.text
    async with server.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(HANG)
        assert mb is not None and mb.language == "en"
    # A new login of the same user comes back in English.
    again = WebClient(server)
    try:
        r = await again.login(HANG)
        assert 'lang="en"' in r.text
    finally:
        await again.close()


async def test_anonymous_language_switch_uses_a_cookie(web: WebClient) -> None:
    await web.get("/login")
    r = await web.post_form("/lang", {"lang": "en", "next": "/login"})
    assert r.status_code == 303
    r = await web.follow(r)
    assert "Sign in to your mailbox" in r.text


async def test_unknown_page_and_method_give_translated_error_pages(web: WebClient) -> None:
    r = await web.get("/khong-co")
    assert r.status_code == 404 and "Trang này không tồn tại" in r.text
    assert r.headers["content-security-policy"] == PAGE_CSP
    r = await web.http.put("/login")
    assert r.status_code == 405


async def test_static_assets_are_hashed_cached_and_compressed(web: WebClient) -> None:
    r = await web.get("/login")
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', r.text)
    assert {u.rsplit("/", 1)[1] for u in urls} == {"app.css", "app.js"}
    for url in urls:
        s = await web.http.get(url, headers={"accept-encoding": "gzip"})
        assert s.status_code == 200
        assert s.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert s.headers["content-encoding"] == "gzip"


async def test_healthz_still_reports_every_service(web: WebClient) -> None:
    r = await web.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_safe_path_refuses_open_redirects() -> None:
    assert safe_path("/mail/f/1?x=1") == "/mail/f/1?x=1"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", "javascript:alert(1)", ""):
        assert safe_path(bad) == "/"


def test_every_catalogue_key_the_templates_use_exists_in_both_languages() -> None:
    vi = json.loads((I18N / "vi.json").read_text(encoding="utf-8"))
    en = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
    used: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        found = re.findall(r"""_\(\s*["'](web\.[a-z0-9_.]+)["']""", path.read_text())
        used |= {k for k in found if not k.endswith("_")}
    py = Path(__file__).parents[2] / "src/govmail/web"
    for path in py.rglob("*.py"):
        used |= {k for k in re.findall(r"""["'](web\.[a-z0-9_.]+)["']""", path.read_text())
                 if not k.endswith(("_", ".key"))}  # fmt: skip
    assert len(used) > 100
    missing = sorted(k for k in used if k not in vi or k not in en)
    assert missing == []


async def test_inbox_weighs_under_60_kb_compressed_with_all_its_assets(
    server: App, hang: WebClient
) -> None:
    from tests.web.test_webmail import fill_inbox

    await fill_inbox(server, 50)
    r = await hang.http.get("/mail/f/1", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.text.count('name="uid"') == 50
    assert r.headers["content-encoding"] == "gzip"
    total = r.num_bytes_downloaded  # compressed bytes, as they came over the wire
    assert total < len(r.content) / 3
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', r.text):
        async with httpx.AsyncClient(base_url=base_url(server)) as raw_client:
            s = await raw_client.get(url, headers={"accept-encoding": "gzip"})
            total += int(s.headers["content-length"])
    assert "<img" not in r.text  # no other resource to count
    assert total < 60 * 1024, total


@pytest.mark.parametrize("path", ["/mail", "/compose", "/settings", "/search?q=a"])
async def test_pages_need_a_login(web: WebClient, path: str) -> None:
    r = await web.get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
