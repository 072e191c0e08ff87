"""The directory's entry point: operations run inside one store transaction each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from govmail.config import Settings
from govmail.directory.base import SYSTEM, Actor
from govmail.directory.groups import GroupOps
from govmail.store.db import Store


class DirectoryOps(GroupOps):
    """Every directory operation, bound to one transaction and one actor."""


class Directory:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        # Bumped after every change made through ops(): caches of directory answers in
        # this process (recipient resolution) compare it to know they are stale.
        self.generation = 0

    @asynccontextmanager
    async def ops(self, actor: Actor = SYSTEM) -> AsyncIterator[DirectoryOps]:
        """Operations in a write transaction: all of them land, or (on error) none."""
        try:
            async with self.store.write() as tx:
                yield self.bind(tx, actor)
        finally:
            self.generation += 1

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[DirectoryOps]:
        async with self.store.read() as tx:
            yield self.bind(tx, SYSTEM)

    def bind(self, tx, actor: Actor = SYSTEM) -> DirectoryOps:  # type: ignore[no-untyped-def]
        return DirectoryOps(
            tx,
            self.settings.directory,
            actor,
            self.settings.limits.default_quota_mb * 1024 * 1024,
        )
