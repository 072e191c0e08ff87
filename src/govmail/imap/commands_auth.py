"""Commands of any state and of the not-authenticated state: CAPABILITY, NOOP, LOGOUT, ID,
ENABLE, STARTTLS, LOGIN, AUTHENTICATE PLAIN.

Passwords travel only over TLS, or in clear on loopback when the setting
``listeners.allow_plaintext_auth_on_loopback`` allows it; otherwise LOGIN and
AUTHENTICATE answer ``NO [PRIVACYREQUIRED]`` and CAPABILITY says ``LOGINDISABLED``.
Every attempt goes through the login guard shared by all doors (failures counted per
account and per client address, locks, growing delays); after a few failures in one
session the connection is closed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from govmail import __version__ as _version
from govmail.imap.errors import CloseSession, Refusal
from govmail.imap.protocol import parse_sasl_response
from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import (
    Authenticate,
    Capability,
    Enable,
    Id,
    Login,
    Logout,
    Noop,
    StartTLS,
)
from govmail.imap.protocol.errors import ProtocolError
from govmail.imap.protocol.reader import CommandReader
from govmail.store.repos.mail import DEFAULT_FOLDERS

if TYPE_CHECKING:
    from govmail.imap.session import Session

log = logging.getLogger("govmail.imap")

SERVER_ID = (("name", "govmail"), ("version", _version), ("vendor", "govmail"))
ENABLEABLE = ("CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2")


async def cmd_capability(session: Session, cmd: Capability) -> None:
    session.send(r.capability(session.capabilities()))
    session.ok(cmd.tag, "CAPABILITY completed")


async def cmd_noop(session: Session, cmd: Noop) -> None:
    session.ok(cmd.tag, "NOOP completed")


async def cmd_logout(session: Session, cmd: Logout) -> None:
    from govmail.imap.session import LOGOUT

    session.send(r.untagged_status("BYE", session.text("imap.bye_logout")))
    session.send(r.tagged(cmd.tag, "OK", "LOGOUT completed"))
    session.state = LOGOUT
    session.answered = True


async def cmd_id(session: Session, cmd: Id) -> None:
    if cmd.parameters:
        session.client_id = {k[:64]: (v[:256] if v else v) for k, v in cmd.parameters}
        log.info("IMAP client %s", session.client_id, extra={"peer": session.conn.peer_ip})
    session.send(r.id_response(SERVER_ID))
    session.ok(cmd.tag, "ID completed")


async def cmd_enable(session: Session, cmd: Enable) -> None:
    done: list[str] = []
    for name in cmd.capabilities:
        if name not in ENABLEABLE or name in done:
            continue
        if name == "CONDSTORE":
            if session.condstore:
                continue
            session.condstore = True
        elif name == "QRESYNC":
            if session.qresync:
                continue
            session.qresync = session.condstore = True
        elif name == "UTF8=ACCEPT":
            if session.utf8:
                continue
            session.utf8 = True
        elif name == "IMAP4REV2":
            if session.rev2:
                continue
            session.rev2 = True
        done.append("IMAP4rev2" if name == "IMAP4REV2" else name)
    session.send(r.enabled(done))
    session.ok(cmd.tag, "ENABLE completed")


async def cmd_starttls(session: Session, cmd: StartTLS) -> None:
    from govmail.imap.session import PREAUTH_LIMITS

    tls = session.service.tls
    if tls is None or session.conn.tls:
        raise Refusal("TLS is already active", status="BAD")
    session.send(r.tagged(cmd.tag, "OK", "Begin TLS negotiation now"))
    session.answered = True
    await session.flush()
    if session.reader.buffered or session.conn.pending:
        # Bytes sent after STARTTLS in clear text must never run as if protected by TLS.
        session.conn.discard_pending()
        raise CloseSession("data after STARTTLS")
    await session.conn.start_tls(tls)
    session.reader = CommandReader(PREAUTH_LIMITS)


def _password_refusal(session: Session) -> Refusal:
    return Refusal(session.text("imap.tls_required"), ResponseCode.PRIVACYREQUIRED)


async def _login(session: Session, tag: str, account: str, password: str) -> None:
    from govmail.imap.session import MAX_LOGIN_FAILURES

    outcome = await session.guard.login(
        session.directory, account, password, session.conn.peer_ip, "imap"
    )
    if outcome.locked:
        raise Refusal(session.text("auth.locked"), ResponseCode.UNAVAILABLE)
    if outcome.mailbox is None:
        session.login_failures += 1
        log.info("IMAP login failed for %s", account[:100], extra={"peer": session.conn.peer_ip})
        if session.login_failures >= MAX_LOGIN_FAILURES:
            session.send(
                r.tagged(
                    tag, "NO", session.text("imap.login_failed"), ResponseCode.AUTHENTICATIONFAILED
                )
            )
            raise CloseSession(session.text("imap.bye_too_many_failures"))
        raise Refusal(session.text("imap.login_failed"), ResponseCode.AUTHENTICATIONFAILED)
    user = outcome.mailbox
    async with session.store.read() as tx:
        names = {f.name for f in await tx.mail.folders_of(user.id)}
    if any(name not in names for name, _use in DEFAULT_FOLDERS):
        async with session.store.write() as tx:
            await tx.mail.ensure_default_folders(user.id)
    session.logged_in(user)
    session.ok(tag, session.text("imap.login_ok"), ResponseCode.capability(session.capabilities()))


async def cmd_login(session: Session, cmd: Login) -> None:
    if not session.password_allowed():
        raise _password_refusal(session)
    await _login(session, cmd.tag, cmd.username, cmd.password)


async def cmd_authenticate(session: Session, cmd: Authenticate) -> None:
    if cmd.mechanism != "PLAIN":
        raise Refusal(f"unsupported SASL mechanism {cmd.mechanism[:40]}")
    if not session.password_allowed():
        raise _password_refusal(session)
    data = cmd.initial_response
    if data is None:
        session.send(r.sasl_challenge(b""))
        line = await session.read_continuation()
        if line is None:
            raise CloseSession("end of input")
        try:
            data = parse_sasl_response(line)
        except ProtocolError as err:
            raise Refusal(err.reason, status="BAD") from None
        if data is None:
            raise Refusal("AUTHENTICATE cancelled", status="BAD")
    parts = data.split(b"\x00")
    if len(parts) != 3:
        raise Refusal("PLAIN response must be authzid NUL authcid NUL password", status="BAD")
    try:
        authzid, authcid, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        raise Refusal("PLAIN response is not UTF-8", status="BAD") from None
    if authzid and authzid.lower() != authcid.lower():
        raise Refusal(session.text("imap.no_proxy_login"), ResponseCode.AUTHORIZATIONFAILED)
    await _login(session, cmd.tag, authcid, password)
