"""A running govmail (every listener on 127.0.0.1, ephemeral ports, SQLite and PostgreSQL)
with a small organisation, and a browser-like HTTP client that keeps cookies and fills
in CSRF tokens the way a real form submission does."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from govmail.app import App
from govmail.config import Settings
from govmail.directory.passwords import hash_password_sync

PASSWORD = "mật khẩu dài đủ"
HANG = "hangntm@mic.gov.vn"
DUC = "ductv@mic.gov.vn"
TAM = "tamlv@phuyen.gov.vn"
UPLOAD_LIMIT = 2 * 1024 * 1024  # limits.max_message_size in these tests

_CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Debian's chromium)")


@functools.cache
def password_hash() -> str:
    return hash_password_sync(PASSWORD)


async def start_server(settings: Settings) -> App:
    ls = settings.listeners
    for attr in (
        "smtp_port",
        "submission_port",
        "submissions_port",
        "http_port",
        "imap_port",
        "imaps_port",
        "pop3_port",
        "pop3s_port",
    ):
        setattr(ls, attr, 0)
    settings.general.hostname = "mail.mic.gov.vn"
    settings.limits.max_message_size = UPLOAD_LIMIT
    app = App(settings)
    await app.start()
    async with app.directory.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        await ops.add_domain("phuyen.gov.vn")
        await ops.add_agency(
            name="Bộ Thông tin và Truyền thông",
            short_name="BTTTT",
            kind="ministry",
            code="000.00.00.G14",
            domain="mic.gov.vn",
        )
        await ops.add_agency(
            name="Ủy ban nhân dân tỉnh Phú Yên",
            short_name="UBND",
            kind="province",
            code="000.00.00.H45",
            domain="phuyen.gov.vn",
        )
        people = [
            await ops.add_mailbox(full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14"),
            await ops.add_mailbox(full_name="Trần Văn Đức", agency="000.00.00.G14"),
            await ops.add_mailbox(full_name="Lê Văn Tám", agency="000.00.00.H45"),
        ]
        for person in people:  # one argon2 hash for every test run: hashing is slow on purpose
            person.password_hash = password_hash()
        await ops.add_mailbox(
            full_name="Văn thư Bộ", agency="000.00.00.G14", kind="agency", local_part="vanthu"
        )
        await ops.add_handler("vanthu@mic.gov.vn", HANG)
        await ops.add_group("lanhdao@mic.gov.vn", "Lãnh đạo Bộ")
        await ops.add_group_member("lanhdao@mic.gov.vn", HANG)
        await ops.add_group_member("lanhdao@mic.gov.vn", DUC)
    await app.pipeline.local_domains(refresh=True)
    return app


@pytest.fixture
async def server(db_settings: Settings) -> AsyncIterator[App]:
    app = await start_server(db_settings)
    try:
        yield app
    finally:
        await app.pipeline.wait_background()
        await app.stop()


def base_url(app: App) -> str:
    return f"http://127.0.0.1:{app.service('http').port}"  # type: ignore[attr-defined]


class WebClient:
    """httpx with cookies, plus: ``csrf`` (last token seen), ``post_form`` (adds it)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.http = httpx.AsyncClient(base_url=base_url(app), follow_redirects=False, timeout=30)
        self.csrf = ""

    async def close(self) -> None:
        await self.http.aclose()

    def _remember(self, r: httpx.Response) -> httpx.Response:
        m = _CSRF.search(r.text) if "text/html" in r.headers.get("content-type", "") else None
        if m:
            self.csrf = m.group(1)
        return r

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._remember(await self.http.get(url, **kw))

    async def follow(self, r: httpx.Response) -> httpx.Response:
        while r.status_code in (301, 302, 303, 307) and "location" in r.headers:
            r = await self.get(r.headers["location"])
        return r

    async def post_form(
        self, url: str, data: dict[str, Any] | list[tuple[str, Any]] | None = None, **kw: Any
    ) -> httpx.Response:
        items = list(data.items()) if isinstance(data, dict) else list(data or [])
        if not any(k == "_csrf" for k, _ in items):
            items.append(("_csrf", self.csrf))
        form: dict[str, list[Any]] = {}
        for k, v in items:
            form.setdefault(k, []).append(v)
        return self._remember(await self.http.post(url, data=form, **kw))

    async def login(self, account: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/login")
        r = await self.post_form("/login", {"account": account, "password": password})
        return await self.follow(r)


@pytest.fixture
async def web(server: App) -> AsyncIterator[WebClient]:
    client = WebClient(server)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def hang(server: App) -> AsyncIterator[WebClient]:
    """Hằng, logged in."""
    client = WebClient(server)
    r = await client.login(HANG)
    assert r.status_code == 200, r.text
    try:
        yield client
    finally:
        await client.close()


async def deliver(app: App, raw: bytes, to: list[str], sender: str = DUC) -> Any:
    """Hand a message to the pipeline as the submission door does for a logged-in user."""
    from govmail.delivery.envelope import Envelope

    env = Envelope(sender, to, "submission", client_ip="127.0.0.1", auth_user=sender)
    return await app.pipeline.deliver(env, raw)


async def append(app: App, address: str, raw: bytes, name: str = "INBOX") -> int:
    """Store ``raw`` straight into a folder (as IMAP APPEND does); returns its UID."""
    async with app.store.read() as tx:
        folder = await tx.mail.folder_by_id(await folder_id(app, address, name))
    assert folder is not None
    return (await app.mailstore.append(folder, raw)).uid


async def folder_id(app: App, address: str, name: str = "INBOX") -> int:
    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(address)
        assert mb is not None
        f = await tx.mail.folder(mb.id, name)
        assert f is not None
        return f.id


async def folder_messages(app: App, address: str, name: str = "INBOX") -> list[Any]:
    async with app.store.read() as tx:
        return list(await tx.mail.messages(await folder_id(app, address, name)))
