"""API tokens: create (the secret is shown once), list, revoke. An agency administrator's
tokens are limited to its subtree and to mailboxes in it."""

from __future__ import annotations

from starlette.responses import Response

from govmail.directory.errors import DirectoryError
from govmail.directory.service import DirectoryOps
from govmail.store.models import Agency, Mailbox
from govmail.store.models_api import API_SCOPES, ApiToken
from govmail.store.repos.api import ApiRepo
from govmail.web.admin.common import (
    ADMIN_ROLES,
    error_status,
    form_int,
    refuse,
    render,
    scope,
)
from govmail.web.admin.scope import OutOfScope, Scope
from govmail.web.api.tokens import TokenError, create_token, revoke_token
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()


async def _page(
    w: WebRequest,
    *,
    error: str | None = None,
    status: int = 200,
    secret: str | None = None,
    created: ApiToken | None = None,
) -> Response:
    sc = await scope(w)
    async with w.core.store.read() as tx:
        ids = await sc.agency_ids(tx)
        tokens = await ApiRepo(tx.session, tx.store.dialect).tokens(agency_ids=ids)
        agencies = await sc.agencies(tx)
        names = {a.id: a for a in await tx.directory.agencies(active_only=False)}
        boxes = {}
        for tok in tokens:
            if tok.mailbox_id and tok.mailbox_id not in boxes:
                boxes[tok.mailbox_id] = await tx.directory.mailbox_by_id(tok.mailbox_id)
    return await render(
        w,
        "admin/tokens.html",
        {
            "tokens": tokens,
            "agencies": agencies,
            "names": names,
            "boxes": boxes,
            "scopes": API_SCOPES,
            "secret": secret,
            "created": created,
            "form": dict(w.form or {}) if error else {},
        },
        status=status,
        error=error,
    )


@router.get("/admin/tokens", roles=ADMIN_ROLES)
async def tokens_page(w: WebRequest) -> Response:
    return await _page(w)


def _checker(sc: Scope):  # type: ignore[no-untyped-def]
    async def check(ops: DirectoryOps, agency: Agency | None, mailbox: Mailbox | None) -> None:
        if not sc.everything:
            if agency is None:
                raise OutOfScope("api_token.create", "agency", "*")
            sc.require(agency, "api_token.create")
        if mailbox is not None:
            await sc.require_mailbox(ops, mailbox, "api_token.create")

    return check


@router.post("/admin/tokens", roles=ADMIN_ROLES)
async def create(w: WebRequest) -> Response:
    sc = await scope(w)
    days = form_int(w, "expires_days")
    if w.form_str("expires_days").strip() and days is None:
        return await _page(w, error=w.t("web.admin.bad_number"), status=400)
    try:
        new = await create_token(
            w.core.directory,
            w.actor(),
            label=w.form_str("label"),
            scopes=w.form_list("scope"),
            mailbox=w.form_str("mailbox").strip().lower() or None,
            agency=w.form_str("agency").strip() or None,
            expires_days=days,
            check=_checker(sc),
        )
    except OutOfScope as exc:
        return await refuse(w, exc)
    except TokenError as exc:
        return await _page(w, error=exc.message(w.lang), status=400)
    except DirectoryError as exc:
        return await _page(w, error=exc.message(w.lang), status=error_status(exc))
    return await _page(w, secret=new.secret, created=new.token)


@router.post("/admin/tokens/{token_id:int}/revoke", roles=ADMIN_ROLES)
async def revoke(w: WebRequest) -> Response:
    sc = await scope(w)

    async def check(ops: DirectoryOps, token: ApiToken) -> None:
        if sc.everything:
            return
        agency = await ops.repo.agency_by_id(token.agency_id) if token.agency_id else None
        if agency is None or not sc.covers(agency):
            raise OutOfScope("api_token.revoke", "api_token", str(token.id))

    try:
        await revoke_token(w.core.directory, w.actor(), w.params["token_id"], check)
    except OutOfScope as exc:
        return await refuse(w, exc)
    except TokenError as exc:
        status = 404 if exc.key == "not_found" else 409
        return await _page(w, error=exc.message(w.lang), status=status)
    return w.redirect("/admin/tokens", flash="admin_token_revoked")
