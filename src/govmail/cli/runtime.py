"""What every command needs: settings, the store and the directory, opened once."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from govmail.config import Settings, load_settings
from govmail.directory.base import Actor
from govmail.directory.service import Directory
from govmail.i18n import set_default_language
from govmail.store.db import Store

T = TypeVar("T")


@dataclass
class CliState:
    config: Path | None = None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
            set_default_language(self._settings.general.language)
        return self._settings


state = CliState()


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return Actor(f"cli:{user}", "cli")


@dataclass
class Runtime:
    settings: Settings
    store: Store
    directory: Directory


@asynccontextmanager
async def runtime() -> AsyncIterator[Runtime]:
    settings = state.settings
    store = Store(
        settings.database_url,
        settings.blob_dir,
        echo=settings.database.echo_sql,
        pool_size=settings.database.pool_size,
    )
    await store.open()
    try:
        yield Runtime(settings, store, Directory(store, settings))
    finally:
        await store.close()


def run(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``fn`` with an open runtime, in a fresh event loop."""

    async def main() -> T:
        async with runtime() as rt:
            return await fn(rt)

    return asyncio.run(main())


def run_plain(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())
