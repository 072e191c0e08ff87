"""API tokens: created by administrators (console or ``govmail api token create``),
scoped, optionally bound to one mailbox (mail scopes) and one agency subtree
(directory scopes), revocable, optionally expiring. The secret is shown once; only its
SHA-256 is stored, so a copy of the database gives no usable token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from govmail.directory.base import Actor
from govmail.directory.service import Directory, DirectoryOps
from govmail.i18n import t
from govmail.store.db import Store
from govmail.store.models import Agency, Mailbox, utcnow
from govmail.store.models_api import API_SCOPES, MAIL_SCOPES, ApiToken
from govmail.store.repos.api import ApiRepo

PREFIX = "gmt_"
SECRET_BYTES = 32
MAX_DAYS = 3650


class TokenError(Exception):
    """A token cannot be created or changed as asked; ``key`` names a catalogue message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def message(self, lang: str | None = None) -> str:
        return t(f"api.token.{self.key}", lang, **self.params)

    def __str__(self) -> str:
        return self.message()


@dataclass(frozen=True, slots=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def well_formed(secret: str) -> bool:
    """Cheap check before any database work: our prefix and a url-safe body."""
    body = secret[len(PREFIX) :]
    return (
        secret.startswith(PREFIX)
        and 40 <= len(body) <= 64
        and all(c.isalnum() or c in "-_" for c in body)
    )


def _repo(ops: DirectoryOps) -> ApiRepo:
    return ApiRepo(ops.tx.session, ops.tx.store.dialect)


def describe(
    token: ApiToken, mailbox: Mailbox | None = None, agency: Agency | None = None
) -> dict[str, Any]:
    """A token as listings and the audit log show it (never the secret or its hash)."""
    return {
        "id": token.id,
        "label": token.label,
        "prefix": token.prefix,
        "scopes": list(token.scopes),
        "mailbox": mailbox.address if mailbox else None,
        "agency": (agency.code or str(agency.id)) if agency else None,
        "created_by": token.created_by,
        "created_at": token.created_at.isoformat() if token.created_at else None,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }


ScopeCheck = Callable[[DirectoryOps, Agency | None, Mailbox | None], Awaitable[None]]


async def create_token(
    directory: Directory,
    actor: Actor,
    *,
    label: str,
    scopes: Sequence[str],
    mailbox: str | None = None,
    agency: str | int | None = None,
    expires_days: int | None = None,
    check: ScopeCheck | None = None,
) -> NewToken:
    """Create a token (audited as ``api_token.create``). ``check`` may refuse the bound
    mailbox or agency (the console passes the administrator's scope)."""
    label = " ".join(label.split())[:100]
    wanted = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    if not label:
        raise TokenError("no_label")
    if not wanted:
        raise TokenError("no_scope", scopes=", ".join(API_SCOPES))
    unknown = [s for s in wanted if s not in API_SCOPES]
    if unknown:
        raise TokenError("bad_scope", scope=", ".join(unknown), scopes=", ".join(API_SCOPES))
    if any(s in MAIL_SCOPES for s in wanted) and not mailbox:
        raise TokenError("needs_mailbox")
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise TokenError("bad_expiry", max=MAX_DAYS)
    secret = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    async with directory.ops(actor) as ops:
        m = await ops.mailbox(mailbox) if mailbox else None
        if m is not None and m.status != "active":
            raise TokenError("mailbox_inactive", address=m.address)
        a = await ops.agency(agency) if agency not in (None, "") else None
        if check is not None:
            await check(ops, a, m)
        token = await _repo(ops).add(
            ApiToken(
                label=label,
                token_hash=hash_secret(secret),
                prefix=secret[: len(PREFIX) + 6],
                scopes=[s for s in API_SCOPES if s in wanted],
                mailbox_id=m.id if m else None,
                agency_id=a.id if a else None,
                created_by=actor.name,
                expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
            )
        )
        await ops.audit("api_token.create", "api_token", str(token.id), after=describe(token, m, a))
    return NewToken(token, secret)


async def revoke_token(
    directory: Directory,
    actor: Actor,
    token_id: int,
    check: Callable[[DirectoryOps, ApiToken], Awaitable[None]] | None = None,
) -> ApiToken:
    async with directory.ops(actor) as ops:
        token = await _repo(ops).token_by_id(token_id)
        if token is None:
            raise TokenError("not_found", id=token_id)
        if check is not None:
            await check(ops, token)
        if token.revoked_at is not None:
            raise TokenError("already_revoked", id=token_id)
        before = describe(token)
        token.revoked_at = utcnow()
        await ops.tx.flush()
        await ops.audit("api_token.revoke", "api_token", str(token.id), before, describe(token))
        return token


@dataclass(frozen=True, slots=True)
class Verdict:
    token: ApiToken | None
    reason: str  # ok | invalid | revoked | expired | mailbox_inactive


async def check_secret(store: Store, secret: str, remote_addr: str | None) -> Verdict:
    """The token a presented secret belongs to, if it may be used now."""
    if not well_formed(secret):
        return Verdict(None, "invalid")
    digest = hash_secret(secret)
    async with store.read() as tx:
        token = await ApiRepo(tx.session, tx.store.dialect).token_by_hash(digest)
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            return Verdict(None, "invalid")
        if token.revoked_at is not None:
            return Verdict(None, "revoked")
        if token.expires_at is not None and token.expires_at <= utcnow():
            return Verdict(None, "expired")
        if token.mailbox_id is not None:
            m = await tx.directory.mailbox_by_id(token.mailbox_id)
            if m is None or m.status != "active":
                return Verdict(None, "mailbox_inactive")
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        async with store.write() as tx:
            await ApiRepo(tx.session, tx.store.dialect).mark_used(token.id, now, remote_addr, 60)
    return Verdict(token, "ok")
