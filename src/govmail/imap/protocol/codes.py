"""Response codes: the bracketed part of a status response, ``OK [UIDNEXT 4392] ...``.

A :class:`ResponseCode` is an atom name plus optional already-encoded data. Build them with
the class methods (``ResponseCode.appenduid(...)``) or use the constants for the codes that
carry no data (``ResponseCode.TRYCREATE``). ``bytes(code)`` gives ``b"[NAME data]"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class ResponseCode:
    """One response code. ``data`` is wire text (already encoded), without brackets."""

    name: str
    data: bytes | None = None

    ALERT: ClassVar[ResponseCode]
    PARSE: ClassVar[ResponseCode]
    READ_ONLY: ClassVar[ResponseCode]
    READ_WRITE: ClassVar[ResponseCode]
    TRYCREATE: ClassVar[ResponseCode]
    TOOBIG: ClassVar[ResponseCode]
    AUTHENTICATIONFAILED: ClassVar[ResponseCode]
    AUTHORIZATIONFAILED: ClassVar[ResponseCode]
    UNAVAILABLE: ClassVar[ResponseCode]
    EXPIRED: ClassVar[ResponseCode]
    PRIVACYREQUIRED: ClassVar[ResponseCode]
    CONTACTADMIN: ClassVar[ResponseCode]
    NOPERM: ClassVar[ResponseCode]
    INUSE: ClassVar[ResponseCode]
    EXPUNGEISSUED: ClassVar[ResponseCode]
    CORRUPTION: ClassVar[ResponseCode]
    SERVERBUG: ClassVar[ResponseCode]
    CLIENTBUG: ClassVar[ResponseCode]
    CANNOT: ClassVar[ResponseCode]
    LIMIT: ClassVar[ResponseCode]
    OVERQUOTA: ClassVar[ResponseCode]
    ALREADYEXISTS: ClassVar[ResponseCode]
    NONEXISTENT: ClassVar[ResponseCode]
    NOTSAVED: ClassVar[ResponseCode]
    HASCHILDREN: ClassVar[ResponseCode]
    CLOSED: ClassVar[ResponseCode]
    UNKNOWN_CTE: ClassVar[ResponseCode]
    NOMODSEQ: ClassVar[ResponseCode]
    UIDNOTSTICKY: ClassVar[ResponseCode]
    USEATTR: ClassVar[ResponseCode]

    def __bytes__(self) -> bytes:
        name = self.name.encode("ascii")
        if self.data is None:
            return b"[" + name + b"]"
        return b"[" + name + b" " + self.data + b"]"

    @classmethod
    def _numbers(cls, name: str, *values: int | str) -> ResponseCode:
        return cls(name, " ".join(str(v) for v in values).encode("ascii"))

    @classmethod
    def uidvalidity(cls, value: int) -> ResponseCode:
        return cls._numbers("UIDVALIDITY", value)

    @classmethod
    def uidnext(cls, value: int) -> ResponseCode:
        return cls._numbers("UIDNEXT", value)

    @classmethod
    def unseen(cls, seq: int) -> ResponseCode:
        return cls._numbers("UNSEEN", seq)

    @classmethod
    def highestmodseq(cls, value: int) -> ResponseCode:
        return cls._numbers("HIGHESTMODSEQ", value)

    @classmethod
    def appendlimit(cls, value: int) -> ResponseCode:
        return cls._numbers("APPENDLIMIT", value)

    @classmethod
    def mailboxid(cls, object_id: str) -> ResponseCode:
        """RFC 8474 ``[MAILBOXID (id)]``."""
        return cls("MAILBOXID", b"(" + object_id.encode("ascii") + b")")

    @classmethod
    def appenduid(cls, uidvalidity: int, uids: str) -> ResponseCode:
        """RFC 4315 ``[APPENDUID uidvalidity uid-set]``; ``uids`` e.g. ``str(SequenceSet)``."""
        return cls._numbers("APPENDUID", uidvalidity, uids)

    @classmethod
    def copyuid(cls, uidvalidity: int, source_uids: str, dest_uids: str) -> ResponseCode:
        """RFC 4315 ``[COPYUID uidvalidity source-set dest-set]``."""
        return cls._numbers("COPYUID", uidvalidity, source_uids, dest_uids)

    @classmethod
    def modified(cls, uids: str) -> ResponseCode:
        """RFC 7162 ``[MODIFIED set]``: messages whose UNCHANGEDSINCE test failed."""
        return cls._numbers("MODIFIED", uids)

    @classmethod
    def capability(cls, capabilities: Iterable[str]) -> ResponseCode:
        return cls("CAPABILITY", " ".join(capabilities).encode("ascii"))

    @classmethod
    def permanentflags(cls, flags: Iterable[str]) -> ResponseCode:
        """``[PERMANENTFLAGS (\\Seen \\*)]``; flags are atoms such as ``\\Seen`` or ``\\*``."""
        return cls("PERMANENTFLAGS", b"(" + " ".join(flags).encode("ascii") + b")")

    @classmethod
    def badcharset(cls, charsets: Iterable[str] = ()) -> ResponseCode:
        """``[BADCHARSET (UTF-8 US-ASCII)]``; with no charsets, plain ``[BADCHARSET]``."""
        names = list(charsets)
        if not names:
            return cls("BADCHARSET")
        return cls("BADCHARSET", b"(" + " ".join(names).encode("ascii") + b")")

    @classmethod
    def referral(cls, url: str) -> ResponseCode:
        return cls("REFERRAL", url.encode("ascii"))


ResponseCode.ALERT = ResponseCode("ALERT")
ResponseCode.PARSE = ResponseCode("PARSE")
ResponseCode.TRYCREATE = ResponseCode("TRYCREATE")
ResponseCode.TOOBIG = ResponseCode("TOOBIG")
ResponseCode.AUTHENTICATIONFAILED = ResponseCode("AUTHENTICATIONFAILED")
ResponseCode.AUTHORIZATIONFAILED = ResponseCode("AUTHORIZATIONFAILED")
ResponseCode.UNAVAILABLE = ResponseCode("UNAVAILABLE")
ResponseCode.EXPIRED = ResponseCode("EXPIRED")
ResponseCode.PRIVACYREQUIRED = ResponseCode("PRIVACYREQUIRED")
ResponseCode.CONTACTADMIN = ResponseCode("CONTACTADMIN")
ResponseCode.NOPERM = ResponseCode("NOPERM")
ResponseCode.INUSE = ResponseCode("INUSE")
ResponseCode.EXPUNGEISSUED = ResponseCode("EXPUNGEISSUED")
ResponseCode.CORRUPTION = ResponseCode("CORRUPTION")
ResponseCode.SERVERBUG = ResponseCode("SERVERBUG")
ResponseCode.CLIENTBUG = ResponseCode("CLIENTBUG")
ResponseCode.CANNOT = ResponseCode("CANNOT")
ResponseCode.LIMIT = ResponseCode("LIMIT")
ResponseCode.OVERQUOTA = ResponseCode("OVERQUOTA")
ResponseCode.ALREADYEXISTS = ResponseCode("ALREADYEXISTS")
ResponseCode.NONEXISTENT = ResponseCode("NONEXISTENT")
ResponseCode.NOTSAVED = ResponseCode("NOTSAVED")
ResponseCode.HASCHILDREN = ResponseCode("HASCHILDREN")
ResponseCode.CLOSED = ResponseCode("CLOSED")
ResponseCode.NOMODSEQ = ResponseCode("NOMODSEQ")
ResponseCode.UIDNOTSTICKY = ResponseCode("UIDNOTSTICKY")
ResponseCode.USEATTR = ResponseCode("USEATTR")
ResponseCode.READ_ONLY = ResponseCode("READ-ONLY")
ResponseCode.READ_WRITE = ResponseCode("READ-WRITE")
ResponseCode.UNKNOWN_CTE = ResponseCode("UNKNOWN-CTE")
