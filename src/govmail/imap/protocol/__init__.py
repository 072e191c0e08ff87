"""The IMAP wire protocol, without sockets, storage or any other I/O.

Reading (client to server)::

    reader = CommandReader(ReaderLimits())           # reader.py: bytes -> RawCommand
    reader.feed(data)
    event = reader.next_event()                      # RawCommand | LiteralRequest |
                                                     # ContinuationLine | None
    command = parse_command(event, utf8=enabled)     # parser.py: -> commands.Command

Writing (server to client): ``response.py`` (status and data responses), ``values.py``
(atoms, strings, literals, NIL, lists, dates, mailbox names), ``structure.py``
(ENVELOPE, BODY, BODYSTRUCTURE), ``codes.py`` (response codes).

Shared pieces: ``sequence.py`` (sequence sets), ``mutf7.py`` (modified UTF-7 mailbox
names), ``dates.py`` (IMAP date and date-time), ``errors.py`` (:class:`ProtocolError` and
friends), ``tokens.py`` (what the reader produces).

Covered: RFC 3501 IMAP4rev1, with RFC 9051 IMAP4rev2 syntax where it differs cheaply,
LITERAL+/LITERAL- (RFC 7888), IDLE (2177), UIDPLUS (4315), MOVE (6851), SPECIAL-USE
(6154), LIST-EXTENDED (5258) and LIST-STATUS (5819), NAMESPACE (2342), ENABLE (5161),
ID (2971), UNSELECT (3691), QUOTA (2087/9208), CONDSTORE/QRESYNC (7162), ESEARCH (4731)
and SEARCHRES (5182), ACL (4314), MULTIAPPEND (3502), BINARY (3516), SASL-IR (4959),
WITHIN (5032), UTF8=ACCEPT (6855).
"""

from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.errors import (
    ErrorKind,
    MUTF7Error,
    ProtocolError,
    ReaderStateError,
    SequenceSetError,
)
from govmail.imap.protocol.parser import (
    COMMAND_NAMES,
    is_idle_done,
    parse_command,
    parse_sasl_response,
)
from govmail.imap.protocol.reader import (
    CommandReader,
    ContinuationLine,
    LiteralRequest,
    RawCommand,
    ReaderEvent,
    ReaderLimits,
)
from govmail.imap.protocol.sequence import SequenceSet

__all__ = [
    "COMMAND_NAMES",
    "CommandReader",
    "ContinuationLine",
    "ErrorKind",
    "LiteralRequest",
    "MUTF7Error",
    "ProtocolError",
    "RawCommand",
    "ReaderEvent",
    "ReaderLimits",
    "ReaderStateError",
    "ResponseCode",
    "SequenceSet",
    "SequenceSetError",
    "is_idle_done",
    "parse_command",
    "parse_sasl_response",
]
