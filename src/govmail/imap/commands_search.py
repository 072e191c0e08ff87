"""SEARCH and UID SEARCH, with ESEARCH (RFC 4731), SEARCHRES (RFC 5182), MODSEQ (RFC 7162)
and WITHIN (RFC 5032).

The search program becomes one SQL condition (``SearchRepo.imap_*`` building blocks), so
a search over 100,000 messages reads no message file. Text keys are matched on folded
text (``mail.textfold.fold``: lower case, no diacritics, đ -> d): ``cong van`` finds
"Công văn" and ``dang`` finds "Đặng", a superset of RFC 3501's substring match.
SUBJECT, FROM, TO, CC use folded columns of the message row; BODY and TEXT the full-text
index built at delivery (SQLite FTS5 trigram / PostgreSQL pg_trgm). Two rare keys have no
column: ``HEADER <other field>`` and ``BCC``; they are evaluated on the stored header
blocks and envelopes of the mailbox.

Dates (BEFORE/ON/SINCE, SENT*) are days in the installation's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from govmail.imap.errors import Refusal
from govmail.imap.messageview import header_section
from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import (
    Search,
    SearchAge,
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SearchSequence,
    SearchSize,
    SearchText,
)
from govmail.imap.protocol.sequence import SequenceSet
from govmail.mail.headers import decode_header_value
from govmail.mail.mimeparts import scan_header
from govmail.mail.textfold import fold

if TYPE_CHECKING:
    from govmail.imap.selected import SelectedView
    from govmail.imap.session import Session
    from govmail.store.tx import Tx

_FLAG_COLUMNS = {
    "\\seen": "seen",
    "\\answered": "answered",
    "\\flagged": "flagged",
    "\\deleted": "deleted",
    "\\draft": "draft",
}
_HEADER_FIELDS = {"subject": "subject", "from": "from", "to": "to", "cc": "cc"}


def _ranges(uids: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for u in uids:
        if out and u == out[-1][1] + 1:
            out[-1] = (out[-1][0], u)
        else:
            out.append((u, u))
    return out


# Characters in one text search term. Longer ones are refused with a clear NO [LIMIT]:
# nobody searches for a page of text, and SQLite refuses LIKE patterns over 50,000 bytes.
MAX_TERM = 1000


class _Builder:
    """Turns a search key tree into a condition, inside one read transaction."""

    def __init__(self, session: Session, view: SelectedView, tx: Tx) -> None:
        self.session = session
        self.view = view
        self.tx = tx
        self.repo = tx.search
        self.tz = session.tz
        self.uses_modseq = False
        self._rows: list[Any] | None = None

    def _day_start(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    async def build(self, key: SearchKey) -> Any:
        repo = self.repo
        if isinstance(key, SearchAll):
            return repo.imap_true()
        if isinstance(key, SearchAnd):
            return repo.imap_and([await self.build(k) for k in key.keys])
        if isinstance(key, SearchOr):
            return repo.imap_or([await self.build(key.left), await self.build(key.right)])
        if isinstance(key, SearchNot):
            return repo.imap_not(await self.build(key.key))
        if isinstance(key, SearchFlag):
            lower = key.flag.lower()
            if lower == "\\recent":
                cond = repo.imap_uids_in([] if self.session.rev2 else self.view.recent)
                return cond if key.present else repo.imap_not(cond)
            column = _FLAG_COLUMNS.get(lower)
            if column is not None:
                return repo.imap_flag(column, key.present)
            return repo.imap_keyword(key.flag, key.present)
        if isinstance(key, SearchText):
            return await self._text(key.field, key.value)
        if isinstance(key, SearchHeader):
            return await self._header(key.name, key.value)
        if isinstance(key, SearchDate):
            start = self._day_start(key.date)
            end = self._day_start(key.date + timedelta(days=1))
            bounds = {"before": (None, start), "on": (start, end), "since": (start, None)}
            since, before = bounds[key.relation]
            if key.field == "internal":
                return repo.imap_internal_date(since, before)
            return repo.imap_sent_date(since, before)
        if isinstance(key, SearchAge):
            edge = datetime.now(UTC) - timedelta(seconds=key.seconds)
            if key.relation == "older":
                return repo.imap_internal_date(None, edge)
            return repo.imap_internal_date(edge, None)
        if isinstance(key, SearchSize):
            if key.relation == "larger":
                return repo.imap_size(larger=key.size)
            return repo.imap_size(smaller=key.size)
        if isinstance(key, SearchSequence):
            uids = self.view.resolve(key.sequence, key.uid, self.session.saved_search, lenient=True)
            return repo.imap_uids_in(_ranges(uids))
        if isinstance(key, SearchModSeq):
            self.uses_modseq = True
            return repo.imap_modseq_at_least(key.modseq)
        raise AssertionError(f"unknown search key {key!r}")

    def _fold(self, value: str) -> str:
        term = fold(value)
        if len(term) > MAX_TERM:
            text = self.session.text("imap.search_term_too_long", limit=MAX_TERM)
            raise Refusal(text, ResponseCode.LIMIT)
        return term

    async def _text(self, field: str, value: str) -> Any:
        repo = self.repo
        term = self._fold(value)
        if not term:
            return repo.imap_true()
        if field in ("SUBJECT", "FROM", "TO", "CC"):
            return repo.header_condition(field.lower(), term)
        if field == "BODY":
            return repo.body_condition(term)
        if field == "TEXT":
            return repo.imap_or(
                [repo.body_condition(term)]
                + [repo.header_condition(f, term) for f in ("subject", "from", "to", "cc")]
            )
        # BCC: from the stored envelopes.
        found = []
        for row in await self._sources():
            env = (row.meta or {}).get("envelope") or []
            if len(env) > 7 and env[7] and term in fold(_addresses_text(env[7])):
                found.append(row.uid)
        return repo.imap_uids_in(_ranges(found))

    async def _header(self, name: str, value: str) -> Any:
        repo = self.repo
        lower = name.lower()
        term = self._fold(value)
        if lower in _HEADER_FIELDS and term:
            return repo.header_condition(_HEADER_FIELDS[lower], term)
        if lower == "message-id" and value:
            return repo.imap_message_id(value.strip())
        found = []
        for row in await self._sources():
            header = row.header
            if header is None:
                header = await self._read_header(row.blob_id)
            text = header_section(header, "HEADER.FIELDS", (lower,))
            block = scan_header(text, 0, len(text))
            if not block.fields:
                continue
            if not term:
                found.append(row.uid)
                continue
            for f in block.fields:
                raw_value = text[f.offset : f.offset + f.length].split(b":", 1)[-1]
                if term in fold(decode_header_value(raw_value)):
                    found.append(row.uid)
                    break
        return repo.imap_uids_in(_ranges(found))

    async def _sources(self) -> list[Any]:
        if self._rows is None:
            self._rows = await self.tx.mail.imap_header_sources(
                self.view.folder_id, self.view.max_uid
            )
        return self._rows

    async def _read_header(self, blob_id: int) -> bytes:
        shas = await self.tx.mail.imap_blob_shas([blob_id])
        raw = await self.session.store.blobs.get(shas[blob_id])
        return raw[: scan_header(raw, 0, len(raw)).body_start]


def _addresses_text(addresses: list[list[str | None]]) -> str:
    parts = []
    for name, _adl, mailbox, host in addresses:
        if mailbox and host:
            parts.append(f"{decode_header_value(name) if name else ''} {mailbox}@{host}")
    return " ".join(parts)


async def cmd_search(session: Session, cmd: Search) -> None:
    view = session.view
    assert view is not None
    async with session.store.read() as tx:
        builder = _Builder(session, view, tx)
        condition = await builder.build(cmd.criteria)
        rows = await tx.search.imap_search(view.folder_id, condition, view.max_uid)
    if builder.uses_modseq:
        session.enable_condstore()
    matches = [(u, m) for u, m in rows if view.contains(u)]
    uids = [u for u, _ in matches]
    modseq = max((m for _, m in matches), default=None) if builder.uses_modseq else None
    numbers = uids if cmd.uid else [n for u in uids if (n := view.msn(u)) is not None]
    returns = cmd.returns
    if returns is None and session.rev2:
        returns = ()
    if returns is None:
        session.send(r.search(numbers, modseq=modseq))
    else:
        options = set(returns) or {"ALL"}
        if "SAVE" in options:
            if options & {"MIN", "MAX"} and not options & {"ALL", "COUNT"}:
                keep = set()
                if "MIN" in options and uids:
                    keep.add(uids[0])
                if "MAX" in options and uids:
                    keep.add(uids[-1])
                session.saved_search = sorted(keep)
            else:
                session.saved_search = uids
        if options - {"SAVE"}:
            session.send(
                r.esearch(
                    cmd.tag,
                    uid=cmd.uid,
                    min=numbers[0] if "MIN" in options and numbers else None,
                    max=numbers[-1] if "MAX" in options and numbers else None,
                    count=len(numbers) if "COUNT" in options else None,
                    all=SequenceSet.from_numbers(numbers) if "ALL" in options else None,
                    modseq=modseq if numbers else None,
                )
            )
    await session.maybe_flush()
    session.ok(cmd.tag, "SEARCH completed")
