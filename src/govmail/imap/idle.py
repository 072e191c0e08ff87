"""IDLE (RFC 2177): the client waits; the server pushes EXISTS, EXPUNGE and FETCH.

While idling, the session sleeps on two things at once: bytes from the client (``DONE``)
and the event queue of the selected mailbox (any door, any session changing it). Each
event makes the session look at the store and send what changed. Every
:data:`RECHECK_SECONDS` it looks anyway, for changes made by another process (the CLI
next to the server), which publishes no event here. After :data:`MAX_IDLE_SECONDS`
without a word from the client the connection is closed, as RFC 2177 allows.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from govmail.imap.errors import CloseSession, Refusal
from govmail.imap.protocol import ContinuationLine, ProtocolError, is_idle_done
from govmail.imap.protocol import response as r
from govmail.imap.protocol.commands import Idle

if TYPE_CHECKING:
    from govmail.imap.session import Session

RECHECK_SECONDS = 120.0
MAX_IDLE_SECONDS = 30 * 60.0


async def cmd_idle(session: Session, cmd: Idle) -> None:
    session.send(r.continuation("idling"))
    session.reader.expect_line()
    await session.flush()
    conn = session.conn
    started = time.monotonic()
    read_task: asyncio.Task[None] | None = None
    event_task: asyncio.Task[object] | None = None
    try:
        while True:
            line = _buffered_line(session)
            if line is not None:
                if is_idle_done(line):
                    break
                raise Refusal("expected DONE", status="BAD")
            if conn.at_eof:
                raise CloseSession("end of input")
            view = session.view
            if view is not None:
                await view.refresh(session, expunge_ok=True)
                await session.flush()
            if read_task is None:
                read_task = asyncio.ensure_future(conn.wait_data())
            waiting: set[asyncio.Future[object]] = {read_task}  # type: ignore[arg-type]
            if view is not None:
                if event_task is None:
                    event_task = asyncio.ensure_future(view.queue.get())
                waiting.add(event_task)
            left = MAX_IDLE_SECONDS - (time.monotonic() - started)
            if left <= 0:
                raise CloseSession(session.text("imap.bye_timeout"))
            done, _pending = await asyncio.wait(
                waiting, timeout=min(RECHECK_SECONDS, left), return_when=asyncio.FIRST_COMPLETED
            )
            if read_task in done:
                read_task = None
                data = await conn.read(0)
                if not data:
                    raise CloseSession("end of input")
                session.reader.feed(data)
            if event_task is not None and event_task in done:
                event_task = None
                if view is not None:
                    view.dirty = True
            elif not done and view is not None:
                view.dirty = True  # periodic look at the store
    finally:
        for task in (read_task, event_task):
            if task is not None and not task.done():
                task.cancel()
    session.ok(cmd.tag, "IDLE terminated")


def _buffered_line(session: Session) -> bytes | None:
    """The continuation line already received, if any (reader errors end the IDLE)."""
    try:
        event = session.reader.next_event()
    except ProtocolError as err:
        raise Refusal(err.reason, status="BAD") from None
    if event is None:
        return None
    if isinstance(event, ContinuationLine):
        return event.data
    raise Refusal("expected DONE", status="BAD")
