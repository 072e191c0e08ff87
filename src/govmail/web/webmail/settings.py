"""A user's own settings: language, password, two-step login (TOTP), the automatic
vacation reply, filing rules and folders, and ending their other sessions."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date, datetime, time, timedelta

from starlette.responses import Response

from govmail.delivery.filters import ACTIONS, FIELDS
from govmail.directory.errors import DirectoryError
from govmail.i18n import LANGUAGES
from govmail.store.models import MailFilter, Vacation, utcnow
from govmail.store.repos.webmail import WebRepo
from govmail.web import totp
from govmail.web.routing import WebRequest, WebRouter
from govmail.web.webmail.common import accessible_mailboxes, folder_key, folder_label, sidebar

router = WebRouter()


def _repo(w: WebRequest, tx) -> WebRepo:  # type: ignore[no-untyped-def]
    return WebRepo(tx.session, w.core.store.dialect)


def _totp_signature(w: WebRequest, secret: str) -> str:
    assert w.session is not None
    msg = f"totp|{w.session.token_hash}|{secret}".encode()
    return hmac.new(w.state.key, msg, hashlib.sha256).hexdigest()


def _local_date(w: WebRequest, value: datetime | None, *, end: bool = False) -> str:
    if value is None:
        return ""
    local = w.state.renderer.local(value - timedelta(seconds=1) if end else value)
    return local.date().isoformat()


def _parse_date(w: WebRequest, text: str, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD from a date field as an instant: the start of that day, or (``end``)
    the start of the next day, in the installation's time zone."""
    text = text.strip()
    if not text:
        return None
    day = date.fromisoformat(text)
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=w.state.renderer.tz)


async def _page(
    w: WebRequest,
    *,
    error: str | None = None,
    status: int = 200,
    totp_setup: dict[str, str] | None = None,
) -> Response:
    user = w.verified_user
    assert user is not None
    async with w.core.store.read() as tx:
        vacation = await _repo(w, tx).vacation_of(user.id)
        boxes = await accessible_mailboxes(w, tx)
        folders = await sidebar(w, tx, user.id, None)
    return w.render(
        "settings/settings.html",
        {
            "vacation": vacation,
            "vacation_starts": _local_date(w, vacation.starts_at) if vacation else "",
            "vacation_ends": _local_date(w, vacation.ends_at, end=True) if vacation else "",
            "totp_enabled": bool(user.totp_secret),
            "totp_setup": totp_setup,
            "languages": LANGUAGES,
            "error": error,
            "folders": folders,
            "mailboxes": list(boxes.values()),
            "mailbox": boxes[user.id],
        },
        status=status,
    )


@router.get("/settings")
async def settings_page(w: WebRequest) -> Response:
    return await _page(w)


@router.post("/settings/password")
async def change_password(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None and w.session is not None
    current, new, again = (w.form_str(k) for k in ("current", "new", "again"))
    if new != again:
        return await _page(w, error=w.t("web.settings.password_mismatch"), status=400)
    outcome = await w.core.guard.login(w.core.directory, user.address, current, w.client_ip, "web")
    if outcome.locked:
        return await _page(w, error=w.t("auth.locked"), status=429)
    if outcome.mailbox is None:
        return await _page(w, error=w.t("web.settings.password_wrong"), status=400)
    try:
        async with w.core.directory.ops(w.actor()) as ops:
            await ops.set_password(user.address, new)
    except DirectoryError as exc:
        return await _page(w, error=exc.message(w.lang), status=400)
    await w.state.sessions.destroy_all(user.id, keep=w.session.id)
    return w.redirect("/settings", flash="password_changed")


@router.post("/settings/sessions/end")
async def end_other_sessions(w: WebRequest) -> Response:
    assert w.user is not None and w.session is not None
    await w.state.sessions.destroy_all(w.user.id, keep=w.session.id)
    return w.redirect("/settings", flash="sessions_ended")


@router.post("/settings/totp/new")
async def totp_new(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    secret = totp.new_secret()
    setup = {
        "secret": secret,
        "grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": totp.provisioning_uri(secret, user.address),
        "signature": _totp_signature(w, secret),
    }
    return await _page(w, totp_setup=setup)


@router.post("/settings/totp/enable")
async def totp_enable(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    secret = w.form_str("secret")
    if not hmac.compare_digest(_totp_signature(w, secret), w.form_str("signature")):
        return w.error(400, "web.error.bad_form")
    if not totp.verify(secret, w.form_str("code")):
        setup = {
            "secret": secret,
            "grouped": secret,
            "signature": w.form_str("signature"),
            "uri": totp.provisioning_uri(secret, user.address),
        }
        return await _page(w, error=w.t("web.totp.wrong"), status=400, totp_setup=setup)
    async with w.core.store.write() as tx:
        mailbox = await tx.directory.mailbox_by_id(user.id)
        assert mailbox is not None
        mailbox.totp_secret = secret
        await tx.audit.record(
            actor=user.address,
            action="mailbox.totp_enable",
            object_type="mailbox",
            object_id=user.address,
            source="web",
            remote_addr=w.client_ip,
        )
    return w.redirect("/settings", flash="totp_enabled")


@router.post("/settings/totp/disable")
async def totp_disable(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    if not user.totp_secret or not totp.verify(user.totp_secret, w.form_str("code")):
        return await _page(w, error=w.t("web.totp.wrong"), status=400)
    async with w.core.store.write() as tx:
        mailbox = await tx.directory.mailbox_by_id(user.id)
        assert mailbox is not None
        mailbox.totp_secret = None
        await tx.audit.record(
            actor=user.address,
            action="mailbox.totp_disable",
            object_type="mailbox",
            object_id=user.address,
            source="web",
            remote_addr=w.client_ip,
        )
    return w.redirect("/settings", flash="totp_disabled")


@router.post("/settings/vacation")
async def save_vacation(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    enabled = w.form_str("enabled") == "1"
    subject = unicodedata.normalize("NFC", w.form_str("subject").strip())[:300]
    body = unicodedata.normalize("NFC", w.form_str("body")).strip()[:10000]
    try:
        starts = _parse_date(w, w.form_str("starts"))
        ends = _parse_date(w, w.form_str("ends"), end=True)
        interval = int(w.form_str("interval", "7") or 7)
    except ValueError:
        return await _page(w, error=w.t("web.vacation.bad_date"), status=400)
    if starts and ends and ends <= starts:
        return await _page(w, error=w.t("web.vacation.bad_range"), status=400)
    if enabled and not body:
        return await _page(w, error=w.t("web.vacation.no_body"), status=400)
    if not 1 <= interval <= 60:
        return await _page(w, error=w.t("web.vacation.bad_interval"), status=400)
    async with w.core.store.write() as tx:
        repo = _repo(w, tx)
        row = await repo.vacation_of(user.id)
        if row is None:
            row = await repo.add(Vacation(mailbox_id=user.id, subject="", body=""))
        was_enabled = row.enabled
        row.enabled, row.subject, row.body = enabled, subject, body
        row.starts_at, row.ends_at, row.interval_days = starts, ends, interval
        row.updated_at = utcnow()
        if enabled and not was_enabled:
            # A new absence: everyone gets told again.
            await repo.forget_vacation_replies(user.id)
    w.core.vacation.invalidate(user.id)
    return w.redirect("/settings", flash="vacation_saved")


# -- filters and folders ------------------------------------------------------------------


@router.get("/settings/filters")
async def filters_page(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    async with w.core.store.read() as tx:
        rules = await _repo(w, tx).filters_of(user.id)
        own = await tx.mail.folders_of(user.id)
        boxes = await accessible_mailboxes(w, tx)
        folders = await sidebar(w, tx, user.id, None)
    names = {f.id: folder_label(w, f) for f in own}
    return w.render(
        "settings/filters.html",
        {
            "rules": rules,
            "names": names,
            "targets": [f for f in folders if f.special not in ("\\Drafts", "\\Sent")],
            "user_folders": [f for f in own if folder_key(f) == ""],
            "fields": FIELDS,
            "actions": ACTIONS,
            "folders": folders,
            "mailboxes": list(boxes.values()),
            "mailbox": boxes[user.id],
        },
    )


@router.post("/settings/filters")
async def add_filter(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    field = w.form_str("field")
    action = w.form_str("action")
    value = unicodedata.normalize("NFC", w.form_str("value").strip())[:300]
    target = w.form_str("folder")
    if field not in FIELDS or action not in ACTIONS or not value:
        return w.redirect("/settings/filters", flash="filter_incomplete")
    async with w.core.store.write() as tx:
        folder_id = None
        if action == "move":
            folder = await tx.mail.folder_by_id(int(target)) if target.isdigit() else None
            if folder is None or folder.mailbox_id != user.id:
                return w.redirect("/settings/filters", flash="choose_folder")
            folder_id = folder.id
        repo = _repo(w, tx)
        position = await repo.next_filter_position(user.id)
        await repo.add(
            MailFilter(
                mailbox_id=user.id,
                position=position,
                field=field,
                value=value,
                action=action,
                folder_id=folder_id,
                enabled=True,
            )
        )
    w.core.filters.invalidate(user.id)
    return w.redirect("/settings/filters", flash="filter_added")


@router.post("/settings/filters/{filter_id:int}/delete")
async def delete_filter(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    async with w.core.store.write() as tx:
        repo = _repo(w, tx)
        rule = await repo.filter_by_id(w.params["filter_id"])
        if rule is None or rule.mailbox_id != user.id:
            return w.error(404, "web.error.no_filter")
        await repo.remove(rule)
    w.core.filters.invalidate(user.id)
    return w.redirect("/settings/filters", flash="filter_deleted")
