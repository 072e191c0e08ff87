"""From :class:`~govmail.imap.protocol.reader.RawCommand` to a typed command.

:func:`parse_command` knows every command of RFC 3501 and the extensions listed in the
package docstring. An unknown name raises ``ProtocolError(kind=UNKNOWN_COMMAND)``;
arguments of the wrong shape raise ``ProtocolError`` naming what was expected. The
parser holds no state: pass ``utf8=True`` once the client has enabled ``UTF8=ACCEPT``
(mailbox names are then UTF-8 instead of modified UTF-7).

Two helpers serve lines read with ``reader.expect_line()``: :func:`is_idle_done` and
:func:`parse_sasl_response`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Literal as TypingLiteral
from typing import cast

from govmail.imap.protocol.arguments import Arguments
from govmail.imap.protocol.commands import (
    Append,
    AppendMessage,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    DeleteAcl,
    Enable,
    Expunge,
    GetAcl,
    GetQuota,
    GetQuotaRoot,
    Id,
    Idle,
    List,
    ListReturnOption,
    ListRights,
    ListSelectOption,
    Login,
    Logout,
    Lsub,
    Move,
    MyRights,
    Namespace,
    Noop,
    QResync,
    Rename,
    Select,
    SetAcl,
    SetQuota,
    StartTLS,
    Status,
    StatusItem,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from govmail.imap.protocol.errors import ErrorKind, ProtocolError
from govmail.imap.protocol.fetch_parser import parse_fetch, parse_store
from govmail.imap.protocol.reader import RawCommand
from govmail.imap.protocol.search_parser import parse_search
from govmail.imap.protocol.tokens import Atom, Literal, ParenList, Quoted

__all__ = ["COMMAND_NAMES", "is_idle_done", "parse_command", "parse_sasl_response"]

STATUS_ITEMS = frozenset(
    {
        "MESSAGES",
        "RECENT",
        "UIDNEXT",
        "UIDVALIDITY",
        "UNSEEN",
        "DELETED",
        "SIZE",
        "HIGHESTMODSEQ",
        "APPENDLIMIT",
        "MAILBOXID",
    }
)
LIST_SELECT_OPTIONS = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
LIST_RETURN_OPTIONS = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "MYRIGHTS", "STATUS"})
MAX_ID_PAIRS = 30
_RIGHTS = re.compile(r"[a-z0-9]*")
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def parse_command(raw: RawCommand, *, utf8: bool = False) -> Command:
    """Build the typed command for ``raw``; raise :class:`ProtocolError` if it is invalid."""
    args = Arguments(raw.args, command=raw.name, tag=raw.tag, utf8=utf8)
    if raw.name == "UID":
        sub = args.keyword("COPY, MOVE, FETCH, STORE, SEARCH or EXPUNGE after UID")
        handler = _UID_COMMANDS.get(sub)
        if handler is None:
            raise args.error(f"expected COPY, MOVE, FETCH, STORE, SEARCH or EXPUNGE, got {sub}")
        args.command = f"UID {sub}"
        return handler(args, True)
    handler = _COMMANDS.get(raw.name)
    if handler is None:
        raise ProtocolError(
            f"unknown command {raw.name[:40]}", tag=raw.tag, kind=ErrorKind.UNKNOWN_COMMAND
        )
    return handler(args, False)


def is_idle_done(line: bytes) -> bool:
    """True if a line read during IDLE is ``DONE`` (any case, surrounding spaces ignored)."""
    return line.strip(b" ").upper() == b"DONE"


def parse_sasl_response(line: bytes) -> bytes | None:
    """Decode a client's AUTHENTICATE continuation line; ``None`` if it is ``*`` (cancel)."""
    data = line.strip(b" ")
    if data == b"*":
        return None
    return _decode_base64(data, "authentication data")


def _decode_base64(data: bytes, what: str, tag: str | None = None) -> bytes:
    if not _BASE64.fullmatch(data):
        raise ProtocolError(f"{what} is not valid base64", tag=tag, kind=ErrorKind.BAD_ENCODING)
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ProtocolError(
            f"{what} is not valid base64", tag=tag, kind=ErrorKind.BAD_ENCODING
        ) from None


# --------------------------------------------------------------------------- handlers

Handler = Callable[[Arguments, bool], Command]


def _no_arguments(cls: type[Command]) -> Handler:
    def handler(args: Arguments, uid: bool) -> Command:
        args.end()
        return cls(tag=args.tag)

    return handler


def _authenticate(args: Arguments, uid: bool) -> Command:
    mechanism = args.keyword("SASL mechanism name")
    initial: bytes | None = None
    if not args.at_end():
        token = args.next("initial response")
        if not isinstance(token, Atom) or token.section is not None:
            raise args.expected("base64 initial response or =", token)
        text = token.value.encode("ascii")
        initial = b"" if text == b"=" else _decode_base64(text, "initial response", args.tag)
    args.end()
    return Authenticate(tag=args.tag, mechanism=mechanism, initial_response=initial)


def _login(args: Arguments, uid: bool) -> Command:
    username = args.text("user name")
    password = args.text("password")
    args.end()
    return Login(tag=args.tag, username=username, password=password)


def _select(read_only: bool) -> Handler:
    def handler(args: Arguments, uid: bool) -> Command:
        mailbox = args.mailbox()
        condstore = False
        qresync: QResync | None = None
        if not args.at_end():
            params = args.paren_list("select parameters")
            while not params.at_end():
                name = params.keyword("select parameter")
                if name == "CONDSTORE" and not condstore:
                    condstore = True
                elif name == "QRESYNC" and qresync is None:
                    qresync = _qresync(params.paren_list("QRESYNC parameters"))
                else:
                    raise args.error(f"unknown or repeated select parameter {name[:40]}")
        args.end()
        return Select(
            tag=args.tag,
            mailbox=mailbox,
            read_only=read_only,
            condstore=condstore,
            qresync=qresync,
        )

    return handler


def _qresync(params: Arguments) -> QResync:
    uidvalidity = params.number("UIDVALIDITY", nonzero=True)
    modseq = params.number64("mod-sequence", nonzero=True)
    known_uids = None
    known_sequence = known_sequence_uids = None
    if isinstance(params.peek(), Atom):
        known_uids = params.sequence_set("known UIDs")
        if known_uids.uses_star or known_uids.saved:
            raise params.error("known UIDs must not contain '*' or '$'")
    if not params.at_end():
        match = params.paren_list("sequence match data")
        known_sequence = match.sequence_set("known sequence set")
        known_sequence_uids = match.sequence_set("known UID set")
        match.end()
    params.end()
    return QResync(uidvalidity, modseq, known_uids, known_sequence, known_sequence_uids)


def _create(args: Arguments, uid: bool) -> Command:
    mailbox = args.mailbox()
    special_use: list[str] = []
    if not args.at_end():
        params = args.paren_list("create parameters")
        while not params.at_end():
            name = params.keyword("create parameter")
            if name != "USE":
                raise args.error(f"unknown create parameter {name[:40]}")
            special_use.extend(params.flag_list("special-use attribute list"))
    args.end()
    return Create(tag=args.tag, mailbox=mailbox, special_use=tuple(special_use))


def _one_mailbox(
    cls: type[Delete | Subscribe | Unsubscribe | GetQuotaRoot | GetAcl | MyRights],
) -> Handler:
    def handler(args: Arguments, uid: bool) -> Command:
        mailbox = args.mailbox()
        args.end()
        return cls(tag=args.tag, mailbox=mailbox)

    return handler


def _rename(args: Arguments, uid: bool) -> Command:
    mailbox = args.mailbox("existing mailbox name")
    new_name = args.mailbox("new mailbox name")
    args.end()
    return Rename(tag=args.tag, mailbox=mailbox, new_name=new_name)


def _list(args: Arguments, uid: bool) -> Command:
    extended = False
    selection: set[ListSelectOption] = set()
    if isinstance(args.peek(), ParenList):
        extended = True
        options = args.paren_list("list selection options")
        while not options.at_end():
            option = options.keyword("list selection option")
            if option not in LIST_SELECT_OPTIONS:
                raise args.error(f"unknown list selection option {option[:40]}")
            selection.add(cast(ListSelectOption, option))
        if selection == {"RECURSIVEMATCH"}:
            raise args.error("RECURSIVEMATCH needs another selection option")
    reference = args.list_mailbox("reference name")
    if isinstance(args.peek(), ParenList):
        extended = True
        pattern_args = args.paren_list("mailbox patterns")
        patterns = [pattern_args.list_mailbox()]
        while not pattern_args.at_end():
            patterns.append(pattern_args.list_mailbox())
    else:
        patterns = [args.list_mailbox()]
    returns: set[ListReturnOption] = set()
    status_items: tuple[StatusItem, ...] = ()
    if not args.at_end():
        if args.keyword("RETURN") != "RETURN":
            raise args.error("expected RETURN after the mailbox pattern")
        extended = True
        options = args.paren_list("list return options")
        while not options.at_end():
            option = options.keyword("list return option")
            if option not in LIST_RETURN_OPTIONS:
                raise args.error(f"unknown list return option {option[:40]}")
            if option == "STATUS":
                status_items = _status_items(options)
            returns.add(cast(ListReturnOption, option))
    args.end()
    if "SUBSCRIBED" in selection:
        returns.add("SUBSCRIBED")
    return List(
        tag=args.tag,
        reference=reference,
        patterns=tuple(patterns),
        selection=frozenset(selection),
        returns=frozenset(returns),
        status_items=status_items,
        extended=extended,
    )


def _lsub(args: Arguments, uid: bool) -> Command:
    reference = args.list_mailbox("reference name")
    pattern = args.list_mailbox()
    args.end()
    return Lsub(tag=args.tag, reference=reference, pattern=pattern)


def _status_items(args: Arguments) -> tuple[StatusItem, ...]:
    items = args.paren_list("status item list")
    found: list[StatusItem] = []
    while not items.at_end():
        item = items.keyword("status item")
        if item not in STATUS_ITEMS:
            raise args.error(f"unknown status item {item[:40]}")
        if item not in found:
            found.append(cast(StatusItem, item))
    if not found:
        raise args.error("status item list is empty")
    return tuple(found)


def _status(args: Arguments, uid: bool) -> Command:
    mailbox = args.mailbox()
    items = _status_items(args)
    args.end()
    return Status(tag=args.tag, mailbox=mailbox, items=items)


def _append(args: Arguments, uid: bool) -> Command:
    mailbox = args.mailbox()
    messages: list[AppendMessage] = []
    while True:
        flags: tuple[str, ...] = ()
        internal_date = None
        if isinstance(args.peek(), ParenList):
            flags = args.flag_list()
        if isinstance(args.peek(), Quoted):
            internal_date = args.datetime("internal date")
        token = args.next("message literal")
        utf8 = False
        if isinstance(token, Atom) and token.value.upper() == "UTF8":
            wrapped = args.paren_list("UTF8 (literal8)")
            token = wrapped.next("message literal8")
            wrapped.end()
            utf8 = True
        if not isinstance(token, Literal):
            raise args.expected("message literal", token)
        if utf8 and not token.binary:
            raise args.error("UTF8 data must be a literal8 (~{N})")
        messages.append(
            AppendMessage(
                data=token.value,
                flags=flags,
                internal_date=internal_date,
                binary=token.binary,
                utf8=utf8,
            )
        )
        if args.at_end():
            break
    return Append(tag=args.tag, mailbox=mailbox, messages=tuple(messages))


def _expunge(args: Arguments, uid: bool) -> Command:
    uids = args.sequence_set("UID set") if uid else None
    args.end()
    return Expunge(tag=args.tag, uids=uids)


def _copy_or_move(cls: type[Copy | Move]) -> Handler:
    def handler(args: Arguments, uid: bool) -> Command:
        sequence = args.sequence_set()
        mailbox = args.mailbox("destination mailbox name")
        args.end()
        return cls(tag=args.tag, sequence=sequence, mailbox=mailbox, uid=uid)

    return handler


def _enable(args: Arguments, uid: bool) -> Command:
    capabilities = [args.keyword("capability name")]
    while not args.at_end():
        capabilities.append(args.keyword("capability name"))
    return Enable(tag=args.tag, capabilities=tuple(capabilities))


def _id(args: Arguments, uid: bool) -> Command:
    if args.peek_keyword() == "NIL":
        args.next("NIL")
        args.end()
        return Id(tag=args.tag, parameters=None)
    items = args.paren_list("ID parameter list or NIL")
    pairs: list[tuple[str, str | None]] = []
    while not items.at_end():
        if len(pairs) == MAX_ID_PAIRS:
            raise args.error(f"more than {MAX_ID_PAIRS} ID parameters")
        key = items.string("ID field name").decode("utf-8", "replace")
        value = items.nstring("ID field value")
        pairs.append((key, None if value is None else value.decode("utf-8", "replace")))
    args.end()
    return Id(tag=args.tag, parameters=tuple(pairs))


def _getquota(args: Arguments, uid: bool) -> Command:
    root = args.text("quota root")
    args.end()
    return GetQuota(tag=args.tag, root=root)


def _setquota(args: Arguments, uid: bool) -> Command:
    root = args.text("quota root")
    items = args.paren_list("quota resource list")
    limits: list[tuple[str, int]] = []
    while not items.at_end():
        resource = items.keyword("resource name")
        limits.append((resource, items.number64(f"{resource} limit")))
    args.end()
    return SetQuota(tag=args.tag, root=root, limits=tuple(limits))


def _rights(args: Arguments, text: str) -> str:
    if not _RIGHTS.fullmatch(text):
        raise args.error("rights must be lower-case letters and digits")
    return text


def _setacl(args: Arguments, uid: bool) -> Command:
    mailbox = args.mailbox()
    identifier = args.text("identifier")
    rights = args.text("rights")
    mode: TypingLiteral["replace", "add", "remove"] = "replace"
    if rights[:1] in ("+", "-"):
        mode = "add" if rights[0] == "+" else "remove"
        rights = rights[1:]
    args.end()
    return SetAcl(
        tag=args.tag,
        mailbox=mailbox,
        identifier=identifier,
        rights=_rights(args, rights),
        mode=mode,
    )


def _mailbox_and_identifier(cls: type[DeleteAcl | ListRights]) -> Handler:
    def handler(args: Arguments, uid: bool) -> Command:
        mailbox = args.mailbox()
        identifier = args.text("identifier")
        args.end()
        return cls(tag=args.tag, mailbox=mailbox, identifier=identifier)

    return handler


def _uid_only(handler: Callable[..., Command]) -> Handler:
    def wrapped(args: Arguments, uid: bool) -> Command:
        return handler(args, uid=uid)

    return wrapped


_COMMANDS: dict[str, Handler] = {
    "CAPABILITY": _no_arguments(Capability),
    "NOOP": _no_arguments(Noop),
    "LOGOUT": _no_arguments(Logout),
    "STARTTLS": _no_arguments(StartTLS),
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "SELECT": _select(read_only=False),
    "EXAMINE": _select(read_only=True),
    "CREATE": _create,
    "DELETE": _one_mailbox(Delete),
    "RENAME": _rename,
    "SUBSCRIBE": _one_mailbox(Subscribe),
    "UNSUBSCRIBE": _one_mailbox(Unsubscribe),
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "APPEND": _append,
    "CHECK": _no_arguments(Check),
    "CLOSE": _no_arguments(Close),
    "UNSELECT": _no_arguments(Unselect),
    "EXPUNGE": _expunge,
    "SEARCH": _uid_only(parse_search),
    "FETCH": _uid_only(parse_fetch),
    "STORE": _uid_only(parse_store),
    "COPY": _copy_or_move(Copy),
    "MOVE": _copy_or_move(Move),
    "IDLE": _no_arguments(Idle),
    "NAMESPACE": _no_arguments(Namespace),
    "ENABLE": _enable,
    "ID": _id,
    "GETQUOTA": _getquota,
    "GETQUOTAROOT": _one_mailbox(GetQuotaRoot),
    "SETQUOTA": _setquota,
    "GETACL": _one_mailbox(GetAcl),
    "SETACL": _setacl,
    "DELETEACL": _mailbox_and_identifier(DeleteAcl),
    "LISTRIGHTS": _mailbox_and_identifier(ListRights),
    "MYRIGHTS": _one_mailbox(MyRights),
}
_UID_COMMANDS: dict[str, Handler] = {
    name: _COMMANDS[name] for name in ("COPY", "MOVE", "FETCH", "STORE", "SEARCH", "EXPUNGE")
}

COMMAND_NAMES = frozenset(_COMMANDS) | {"UID"}
"""Every command name :func:`parse_command` understands."""
