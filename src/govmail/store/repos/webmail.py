"""Queries for the web doors and the per-mailbox rules they edit: browser sessions,
vacation replies, filters, message listings over several folders, directory suggestions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import (
    Folder,
    Group,
    Mailbox,
    MailFilter,
    Message,
    Vacation,
    VacationReply,
    WebSession,
)
from govmail.store.repos.search import HEADER_COLUMNS, SearchRepo

ORDER_COLUMNS = {
    "date": Message.internal_date,
    "subject": Message.subject_fold,
    "from": Message.from_fold,
    "size": Message.size,
}


@dataclass(frozen=True, slots=True)
class ListedMessage:
    folder_id: int
    uid: int
    seen: bool
    flagged: bool
    subject: str
    from_addr: str
    from_display: str | None
    first_to: str | None
    internal_date: datetime
    size: int
    has_attachments: bool


class WebRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    async def add(self, obj: Any) -> Any:
        self.s.add(obj)
        await self.s.flush()
        return obj

    async def remove(self, obj: Any) -> None:
        await self.s.delete(obj)
        await self.s.flush()

    # -- browser sessions ----------------------------------------------------------------
    async def session_with_mailbox(self, token_hash: str) -> tuple[WebSession, Mailbox] | None:
        row = (
            await self.s.execute(
                select(WebSession, Mailbox)
                .join(Mailbox, Mailbox.id == WebSession.mailbox_id)
                .where(WebSession.token_hash == token_hash)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def session_by_id(self, session_id: int) -> WebSession | None:
        return await self.s.get(WebSession, session_id)

    async def delete_session(self, session_id: int) -> None:
        await self.s.execute(delete(WebSession).where(WebSession.id == session_id))

    async def delete_sessions_of(self, mailbox_id: int, *, keep: int | None = None) -> int:
        q = delete(WebSession).where(WebSession.mailbox_id == mailbox_id)
        if keep is not None:
            q = q.where(WebSession.id != keep)
        res = await self.s.execute(q)
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    async def delete_expired_sessions(self, now: datetime) -> int:
        res = await self.s.execute(delete(WebSession).where(WebSession.expires_at <= now))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    async def touch_session(self, session_id: int, now: datetime, expires_at: datetime) -> None:
        await self.s.execute(
            update(WebSession)
            .where(WebSession.id == session_id)
            .values(last_seen_at=now, expires_at=expires_at)
        )

    # -- vacation ------------------------------------------------------------------------
    async def vacation_of(self, mailbox_id: int) -> Vacation | None:
        return await self.s.get(Vacation, mailbox_id)

    async def vacation_mailboxes(self, now: datetime) -> set[int]:
        """Mailboxes with an enabled auto-reply that has not ended."""
        rows = await self.s.scalars(
            select(Vacation.mailbox_id).where(
                Vacation.enabled.is_(True), or_(Vacation.ends_at.is_(None), Vacation.ends_at > now)
            )
        )
        return set(rows.all())

    async def active_vacations(self, mailbox_ids: Sequence[int], now: datetime) -> list[Vacation]:
        if not mailbox_ids:
            return []
        rows = await self.s.scalars(
            select(Vacation).where(
                Vacation.mailbox_id.in_(list(mailbox_ids)),
                Vacation.enabled.is_(True),
                or_(Vacation.starts_at.is_(None), Vacation.starts_at <= now),
                or_(Vacation.ends_at.is_(None), Vacation.ends_at > now),
            )
        )
        return list(rows.all())

    async def claim_vacation_reply(
        self, mailbox_id: int, sender: str, now: datetime, not_since: datetime
    ) -> bool:
        """Record a reply to ``sender`` unless one was sent after ``not_since``.

        One statement (insert, or update only when the last reply is old enough), so two
        deliveries at the same moment cannot both claim it. True when the caller may reply.
        """
        ins = (pg_insert if self.dialect == "postgresql" else sqlite_insert)(VacationReply)
        stmt = (
            ins.values(mailbox_id=mailbox_id, sender=sender, sent_at=now)
            .on_conflict_do_update(
                index_elements=[VacationReply.mailbox_id, VacationReply.sender],
                set_={"sent_at": now},
                where=VacationReply.sent_at <= not_since,
            )
            .returning(VacationReply.id)
        )
        return (await self.s.execute(stmt)).first() is not None

    async def forget_vacation_replies(self, mailbox_id: int) -> None:
        await self.s.execute(delete(VacationReply).where(VacationReply.mailbox_id == mailbox_id))

    # -- filters -------------------------------------------------------------------------
    async def filters_of(self, mailbox_id: int) -> Sequence[MailFilter]:
        return (
            await self.s.scalars(
                select(MailFilter)
                .where(MailFilter.mailbox_id == mailbox_id)
                .order_by(MailFilter.position, MailFilter.id)
            )
        ).all()

    async def enabled_filters(self, mailbox_ids: Sequence[int]) -> dict[int, list[MailFilter]]:
        if not mailbox_ids:
            return {}
        rows = await self.s.scalars(
            select(MailFilter)
            .where(MailFilter.mailbox_id.in_(list(mailbox_ids)), MailFilter.enabled.is_(True))
            .order_by(MailFilter.mailbox_id, MailFilter.position, MailFilter.id)
        )
        out: dict[int, list[MailFilter]] = {}
        for f in rows.all():
            out.setdefault(f.mailbox_id, []).append(f)
        return out

    async def filter_by_id(self, filter_id: int) -> MailFilter | None:
        return await self.s.get(MailFilter, filter_id)

    async def next_filter_position(self, mailbox_id: int) -> int:
        top = await self.s.scalar(
            select(func.max(MailFilter.position)).where(MailFilter.mailbox_id == mailbox_id)
        )
        return int(top or 0) + 1

    # -- folders and messages ------------------------------------------------------------
    async def folders_by_ids(self, folder_ids: Sequence[int]) -> dict[int, Folder]:
        if not folder_ids:
            return {}
        rows = await self.s.scalars(select(Folder).where(Folder.id.in_(list(folder_ids))))
        return {f.id: f for f in rows.all()}

    async def folder_totals(self, folder_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """{folder_id: (messages, unseen)}, answered from the (folder_id, seen) index alone,
        without reading message rows (the folder list is on every webmail page)."""
        if not folder_ids:
            return {}
        rows = await self.s.execute(
            select(Message.folder_id, Message.seen, func.count())
            .where(Message.folder_id.in_(list(folder_ids)))
            .group_by(Message.folder_id, Message.seen)
        )
        out = {fid: (0, 0) for fid in folder_ids}
        for fid, seen, n in rows.all():
            total, unseen = out[fid]
            out[fid] = (total + int(n), unseen + (0 if seen else int(n)))
        return out

    def text_condition(self, term: str) -> ColumnElement[bool]:
        """A message whose headers or body contain the folded ``term`` (IMAP TEXT)."""
        search = SearchRepo(self.s, self.dialect)
        return or_(
            search.body_condition(term),
            *(search.header_condition(f, term) for f in HEADER_COLUMNS),
        )

    def header_term_condition(self, field: str, term: str) -> ColumnElement[bool]:
        return SearchRepo(self.s, self.dialect).header_condition(field, term)

    def flag_condition(self, flag: str) -> ColumnElement[bool]:
        """``unseen`` / ``flagged`` / ``attachments``: quick listing filters."""
        if flag == "unseen":
            return Message.seen.is_(False)
        if flag == "flagged":
            return Message.flagged.is_(True)
        if flag == "attachments":
            return Message.has_attachments.is_(True)
        raise ValueError(f"unknown listing filter {flag!r}")

    async def count_messages(
        self, folder_ids: Sequence[int], conditions: Sequence[ColumnElement[bool]] = ()
    ) -> int:
        if not folder_ids:
            return 0
        q = select(func.count(Message.id)).where(
            Message.folder_id.in_(list(folder_ids)), *conditions
        )
        return int(await self.s.scalar(q) or 0)

    async def listing(
        self,
        folder_ids: Sequence[int],
        conditions: Sequence[ColumnElement[bool]] = (),
        *,
        order: str = "date",
        descending: bool = True,
        offset: int = 0,
        limit: int = 50,
    ) -> list[ListedMessage]:
        """A page of messages from one or more folders (listings, search results): only
        what a list shows, no ORM objects; from the parsed metadata only the sender's name
        and the first recipient, read in SQL."""
        if not folder_ids:
            return []
        key = ORDER_COLUMNS[order]
        q = (
            select(
                Message.folder_id,
                Message.uid,
                Message.seen,
                Message.flagged,
                Message.subject,
                Message.from_addr,
                Message.meta["from_display"].as_string(),
                Message.meta[("to_addrs", 0)].as_string(),
                Message.internal_date,
                Message.size,
                Message.has_attachments,
            )
            .where(Message.folder_id.in_(list(folder_ids)), *conditions)
            .order_by(key.desc() if descending else key.asc(), Message.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [ListedMessage(*row) for row in (await self.s.execute(q)).all()]

    async def neighbours(self, folder_id: int, message: Message) -> tuple[int | None, int | None]:
        """UIDs of the newer and older message around ``message`` in date order."""
        newer = await self.s.scalar(
            select(Message.uid)
            .where(
                Message.folder_id == folder_id,
                or_(
                    Message.internal_date > message.internal_date,
                    (Message.internal_date == message.internal_date) & (Message.uid > message.uid),
                ),
            )
            .order_by(Message.internal_date.asc(), Message.uid.asc())
            .limit(1)
        )
        older = await self.s.scalar(
            select(Message.uid)
            .where(
                Message.folder_id == folder_id,
                or_(
                    Message.internal_date < message.internal_date,
                    (Message.internal_date == message.internal_date) & (Message.uid < message.uid),
                ),
            )
            .order_by(Message.internal_date.desc(), Message.uid.desc())
            .limit(1)
        )
        return newer, older

    # -- directory suggestions -----------------------------------------------------------
    async def directory_entries(self) -> list[tuple[str, str, str | None, str]]:
        """(address, name, position, kind) of every listed active mailbox and every group."""
        rows = await self.s.execute(
            select(Mailbox.address, Mailbox.full_name, Mailbox.position, Mailbox.kind).where(
                Mailbox.status == "active", Mailbox.listed.is_(True)
            )
        )
        out = [(a, n, p, k) for a, n, p, k in rows.all()]
        groups = await self.s.execute(select(Group.address, Group.name))
        out.extend((a, n, None, "group") for a, n in groups.all())
        return out
