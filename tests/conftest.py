"""Shared fixtures: settings in a temporary data directory, and a migrated store on
SQLite or PostgreSQL (``store`` is parametrised over both backends)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from govmail.config import Settings, load_settings
from govmail.store.db import Store

PG_ADMIN_DSN = os.environ.get("GOVMAIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_TEMPLATE = f"govmail_tpl_{os.getpid()}"  # one per test run: parallel runs must not collide
_template_state: dict[str, object] = {}


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except Exception:
        return False


def _pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)


def _async_url(dbname: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{dbname}"


def _ensure_pg_template() -> None:
    if _template_state.get("pg"):
        return
    _pg_exec(f"DROP DATABASE IF EXISTS {PG_TEMPLATE}")
    _pg_exec(f"CREATE DATABASE {PG_TEMPLATE}")

    async def migrate() -> None:
        s = Store(_async_url(PG_TEMPLATE), Path("/tmp/govmail-unused-blobs"))
        await s.migrate()
        await s.close()

    asyncio.run(migrate())
    _template_state["pg"] = True


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("GOVMAIL_") and not key.startswith("GOVMAIL_TEST"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return load_settings(general={"data_dir": tmp_path / "data"})


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not _pg_available():
        if os.environ.get("GOVMAIL_TEST_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required but not reachable")
        pytest.skip("PostgreSQL not reachable")
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'govmail.db'}"
        return
    _ensure_pg_template()
    name = f"govmail_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}")
    try:
        yield _async_url(name)
    finally:
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_settings(settings: Settings, database_url: str) -> Settings:
    settings.database.url = database_url
    return settings


@pytest.fixture
async def store(db_settings: Settings) -> AsyncIterator[Store]:
    s = Store(db_settings.database_url, db_settings.blob_dir)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(scope="session", autouse=True)
def _cleanup_template() -> Iterator[None]:
    yield
    if _template_state.get("pg"):
        shutil.rmtree("/tmp/govmail-unused-blobs", ignore_errors=True)
        try:
            _pg_exec(f"DROP DATABASE IF EXISTS {PG_TEMPLATE}")
        except Exception:
            pass
