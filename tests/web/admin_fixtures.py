"""Fixtures of the console, public-directory and API tests: an installation
administrator, an agency administrator of Phú Yên (with a department under it), logged-in
clients for both, and API tokens made the way the console makes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.web.conftest import WebClient, base_url, password_hash

from govmail.app import App
from govmail.directory.base import Actor
from govmail.web.api.tokens import create_token

QUANTRI = "quantri@mic.gov.vn"
TAM = "tamlv@phuyen.gov.vn"
MIC = "000.00.00.G14"
PHUYEN = "000.00.00.H45"
SO_TTTT = "000.01.45.H45"  # a department under Phú Yên
NGA = "ngant@phuyen.gov.vn"  # a person in that department


async def add_admins(app: App) -> None:
    async with app.directory.ops() as ops:
        admin = await ops.add_mailbox(
            full_name="Quản trị hệ thống",
            agency=MIC,
            local_part="quantri",
            position="Quản trị viên",
            listed=False,
        )
        admin.password_hash = password_hash()
        await ops.grant_role(QUANTRI, "installation_admin")
        await ops.grant_role(TAM, "agency_admin", PHUYEN)
        await ops.add_agency(
            name="Sở Thông tin và Truyền thông tỉnh Phú Yên",
            short_name="Sở TT&TT",
            kind="department",
            code=SO_TTTT,
            parent=PHUYEN,
            role="dept_ict",
        )
        nga = await ops.add_mailbox(
            full_name="Nguyễn Thị Nga",
            agency=SO_TTTT,
            position="Chuyên viên",
            phone="0257 3811 222",
        )
        nga.password_hash = password_hash()
        await ops.add_mailbox(
            full_name="Văn thư UBND tỉnh Phú Yên",
            agency=PHUYEN,
            kind="agency",
            local_part="vanthu",
        )


async def logged_in(app: App, account: str) -> WebClient:
    client = WebClient(app)
    r = await client.login(account)
    assert r.status_code == 200, r.text
    return client


@pytest.fixture
async def org(server: App) -> App:
    """The web tests' organisation plus the administrators."""
    await add_admins(server)
    await server.pipeline.local_domains(refresh=True)
    return server


@pytest.fixture
async def quantri(org: App) -> AsyncIterator[WebClient]:
    client = await logged_in(org, QUANTRI)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def tam(org: App) -> AsyncIterator[WebClient]:
    """Lê Văn Tám, agency administrator of Phú Yên."""
    client = await logged_in(org, TAM)
    try:
        yield client
    finally:
        await client.close()


async def make_token(
    app: App,
    scopes: list[str],
    *,
    mailbox: str | None = None,
    agency: str | None = None,
    expires_days: int | None = None,
) -> str:
    new = await create_token(
        app.directory,
        Actor(QUANTRI, "web"),
        label="test",
        scopes=scopes,
        mailbox=mailbox,
        agency=agency,
        expires_days=expires_days,
    )
    return new.secret


class Api:
    """A plain HTTP client for /api/v1 (no cookies) with a bearer token."""

    def __init__(self, app: App, token: str | None, lang: str = "vi") -> None:
        headers = {"accept-language": lang}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.http = httpx.AsyncClient(
            base_url=base_url(app) + "/api/v1", headers=headers, timeout=30
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.post(path, json=json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.patch(path, json=json, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.delete(path, **kw)


async def audit_actions(app: App, **filters: Any) -> list[Any]:
    async with app.store.read() as tx:
        return list(await tx.audit.search(limit=1000, **filters))


def chosen_backend(request: pytest.FixtureRequest) -> str:
    """For a module's ``backend`` fixture: SQLite unless a test asks for both databases
    with ``@both`` (PostgreSQL skipped when not reachable, as in tests/conftest.py)."""
    import os

    from tests.conftest import _pg_available

    param = getattr(request, "param", "sqlite")
    if param == "postgres" and not _pg_available():
        if os.environ.get("GOVMAIL_TEST_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required but not reachable")
        pytest.skip("PostgreSQL not reachable")
    return str(param)


both = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
