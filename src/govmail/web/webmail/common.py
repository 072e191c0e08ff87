"""What the webmail pages share: which mailboxes a user may open (their own and the
agency mailboxes they handle), folder lookup with that check, and the folder sidebar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from govmail.mail.parsed import ParsedMessage, StoredMetadataError
from govmail.store.models import Folder, Message
from govmail.store.repos.webmail import WebRepo
from govmail.store.tx import Tx
from govmail.web.routing import WebRequest

# Display order of the special folders, then user folders by name.
_ORDER = {"INBOX": 0, "\\Drafts": 1, "\\Sent": 2, "\\Archive": 3, "\\Junk": 4, "\\Trash": 5}
_LABELS = {
    "INBOX": "web.folder.inbox",
    "\\Drafts": "web.folder.drafts",
    "\\Sent": "web.folder.sent",
    "\\Archive": "web.folder.archive",
    "\\Junk": "web.folder.junk",
    "\\Trash": "web.folder.trash",
}
PAGE_SIZE = 50


def folder_key(f: Folder) -> str:
    return "INBOX" if f.name == "INBOX" else (f.special_use or "")


def folder_label(w: WebRequest, f: Folder) -> str:
    key = _LABELS.get(folder_key(f))
    return w.t(key) if key else f.name.rsplit("/", 1)[-1]


@dataclass(slots=True)
class FolderView:
    id: int
    name: str
    label: str
    depth: int
    total: int
    unseen: int
    special: str
    current: bool


@dataclass(slots=True)
class MailboxView:
    id: int
    address: str
    name: str
    own: bool
    can_send: bool
    inbox_id: int | None = None


async def accessible_mailboxes(w: WebRequest, tx: Tx) -> dict[int, MailboxView]:
    """The user's own mailbox first, then the agency mailboxes they handle."""
    cached: dict[int, MailboxView] | None = getattr(w, "_mailboxes", None)
    if cached is not None:
        return cached
    user = w.verified_user
    assert user is not None
    out = {user.id: MailboxView(user.id, user.address, user.full_name, True, True)}
    for handler, mb in await tx.directory.handled_by(user.id):
        if mb.status == "active":
            out[mb.id] = MailboxView(mb.id, mb.address, mb.full_name, False, handler.can_send)
    w._mailboxes = out  # type: ignore[attr-defined]  # once per request
    return out


async def folder_for(w: WebRequest, tx: Tx, folder_id: int) -> tuple[Folder, MailboxView] | None:
    """The folder if the user may open it, with its mailbox; None otherwise (a 404)."""
    folder = await tx.mail.folder_by_id(folder_id)
    if folder is None:
        return None
    boxes = await accessible_mailboxes(w, tx)
    view = boxes.get(folder.mailbox_id)
    return None if view is None else (folder, view)


async def sidebar(w: WebRequest, tx: Tx, mailbox_id: int, current: int | None) -> list[FolderView]:
    folders = await tx.mail.folders_of(mailbox_id)
    counts = await WebRepo(tx.session, tx.store.dialect).folder_totals([f.id for f in folders])
    views = [
        FolderView(
            f.id,
            f.name,
            folder_label(w, f),
            f.name.count("/") if folder_key(f) == "" else 0,
            counts[f.id][0],
            counts[f.id][1],
            folder_key(f),
            f.id == current,
        )
        for f in folders
    ]
    views.sort(key=lambda v: (_ORDER.get(v.special, 9), v.name.casefold()))
    return views


def parsed_of(message: Message) -> ParsedMessage | None:
    try:
        return ParsedMessage.from_dict(message.meta | {"text_for_search": ""})
    except StoredMetadataError:
        return None


def parse_ref(value: str) -> tuple[int, int] | None:
    """``"folder_id:uid"`` from a form or a query string."""
    a, sep, b = value.partition(":")
    if not sep or not a.isdigit() or not b.isdigit():
        return None
    return int(a), int(b)


def uids_from(values: Sequence[str]) -> list[int]:
    return sorted({int(v) for v in values if v.isdigit()})
