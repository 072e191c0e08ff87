"""parse_command: every command family, mostly with the examples of the RFCs."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from govmail.imap.protocol import (
    CommandReader,
    ErrorKind,
    LiteralRequest,
    ProtocolError,
    RawCommand,
    ResponseCode,
    SequenceSet,
    is_idle_done,
    parse_command,
    parse_sasl_response,
)
from govmail.imap.protocol import commands as c
from govmail.imap.protocol.parser import COMMAND_NAMES


def raw(data: bytes) -> RawCommand:
    reader = CommandReader()
    reader.feed(data + b"\r\n")
    while True:
        event = reader.next_event()
        if isinstance(event, LiteralRequest):
            reader.accept_literal()
            continue
        assert isinstance(event, RawCommand), event
        return event


def parse(data: bytes, *, utf8: bool = False) -> c.Command:
    return parse_command(raw(data), utf8=utf8)


def error(data: bytes, *, utf8: bool = False) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse(data, utf8=utf8)
    return info.value


def seq(text: str) -> SequenceSet:
    return SequenceSet.parse(text)


# --------------------------------------------------------------------------- simple


@pytest.mark.parametrize(
    ("line", "cls"),
    [
        (b"abcd CAPABILITY", c.Capability),
        (b"a002 NOOP", c.Noop),
        (b"A023 LOGOUT", c.Logout),
        (b"a002 STARTTLS", c.StartTLS),
        (b"FXXZ CHECK", c.Check),
        (b"A341 CLOSE", c.Close),
        (b"A342 UNSELECT", c.Unselect),
        (b"A202 EXPUNGE", c.Expunge),
        (b"A001 NAMESPACE", c.Namespace),
        (b"A002 IDLE", c.Idle),
        (b"a1 noop", c.Noop),
    ],
)
def test_commands_without_arguments(line: bytes, cls: type[c.Command]) -> None:
    command = parse(line)
    assert type(command) is cls
    assert command.tag == line.split()[0].decode()


@pytest.mark.parametrize("line", [b"a NOOP x", b"a CAPABILITY (x)", b"a IDLE DONE"])
def test_extra_arguments_are_rejected(line: bytes) -> None:
    err = error(line)
    assert err.tag == "a" and "unexpected argument" in err.reason


def test_unknown_command() -> None:
    err = error(b"a17 XYZZY foo")
    assert err.kind is ErrorKind.UNKNOWN_COMMAND and err.tag == "a17"
    assert "unknown command" in err.reason


def test_uid_needs_a_known_subcommand() -> None:
    assert "expected COPY" in error(b"a UID NOOP").reason
    assert "UID" in error(b"a UID").reason


def test_command_names_cover_the_brief() -> None:
    wanted = [
        "CAPABILITY",
        "NOOP",
        "LOGOUT",
        "STARTTLS",
        "AUTHENTICATE",
        "LOGIN",
        "SELECT",
        "EXAMINE",
        "CREATE",
        "DELETE",
        "RENAME",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "LIST",
        "LSUB",
        "STATUS",
        "APPEND",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "EXPUNGE",
        "SEARCH",
        "FETCH",
        "STORE",
        "COPY",
        "MOVE",
        "UID",
        "IDLE",
        "NAMESPACE",
        "ENABLE",
        "ID",
        "GETQUOTA",
        "GETQUOTAROOT",
        "SETQUOTA",
        "GETACL",
        "SETACL",
        "DELETEACL",
        "LISTRIGHTS",
        "MYRIGHTS",
    ]
    assert set(wanted) <= COMMAND_NAMES


# --------------------------------------------------------------------------- auth


def test_login_atoms_quoted_and_literals() -> None:
    assert parse(b"a001 LOGIN SMITH SESAME") == c.Login(
        tag="a001", username="SMITH", password="SESAME"
    )
    assert parse(b'a LOGIN "nguyen.van.a@bo.gov.vn" {9}\r\np@ss "x\r\n') == c.Login(
        tag="a", username="nguyen.van.a@bo.gov.vn", password='p@ss "x\r\n'
    )
    assert parse('a LOGIN {6+}\r\nđức "mật khẩu"'.encode()) == c.Login(
        tag="a", username="đức", password="mật khẩu"
    )


def test_login_errors() -> None:
    assert "expected password" in error(b"a LOGIN fred").reason
    assert "expected user name" in error(b"a LOGIN").reason
    assert "expected user name" in error(b"a LOGIN (x) y").reason
    err = error(b"a LOGIN fred {1}\r\n\xff")
    assert err.kind is ErrorKind.BAD_ENCODING


def test_authenticate_with_and_without_initial_response() -> None:
    assert parse(b"a AUTHENTICATE plain") == c.Authenticate(tag="a", mechanism="PLAIN")
    assert parse(b"a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=") == c.Authenticate(
        tag="a", mechanism="PLAIN", initial_response=b"test\x00test\x00test"
    )
    assert parse(b"a AUTHENTICATE EXTERNAL =") == c.Authenticate(
        tag="a", mechanism="EXTERNAL", initial_response=b""
    )
    assert error(b"a AUTHENTICATE PLAIN abc").kind is ErrorKind.BAD_ENCODING
    assert error(b"a AUTHENTICATE").tag == "a"


def test_sasl_continuation_lines() -> None:
    assert parse_sasl_response(b"AGZyZWQAc2VjcmV0") == b"\x00fred\x00secret"
    assert parse_sasl_response(b"") == b""
    assert parse_sasl_response(b"*") is None
    with pytest.raises(ProtocolError):
        parse_sasl_response(b"not base64!")


def test_idle_done() -> None:
    assert is_idle_done(b"DONE")
    assert is_idle_done(b"done ")
    assert not is_idle_done(b"a1 DONE")
    assert not is_idle_done(b"")


# --------------------------------------------------------------------------- mailboxes


def test_select_examine() -> None:
    assert parse(b"A142 SELECT INBOX") == c.Select(tag="A142", mailbox="INBOX")
    assert parse(b"A142 SELECT inbox") == c.Select(tag="A142", mailbox="INBOX")
    assert parse(b"A932 EXAMINE blurdybloop") == c.Select(
        tag="A932", mailbox="blurdybloop", read_only=True
    )
    assert parse(b"a SELECT INBOX (CONDSTORE)") == c.Select(
        tag="a", mailbox="INBOX", condstore=True
    )


def test_select_qresync() -> None:
    cmd = parse(b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))")
    assert isinstance(cmd, c.Select)
    assert cmd.qresync == c.QResync(67890007, 20050715194045000, seq("41,43:211,214:541"))
    cmd = parse(
        b"B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 "
        b"41:211,214:541 (1:15,19,21 41:55,61,64)))"
    )
    assert isinstance(cmd, c.Select) and cmd.qresync is not None
    assert cmd.qresync.known_sequence == seq("1:15,19,21")
    assert cmd.qresync.known_sequence_uids == seq("41:55,61,64")
    cmd = parse(b"a SELECT INBOX (QRESYNC (1 2 (1 5)))")
    assert isinstance(cmd, c.Select) and cmd.qresync == c.QResync(1, 2, None, seq("1"), seq("5"))


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a SELECT", "expected mailbox name"),
        (b"a SELECT INBOX (FOO)", "select parameter FOO"),
        (b"a SELECT INBOX (CONDSTORE CONDSTORE)", "repeated"),
        (b"a SELECT INBOX (QRESYNC (0 1))", "UIDVALIDITY"),
        (b"a SELECT INBOX (QRESYNC (1 0))", "mod-sequence"),
        (b"a SELECT INBOX (QRESYNC (1 2 1:*))", "'*'"),
        (b"a SELECT INBOX CONDSTORE", "select parameters"),
    ],
)
def test_select_errors(line: bytes, fragment: str) -> None:
    assert fragment in error(line).reason


def test_vietnamese_mailbox_names_in_modified_utf7() -> None:
    assert parse(b'a SELECT "V&AQM-n b&HqM-n &AREevw-n"') == c.Select(
        tag="a", mailbox="Văn bản đến"
    )
    assert parse(b'a CREATE "H&Htk-p th&AbA- c&AaE- quan/&ARAA4w- g&Hu0-i"') == c.Create(
        tag="a", mailbox="Hộp thư cơ quan/Đã gửi"
    )
    assert parse(b'a DELETE "Th&AbA- r&AOE-c"') == c.Delete(tag="a", mailbox="Thư rác")


def test_mailbox_names_are_nfc() -> None:
    decomposed = "Thư rác".encode().decode()  # already NFC; make an NFD variant
    import unicodedata

    nfd = unicodedata.normalize("NFD", decomposed)
    line = b"a SELECT {%d}\r\n" % len(nfd.encode()) + nfd.encode()
    assert parse(line, utf8=True) == c.Select(tag="a", mailbox="Thư rác")


def test_utf8_mailbox_names_only_after_enable() -> None:
    name = "Văn bản đến"
    line = b'a SELECT "' + name.encode() + b'"'
    assert parse(line, utf8=True) == c.Select(tag="a", mailbox=name)
    err = error(line)
    assert err.kind is ErrorKind.BAD_MAILBOX_NAME
    # In UTF-8 mode "&" is an ordinary character.
    assert parse(b"a SELECT A&B-", utf8=True) == c.Select(tag="a", mailbox="A&B-")


@pytest.mark.parametrize(
    "name", [b'"&Jjo"', b'"&U,BTFw-&ZeVnLIqe-"', b'"&AGEAYgBj-"', b"&ZeVnLIqe"]
)
def test_invalid_modified_utf7_names(name: bytes) -> None:
    err = error(b"a SELECT " + name)
    assert err.kind is ErrorKind.BAD_MAILBOX_NAME and err.tag == "a"


def test_create_delete_rename_subscribe() -> None:
    assert parse(b"A003 CREATE owatagusiam/") == c.Create(tag="A003", mailbox="owatagusiam/")
    assert parse(b"t1 CREATE MySpecial (USE (\\Drafts \\Sent))") == c.Create(
        tag="t1", mailbox="MySpecial", special_use=("\\Drafts", "\\Sent")
    )
    assert parse(b"A683 DELETE blurdybloop") == c.Delete(tag="A683", mailbox="blurdybloop")
    assert parse(b"A683 RENAME blurdybloop sarasoop") == c.Rename(
        tag="A683", mailbox="blurdybloop", new_name="sarasoop"
    )
    assert parse(b"A002 SUBSCRIBE #news.comp.mail.mime") == c.Subscribe(
        tag="A002", mailbox="#news.comp.mail.mime"
    )
    assert parse(b"A002 UNSUBSCRIBE #news.comp.mail.mime") == c.Unsubscribe(
        tag="A002", mailbox="#news.comp.mail.mime"
    )
    assert "new mailbox name" in error(b"a RENAME x").reason
    assert "create parameter" in error(b"a CREATE x (FOO (\\Sent))").reason


def test_list_classic() -> None:
    assert parse(b'A101 LIST "" ""') == c.List(tag="A101", reference="", patterns=("",))
    assert parse(b"A202 LIST ~/Mail/ %") == c.List(tag="A202", reference="~/Mail/", patterns=("%",))
    assert parse(b'a LIST "" *') == c.List(tag="a", reference="", patterns=("*",))
    assert parse(b'a LIST "" [Gmail]/%') == c.List(tag="a", reference="", patterns=("[Gmail]/%",))
    assert parse(b'A002 LSUB "#news." "comp.mail.*"') == c.Lsub(
        tag="A002", reference="#news.", pattern="comp.mail.*"
    )


def test_list_extended() -> None:
    assert parse(b'A01 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == c.List(
        tag="A01",
        reference="",
        patterns=("%",),
        selection=frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}),
        returns=frozenset({"SUBSCRIBED"}),
        extended=True,
    )
    assert parse(b'A02 LIST "" ("INBOX" "%/Foo") RETURN (CHILDREN)') == c.List(
        tag="A02",
        reference="",
        patterns=("INBOX", "%/Foo"),
        returns=frozenset({"CHILDREN"}),
        extended=True,
    )
    assert parse(b't3 LIST (SPECIAL-USE) "" *') == c.List(
        tag="t3",
        reference="",
        patterns=("*",),
        selection=frozenset({"SPECIAL-USE"}),
        extended=True,
    )
    assert parse(b'A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN) SPECIAL-USE)') == c.List(
        tag="A01",
        reference="",
        patterns=("%",),
        returns=frozenset({"STATUS", "SPECIAL-USE"}),
        status_items=("MESSAGES", "UNSEEN"),
        extended=True,
    )


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b'a LIST (RECURSIVEMATCH) "" %', "RECURSIVEMATCH"),
        (b'a LIST (FOO) "" %', "selection option FOO"),
        (b'a LIST "" % RETURN (BAR)', "return option BAR"),
        (b'a LIST "" % FOO (CHILDREN)', "RETURN"),
        (b'a LIST "" % RETURN (STATUS (BOGUS))', "status item BOGUS"),
        (b'a LIST ""', "mailbox pattern"),
        (b'a LIST "" ()', "mailbox pattern"),
    ],
)
def test_list_errors(line: bytes, fragment: str) -> None:
    assert fragment in error(line).reason


def test_status() -> None:
    assert parse(b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)") == c.Status(
        tag="A042", mailbox="blurdybloop", items=("UIDNEXT", "MESSAGES")
    )
    cmd = parse(b"a STATUS INBOX (highestmodseq SIZE deleted unseen uidvalidity recent)")
    assert isinstance(cmd, c.Status)
    assert cmd.items == ("HIGHESTMODSEQ", "SIZE", "DELETED", "UNSEEN", "UIDVALIDITY", "RECENT")
    assert "status item list" in error(b"a STATUS INBOX MESSAGES").reason
    assert "empty" in error(b"a STATUS INBOX ()").reason
    assert "FOO" in error(b"a STATUS INBOX (FOO)").reason


# --------------------------------------------------------------------------- APPEND


RFC_MESSAGE = (
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    b"From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
    b"Subject: afternoon meeting\r\n"
    b"\r\n"
    b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"
)


def test_append_rfc_example() -> None:
    line = b"A003 APPEND saved-messages (\\Seen) {%d}\r\n" % len(RFC_MESSAGE) + RFC_MESSAGE
    assert parse(line) == c.Append(
        tag="A003",
        mailbox="saved-messages",
        messages=(c.AppendMessage(RFC_MESSAGE, flags=("\\Seen",)),),
    )


def test_append_with_date_and_multiappend_and_binary() -> None:
    line = (
        b'a APPEND INBOX (\\seen $Forwarded) "17-Jul-1996 02:44:25 -0700" {3}\r\nabc'
        b' " 7-Feb-1994 21:52:25 +0700" ~{2}\r\n\x00\x01 {1+}\r\nz'
    )
    cmd = parse(line)
    assert isinstance(cmd, c.Append)
    minus7 = timezone(-timedelta(hours=7))
    plus7 = timezone(timedelta(hours=7))
    assert cmd.messages == (
        c.AppendMessage(
            b"abc",
            flags=("\\Seen", "$Forwarded"),
            internal_date=datetime(1996, 7, 17, 2, 44, 25, tzinfo=minus7),
        ),
        c.AppendMessage(
            b"\x00\x01", internal_date=datetime(1994, 2, 7, 21, 52, 25, tzinfo=plus7), binary=True
        ),
        c.AppendMessage(b"z"),
    )


def test_append_utf8() -> None:
    body = "Subject: Công văn\r\n\r\nxin chào\r\n".encode()
    line = b"a APPEND INBOX UTF8 (~{%d}\r\n" % len(body) + body + b")"
    cmd = parse(line)
    assert cmd == c.Append(
        tag="a", mailbox="INBOX", messages=(c.AppendMessage(body, binary=True, utf8=True),)
    )


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a APPEND INBOX", "message literal"),
        (b'a APPEND INBOX "17-Jul-1996 02:44:25 -0700" "message"', "message literal"),
        (b'a APPEND INBOX "32-Jul-1996 02:44:25 -0700" {1}\r\nx', "invalid date-time"),
        (b'a APPEND INBOX "17-Jul-1996 02:44" {1}\r\nx', "date-time"),
        (b"a APPEND INBOX (\\Seen {1}\r\nx)", "flag"),
        (b"a APPEND INBOX UTF8 ({1}\r\nx)", "literal8"),
        (b"a APPEND INBOX {1}\r\nx junk", "literal"),
    ],
)
def test_append_errors(line: bytes, fragment: str) -> None:
    assert fragment in error(line).reason


# --------------------------------------------------------------------------- SEARCH


def test_search_rfc3501_examples() -> None:
    cmd = parse(b'A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')
    assert cmd == c.Search(
        tag="A282",
        criteria=c.SearchAnd(
            (
                c.SearchFlag("\\Flagged"),
                c.SearchDate("internal", "since", date(1994, 2, 1)),
                c.SearchNot(c.SearchText("FROM", "Smith")),
            )
        ),
    )
    cmd = parse(b'A283 SEARCH TEXT "string not in mailbox"')
    assert cmd == c.Search(tag="A283", criteria=c.SearchText("TEXT", "string not in mailbox"))
    cmd = parse(b"A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX")
    assert cmd == c.Search(tag="A284", criteria=c.SearchText("TEXT", "XXXXXX"), charset="UTF-8")


def test_search_every_key() -> None:
    line = (
        b"a UID SEARCH ALL ANSWERED BCC b BEFORE 1-Jan-2024 BODY x CC y DELETED DRAFT "
        b"FLAGGED FROM z HEADER X-Priority 1 KEYWORD $Label1 LARGER 100 NEW OLD "
        b'ON "02-Feb-2023" RECENT SEEN SENTBEFORE 3-Mar-2020 SENTON 4-Apr-2020 '
        b"SENTSINCE 5-May-2020 SINCE 6-Jun-2020 SMALLER 5000 SUBJECT s TEXT t TO u "
        b"UID 1:5,9 UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $Junk UNSEEN "
        b"OLDER 3600 YOUNGER 60 MODSEQ 620162338 2:4,* $ (SEEN)"
    )
    cmd = parse(line)
    assert isinstance(cmd, c.Search) and cmd.uid
    assert isinstance(cmd.criteria, c.SearchAnd)
    assert cmd.criteria.keys == (
        c.SearchAll(),
        c.SearchFlag("\\Answered"),
        c.SearchText("BCC", "b"),
        c.SearchDate("internal", "before", date(2024, 1, 1)),
        c.SearchText("BODY", "x"),
        c.SearchText("CC", "y"),
        c.SearchFlag("\\Deleted"),
        c.SearchFlag("\\Draft"),
        c.SearchFlag("\\Flagged"),
        c.SearchText("FROM", "z"),
        c.SearchHeader("X-Priority", "1"),
        c.SearchFlag("$Label1"),
        c.SearchSize("larger", 100),
        c.SearchAnd((c.SearchFlag("\\Recent"), c.SearchFlag("\\Seen", False))),
        c.SearchFlag("\\Recent", False),
        c.SearchDate("internal", "on", date(2023, 2, 2)),
        c.SearchFlag("\\Recent"),
        c.SearchFlag("\\Seen"),
        c.SearchDate("sent", "before", date(2020, 3, 3)),
        c.SearchDate("sent", "on", date(2020, 4, 4)),
        c.SearchDate("sent", "since", date(2020, 5, 5)),
        c.SearchDate("internal", "since", date(2020, 6, 6)),
        c.SearchSize("smaller", 5000),
        c.SearchText("SUBJECT", "s"),
        c.SearchText("TEXT", "t"),
        c.SearchText("TO", "u"),
        c.SearchSequence(seq("1:5,9"), uid=True),
        c.SearchFlag("\\Answered", False),
        c.SearchFlag("\\Deleted", False),
        c.SearchFlag("\\Draft", False),
        c.SearchFlag("\\Flagged", False),
        c.SearchFlag("$Junk", False),
        c.SearchFlag("\\Seen", False),
        c.SearchAge("older", 3600),
        c.SearchAge("younger", 60),
        c.SearchModSeq(620162338),
        c.SearchSequence(seq("2:4,*")),
        c.SearchSequence(SequenceSet(saved=True)),
        c.SearchFlag("\\Seen"),
    )


def test_search_or_not_groups() -> None:
    cmd = parse(b"a SEARCH OR (FROM a TO b) NOT (SEEN OR DRAFT DELETED)")
    assert isinstance(cmd, c.Search)
    assert cmd.criteria == c.SearchOr(
        c.SearchAnd((c.SearchText("FROM", "a"), c.SearchText("TO", "b"))),
        c.SearchNot(
            c.SearchAnd(
                (
                    c.SearchFlag("\\Seen"),
                    c.SearchOr(c.SearchFlag("\\Draft"), c.SearchFlag("\\Deleted")),
                )
            )
        ),
    )


def test_search_modseq_with_entry() -> None:
    cmd = parse(b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338')
    assert isinstance(cmd, c.Search)
    assert cmd.criteria == c.SearchModSeq(620162338, "/flags/\\draft", "all")


def test_esearch_return_options() -> None:
    cmd = parse(b'A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')
    assert isinstance(cmd, c.Search) and cmd.returns == ("MIN", "COUNT")
    cmd = parse(b"A283 SEARCH RETURN () FLAGGED")
    assert isinstance(cmd, c.Search) and cmd.returns == ()
    cmd = parse(b"A301 UID SEARCH RETURN (SAVE MAX ALL) SINCE 19-Mar-2007 NOT SEEN")
    assert isinstance(cmd, c.Search) and cmd.returns == ("SAVE", "MAX", "ALL") and cmd.uid
    assert "FOO" in error(b"a SEARCH RETURN (FOO) ALL").reason


def test_search_charsets() -> None:
    text = "Công văn số 12"
    cmd = parse(b"a SEARCH CHARSET UTF-8 SUBJECT {%d}\r\n" % len(text.encode()) + text.encode())
    assert isinstance(cmd, c.Search) and cmd.criteria == c.SearchText("SUBJECT", text)
    text = "Công văn"
    legacy = text.encode("cp1258")
    cmd = parse(b"a SEARCH CHARSET WINDOWS-1258 SUBJECT {%d}\r\n" % len(legacy) + legacy)
    assert isinstance(cmd, c.Search)
    assert cmd.charset == "WINDOWS-1258"
    assert isinstance(cmd.criteria, c.SearchText)
    # cp1258 composes tones with combining marks; compare normalised.
    import unicodedata

    assert unicodedata.normalize("NFC", cmd.criteria.value) == text
    # Without CHARSET, 8-bit strings are read as UTF-8.
    cmd = parse(b"a SEARCH SUBJECT {%d}\r\n" % len(text.encode()) + text.encode())
    assert isinstance(cmd, c.Search) and cmd.criteria == c.SearchText("SUBJECT", text)


def test_search_bad_charset() -> None:
    for name in (b"X-UNKNOWN", b"BASE64", b"ROT13"):
        err = error(b"a SEARCH CHARSET " + name + b" ALL")
        assert err.kind is ErrorKind.BAD_CHARSET and err.status == "NO"
        assert err.code == ResponseCode.badcharset(("UTF-8", "US-ASCII"))
    err = error(b"a SEARCH CHARSET US-ASCII SUBJECT {1}\r\n\xff")
    assert err.kind is ErrorKind.BAD_ENCODING


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a SEARCH", "search criteria"),
        (b"a SEARCH FOO", "unknown search key FOO"),
        (b"a SEARCH FROM", "FROM string"),
        (b"a SEARCH SINCE 31-Feb-2020", "invalid date"),
        (b"a SEARCH SINCE yesterday", "not an IMAP date"),
        (b"a SEARCH LARGER x", "LARGER size"),
        (b"a SEARCH LARGER -1", "LARGER size"),
        (b"a SEARCH OR SEEN", "search key"),
        (b"a SEARCH NOT", "search key"),
        (b"a SEARCH ()", "search criteria"),
        (b"a SEARCH 0:4", "invalid sequence set"),
        (b"a SEARCH UID x", "UID set"),
        (b"a SEARCH OLDER 0", "OLDER interval"),
        (b'a SEARCH MODSEQ "/x" all 1', "/flags/"),
        (b'a SEARCH MODSEQ "/flags/\\\\Seen" some 1', "priv, shared or all"),
        (b"a SEARCH KEYWORD \\Seen", "KEYWORD flag keyword"),
    ],
)
def test_search_errors(line: bytes, fragment: str) -> None:
    err = error(line)
    assert fragment in err.reason, err.reason
    assert err.tag == "a"


def test_search_nesting_is_bounded() -> None:
    assert "too deeply" in error(b"a SEARCH " + b"NOT " * 200 + b"SEEN").reason
    assert "too deeply" in error(b"a SEARCH " + b"OR " * 200 + b"SEEN" + b" SEEN" * 200).reason


# --------------------------------------------------------------------------- FETCH


def section(**kwargs: object) -> c.FetchSection:
    return c.FetchSection(**kwargs)  # type: ignore[arg-type]


def test_fetch_rfc_example() -> None:
    cmd = parse(b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])")
    assert cmd == c.Fetch(
        tag="A654",
        sequence=seq("2:4"),
        attributes=(
            c.FetchItem("FLAGS"),
            section(text="HEADER.FIELDS", fields=("DATE", "FROM")),
        ),
    )
    cmd = parse(b"A999 UID FETCH 4827313:4828442 FLAGS")
    assert cmd == c.Fetch(
        tag="A999", sequence=seq("4827313:4828442"), attributes=(c.FetchItem("FLAGS"),), uid=True
    )


@pytest.mark.parametrize(
    ("macro", "names"),
    [
        (b"ALL", ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")),
        (b"fast", ("FLAGS", "INTERNALDATE", "RFC822.SIZE")),
        (b"FULL", ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")),
    ],
)
def test_fetch_macros(macro: bytes, names: tuple[str, ...]) -> None:
    cmd = parse(b"a FETCH 1:* " + macro)
    assert isinstance(cmd, c.Fetch)
    assert cmd.attributes == tuple(c.FetchItem(n) for n in names)  # type: ignore[arg-type]


def test_fetch_every_attribute() -> None:
    line = (
        b"a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID MODSEQ "
        b"RFC822 RFC822.HEADER RFC822.TEXT BODY[] BODY.PEEK[]<0.100> BODY[HEADER] "
        b"BODY[TEXT] BODY[1] BODY[1.2.3] BODY[1.2.MIME] BODY[2.HEADER] "
        b"body.peek[3.header.fields.not (Received x-spam)]<10.20> BODY[4.TEXT] "
        b"BINARY[1] BINARY.PEEK[1.2]<0.512> BINARY[] BINARY.SIZE[2])"
    )
    cmd = parse(line)
    assert isinstance(cmd, c.Fetch)
    assert cmd.attributes == (
        *(
            c.FetchItem(n)  # type: ignore[arg-type]
            for n in [
                "FLAGS",
                "INTERNALDATE",
                "RFC822.SIZE",
                "ENVELOPE",
                "BODY",
                "BODYSTRUCTURE",
                "UID",
                "MODSEQ",
                "RFC822",
                "RFC822.HEADER",
                "RFC822.TEXT",
            ]
        ),
        section(),
        section(peek=True, partial=(0, 100)),
        section(text="HEADER"),
        section(text="TEXT"),
        section(part=(1,)),
        section(part=(1, 2, 3)),
        section(part=(1, 2), text="MIME"),
        section(part=(2,), text="HEADER"),
        section(
            peek=True,
            part=(3,),
            text="HEADER.FIELDS.NOT",
            fields=("Received", "x-spam"),
            partial=(10, 20),
        ),
        section(part=(4,), text="TEXT"),
        section(kind="BINARY", part=(1,)),
        section(kind="BINARY", peek=True, part=(1, 2), partial=(0, 512)),
        section(kind="BINARY"),
        section(kind="BINARY.SIZE", part=(2,)),
    )


def test_fetch_response_names() -> None:
    assert section(peek=True, partial=(0, 100)).response_name() == "BODY[]<0>"
    assert section(text="HEADER.FIELDS", fields=("DATE", "FROM")).response_name() == (
        "BODY[HEADER.FIELDS (DATE FROM)]"
    )
    assert section(part=(1, 2), text="MIME").response_name() == "BODY[1.2.MIME]"
    assert section(kind="BINARY", peek=True, part=(3,), partial=(5, 9)).response_name() == (
        "BINARY[3]<5>"
    )
    assert section(kind="BINARY.SIZE", part=(2,)).response_name() == "BINARY.SIZE[2]"


def test_fetch_modifiers() -> None:
    cmd = parse(b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)")
    assert cmd == c.Fetch(
        tag="s100",
        sequence=seq("300:500"),
        attributes=(c.FetchItem("FLAGS"),),
        uid=True,
        changed_since=12345,
        vanished=True,
    )
    cmd = parse(b"a103 FETCH 1:* (UID FLAGS) (CHANGEDSINCE 12345)")
    assert isinstance(cmd, c.Fetch) and cmd.changed_since == 12345 and not cmd.vanished


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a FETCH", "sequence set"),
        (b"a FETCH 1", "fetch attributes"),
        (b"a FETCH x FLAGS", "sequence set"),
        (b"a FETCH 1 ()", "empty"),
        (b"a FETCH 1 (FLAGS FOO)", "unknown fetch attribute FOO"),
        (b"a FETCH 1 (ALL)", "unknown fetch attribute ALL"),
        (b"a FETCH 1 BODY[FOO]", "invalid section"),
        (b"a FETCH 1 BODY[MIME]", "MIME needs a part"),
        (b"a FETCH 1 BODY[1.]", "invalid section"),
        (b"a FETCH 1 BODY[0]", "invalid section"),
        (b"a FETCH 1 BODY[HEADER.FIELDS]", "header field list"),
        (b"a FETCH 1 BODY[HEADER.FIELDS ()]", "empty"),
        (b"a FETCH 1 BODY[HEADER.FIELDS (a:b)]", "header field name"),
        (b"a FETCH 1 BODY[TEXT (x)]", "unexpected argument"),
        (b"a FETCH 1 BODY[]<0>", "invalid text after section"),
        (b"a FETCH 1 BODY[]<0.0>", "partial"),
        (b"a FETCH 1 BODY[]x", "invalid text after section"),
        (b"a FETCH 1 BINARY[HEADER]", "binary section"),
        (b"a FETCH 1 BINARY.SIZE[1]<0.1>", "invalid text after section"),
        (b"a FETCH 1 BINARY", "unknown fetch attribute"),
        (b"a FETCH 1 FOO[1]", "unknown fetch attribute"),
        (b"a FETCH 1 FLAGS (VANISHED)", "VANISHED requires"),
        (b"a UID FETCH 1 FLAGS (VANISHED)", "VANISHED requires"),
        (b"a FETCH 1 FLAGS (CHANGEDSINCE 0)", "CHANGEDSINCE"),
        (b"a FETCH 1 FLAGS (FOO)", "fetch modifier FOO"),
        (b"a FETCH 1 FLAGS CHANGEDSINCE", "fetch modifiers"),
    ],
)
def test_fetch_errors(line: bytes, fragment: str) -> None:
    err = error(line)
    assert fragment in err.reason, err.reason
    assert err.tag == "a"


# --------------------------------------------------------------------------- STORE/COPY/MOVE


def test_store() -> None:
    assert parse(b"A003 STORE 2:4 +FLAGS (\\Deleted)") == c.Store(
        tag="A003", sequence=seq("2:4"), action="add", flags=("\\Deleted",)
    )
    assert parse(b"a STORE 1 FLAGS.SILENT (\\seen \\FLAGGED $Work)") == c.Store(
        tag="a",
        sequence=seq("1"),
        action="replace",
        flags=("\\Seen", "\\Flagged", "$Work"),
        silent=True,
    )
    assert parse(b"a UID STORE 5 -flags \\Draft Junk") == c.Store(
        tag="a", sequence=seq("5"), action="remove", flags=("\\Draft", "Junk"), uid=True
    )
    assert parse(b"a STORE 1 FLAGS ()") == c.Store(
        tag="a", sequence=seq("1"), action="replace", flags=()
    )
    assert parse(
        b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)"
    ) == c.Store(
        tag="d105",
        sequence=seq("7,5,9"),
        action="add",
        flags=("\\Deleted",),
        silent=True,
        unchanged_since=320162338,
    )
    assert parse(b"a STORE 1 (UNCHANGEDSINCE 0) FLAGS x") == c.Store(
        tag="a", sequence=seq("1"), action="replace", flags=("x",), unchanged_since=0
    )


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a STORE 1 FLAGS", "flag"),
        (b"a STORE 1 LABELS (x)", "expected FLAGS"),
        (b"a STORE 1 +FLAGS.LOUD (x)", "expected FLAGS"),
        (b'a STORE 1 FLAGS ("x")', "flag"),
        (b"a STORE 1 FLAGS (x) y", "unexpected argument"),
        (b"a STORE 1 (FOO 1) FLAGS x", "store modifier FOO"),
        (b"a STORE 1 FLAGS (\\Seen*)", "flag"),
    ],
)
def test_store_errors(line: bytes, fragment: str) -> None:
    assert fragment in error(line).reason


def test_copy_move_uid_expunge() -> None:
    assert parse(b"A003 COPY 2:4 MEETING") == c.Copy(
        tag="A003", sequence=seq("2:4"), mailbox="MEETING"
    )
    assert parse(b'A302 COPY $ "Other Messages"') == c.Copy(
        tag="A302", sequence=SequenceSet(saved=True), mailbox="Other Messages"
    )
    assert parse(b"a UID MOVE 42:69 foo") == c.Move(
        tag="a", sequence=seq("42:69"), mailbox="foo", uid=True
    )
    assert parse(b'a MOVE 1 "Th&AbA- r&AOE-c"') == c.Move(
        tag="a", sequence=seq("1"), mailbox="Thư rác"
    )
    assert parse(b"A003 UID EXPUNGE 3000:3002") == c.Expunge(tag="A003", uids=seq("3000:3002"))
    assert "UID set" in error(b"a UID EXPUNGE").reason
    assert "destination mailbox" in error(b"a COPY 1").reason


# --------------------------------------------------------------------------- misc extensions


def test_enable_and_id() -> None:
    assert parse(b"t2 ENABLE CONDSTORE X-GOOD-IDEA utf8=accept") == c.Enable(
        tag="t2", capabilities=("CONDSTORE", "X-GOOD-IDEA", "UTF8=ACCEPT")
    )
    assert "capability name" in error(b"a ENABLE").reason
    assert parse(
        b'a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")'
    ) == c.Id(
        tag="a023",
        parameters=(
            ("name", "sodr"),
            ("version", "19.34"),
            ("vendor", "Pink Floyd Music Limited"),
        ),
    )
    assert parse(b"a ID NIL") == c.Id(tag="a", parameters=None)
    assert parse(b'a ID ("os" NIL)') == c.Id(tag="a", parameters=(("os", None),))
    assert "ID field value" in error(b'a ID ("name")').reason
    many = b" ".join(b'"k%d" "v"' % i for i in range(31))
    assert "more than 30" in error(b"a ID (" + many + b")").reason


def test_quota() -> None:
    assert parse(b'G0001 GETQUOTA "!partition/sda4"') == c.GetQuota(
        tag="G0001", root="!partition/sda4"
    )
    assert parse(b"A003 GETQUOTAROOT INBOX") == c.GetQuotaRoot(tag="A003", mailbox="INBOX")
    assert parse(b'S0000 SETQUOTA "#user/alice" (STORAGE 510 message 1000)') == c.SetQuota(
        tag="S0000", root="#user/alice", limits=(("STORAGE", 510), ("MESSAGE", 1000))
    )
    assert parse(b'a SETQUOTA "" ()') == c.SetQuota(tag="a", root="", limits=())
    assert "STORAGE limit" in error(b'a SETQUOTA "" (STORAGE)').reason


def test_acl() -> None:
    assert parse(b"A001 GETACL INBOX") == c.GetAcl(tag="A001", mailbox="INBOX")
    assert parse(b"A002 SETACL INBOX/Drafts Chris +cda") == c.SetAcl(
        tag="A002", mailbox="INBOX/Drafts", identifier="Chris", rights="cda", mode="add"
    )
    assert parse(b'a SETACL INBOX "-anyone" -w') == c.SetAcl(
        tag="a", mailbox="INBOX", identifier="-anyone", rights="w", mode="remove"
    )
    assert parse(b"a SETACL INBOX fred lrswipkxtea") == c.SetAcl(
        tag="a", mailbox="INBOX", identifier="fred", rights="lrswipkxtea"
    )
    err = error(b"A035 SETACL INBOX/Drafts John lrQswicda")
    assert "lower-case" in err.reason and err.tag == "A035"
    assert parse(b"A003 DELETEACL INBOX Fred") == c.DeleteAcl(
        tag="A003", mailbox="INBOX", identifier="Fred"
    )
    assert parse(b"a001 LISTRIGHTS ~/Mail/saved smith") == c.ListRights(
        tag="a001", mailbox="~/Mail/saved", identifier="smith"
    )
    assert parse(b"A003 MYRIGHTS INBOX") == c.MyRights(tag="A003", mailbox="INBOX")
    assert "identifier" in error(b"a DELETEACL INBOX").reason


def test_search_charset_after_utf8_accept() -> None:
    cmd = parse(b"a SEARCH CHARSET UTF-8 SUBJECT x", utf8=True)
    assert isinstance(cmd, c.Search) and cmd.charset == "UTF-8"
    err = error(b"a SEARCH CHARSET ISO-8859-1 SUBJECT x", utf8=True)
    assert err.status == "BAD" and "UTF8=ACCEPT" in err.reason
