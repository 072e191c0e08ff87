"""One IMAP session: reads commands, keeps the state machine, answers.

States (RFC 3501 section 3): not authenticated -> authenticated -> selected -> logout.
Each command is parsed by the pure protocol package, checked against the state, and run
by its handler (``commands_*.py``, ``idle.py``, ``shared.py``). A handler either calls
:meth:`Session.ok` or raises :class:`~govmail.imap.errors.Refusal`; before the tagged
answer the session tells the client what changed in the selected mailbox
(:meth:`SelectedView.refresh`), except that EXPUNGE is held back during FETCH, STORE and
SEARCH by message number (RFC 3501 section 7.4.1).

Nothing a client sends stops the server: parse errors get ``BAD`` with the reason, and a
handler that fails unexpectedly answers ``NO [SERVERBUG]`` and the session goes on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from govmail.imap import (
    commands_auth,
    commands_fetch,
    commands_mailbox,
    commands_quota,
    commands_search,
    commands_store,
    idle,
    shared,
)
from govmail.imap.connection import Connection, ConnectionClosed
from govmail.imap.errors import CloseSession, Refusal
from govmail.imap.mailboxes import MailboxRef, is_shared_name, resolve
from govmail.imap.messageview import COMMON_KEYWORDS, SYSTEM_FLAGS
from govmail.imap.protocol import (
    CommandReader,
    ContinuationLine,
    LiteralRequest,
    ProtocolError,
    RawCommand,
    ReaderLimits,
    parse_command,
)
from govmail.imap.protocol import commands as c
from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.selected import SelectedView
from govmail.imap.shared import Handled
from govmail.imap.texts import say
from govmail.store.models import Folder, Mailbox

if TYPE_CHECKING:
    from govmail.imap.server import ImapService

log = logging.getLogger("govmail.imap")

NOT_AUTHENTICATED = "not authenticated"
AUTHENTICATED = "authenticated"
SELECTED = "selected"
LOGOUT = "logout"
State = Literal["not authenticated", "authenticated", "selected", "logout"]

PREAUTH_TIMEOUT = 60.0  # seconds to log in
AUTH_TIMEOUT = 30 * 60.0  # RFC 3501 5.4: at least 30 minutes
MAX_LOGIN_FAILURES = 5
MAX_ERRORS_IN_A_ROW = 20
FLUSH_AT = 256 * 1024

PREAUTH_LIMITS = ReaderLimits(
    max_line_length=8 * 1024,
    max_literal_size=8 * 1024,
    max_append_literal_size=8 * 1024,
    max_command_literal_total=16 * 1024,
    max_discard_size=64 * 1024,
)

CAPS_ALWAYS = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"]
CAPS_AUTHENTICATED = [
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "LIST-MYRIGHTS",
    "STATUS=SIZE",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "ACL",
    "RIGHTS=kxte",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "SEARCHRES",
    "WITHIN",
    "BINARY",
    "UTF8=ACCEPT",
]

Handler = Callable[["Session", Any], Awaitable[None]]
_ANY = frozenset({NOT_AUTHENTICATED, AUTHENTICATED, SELECTED})
_NOAUTH = frozenset({NOT_AUTHENTICATED})
_AUTH = frozenset({AUTHENTICATED, SELECTED})
_SELECTED = frozenset({SELECTED})

HANDLERS: dict[type[c.Command], tuple[Handler, frozenset[str]]] = {
    c.Capability: (commands_auth.cmd_capability, _ANY),
    c.Noop: (commands_auth.cmd_noop, _ANY),
    c.Logout: (commands_auth.cmd_logout, _ANY),
    c.Id: (commands_auth.cmd_id, _ANY),
    c.Enable: (commands_auth.cmd_enable, _AUTH),
    c.StartTLS: (commands_auth.cmd_starttls, _NOAUTH),
    c.Login: (commands_auth.cmd_login, _NOAUTH),
    c.Authenticate: (commands_auth.cmd_authenticate, _NOAUTH),
    c.Select: (commands_mailbox.cmd_select, _AUTH),
    c.Create: (commands_mailbox.cmd_create, _AUTH),
    c.Delete: (commands_mailbox.cmd_delete, _AUTH),
    c.Rename: (commands_mailbox.cmd_rename, _AUTH),
    c.Subscribe: (commands_mailbox.cmd_subscribe, _AUTH),
    c.Unsubscribe: (commands_mailbox.cmd_subscribe, _AUTH),
    c.List: (commands_mailbox.cmd_list, _AUTH),
    c.Lsub: (commands_mailbox.cmd_lsub, _AUTH),
    c.Status: (commands_mailbox.cmd_status, _AUTH),
    c.Namespace: (commands_mailbox.cmd_namespace, _AUTH),
    c.Append: (commands_store.cmd_append, _AUTH),
    c.Idle: (idle.cmd_idle, _AUTH),
    c.GetQuota: (commands_quota.cmd_getquota, _AUTH),
    c.GetQuotaRoot: (commands_quota.cmd_getquotaroot, _AUTH),
    c.SetQuota: (commands_quota.cmd_setquota, _AUTH),
    c.GetAcl: (shared.cmd_getacl, _AUTH),
    c.SetAcl: (shared.cmd_setacl, _AUTH),
    c.DeleteAcl: (shared.cmd_setacl, _AUTH),
    c.ListRights: (shared.cmd_listrights, _AUTH),
    c.MyRights: (shared.cmd_myrights, _AUTH),
    c.Check: (commands_mailbox.cmd_check, _SELECTED),
    c.Close: (commands_mailbox.cmd_close, _SELECTED),
    c.Unselect: (commands_mailbox.cmd_unselect, _SELECTED),
    c.Expunge: (commands_store.cmd_expunge, _SELECTED),
    c.Search: (commands_search.cmd_search, _SELECTED),
    c.Fetch: (commands_fetch.cmd_fetch, _SELECTED),
    c.Store: (commands_store.cmd_store, _SELECTED),
    c.Copy: (commands_store.cmd_copy, _SELECTED),
    c.Move: (commands_store.cmd_copy, _SELECTED),
}

# Commands during which EXPUNGE responses must not be sent (unless by UID).
_NO_EXPUNGE = (c.Fetch, c.Store, c.Search)
# Commands that look at the store even when no event said something changed.
_ALWAYS_REFRESH = (c.Noop, c.Check)


def is_loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class Session:
    def __init__(self, service: ImapService, conn: Connection) -> None:
        ctx = service.ctx
        self.service = service
        self.conn = conn
        self.settings = ctx.settings
        self.store = ctx.store
        self.directory = ctx.directory
        self.events = ctx.events
        self.mailstore = ctx.mailstore
        self.guard = ctx.guard
        self.reader = CommandReader(PREAUTH_LIMITS)
        self.state: State = NOT_AUTHENTICATED
        self.user: Mailbox | None = None
        self.view: SelectedView | None = None
        self.utf8 = False
        self.condstore = False
        self.qresync = False
        self.rev2 = False
        self.saved_search: list[int] | None = None
        self.login_failures = 0
        self.errors_in_a_row = 0
        self.client_id: dict[str, str | None] = {}
        self._out: list[bytes] = []
        self._out_size = 0
        self._result: tuple[Literal["OK", "NO", "BAD"], str, ResponseCode | None] | None = None
        self.answered = False  # the handler sent its own tagged response
        self.started = time.monotonic()

    # -- output ----------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self._out.append(data)
        self._out_size += len(data)

    async def flush(self) -> None:
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        self.conn.write(data)
        await self.conn.drain()

    async def maybe_flush(self) -> None:
        if self._out_size >= FLUSH_AT:
            await self.flush()

    def ok(self, tag: str, text: str = "", code: ResponseCode | None = None) -> None:
        """The command succeeded; the tagged OK is sent after the untagged updates."""
        self._result = ("OK", text, code)

    def text(self, key: str, /, **params: Any) -> str:
        return say(key, self.utf8 or self.rev2, **params)

    def refusal(self, key: str, code: ResponseCode | None = None, /, **params: Any) -> Refusal:
        return Refusal(self.text(key, **params), code)

    # -- what the client may do ------------------------------------------------------------
    @property
    def tz(self) -> Any:
        return self.service.tz

    def password_allowed(self) -> bool:
        if self.conn.tls:
            return True
        return bool(
            self.settings.listeners.allow_plaintext_auth_on_loopback
            and is_loopback(self.conn.peer_ip)
        )

    def capabilities(self) -> list[str]:
        caps = list(CAPS_ALWAYS)
        if self.state == NOT_AUTHENTICATED:
            if not self.conn.tls and self.service.tls is not None:
                caps.append("STARTTLS")
            caps.append("AUTH=PLAIN" if self.password_allowed() else "LOGINDISABLED")
            return caps
        caps.extend(CAPS_AUTHENTICATED)
        caps.append(f"APPENDLIMIT={self.settings.limits.max_message_size}")
        return caps

    def enable_condstore(self) -> None:
        """RFC 7162 3.1: commands using CONDSTORE features enable it for the session."""
        self.condstore = True

    def flags_for_view(self, view: SelectedView) -> list[str]:
        return [*SYSTEM_FLAGS, *COMMON_KEYWORDS, *sorted(view.keywords - set(COMMON_KEYWORDS))]

    def require(self, ref: MailboxRef, rights: str) -> None:
        if not ref.may(rights):
            raise self.refusal("imap.no_permission", ResponseCode.NOPERM, name=ref.name)

    # -- mailboxes -------------------------------------------------------------------------
    async def handled(self) -> list[Handled]:
        """The agency mailboxes this user handles, read fresh from the directory."""
        assert self.user is not None
        async with self.store.read() as tx:
            rows = await tx.directory.handled_by(self.user.id)
        return [
            Handled(mb.id, mb.address.lower(), bool(h.is_clerk))
            for h, mb in rows
            if mb.status == "active"
        ]

    async def mailbox_ref(self, name: str) -> MailboxRef | None:
        assert self.user is not None
        handled = await self.handled() if is_shared_name(name) else []
        return resolve(name, self.user.id, self.user.address, handled)

    async def find_folder(self, name: str) -> tuple[MailboxRef, Folder]:
        """The existing folder called ``name``; NO [NONEXISTENT] if there is none."""
        ref = await self.mailbox_ref(name)
        folder = None
        if ref is not None:
            async with self.store.read() as tx:
                folder = await tx.mail.folder(ref.owner_id, ref.folder_name)
        if ref is None or folder is None:
            raise self.refusal("imap.no_mailbox", ResponseCode.NONEXISTENT, name=name)
        return ref, folder

    async def existing_mailbox(self, name: str) -> MailboxRef:
        ref, _folder = await self.find_folder(name)
        return ref

    async def deselect(self, *, announce: bool) -> None:
        view = self.view
        if view is None:
            return
        self.events.unsubscribe(view.folder_id, view.queue)
        self.view = None
        self.saved_search = None
        if self.state == SELECTED:
            self.state = AUTHENTICATED
        if announce and (self.qresync or self.rev2):
            self.send(r.untagged_status("OK", "previous mailbox closed", ResponseCode.CLOSED))

    def logged_in(self, user: Mailbox) -> None:
        self.user = user
        self.state = AUTHENTICATED
        lim = self.settings.limits
        self.reader.limits = ReaderLimits(
            max_append_literal_size=lim.max_message_size,
            max_command_literal_total=lim.max_message_size + 1024 * 1024,
            max_discard_size=2 * lim.max_message_size + 1024 * 1024,
        )

    # -- reading ---------------------------------------------------------------------------
    async def read_more(self) -> bytes:
        timeout = PREAUTH_TIMEOUT if self.state == NOT_AUTHENTICATED else AUTH_TIMEOUT
        try:
            return await self.conn.read(timeout)
        except TimeoutError:
            raise CloseSession(self.text("imap.bye_timeout")) from None

    async def next_event(self) -> RawCommand | LiteralRequest | ContinuationLine | None:
        """The next reader event, reading from the client as needed; None at end of input.

        Protocol errors are answered here and reading goes on.
        """
        while True:
            try:
                event = self.reader.next_event()
            except ProtocolError as err:
                await self.protocol_error(err)
                continue
            if event is not None:
                return event
            await self.flush()
            data = await self.read_more()
            if not data:
                return None
            self.reader.feed(data)

    async def read_continuation(self) -> bytes | None:
        """A line the client sends in the middle of a command (AUTHENTICATE); None at EOF."""
        self.reader.expect_line()
        await self.flush()
        while True:
            event = await self.next_event()
            if event is None:
                return None
            if isinstance(event, ContinuationLine):
                return event.data
            # The reader only yields a continuation line after expect_line().
            raise Refusal("expected a continuation line", status="BAD")

    async def protocol_error(self, err: ProtocolError) -> None:
        if err.tag:
            self.send(r.tagged(err.tag, err.status, err.reason, code=err.code))
        else:
            self.send(r.untagged_status("BAD", err.reason, err.code))
        self.errors_in_a_row += 1
        if err.fatal or self.errors_in_a_row > MAX_ERRORS_IN_A_ROW:
            raise CloseSession(self.text("imap.bye_errors"))

    # -- the session -----------------------------------------------------------------------
    async def run(self) -> None:
        try:
            self.send(
                r.untagged_status(
                    "OK", self.text("imap.greeting"), ResponseCode.capability(self.capabilities())
                )
            )
            await self.flush()
            while self.state != LOGOUT:
                event = await self.next_event()
                if event is None:
                    break
                if isinstance(event, LiteralRequest):
                    self.reader.accept_literal()
                    self.send(r.continuation("Ready"))
                    await self.flush()
                elif isinstance(event, RawCommand):
                    await self.dispatch(event)
                    await self.flush()
                else:
                    self.send(r.untagged_status("BAD", "unexpected continuation line"))
        except CloseSession as bye:
            await self._say_bye(bye.text)
        except (ConnectionClosed, ConnectionError):
            pass
        except asyncio.CancelledError:
            await self._say_bye(self.text("imap.bye_shutdown"))
            raise
        except Exception:
            log.exception("IMAP session failed", extra={"peer": self.conn.peer_ip})
            await self._say_bye(self.text("imap.server_error"))
        finally:
            await self.deselect(announce=False)
            self.conn.close()

    async def _say_bye(self, text: str) -> None:
        try:
            self.send(r.untagged_status("BYE", text))
            await asyncio.wait_for(self.flush(), 5)
        except Exception:
            pass

    async def dispatch(self, raw: RawCommand) -> None:
        try:
            cmd = parse_command(raw, utf8=self.utf8 or self.rev2)
        except ProtocolError as err:
            await self.protocol_error(err)
            return
        entry = HANDLERS.get(type(cmd))
        if entry is None:
            self.send(r.tagged(cmd.tag, "BAD", f"{raw.name} is not supported"))
            return
        handler, states = entry
        if self.state not in states:
            self.errors_in_a_row += 1
            need = " or ".join(sorted(states))
            self.send(r.tagged(cmd.tag, "BAD", f"{raw.name} is only valid when {need}"))
            return
        self.errors_in_a_row = 0
        self._result = None
        self.answered = False
        try:
            await handler(self, cmd)
        except Refusal as refusal:
            self._result = (refusal.status, refusal.text, refusal.code)
        except (CloseSession, ConnectionClosed, ConnectionError, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("IMAP command failed", extra={"command": raw.name})
            self._result = ("NO", self.text("imap.server_error"), ResponseCode.SERVERBUG)
        if self.answered or self.state == LOGOUT:
            return
        if self.view is not None:
            try:
                await self.view.refresh(
                    self,
                    expunge_ok=not (
                        isinstance(cmd, _NO_EXPUNGE) and not getattr(cmd, "uid", False)
                    ),
                    force=isinstance(cmd, _ALWAYS_REFRESH),
                )
            except (CloseSession, ConnectionClosed, ConnectionError, asyncio.CancelledError):
                raise
            except Exception:
                log.exception("IMAP mailbox refresh failed")
        status, text, code = self._result or ("OK", "", None)
        self.send(r.tagged(cmd.tag, status, text or f"{raw.name} completed", code))
