"""A POP3 maildrop: the snapshot of a mailbox's INBOX taken at login, with the deletion and
retrieval marks of the session. No I/O; the session reads and commits through MailStore.

Message numbers are positions in the snapshot and stay the same for the whole session;
deleted-marked messages keep their number but are no longer listed (RFC 1939 §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class NoSuchMessage(LookupError):
    def __init__(self, number: int) -> None:
        super().__init__(f"no message {number}")
        self.number = number


class MessageDeleted(LookupError):
    def __init__(self, number: int) -> None:
        super().__init__(f"message {number} already deleted")
        self.number = number


@dataclass(slots=True)
class DropEntry:
    number: int
    uid: int
    size: int
    deleted: bool = False
    retrieved: bool = False


class Maildrop:
    def __init__(
        self, folder_id: int, uidvalidity: int, listing: Sequence[tuple[int, int]]
    ) -> None:
        """``listing``: (uid, size in octets) of each message, in UID order."""
        self.folder_id = folder_id
        self.uidvalidity = uidvalidity
        self.entries = [DropEntry(i, uid, size) for i, (uid, size) in enumerate(listing, 1)]

    def get(self, number: int) -> DropEntry:
        """The entry numbered ``number``; raises if absent or marked deleted."""
        if not 1 <= number <= len(self.entries):
            raise NoSuchMessage(number)
        entry = self.entries[number - 1]
        if entry.deleted:
            raise MessageDeleted(number)
        return entry

    def live(self) -> list[DropEntry]:
        return [e for e in self.entries if not e.deleted]

    def stat(self) -> tuple[int, int]:
        live = self.live()
        return len(live), sum(e.size for e in live)

    def unique_id(self, entry: DropEntry) -> str:
        # Stable across sessions while the folder keeps its UIDVALIDITY (RFC 1939 §7).
        return f"{self.uidvalidity}.{entry.uid}"

    def delete(self, number: int) -> DropEntry:
        entry = self.get(number)
        entry.deleted = True
        return entry

    def reset(self) -> None:
        for e in self.entries:
            e.deleted = False

    def deleted_uids(self) -> list[int]:
        return [e.uid for e in self.entries if e.deleted]

    def retrieved_uids(self) -> list[int]:
        return [e.uid for e in self.entries if e.retrieved]


class MaildropLocks:
    """One POP3 session per mailbox at a time (RFC 1939 §8: an exclusive-access lock).

    Shared by the STLS and implicit-TLS listeners of one server process.
    """

    def __init__(self) -> None:
        self._owners: dict[int, object] = {}

    def acquire(self, mailbox_id: int, owner: object) -> bool:
        holder = self._owners.setdefault(mailbox_id, owner)
        return holder is owner

    def release(self, mailbox_id: int, owner: object) -> None:
        if self._owners.get(mailbox_id) is owner:
            del self._owners[mailbox_id]

    def held(self, mailbox_id: int) -> bool:
        return mailbox_id in self._owners
