"""A transaction handed to the layers above: the session plus its repositories."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.repos.audit import AuditRepo
from govmail.store.repos.directory import DirectoryRepo
from govmail.store.repos.mail import MailRepo
from govmail.store.repos.queue import QueueRepo
from govmail.store.repos.search import SearchRepo

if TYPE_CHECKING:
    from govmail.store.db import Store


class Tx:
    def __init__(self, session: AsyncSession, store: Store) -> None:
        self.session = session
        self.store = store

    @cached_property
    def directory(self) -> DirectoryRepo:
        return DirectoryRepo(self.session)

    @cached_property
    def mail(self) -> MailRepo:
        return MailRepo(self.session, self.store.dialect)

    @cached_property
    def search(self) -> SearchRepo:
        return SearchRepo(self.session, self.store.dialect)

    @cached_property
    def audit(self) -> AuditRepo:
        return AuditRepo(self.session)

    @cached_property
    def queue(self) -> QueueRepo:
        return QueueRepo(self.session)

    async def flush(self) -> None:
        await self.session.flush()
