"""The folder list and message list (paging, sorting, quick filters), actions on the
selected messages (read/unread, flag, move, delete), creating and deleting folders."""

from __future__ import annotations

import math
import unicodedata
import urllib.parse

from starlette.responses import Response

from govmail.delivery.events import FolderChange
from govmail.delivery.mailstore import MailStoreError
from govmail.store.repos.webmail import ORDER_COLUMNS, WebRepo
from govmail.web.routing import WebRequest, WebRouter, safe_path
from govmail.web.webmail.common import (
    PAGE_SIZE,
    accessible_mailboxes,
    folder_for,
    folder_key,
    folder_label,
    sidebar,
    uids_from,
)

router = WebRouter()
SHOW_FILTERS = ("all", "unseen", "flagged", "attachments")


@router.get("/mail")
async def mail_home(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    mailbox_id = w.query_int("mb", user.id)
    async with w.core.store.read() as tx:
        boxes = await accessible_mailboxes(w, tx)
        if mailbox_id not in boxes:
            mailbox_id = user.id
        inbox = await tx.mail.folder(mailbox_id, "INBOX")
    if inbox is None:
        return w.error(404, "web.error.no_folder")
    return w.redirect(f"/mail/f/{inbox.id}", flash=w.query("flash") or None)


def list_url(folder_id: int, **params: object) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", "all", 1, "date", "desc")}
    query = urllib.parse.urlencode(clean)
    return f"/mail/f/{folder_id}" + (f"?{query}" if query else "")


@router.get("/mail/f/{folder_id:int}")
async def folder_page(w: WebRequest) -> Response:
    order = w.query("sort", "date")
    order = order if order in ORDER_COLUMNS else "date"
    descending = w.query("dir", "desc") != "asc"
    show = w.query("show", "all")
    show = show if show in SHOW_FILTERS else "all"
    page = w.query_int("page", 1, lo=1)
    async with w.core.store.read() as tx:
        found = await folder_for(w, tx, w.params["folder_id"])
        if found is None:
            return w.error(404, "web.error.no_folder")
        folder, mailbox = found
        repo = WebRepo(tx.session, w.core.store.dialect)
        conditions = [] if show == "all" else [repo.flag_condition(show)]
        folders = await sidebar(w, tx, folder.mailbox_id, folder.id)
        total = (
            next(f.total for f in folders if f.id == folder.id)
            if show == "all"
            else await repo.count_messages([folder.id], conditions)
        )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(page, pages)
        messages = await repo.listing(
            [folder.id],
            conditions,
            order=order,
            descending=descending,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        boxes = await accessible_mailboxes(w, tx)
    key = folder_key(folder)

    def url(**changes: object) -> str:
        base: dict[str, object] = {
            "sort": order,
            "dir": "desc" if descending else "asc",
            "show": show,
            "page": page,
        }
        base.update(changes)
        return list_url(folder.id, **base)

    return w.render(
        "mail/folder.html",
        {
            "folder": folder,
            "folder_title": folder_label(w, folder),
            "mailbox": mailbox,
            "mailboxes": list(boxes.values()),
            "folders": folders,
            "messages": messages,
            "show_to": key in ("\\Sent", "\\Drafts"),
            "is_drafts": key == "\\Drafts",
            "is_trash": key == "\\Trash",
            "order": order,
            "descending": descending,
            "show": show,
            "page": page,
            "pages": pages,
            "total": total,
            "url": url,
            "here": url(),
        },
    )


@router.post("/mail/f/{folder_id:int}/act")
async def act(w: WebRequest) -> Response:
    """Apply the chosen action to the checked messages (``uid`` fields)."""
    back = safe_path(w.form_str("back"), f"/mail/f/{w.params['folder_id']}")
    uids = uids_from(w.form_list("uid"))
    action = w.form_str("action")
    if action == "move":
        target = w.form_str("target")
        action = f"move:{target}"
    async with w.core.store.read() as tx:
        found = await folder_for(w, tx, w.params["folder_id"])
        if found is None:
            return w.error(404, "web.error.no_folder")
        folder, _mailbox = found
        trash = await tx.mail.special_folder(folder.mailbox_id, "\\Trash")
        dest = None
        if action.startswith("move:"):
            ref = action[5:]
            dest = await tx.mail.folder_by_id(int(ref)) if ref.isdigit() else None
            if dest is None or dest.mailbox_id != folder.mailbox_id:
                return w.redirect(back, flash="choose_folder")
    if not uids:
        return w.redirect(back, flash="none_selected")
    ms = w.core.mailstore
    flags = {
        "read": ("add", "\\Seen"),
        "unread": ("remove", "\\Seen"),
        "flag": ("add", "\\Flagged"),
        "unflag": ("remove", "\\Flagged"),
    }
    try:
        if action in flags:
            mode, flag = flags[action]
            await ms.set_flags(folder.id, uids, mode, [flag])
            return w.redirect(back, flash="done")
        if action == "delete":
            if trash is None or trash.id == folder.id:
                await ms.set_flags(folder.id, uids, "add", ["\\Deleted"])
                await ms.expunge(folder.id, uids)
                return w.redirect(_after_removal(back, folder.id), flash="deleted_forever")
            await ms.copy(folder.id, uids, trash, move=True)
            return w.redirect(_after_removal(back, folder.id), flash="moved_to_trash")
        if dest is not None:
            if dest.id != folder.id:
                await ms.copy(folder.id, uids, dest, move=True)
            return w.redirect(_after_removal(back, folder.id), flash="moved")
    except MailStoreError as exc:
        return w.error(409, f"web.error.store_{exc.kind}")
    return w.error(400, "web.error.bad_form")


def _after_removal(back: str, folder_id: int) -> str:
    """After moving a message away from its own page, go back to its folder."""
    return f"/mail/f/{folder_id}" if "/m/" in back else back


@router.post("/folders")
async def create_folder(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    name = unicodedata.normalize("NFC", w.form_str("name").strip().strip("/"))
    back = safe_path(w.form_str("back"), "/settings/filters")
    bad = (
        not name
        or len(name) > 200
        or name.upper() == "INBOX"
        or any(c in name for c in "\\*%\r\n\t")
        or "//" in name
    )
    if bad:
        return w.redirect(back, flash="folder_bad_name")
    async with w.core.store.write() as tx:
        if await tx.mail.folder(user.id, name) is not None:
            return w.redirect(back, flash="folder_exists")
        await tx.mail.create_folder(user.id, name)
    return w.redirect(back, flash="folder_created")


@router.post("/folders/{folder_id:int}/delete")
async def delete_folder(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    back = safe_path(w.form_str("back"), "/settings/filters")
    async with w.core.store.write() as tx:
        folder = await tx.mail.folder_by_id(w.params["folder_id"])
        if folder is None or folder.mailbox_id != user.id:
            return w.error(404, "web.error.no_folder")
        if folder_key(folder) != "":
            return w.redirect(back, flash="folder_special")
        prefix = folder.name + "/"
        children = [f for f in await tx.mail.folders_of(user.id) if f.name.startswith(prefix)]
        if children or await tx.mail.message_count(folder.id):
            return w.redirect(back, flash="folder_not_empty")
        await tx.mail.delete_folder(folder)
    w.core.events.publish(FolderChange(w.params["folder_id"], "deleted"))
    return w.redirect(back, flash="folder_deleted")
