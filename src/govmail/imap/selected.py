"""The selected mailbox as one session sees it, and how it catches up with the store.

A :class:`SelectedView` holds the UIDs the client knows (their positions are the message
sequence numbers), the highest MODSEQ it has been told about and the UIDs that are
\\Recent in this session. :meth:`SelectedView.refresh` compares that with the store and
sends what changed: ``EXPUNGE`` (or ``VANISHED`` under QRESYNC), ``EXISTS``/``RECENT``
and ``FETCH (FLAGS ...)``.

Catching up is driven by the database, not by the events: an event (from any door, any
session) only says "look again", so a lost event or a change made by another process is
seen at the next look. One look reads the folder's (highestmodseq, uidnext) first and
then only what lies at or below them, which is consistent without a snapshot: a MODSEQ
is allocated by an UPDATE of the folder row, so every change at or below the value read
is committed.

\\Recent (RFC 3501): the folder row keeps a marker, the first UID not yet claimed by a
session. A read-write SELECT, and later a session noticing new mail, moves the marker up
with a compare-and-set; the session that wins sees those messages as \\Recent, so each new
message is recent in exactly one session. EXAMINE claims nothing. IMAP4rev2 clients never
hear of \\Recent.
"""

from __future__ import annotations

import asyncio
import bisect
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from govmail.delivery.events import FolderChange
from govmail.imap.errors import CloseSession, Refusal
from govmail.imap.mailboxes import MailboxRef
from govmail.imap.messageview import flag_names
from govmail.imap.protocol import response as r
from govmail.imap.protocol.sequence import SequenceSet
from govmail.imap.protocol.values import flag_list

if TYPE_CHECKING:
    from govmail.imap.session import Session


class SelectedView:
    def __init__(
        self,
        ref: MailboxRef,
        folder_id: int,
        uidvalidity: int,
        read_only: bool,
        uids: Iterable[int],
        known_modseq: int,
        queue: asyncio.Queue[FolderChange],
    ) -> None:
        self.ref = ref
        self.folder_id = folder_id
        self.uidvalidity = uidvalidity
        self.read_only = read_only
        self.uids = array("L", uids)
        self.known_modseq = known_modseq
        self.queue = queue
        self.recent: list[tuple[int, int]] = []  # inclusive UID ranges recent here
        self.own_modseqs: set[int] = set()
        self.pending_expunge: set[int] = set()  # gone from the store, not announced yet
        self.dirty = False
        self.keywords: set[str] = set()
        self._flag_bytes: dict[tuple[object, ...], bytes] = {}

    # -- numbers ---------------------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.uids)

    @property
    def max_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def msn(self, uid: int) -> int | None:
        """Message sequence number of ``uid`` (1-based), None if not in view."""
        i = bisect.bisect_left(self.uids, uid)
        if i < len(self.uids) and self.uids[i] == uid:
            return i + 1
        return None

    def numberer(self) -> Callable[[int], int | None]:
        """:meth:`msn`, faster for UIDs asked in ascending order (the rows of a FETCH):
        each search starts where the last one ended, and the next UID in the view is
        tried first, so numbering a whole mailbox costs one comparison per message. The
        view must not change while it is used."""
        uids = self.uids
        count = len(uids)
        at = 0

        def msn(uid: int) -> int | None:
            nonlocal at
            if at < count and uids[at] == uid:
                at += 1
                return at
            i = bisect.bisect_left(uids, uid, at)
            if i < count and uids[i] == uid:
                at = i + 1
                return at
            i = bisect.bisect_left(uids, uid, 0, at)  # out of order after all
            if i < at and uids[i] == uid:
                at = i + 1
                return at
            return None

        return msn

    def contains(self, uid: int) -> bool:
        return self.msn(uid) is not None

    def resolve(
        self,
        sequence: SequenceSet,
        uid: bool,
        saved: Sequence[int] | None = None,
        *,
        lenient: bool = False,
    ) -> list[int]:
        """UIDs (ascending) that a sequence set names. Message numbers beyond the mailbox
        are a client error (BAD), except in SEARCH (``lenient``); UIDs that do not exist
        are simply left out, and ``*`` in an empty mailbox names nothing."""
        if sequence.saved:
            base = saved or []
            return [u for u in base if self.contains(u)]
        if uid:
            return sequence.select(self.uids)
        n = len(self.uids)
        if n == 0 and sequence.uses_star:
            return []
        if sequence.largest_number > n and not lenient:
            raise Refusal("invalid message sequence number", status="BAD")
        out: list[int] = []
        for a, b in sequence.ranges(n):
            out.extend(self.uids[a - 1 : b])
        return out

    def is_recent(self, uid: int) -> bool:
        i = bisect.bisect_right(self.recent, (uid, 1 << 62)) - 1
        return i >= 0 and self.recent[i][0] <= uid <= self.recent[i][1]

    def recent_count(self) -> int:
        total = 0
        for a, b in self.recent:
            total += bisect.bisect_right(self.uids, b) - bisect.bisect_left(self.uids, a)
        return total

    def add_recent(self, first: int, last: int) -> None:
        if first <= last:
            self.recent.append((first, last))
            self.recent.sort()

    # -- changes made by this session ------------------------------------------------------
    def drain_events(self, session: Session) -> None:
        """Empty the event queue; changes by others make the view dirty."""
        q = self.queue
        while not q.empty():
            change = q.get_nowait()
            if change.origin is not session:
                self.dirty = True

    def expunged(self, session: Session, gone: Iterable[int]) -> None:
        """Announce and forget UIDs expunged (by this session or found by a refresh)."""
        gone_set = {u for u in gone if self.contains(u)}
        if not gone_set:
            return
        if session.qresync:
            session.send(r.vanished(SequenceSet.from_numbers(sorted(gone_set))))
        else:
            msns = [i + 1 for i, u in enumerate(self.uids) if u in gone_set]
            for n in reversed(msns):
                session.send(r.expunge(n))
        self.uids = array("L", (u for u in self.uids if u not in gone_set))
        self.pending_expunge -= gone_set

    def fetch_flags_line(
        self,
        session: Session,
        uid: int,
        modseq: int,
        state: Sequence[object],
        *,
        with_flags: bool = True,
        msn: Callable[[int], int | None] | None = None,
    ) -> bytes | None:
        """``* n FETCH (UID u FLAGS (...) MODSEQ (m))`` for a message in view; ``state`` is
        (seen, answered, flagged, deleted, draft, keywords). ``msn``: a :meth:`numberer`
        when the lines are made in ascending UID order."""
        n = (msn or self.msn)(uid)
        if n is None:
            return None
        condstore = session.condstore
        if not with_flags:
            if condstore:
                return b"* %d FETCH (UID %d MODSEQ (%d))\r\n" % (n, uid, modseq)
            return b"* %d FETCH (UID %d)\r\n" % (n, uid)
        recent = bool(self.recent) and not session.rev2 and self.is_recent(uid)
        key = (*state, recent)
        flags = self._flag_bytes.get(key)
        if flags is None:
            names = flag_names(*state[:5], state[5] or "", recent)  # type: ignore[arg-type]
            flags = self._flag_bytes[key] = flag_list(names)
        if condstore:
            return b"* %d FETCH (UID %d FLAGS %s MODSEQ (%d))\r\n" % (n, uid, flags, modseq)
        return b"* %d FETCH (UID %d FLAGS %s)\r\n" % (n, uid, flags)

    def note_keywords(self, session: Session, keywords: Iterable[str]) -> None:
        """Send a new FLAGS response when a keyword the client has not heard of appears."""
        new = {k for k in keywords if k and not k.startswith("\\")} - self.keywords
        if new:
            self.keywords |= new
            session.send(r.flags(session.flags_for_view(self)))

    # -- catching up -----------------------------------------------------------------------
    async def refresh(self, session: Session, *, expunge_ok: bool, force: bool = False) -> None:
        """Tell the client what changed since it last heard (see the module docstring)."""
        self.drain_events(session)
        if not (self.dirty or force or self.pending_expunge):
            return
        self.dirty = False
        store = session.store
        async with store.read() as tx:
            state = await tx.mail.imap_folder_state(self.folder_id)
            if state is None:
                raise CloseSession(session.text("imap.bye_mailbox_deleted"))
            highest, uidnext, recent_marker = state
            vanished: list[int] = []
            changes: list = []  # type: ignore[type-arg]
            new: list[int] = []
            if highest != self.known_modseq:
                vanished = await tx.mail.vanished_since(self.folder_id, self.known_modseq)
                changes = await tx.mail.imap_flag_changes(
                    self.folder_id, self.known_modseq, highest, self.max_uid
                )
                new = [
                    u for u in await tx.mail.imap_uids(self.folder_id, self.max_uid) if u < uidnext
                ]
        gone = self.pending_expunge | {u for u in vanished if self.contains(u)}
        if gone:
            if expunge_ok:
                self.expunged(session, sorted(gone))
            else:
                self.pending_expunge = gone
        if new:
            self.uids.extend(new)
            session.send(r.exists(len(self.uids)))
            if not self.read_only and recent_marker < uidnext:
                async with store.write() as tx:
                    won = await tx.mail.imap_claim_recent(self.folder_id, recent_marker, uidnext)
                if won:
                    self.add_recent(max(recent_marker, new[0]), uidnext - 1)
            if not session.rev2:
                session.send(r.recent(self.recent_count()))
        msn = self.numberer()  # changes come in UID order
        for row in changes:
            uid, modseq = row[0], row[1]
            if modseq in self.own_modseqs or uid in self.pending_expunge:
                continue
            line = self.fetch_flags_line(session, uid, modseq, row[2:], msn=msn)
            if line is not None:
                if row[7]:
                    self.note_keywords(session, row[7].split())
                session.send(line)
        if highest > self.known_modseq:
            self.known_modseq = highest
        self.own_modseqs = {m for m in self.own_modseqs if m > self.known_modseq}
