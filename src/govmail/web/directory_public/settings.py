"""A person's own entry in the public directory: listed or not, and which of position,
e-mail address and phone are shown (full name always), unless an administrator
requires the entry."""

from __future__ import annotations

from starlette.responses import Response

from govmail.directory.errors import DirectoryError
from govmail.store.repos.admin import AdminRepo
from govmail.web.directory_public.listing import OPTIONAL_FIELDS, set_listing
from govmail.web.routing import WebRequest, WebRouter
from govmail.web.webmail.common import accessible_mailboxes, sidebar

router = WebRouter()


async def _page(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    user = w.verified_user
    assert user is not None
    async with w.core.store.read() as tx:
        me = await tx.directory.mailbox_by_id(user.id)
        assert me is not None
        requirement = await AdminRepo(tx.session, tx.store.dialect).listing_requirement(user.id)
        boxes = await accessible_mailboxes(w, tx)
        folders = await sidebar(w, tx, user.id, None)
    return w.render(
        "directory/settings.html",
        {
            "me": me,
            "requirement": requirement,
            "optional_fields": OPTIONAL_FIELDS,
            "error": error,
            "folders": folders,
            "mailboxes": list(boxes.values()),
            "mailbox": boxes[user.id],
        },
        status=status,
    )


@router.get("/settings/directory")
async def directory_settings(w: WebRequest) -> Response:
    return await _page(w)


@router.post("/settings/directory")
async def save_directory_settings(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    try:
        async with w.core.directory.ops(w.actor()) as ops:
            me = await ops.repo.mailbox_by_id(user.id)
            assert me is not None
            await set_listing(
                ops,
                me,
                listed=w.form_str("listed") == "1",
                fields=w.form_list("field"),
                by_person=True,
            )
    except DirectoryError as exc:
        return await _page(w, error=exc.message(w.lang), status=400)
    return w.redirect("/settings/directory", flash="directory_saved")
