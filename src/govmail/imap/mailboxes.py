"""Mailbox names as a user sees them: the personal namespace and the shared one.

A person's own folders are listed as stored ("INBOX", "Sent", "Công việc/2024"). The
folders of every agency mailbox the person handles appear under the shared namespace
``Shared/<agency address>/`` ("Shared/vanthu@mic.gov.vn/INBOX"): the address is stable
and unique where a display name is neither. Everything is "/"-separated and NFC.

:func:`resolve` turns a name into a :class:`MailboxRef` (whose folder, and what the user
may do there); :func:`compile_pattern` implements LIST wildcards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govmail.imap.shared import SHARED_PREFIX, SHARED_ROOT, Handled, rights_for
from govmail.store.models import Folder

DELIMITER = "/"
MAX_NAME_LENGTH = 900
MAX_DEPTH = 20
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f%*]")


class NameError_(ValueError):
    """A mailbox name that cannot be created (the reason is English, short)."""


@dataclass(slots=True)
class MailboxRef:
    """Where an IMAP mailbox name points."""

    name: str  # as the user sees it
    owner_id: int  # the mailbox (person or agency) owning the folder
    owner_address: str
    folder_name: str  # name among the owner's folders
    shared: bool
    rights: str  # RFC 4314 rights of the user here

    def may(self, rights: str) -> bool:
        return all(r in self.rights for r in rights)

    @property
    def audit_id(self) -> str:
        """How audit entries name the folder: "vanthu@mic.gov.vn/INBOX"."""
        return f"{self.owner_address}/{self.folder_name}"


def check_new_name(folder_name: str) -> None:
    """Raise :class:`NameError_` if a folder cannot be created under this name."""
    if not folder_name:
        raise NameError_("empty mailbox name")
    if len(folder_name) > MAX_NAME_LENGTH:
        raise NameError_("mailbox name too long")
    if _BAD_CHARS.search(folder_name):
        raise NameError_("mailbox names cannot hold control characters, % or *")
    parts = folder_name.split(DELIMITER)
    if len(parts) > MAX_DEPTH:
        raise NameError_("mailbox hierarchy too deep")
    if any(not p or p != p.strip() for p in parts):
        raise NameError_("empty hierarchy level or blanks around '/'")


def personal_ref(name: str, user_id: int, user_address: str) -> MailboxRef:
    return MailboxRef(name, user_id, user_address, name, False, rights_for(None))


def is_shared_name(name: str) -> bool:
    return name == SHARED_ROOT or name.startswith(SHARED_PREFIX)


def resolve(
    name: str, user_id: int, user_address: str, handled: list[Handled]
) -> MailboxRef | None:
    """The folder ``name`` means for this user; None for the shared namespace's own levels
    ("Shared", "Shared/<address>") and for agency mailboxes the user does not handle."""
    if not is_shared_name(name):
        return personal_ref(name, user_id, user_address)
    rest = name[len(SHARED_PREFIX) :] if name.startswith(SHARED_PREFIX) else ""
    address, sep, folder_name = rest.partition(DELIMITER)
    if not sep or not folder_name:
        return None
    for h in handled:
        if h.address == address.lower():
            return MailboxRef(name, h.mailbox_id, h.address, folder_name, True, h.rights)
    return None


def shared_name(address: str, folder_name: str) -> str:
    return f"{SHARED_PREFIX}{address}{DELIMITER}{folder_name}"


def parent_names(name: str) -> list[str]:
    """ "a/b/c" -> ["a", "a/b"]."""
    parts = name.split(DELIMITER)
    return [DELIMITER.join(parts[:i]) for i in range(1, len(parts))]


@dataclass(slots=True)
class Listed:
    """One name of the user's hierarchy, for LIST and LSUB."""

    name: str
    folder: Folder | None  # None: a level without a folder of its own (\Noselect)
    ref: MailboxRef | None
    subscribed: bool = False
    has_children: bool = False


def hierarchy(
    user_id: int,
    user_address: str,
    own: list[Folder],
    shared: list[tuple[Handled, list[Folder]]],
    unsubscribed_shared: set[int],
) -> list[Listed]:
    """Every name the user can see, real folders and the levels between them, sorted
    (INBOX first)."""
    out: dict[str, Listed] = {}
    for f in own:
        ref = personal_ref(f.name, user_id, user_address)
        out[f.name] = Listed(f.name, f, ref, f.subscribed)
    if shared:
        out[SHARED_ROOT] = Listed(SHARED_ROOT, None, None)
    for h, folders in shared:
        for f in folders:
            name = shared_name(h.address, f.name)
            ref = MailboxRef(name, h.mailbox_id, h.address, f.name, True, h.rights)
            out[name] = Listed(name, f, ref, f.id not in unsubscribed_shared)
    for name in list(out):
        for parent in parent_names(name):
            entry = out.get(parent)
            if entry is None:
                entry = out[parent] = Listed(parent, None, None)
            entry.has_children = True
    return sorted(out.values(), key=lambda e: (e.name != "INBOX", e.name))


def compile_pattern(reference: str, pattern: str) -> re.Pattern[str]:
    """LIST reference + pattern as a regular expression: ``*`` matches anything, ``%``
    anything but the delimiter; INBOX is case-insensitive."""
    full = reference + pattern
    out: list[str] = []
    for ch in full:
        if ch == "*":
            out.append(".*")
        elif ch == "%":
            out.append("[^/]*")
        else:
            out.append(re.escape(ch))
    regex = "".join(out)
    if full[:5].upper() == "INBOX" and (len(full) == 5 or full[5] in "/*%"):
        regex = "INBOX" + "".join(out[5:])
    return re.compile(regex, re.DOTALL)


def matches(pattern: re.Pattern[str], name: str) -> bool:
    return pattern.fullmatch(name) is not None
