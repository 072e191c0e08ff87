"""FETCH and UID FETCH: flags, dates, sizes, ENVELOPE, BODY/BODYSTRUCTURE, BODY[section]
(with HEADER.FIELDS[.NOT], MIME, TEXT, partial ranges, .PEEK), RFC822.*, BINARY[.SIZE]
(RFC 3516), MODSEQ and CHANGEDSINCE/VANISHED (RFC 7162).

Where the bytes come from, cheapest first:

* flags, UID, MODSEQ, INTERNALDATE, RFC822.SIZE: the message row;
* ENVELOPE, BODY, BODYSTRUCTURE: their wire form cached in the row, else built from the
  parsed metadata stored at delivery (``meta``) and cached for next time;
* top-level header sections (``BODY[HEADER]``, ``BODY.PEEK[HEADER.FIELDS (...)]``,
  ``RFC822.HEADER``): the header block cached in the row, else read from the blob once;
* anything else (bodies, parts, TEXT, MIME): the blob, sliced with the offsets in ``meta``.

A section that does not exist is answered ``NIL``. Fetching a body without ``.PEEK`` sets
\\Seen (when the mailbox is read-write and the user may), and the new FLAGS are returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from govmail.imap.errors import Refusal
from govmail.imap.messageview import (
    body_bytes,
    envelope_bytes,
    flag_names,
    header_section,
)
from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import Fetch, FetchAttribute, FetchItem, FetchSection
from govmail.imap.protocol.dates import MONTHS
from govmail.imap.protocol.sequence import SequenceSet
from govmail.imap.protocol.values import NIL, flag_list, literal
from govmail.imap.shared import audit, uid_summary
from govmail.mail.mimeparts import scan_header
from govmail.mail.parsed import (
    ParsedMessage,
    PartNotFound,
    Section,
    SectionSyntaxError,
    decoded_part,
    section_bytes,
)
from govmail.mail.transfer import UnknownTransferEncoding

if TYPE_CHECKING:
    from govmail.imap.selected import SelectedView
    from govmail.imap.session import Session

CHUNK = 2500
HEADER_CACHE_LIMIT = 64 * 1024
_BODY_ITEMS = frozenset({"RFC822", "RFC822.TEXT"})
_HEADER_TEXTS = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT"})
_CACHED = {"ENVELOPE": "imap_envelope", "BODY": "imap_body", "BODYSTRUCTURE": "imap_bodystructure"}


_MONTHS = [m.encode() for m in MONTHS]


def _zone(offset: timedelta) -> bytes:
    minutes = int(offset.total_seconds()) // 60
    sign = b"-" if minutes < 0 else b"+"
    return sign + b"%02d%02d" % divmod(abs(minutes), 60)


class DateFormatter:
    """INTERNALDATE in the installation's time zone, fast for many messages."""

    def __init__(self, tz: Any) -> None:
        self.tz = tz
        self._fixed: timedelta | None = None
        self._template = b""
        # Zones without daylight saving (Asia/Ho_Chi_Minh) need no per-date lookup.
        jan = datetime(2001, 1, 1, tzinfo=UTC).astimezone(tz).utcoffset()
        jul = datetime(2001, 7, 1, tzinfo=UTC).astimezone(tz).utcoffset()
        if jan == jul and jan is not None:
            self._fixed = jan
            self._template = b'"%02d-%s-%04d %02d:%02d:%02d ' + _zone(jan) + b'"'

    def __call__(self, value: datetime) -> bytes:
        if self._fixed is not None and value.tzinfo is UTC:
            t = value + self._fixed
            return self._template % (
                t.day,
                _MONTHS[t.month - 1],
                t.year,
                t.hour,
                t.minute,
                t.second,
            )
        aware = value.astimezone(self.tz)
        return b'"%02d-%s-%04d %02d:%02d:%02d %s"' % (
            aware.day,
            _MONTHS[aware.month - 1],
            aware.year,
            aware.hour,
            aware.minute,
            aware.second,
            _zone(aware.utcoffset() or timedelta(0)),
        )


class _Message:
    """One row being answered, with what was loaded for it.

    Rows come from ``MailRepo.imap_fetch_rows``: id, uid, modseq, seen, answered,
    flagged, deleted, draft, keywords, internal_date, size, blob_id, then the extra
    columns asked for (positions in :attr:`_Plan.index`).
    """

    __slots__ = ("flags", "header", "meta", "modseq", "parsed", "raw", "row", "seen_set", "uid")

    def __init__(self, row: Any, meta_at: int | None, header_at: int | None) -> None:
        self.row = row
        self.uid: int = row[1]
        self.modseq: int = row[2]
        self.flags: tuple[Any, ...] = (row[3], row[4], row[5], row[6], row[7], row[8] or "")
        self.meta: dict[str, Any] | None = None if meta_at is None else row[meta_at]
        self.header: bytes | None = None if header_at is None else row[header_at]
        self.raw: bytes | None = None
        self.parsed: ParsedMessage | None = None
        self.seen_set = False

    def parsed_message(self) -> ParsedMessage:
        if self.parsed is None:
            assert self.meta is not None
            self.parsed = ParsedMessage.from_dict({**self.meta, "text_for_search": ""})
        return self.parsed


class _Plan:
    """What one FETCH needs, decided once for all its messages."""

    def __init__(self, session: Session, view: SelectedView, attrs: list[FetchAttribute]):
        self.attrs = attrs
        self.utf8 = session.utf8 or session.rev2
        self.cached: list[str] = []  # cache columns to read
        self.needs_header = False  # the top-level header block
        self.needs_raw = False  # the whole message
        self.needs_meta = False
        self.body_read = False  # a body is read (for the audit of shared mailboxes)
        sets_seen = False
        for a in attrs:
            if isinstance(a, FetchItem):
                if a.name in _CACHED:
                    if self.utf8:
                        self.needs_meta = True
                    else:
                        self.cached.append(_CACHED[a.name])
                elif a.name == "RFC822.HEADER":
                    self.needs_header = True
                elif a.name in _BODY_ITEMS:
                    self.needs_raw = self.body_read = sets_seen = True
                    if a.name == "RFC822.TEXT":
                        self.needs_meta = True
            else:
                top_header = a.kind == "BODY" and not a.part and a.text in _HEADER_TEXTS
                if top_header:
                    self.needs_header = True
                else:
                    self.needs_raw = self.body_read = True
                    # The whole message is the blob as it is; anything else is cut out
                    # of it with the offsets in the metadata.
                    if a.part or a.text:
                        self.needs_meta = True
                if not a.peek and a.kind != "BINARY.SIZE":
                    sets_seen = True
        if self.needs_header and not self.needs_raw:
            self.cached.append("imap_header")
        self.extra = list(self.cached) + (["meta"] if self.needs_meta else [])
        if self.needs_raw or self.needs_header:
            self.extra.append("blob_sha256")
        # What building the cached forms needs from the metadata.
        self.meta_parts = []
        if "imap_envelope" in self.cached:
            self.meta_parts.append("envelope")
        if "imap_body" in self.cached or "imap_bodystructure" in self.cached:
            self.meta_parts.append("body")
        self.index = {name: 12 + i for i, name in enumerate(self.extra)}
        self.sets_seen = sets_seen and not view.read_only and view.ref.may("s")
        self.names = {a.name for a in attrs if isinstance(a, FetchItem)}


def _section_of(a: FetchSection) -> Section:
    return Section(a.part, a.text or "", tuple(f.lower() for f in a.fields))


def _partial(data: bytes, partial: tuple[int, int] | None) -> bytes:
    if partial is None:
        return data
    start, length = partial
    return data[start : start + length]


# Plain attributes served from the row: (response text, expression over ``row``).
_FAST_ITEMS = {
    "UID": (b"UID %d", "row[1]"),
    "FLAGS": (b"FLAGS %s", "flags(row)"),
    "INTERNALDATE": (b"INTERNALDATE %s", "date(row[9])"),
    "RFC822.SIZE": (b"RFC822.SIZE %d", "row[10]"),
    "MODSEQ": (b"MODSEQ (%d)", "row[2]"),
    "ENVELOPE": (b"ENVELOPE %s", "row[{imap_envelope}]"),
    "BODY": (b"BODY %s", "row[{imap_body}]"),
    "BODYSTRUCTURE": (b"BODYSTRUCTURE %s", "row[{imap_bodystructure}]"),
}
_FAST_RENDERERS: dict[tuple[Any, ...], Callable[..., Any] | None] = {}


def whole_message(a: FetchAttribute) -> bool:
    """``BODY[]``, ``BODY.PEEK[]`` (with or without ``<partial>``) or ``RFC822``: the blob
    itself, needing no metadata."""
    if isinstance(a, FetchItem):
        return a.name == "RFC822"
    return a.kind == "BODY" and not a.part and not a.text


def fast_renderer(
    attrs: Sequence[FetchAttribute], index: dict[str, int]
) -> Callable[..., Any] | None:
    """A function ``(row, n, flags, date, raw)`` writing ``* n FETCH (...)`` in one bytes
    formatting operation, for FETCHes of plain and cached attributes and whole messages
    only (the common cases: a client listing a mailbox, or downloading messages). None
    if ``attrs`` need anything else.

    Without whole messages it returns the bytes of the response. With them (``raw`` is
    the message) it returns the pieces of the response, the messages not copied into
    them: ``(b'* 1 FETCH (UID 7 BODY[] {1234}\\r\\n', raw, b')\\r\\n')``.

    Compiled once per attribute list: with 100,000 messages per FETCH, calling one small
    function per attribute and message costs more than the whole rest.
    """
    key = (tuple(attrs), tuple(sorted(index.items())))
    if key in _FAST_RENDERERS:
        return _FAST_RENDERERS[key]
    fn = _compile_renderer(attrs, index) if attrs else None
    _FAST_RENDERERS[key] = fn
    return fn


def _compile_renderer(
    attrs: Sequence[FetchAttribute], index: dict[str, int]
) -> Callable[..., Any] | None:
    namespace: dict[str, Any] = {}
    lines: list[str] = []  # statements before the return
    pieces: list[str] = []  # expressions of the pieces returned
    text, exprs = b"* %d FETCH (", ["n"]  # the piece being written
    sep = b""
    for a in attrs:
        if isinstance(a, FetchSection) or a.name == "RFC822":
            if not whole_message(a):
                return None
            name = b"RFC822" if isinstance(a, FetchItem) else a.response_name().encode()
            data = f"d{len(lines)}"
            if isinstance(a, FetchItem) or a.partial is None:
                lines.append(f"{data} = raw")
            else:
                start, length = a.partial
                lines.append(f"{data} = raw[{start}:{start + length}]")
            namespace[f"T{len(pieces)}"] = text + sep + name + b" {%d}\r\n"
            pieces.append(f"T{len(pieces)} % ({', '.join([*exprs, f'len({data})'])},)")
            pieces.append(data)
            text, exprs = b"", []
        elif a.name in _FAST_ITEMS:
            item, expr = _FAST_ITEMS[a.name]
            if "{" in expr:
                column = expr[expr.index("{") + 1 : expr.index("}")]
                if column not in index:
                    return None
                expr = expr.format(**{column: index[column]})
            text += sep + item
            exprs.append(expr)
        else:
            return None
        sep = b" "
    namespace["TEND"] = text + b")\r\n"
    last = f"TEND % ({', '.join(exprs)},)" if exprs else "TEND"
    result = "(" + ", ".join([*pieces, last]) + ")" if pieces else last
    body = "".join(f"    {line}\n" for line in lines)
    source = f"def render(row, n, flags, date, raw):\n{body}    return {result}\n"
    exec(compile(source, "<imap-fetch>", "exec"), namespace)
    fn: Callable[..., Any] = namespace["render"]
    return fn


class _Renderer:
    def __init__(self, session: Session, view: SelectedView, plan: _Plan) -> None:
        self.session = session
        self.view = view
        self.plan = plan
        self.date = DateFormatter(session.tz)
        self.rev2 = session.rev2
        self.cache_updates: dict[str, list[tuple[int, bytes]]] = {}
        self._flag_cache: dict[tuple[Any, ...], bytes] = {}
        self.items: list[tuple[bytes, Callable[[_Message], bytes]]] = []
        for a in plan.attrs:
            self.items.append(self._item(a))

    def _flags(self, m: _Message) -> bytes:
        key = (*m.flags, (not self.rev2) and self.view.is_recent(m.uid))
        out = self._flag_cache.get(key)
        if out is None:
            out = self._flag_cache[key] = flag_list(flag_names(*key))
        return out

    def flags_row(self, row: Any) -> bytes:
        """FLAGS of a row as loaded (for the fast path)."""
        key = (*row[3:9], bool(self.view.recent) and not self.rev2 and self.view.is_recent(row[1]))
        out = self._flag_cache.get(key)
        if out is None:
            out = self._flag_cache[key] = flag_list(flag_names(*key[:5], key[5] or "", key[6]))
        return out

    def _cached(self, m: _Message, column: str, build: Callable[[dict[str, Any]], bytes]) -> bytes:
        at = self.plan.index.get(column)
        if at is not None:
            value = m.row[at]
            if value is not None:
                return bytes(value)
        assert m.meta is not None
        data = build(m.meta)
        if not self.plan.utf8:
            self.cache_updates.setdefault(column, []).append((m.row[0], data))
        return data

    def _item(self, a: FetchAttribute) -> tuple[bytes, Callable[[_Message], bytes]]:
        utf8 = self.plan.utf8
        if isinstance(a, FetchItem):
            name = a.name
            fn: Callable[[_Message], bytes]
            if name == "UID":
                fn = lambda m: b"%d" % m.uid  # noqa: E731
            elif name == "FLAGS":
                fn = self._flags
            elif name == "INTERNALDATE":
                fn = lambda m: self.date(m.row[9])  # noqa: E731
            elif name == "RFC822.SIZE":
                fn = lambda m: b"%d" % m.row[10]  # noqa: E731
            elif name == "MODSEQ":
                fn = lambda m: b"(%d)" % m.modseq  # noqa: E731
            elif name == "ENVELOPE":
                fn = lambda m: self._cached(  # noqa: E731
                    m, "imap_envelope", lambda meta: envelope_bytes(meta, utf8)
                )
            elif name == "BODY":
                fn = lambda m: self._cached(  # noqa: E731
                    m, "imap_body", lambda meta: body_bytes(meta, extended=False, utf8=utf8)
                )
            elif name == "BODYSTRUCTURE":
                fn = lambda m: self._cached(  # noqa: E731
                    m, "imap_bodystructure", lambda meta: body_bytes(meta, extended=True, utf8=utf8)
                )
            elif name == "RFC822.HEADER":
                fn = lambda m: literal(self._header(m))  # noqa: E731
            elif name == "RFC822":
                fn = lambda m: literal(self._raw(m))  # noqa: E731
            else:  # RFC822.TEXT
                fn = lambda m: self._section(m, FetchSection(text="TEXT"))  # noqa: E731
            return name.encode("ascii"), fn
        return a.response_name().encode("ascii"), lambda m: self._section(m, a)

    def _raw(self, m: _Message) -> bytes:
        assert m.raw is not None
        return m.raw

    def _header(self, m: _Message) -> bytes:
        if m.header is not None:
            return m.header
        raw = self._raw(m)
        if m.meta is not None and "body" in m.meta:
            end = int(m.meta["body"]["body_start"])
        else:
            end = scan_header(raw, 0, len(raw)).body_start
        header = raw[:end]
        if len(header) <= HEADER_CACHE_LIMIT:
            self.cache_updates.setdefault("imap_header", []).append((m.row[0], header))
        m.header = header
        return header

    def _section(self, m: _Message, a: FetchSection) -> bytes:
        if a.kind == "BODY" and not a.part and a.text in _HEADER_TEXTS:
            return literal(_partial(header_section(self._header(m), a.text, a.fields), a.partial))
        raw = self._raw(m)
        if a.kind == "BODY":
            if not a.part and not a.text:
                data: bytes | None = raw
                data = _partial(raw, a.partial)
            else:
                try:
                    data = section_bytes(raw, m.parsed_message(), _section_of(a), a.partial)
                except SectionSyntaxError:
                    data = None
            return NIL if data is None else literal(data)
        try:
            decoded = decoded_part(raw, m.parsed_message(), a.part, strict=True)
        except PartNotFound:
            return NIL
        except UnknownTransferEncoding:
            raise Refusal("unknown Content-Transfer-Encoding", ResponseCode.UNKNOWN_CTE) from None
        if a.kind == "BINARY.SIZE":
            return b"%d" % len(decoded)
        decoded = _partial(decoded, a.partial)
        return literal(decoded, binary=b"\x00" in decoded)

    def render(self, m: _Message, n: int, add_flags: bool) -> bytes:
        parts = [name + b" " + fn(m) for name, fn in self.items]
        if add_flags:
            parts.append(b"FLAGS " + self._flags(m))
        return b"* %d FETCH (" % n + b" ".join(parts) + b")\r\n"


# Blobs read on the event loop per FETCH chunk, at most (when in the page cache).
INLINE_BUDGET = 1024 * 1024


async def load_blobs(session: Session, shas: Sequence[str]) -> list[bytes]:
    """The messages with these SHA-256 (each checked against it), in order.

    Those whose file is wholly in the page cache are read right here: a worker-thread
    trip costs more than reading a few KB from memory. The rest (not cached, large, or
    beyond :data:`INLINE_BUDGET`) are read in one trip to a worker thread, so that the
    event loop never waits for the disk.
    """
    blobs = session.store.blobs
    out: list[bytes | None] = []
    budget = INLINE_BUDGET
    for sha in shas:
        data = blobs.get_if_cached(sha) if budget > 0 else None
        if data is not None:
            budget -= len(data)
        out.append(data)
    missing = [i for i, data in enumerate(out) if data is None]
    if missing:
        wanted = [shas[i] for i in missing]
        raws = await asyncio.to_thread(lambda: [blobs.get_sync(sha) for sha in wanted])
        for i, raw in zip(missing, raws, strict=True):
            out[i] = raw
    return out  # type: ignore[return-value]


async def _store_cache(session: Session, renderer: _Renderer) -> None:
    """Write the wire forms built so far (after sending them: the client need not wait)."""
    if not renderer.cache_updates:
        return
    await session.flush()
    async with session.store.write() as tx:
        for column, values in renderer.cache_updates.items():
            await tx.mail.imap_fill_cache(column, values)
    renderer.cache_updates.clear()


def _render_fast(
    session: Session,
    renderer: _Renderer,
    fast: Callable[..., Any],
    msn: Callable[[int], int | None],
    rows: list[Any],
    raws: Sequence[bytes] | None,
    cached_at: list[int],
) -> list[tuple[Any, bytes | None]]:
    """Send the rows whose cached values are all there; return the others (with their
    message, if loaded)."""
    flags, date, send = renderer.flags_row, renderer.date, session.send
    rest: list[tuple[Any, bytes | None]] = []
    if raws is None:
        for row in rows:
            if cached_at and any(row[i] is None for i in cached_at):
                rest.append((row, None))
                continue
            n = msn(row[1])
            if n is not None:
                send(fast(row, n, flags, date, None))
        return rest
    for row, raw in zip(rows, raws, strict=True):
        if cached_at and any(row[i] is None for i in cached_at):
            rest.append((row, raw))
            continue
        n = msn(row[1])
        if n is not None:
            for piece in fast(row, n, flags, date, raw):
                send(piece)
    return rest


async def cmd_fetch(session: Session, cmd: Fetch) -> None:
    view = session.view
    assert view is not None
    uids = view.resolve(cmd.sequence, cmd.uid, session.saved_search)
    attrs = list(cmd.attributes)
    names = {a.name for a in attrs if isinstance(a, FetchItem)}
    if cmd.uid and "UID" not in names:
        attrs.insert(0, FetchItem("UID"))
    if cmd.changed_since is not None or "MODSEQ" in names:
        session.enable_condstore()
        if "MODSEQ" not in names:
            attrs.append(FetchItem("MODSEQ"))
    plan = _Plan(session, view, attrs)
    renderer = _Renderer(session, view, plan)

    if cmd.vanished and cmd.changed_since is not None:
        async with session.store.read() as tx:
            gone = await tx.mail.vanished_since(view.folder_id, cmd.changed_since)
        largest = max([view.max_uid, *gone[-1:]])
        gone = [u for u in gone if cmd.sequence.contains(u, largest)]
        if gone:
            session.send(r.vanished(SequenceSet.from_numbers(gone), earlier=True))

    meta_at = plan.index.get("meta")
    header_at = plan.index.get("imap_header")
    sha_at = plan.index.get("blob_sha256")
    fast = None
    if not plan.needs_meta and not plan.needs_header and not plan.sets_seen:
        fast = fast_renderer(attrs, plan.index)
    cached_at = [plan.index[c] for c in plan.cached]
    # Flags and dates are left out of the rows when nothing looks at them.
    with_flags = plan.sets_seen or not plan.names.isdisjoint(("FLAGS", "INTERNALDATE"))
    audited = plan.body_read and view.ref.shared
    msn = view.numberer()
    read_uids: list[int] = []
    for i in range(0, len(uids), CHUNK):
        chunk = uids[i : i + CHUNK]
        rows = await session.store.rows.imap_fetch_rows(
            view.folder_id, chunk, plan.extra, cmd.changed_since, flags=with_flags
        )
        loaded: dict[int, bytes | None] = {}
        if fast is not None:
            raws = None
            if plan.needs_raw:
                assert sha_at is not None
                raws = await load_blobs(session, [row[sha_at] for row in rows])
            rest = _render_fast(session, renderer, fast, msn, rows, raws, cached_at)
            if audited:
                later = {row[1] for row, _raw in rest}
                read_uids.extend(
                    row[1] for row in rows if row[1] not in later and view.contains(row[1])
                )
            if not rest:
                await session.maybe_flush()
                continue
            rows = [row for row, _raw in rest]
            loaded = {row[1]: raw for row, raw in rest if raw is not None}
        messages = [_Message(row, meta_at, header_at) for row in rows]
        for m in messages:
            m.raw = loaded.get(m.uid)
        if meta_at is None and plan.cached:
            positions = [plan.index[c] for c in plan.cached if c != "imap_header"]
            missing = [m for m in messages if any(m.row[p] is None for p in positions)]
            if missing:
                parts = [f"meta_{p}" for p in plan.meta_parts]
                metas = await session.store.rows.imap_fetch_rows(
                    view.folder_id, [m.uid for m in missing], parts
                )
                by_uid = {
                    row[1]: dict(zip(plan.meta_parts, row[12:], strict=True)) for row in metas
                }
                for m in missing:
                    m.meta = by_uid.get(m.uid)
                messages = [m for m in messages if m.meta is not None or m not in missing]
        need_raw = [
            m
            for m in messages
            if m.raw is None and (plan.needs_raw or (plan.needs_header and m.header is None))
        ]
        if need_raw:
            assert sha_at is not None
            raws = await load_blobs(session, [m.row[sha_at] for m in need_raw])
            for m, raw in zip(need_raw, raws, strict=True):
                m.raw = raw
        if plan.sets_seen:
            unseen = [m.uid for m in messages if not m.flags[0]]
            if unseen:
                from govmail.imap.commands_store import change_flags

                results, _refused = await change_flags(
                    session, view, unseen, "add", ["\\Seen"], audit_action=None
                )
                after = {uid: (modseq, state) for uid, modseq, _c, state in results}
                for m in messages:
                    if m.uid in after:
                        m.modseq, m.flags = after[m.uid]
                        m.seen_set = True
        for m in messages:
            n = view.msn(m.uid)
            if n is None:
                continue
            session.send(renderer.render(m, n, m.seen_set and "FLAGS" not in plan.names))
            if plan.body_read:
                read_uids.append(m.uid)
        await session.maybe_flush()
        if sum(map(len, renderer.cache_updates.values())) >= CHUNK:
            await _store_cache(session, renderer)
    await _store_cache(session, renderer)
    if read_uids and view.ref.shared:
        await audit(session, view.ref, "read", uid_summary(read_uids))
    session.ok(cmd.tag, "FETCH completed")
