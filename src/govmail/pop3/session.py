"""One POP3 connection: the AUTHORIZATION / TRANSACTION / UPDATE state machine.

The session speaks POP3 through ``protocol`` and keeps its marks in a ``Maildrop``; mail is
read and changed only through ``MailStore`` (so IMAP sessions see deletions and \\Seen),
and passwords are checked only through the shared ``LoginGuard``.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from govmail.config import Settings
from govmail.delivery.mailstore import MailStore
from govmail.directory.login_guard import LoginGuard
from govmail.directory.service import Directory
from govmail.i18n import both
from govmail.pop3 import protocol as p
from govmail.pop3.channel import LineChannel, LineTooLong
from govmail.pop3.maildrop import Maildrop, MaildropLocks, MessageDeleted, NoSuchMessage

log = logging.getLogger("govmail.pop3")

State = Literal["authorization", "transaction", "update"]
SASL_MECHANISMS = ("PLAIN", "LOGIN")


@dataclass(slots=True)
class Pop3Context:
    """What every session of one listener shares."""

    settings: Settings
    directory: Directory
    guard: LoginGuard
    mailstore: MailStore
    locks: MaildropLocks
    tls: ssl.SSLContext | None
    implicit_tls: bool
    idle_timeout: float = 600.0  # RFC 1939 §3: at least 10 minutes
    max_bad_commands: int = 10


def is_loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class _Refusal(Exception):
    """Ends a command with an -ERR response."""

    def __init__(self, response: bytes) -> None:
        super().__init__(response)
        self.response = response


class _NoInbox(Exception):
    pass


Handler = Callable[[p.Command], Awaitable[None]]


class Pop3Session:
    def __init__(self, channel: LineChannel, ctx: Pop3Context) -> None:
        self.ch = channel
        self.ctx = ctx
        self.state: State = "authorization"
        self.user: str | None = None
        self.utf8 = False
        self.mailbox_id: int | None = None
        self.address = ""
        self.drop: Maildrop | None = None
        self.bad = 0
        self.done = False
        self._commands: dict[str, tuple[Handler, tuple[State, ...]]] = {
            "CAPA": (self.cmd_capa, ("authorization", "transaction")),
            "STLS": (self.cmd_stls, ("authorization",)),
            "UTF8": (self.cmd_utf8, ("authorization",)),
            "USER": (self.cmd_user, ("authorization",)),
            "PASS": (self.cmd_pass, ("authorization",)),
            "AUTH": (self.cmd_auth, ("authorization",)),
            "QUIT": (self.cmd_quit, ("authorization", "transaction")),
            "NOOP": (self.cmd_noop, ("transaction",)),
            "STAT": (self.cmd_stat, ("transaction",)),
            "LIST": (self.cmd_list, ("transaction",)),
            "UIDL": (self.cmd_uidl, ("transaction",)),
            "RETR": (self.cmd_retr, ("transaction",)),
            "TOP": (self.cmd_top, ("transaction",)),
            "DELE": (self.cmd_dele, ("transaction",)),
            "RSET": (self.cmd_rset, ("transaction",)),
        }

    # -- helpers ----------------------------------------------------------------------------
    async def send(self, data: bytes) -> None:
        await self.ch.write(data)

    def ok(self, text: str = "") -> bytes:
        return p.ok(text, utf8=self.utf8)

    def err(self, text: str, code: str | None = None) -> bytes:
        return p.err(text, code, utf8=self.utf8)

    def human_err(self, key: str, code: str | None = None, **params: Any) -> bytes:
        """-ERR with the catalogue text, Vietnamese then English."""
        return self.err(both(key, **params), code)

    def passwords_allowed(self) -> bool:
        if self.ch.tls_active:
            return True
        return bool(
            self.ctx.settings.listeners.allow_plaintext_auth_on_loopback
            and is_loopback(self.ch.peer_ip)
        )

    def _require_passwords(self) -> None:
        if not self.passwords_allowed():
            raise _Refusal(self.human_err("pop3.tls_required", p.AUTH))

    def _maildrop(self) -> Maildrop:
        assert self.drop is not None
        return self.drop

    # -- main loop --------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self.send(self.ok(f"{self.ctx.settings.general.hostname} govmail POP3 ready"))
            while not self.done:
                try:
                    await self.dispatch(await self.ch.readline(self.ctx.idle_timeout))
                except TimeoutError:
                    minutes = max(1, round(self.ctx.idle_timeout / 60))
                    self.ch.write_nowait(self.human_err("pop3.idle_timeout", minutes=minutes))
                    return
                except LineTooLong:
                    self.ch.write_nowait(self.human_err("pop3.line_too_long"))
                    return
        finally:
            await self._end()

    async def dispatch(self, line: bytes) -> None:
        try:
            cmd = p.parse_command(line)
        except p.Pop3SyntaxError as exc:
            await self.bad_command(self.err(str(exc)))
            return
        entry = self._commands.get(cmd.name)
        if entry is None:
            await self.bad_command(self.err("unknown command"))
            return
        handler, states = entry
        if self.state not in states:
            await self.bad_command(self.err(f"{cmd.name} is not valid in this state"))
            return
        try:
            await handler(cmd)
        except _Refusal as exc:
            await self.send(exc.response)
        except NoSuchMessage:
            await self.send(self.err("no such message"))
        except MessageDeleted as exc:
            await self.send(self.err(f"message {exc.number} already deleted"))
        except p.Pop3SyntaxError as exc:
            await self.bad_command(self.err(str(exc)))

    async def bad_command(self, response: bytes) -> None:
        self.bad += 1
        if self.bad >= self.ctx.max_bad_commands:
            await self.send(self.human_err("pop3.too_many_errors"))
            self.done = True
        else:
            await self.send(response)

    async def _end(self) -> None:
        """The connection is over: without QUIT, deletions are dropped (RFC 1939 §6),
        but messages already retrieved are still marked \\Seen."""
        try:
            if self.state == "transaction" and self.drop is not None:
                seen = self.drop.retrieved_uids()
                if seen:
                    await self.ctx.mailstore.set_flags(
                        self.drop.folder_id, seen, "add", ["\\Seen"], origin=self
                    )
        except Exception:
            log.exception("could not mark retrieved messages seen", extra={"user": self.address})
        finally:
            if self.mailbox_id is not None:
                self.ctx.locks.release(self.mailbox_id, self)

    # -- AUTHORIZATION ----------------------------------------------------------------------
    async def cmd_capa(self, cmd: p.Command) -> None:
        caps = p.capabilities(
            stls=not self.ch.tls_active and self.ctx.tls is not None,
            passwords=self.passwords_allowed(),
            transaction=self.state != "authorization",
        )
        await self.send(p.multiline(self.ok("Capability list follows"), caps))

    async def cmd_stls(self, cmd: p.Command) -> None:
        if self.ch.tls_active:
            raise _Refusal(self.err("command not permitted when TLS active"))
        if self.ctx.tls is None:
            raise _Refusal(self.err("TLS not available"))
        await self.send(self.ok("Begin TLS negotiation"))
        await self.ch.start_tls(self.ctx.tls)
        self.user = None  # nothing learned before TLS is trusted (RFC 2595 §4)

    async def cmd_utf8(self, cmd: p.Command) -> None:
        self.utf8 = True
        await self.send(self.ok("UTF8 enabled"))

    async def cmd_user(self, cmd: p.Command) -> None:
        self._require_passwords()
        name = cmd.rest.strip()
        if not name:
            raise p.Pop3SyntaxError("USER needs a user name")
        self.user = name
        await self.send(self.ok("send PASS"))

    async def cmd_pass(self, cmd: p.Command) -> None:
        self._require_passwords()
        if self.user is None:
            raise _Refusal(self.err("send USER first"))
        user, self.user = self.user, None
        await self.login(user, cmd.rest)

    async def cmd_auth(self, cmd: p.Command) -> None:
        self._require_passwords()
        if not cmd.args:
            await self.send(p.multiline(self.ok("SASL mechanisms follow"), SASL_MECHANISMS))
            return
        mechanism = cmd.args[0].upper()
        if mechanism not in SASL_MECHANISMS or len(cmd.args) > 2:
            raise _Refusal(self.err("unsupported authentication mechanism"))
        initial = cmd.args[1] if len(cmd.args) == 2 else None
        try:
            if mechanism == "PLAIN":
                data = p.decode_sasl(initial) if initial is not None else await self.sasl_step()
                authz, account, password = p.decode_plain(data)
                if authz and authz.strip().lower() != account.strip().lower():
                    raise _Refusal(self.err("authorization identity not allowed", p.AUTH))
            else:
                first = p.decode_sasl(initial) if initial is not None else None
                if first is None:
                    first = await self.sasl_step(b"Username:")
                account = p.decode_text(first)
                password = p.decode_text(await self.sasl_step(b"Password:"))
        except p.SaslError as exc:
            self.bad += 1
            raise _Refusal(self.err(str(exc))) from None
        await self.login(account, password)

    async def sasl_step(self, challenge: bytes = b"") -> bytes:
        await self.send(p.continuation(challenge))
        line = (await self.ch.readline(self.ctx.idle_timeout)).rstrip(b"\r")
        if line.strip() == b"*":
            raise _Refusal(self.err("authentication cancelled"))
        try:
            return p.decode_sasl(line.decode("ascii"))
        except UnicodeDecodeError:
            raise p.SaslError("invalid base64") from None

    async def login(self, account: str, password: str) -> None:
        outcome = await self.ctx.guard.login(
            self.ctx.directory, account, password, self.ch.peer_ip, "pop3"
        )
        if outcome.locked:
            self.bad += 1
            raise _Refusal(self.human_err("auth.locked", p.LOGIN_DELAY))
        mailbox = outcome.mailbox
        if mailbox is None:
            self.bad += 1
            raise _Refusal(self.human_err("pop3.auth_failed", p.AUTH))
        if not self.ctx.locks.acquire(mailbox.id, self):
            raise _Refusal(self.human_err("pop3.in_use", p.IN_USE))
        try:
            self.drop = await self.open_maildrop(mailbox.id)
        except _NoInbox:
            self.ctx.locks.release(mailbox.id, self)
            raise _Refusal(self.human_err("pop3.no_inbox", p.SYS_PERM)) from None
        except Exception:
            self.ctx.locks.release(mailbox.id, self)
            log.exception("could not open maildrop", extra={"user": mailbox.address})
            raise _Refusal(self.human_err("pop3.unavailable", p.SYS_TEMP)) from None
        self.mailbox_id, self.address = mailbox.id, mailbox.address
        self.state = "transaction"
        count, octets = self.drop.stat()
        await self.send(self.ok(f"{self.address} has {count} messages ({octets} octets)"))

    async def open_maildrop(self, mailbox_id: int) -> Maildrop:
        async with self.ctx.mailstore.store.read() as tx:
            folder = await tx.mail.folder(mailbox_id, "INBOX")
            if folder is None:
                raise _NoInbox
            listing = await tx.mail.pop3_listing(folder.id)
            return Maildrop(folder.id, folder.uidvalidity, listing)

    # -- TRANSACTION ------------------------------------------------------------------------
    async def cmd_noop(self, cmd: p.Command) -> None:
        await self.send(self.ok())

    async def cmd_stat(self, cmd: p.Command) -> None:
        count, octets = self._maildrop().stat()
        await self.send(self.ok(f"{count} {octets}"))

    async def cmd_list(self, cmd: p.Command) -> None:
        drop = self._maildrop()
        if len(cmd.args) > 1:
            raise p.Pop3SyntaxError("LIST takes at most one message number")
        if cmd.args:
            e = drop.get(p.parse_number(cmd.args[0]))
            await self.send(self.ok(p.scan_line(e.number, e.size)))
            return
        count, octets = drop.stat()
        lines = [p.scan_line(e.number, e.size) for e in drop.live()]
        await self.send(p.multiline(self.ok(f"{count} messages ({octets} octets)"), lines))

    async def cmd_uidl(self, cmd: p.Command) -> None:
        drop = self._maildrop()
        if len(cmd.args) > 1:
            raise p.Pop3SyntaxError("UIDL takes at most one message number")
        if cmd.args:
            e = drop.get(p.parse_number(cmd.args[0]))
            await self.send(self.ok(p.scan_line(e.number, drop.unique_id(e))))
            return
        lines = [p.scan_line(e.number, drop.unique_id(e)) for e in drop.live()]
        await self.send(p.multiline(self.ok("unique-id listing follows"), lines))

    async def _read(self, number: int) -> tuple[bytes, Any]:
        drop = self._maildrop()
        entry = drop.get(number)
        try:
            async with self.ctx.mailstore.store.read() as tx:
                msg = await tx.mail.message_by_uid(drop.folder_id, entry.uid)
            raw = None if msg is None else await self.ctx.mailstore.read_raw(msg)
        except Exception:
            log.exception("could not read message", extra={"user": self.address})
            raise _Refusal(self.human_err("pop3.unavailable", p.SYS_TEMP)) from None
        if raw is None:
            raise _Refusal(self.human_err("pop3.message_gone", number=number))
        return raw, entry

    async def cmd_retr(self, cmd: p.Command) -> None:
        if len(cmd.args) != 1:
            raise p.Pop3SyntaxError("RETR takes one message number")
        raw, entry = await self._read(p.parse_number(cmd.args[0]))
        data = p.wire_form(raw)
        await self.send(self.ok(f"{len(data)} octets") + p.dot_stuff(data))
        entry.retrieved = True

    async def cmd_top(self, cmd: p.Command) -> None:
        if len(cmd.args) != 2:
            raise p.Pop3SyntaxError("TOP takes a message number and a line count")
        number, lines = p.parse_number(cmd.args[0]), p.parse_number(cmd.args[1])
        raw, _entry = await self._read(number)
        await self.send(self.ok("top of message follows") + p.dot_stuff(p.top_of(raw, lines)))

    async def cmd_dele(self, cmd: p.Command) -> None:
        if len(cmd.args) != 1:
            raise p.Pop3SyntaxError("DELE takes one message number")
        entry = self._maildrop().delete(p.parse_number(cmd.args[0]))
        await self.send(self.ok(f"message {entry.number} deleted"))

    async def cmd_rset(self, cmd: p.Command) -> None:
        drop = self._maildrop()
        drop.reset()
        count, octets = drop.stat()
        await self.send(self.ok(f"maildrop has {count} messages ({octets} octets)"))

    # -- UPDATE -----------------------------------------------------------------------------
    async def cmd_quit(self, cmd: p.Command) -> None:
        self.done = True
        host = self.ctx.settings.general.hostname
        if self.state == "authorization":
            await self.send(self.ok(f"{host} POP3 server signing off"))
            return
        self.state = "update"
        drop = self._maildrop()
        try:
            await self.commit(drop)
        except Exception:
            log.exception("POP3 update failed", extra={"user": self.address})
            await self.send(self.human_err("pop3.update_failed", p.SYS_TEMP))
            return
        left = len(drop.live())
        await self.send(self.ok(f"{host} POP3 server signing off ({left} messages left)"))

    async def commit(self, drop: Maildrop) -> None:
        """Mark retrieved messages \\Seen and expunge the deleted ones, through MailStore."""
        ms = self.ctx.mailstore
        seen, deleted = drop.retrieved_uids(), drop.deleted_uids()
        if seen:
            await ms.set_flags(drop.folder_id, seen, "add", ["\\Seen"], origin=self)
        if deleted:
            await ms.set_flags(drop.folder_id, deleted, "add", ["\\Deleted"], origin=self)
            await ms.expunge(drop.folder_id, deleted, origin=self)
