"""Logging in and out (password through the shared LoginGuard, then TOTP if the mailbox
has it), and the language switch. Shared by every web door (webmail, admin, directory)."""

from __future__ import annotations

import time

from starlette.responses import Response

from govmail.i18n import LANGUAGES
from govmail.web import totp
from govmail.web.routing import WebRequest, WebRouter, safe_path
from govmail.web.sessions import COOKIE, LANG_COOKIE, clear_cookie, set_cookie

router = WebRouter()
MAX_TOTP_FAILURES = 5
_used_codes: dict[tuple[int, str], float] = {}  # (mailbox, code) -> when; refuses replays


def _next(w: WebRequest) -> str:
    target = w.form_str("next") or w.query("next")
    return safe_path(target, "/mail") if target else "/mail"


@router.get("/", auth=False)
async def home(w: WebRequest) -> Response:
    return w.redirect("/mail" if w.verified_user else "/login")


@router.get("/login", auth=False)
async def login_form(w: WebRequest) -> Response:
    if w.verified_user is not None:
        return w.redirect(_next(w))
    notice = w.t("web.login.expired") if w.query("expired") else None
    return w.render(
        "login.html", {"next": w.query("next"), "error": None, "notice": notice, "account": ""}
    )


@router.post("/login", auth=False)
async def login(w: WebRequest) -> Response:
    account = w.form_str("account").strip().lower()
    password = w.form_str("password")
    context = {"next": w.form_str("next"), "account": account, "notice": None}
    if not account or not password:
        return w.render("login.html", {**context, "error": w.t("web.login.missing")}, status=400)
    outcome = await w.core.guard.login(w.core.directory, account, password, w.client_ip, "web")
    if outcome.locked:
        return w.render("login.html", {**context, "error": w.t("auth.locked")}, status=429)
    mailbox = outcome.mailbox
    if mailbox is None:
        return w.render("login.html", {**context, "error": w.t("web.login.failed")}, status=401)
    if w.session is not None:
        await w.state.sessions.destroy(w.session.id)
    await w.state.sessions.purge_expired()  # abandoned sessions, cleaned as people arrive
    needs_totp = bool(mailbox.totp_secret)
    chosen = w.request.cookies.get(LANG_COOKIE)
    token, _row = await w.state.sessions.create(
        mailbox,
        verified=not needs_totp,
        language=chosen if chosen in LANGUAGES else None,
        remote_addr=w.client_ip,
        user_agent=w.request.headers.get("user-agent"),
    )
    target = _next(w)
    if needs_totp:
        target = "/login/totp?next=" + target
    response = w.redirect(target)
    set_cookie(response, w.request, COOKIE, token)
    return response


@router.get("/login/totp", auth="pending")
async def totp_form(w: WebRequest) -> Response:
    if w.session is not None and w.session.verified:
        return w.redirect(_next(w))
    return w.render("totp.html", {"next": w.query("next"), "error": None})


@router.post("/login/totp", auth="pending")
async def totp_check(w: WebRequest) -> Response:
    assert w.session is not None and w.user is not None
    if w.session.verified:
        return w.redirect(_next(w))
    guard = w.core.guard
    account = w.user.address
    code = "".join(w.form_str("code").split())
    secret = w.user.totp_secret or ""
    now = time.time()
    for key, at in list(_used_codes.items()):
        if now - at > 120:
            del _used_codes[key]
    replay = (w.user.id, code) in _used_codes
    if guard.locked(account, w.client_ip):
        await w.state.sessions.destroy(w.session.id)
        return w.render(
            "login.html",
            {"next": "", "account": account, "notice": None, "error": w.t("auth.locked")},
            status=429,
        )
    if replay or not totp.verify(secret, code, now):
        guard.by_account.allow(account)
        if w.client_ip:
            guard.by_address.allow(w.client_ip)
        failures = guard.by_account.count(account)
        if failures >= MAX_TOTP_FAILURES and guard.locked(account, w.client_ip):
            await w.state.sessions.destroy(w.session.id)
        return w.render(
            "totp.html", {"next": w.form_str("next"), "error": w.t("web.totp.wrong")}, status=401
        )
    _used_codes[(w.user.id, code)] = now
    await w.state.sessions.mark_verified(w.session)
    return w.redirect(_next(w))


@router.post("/logout", auth="pending")
async def logout(w: WebRequest) -> Response:
    if w.session is not None:
        await w.state.sessions.destroy(w.session.id)
    response = w.redirect("/login", flash="logged_out")
    clear_cookie(response, w.request, COOKIE)
    return response


@router.post("/lang", auth=False)
async def switch_language(w: WebRequest) -> Response:
    lang = w.form_str("lang")
    target = safe_path(w.form_str("next"), "/")
    if lang not in LANGUAGES:
        return w.error(400, "web.error.bad_form")
    if w.session is not None and w.user is not None:
        await w.state.sessions.set_language(w.session, lang)
        async with w.core.store.write() as tx:
            mailbox = await tx.directory.mailbox_by_id(w.user.id)
            if mailbox is not None:
                mailbox.language = lang
    w.lang = lang
    response = w.redirect(target)
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 86400,
        path="/",
        samesite="lax",
        httponly=True,
        secure=w.request.url.scheme == "https",
    )
    return response
