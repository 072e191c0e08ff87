"""Meeting invitations: the iCalendar a calendar client needs (parsed back with
icalendar), the MIME layout, REPLYs from Thunderbird and Outlook counted per attendee
through the pipeline hook, forged or stale answers ignored, reschedule and cancel."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from icalendar import Calendar
from tests.documents import mailorg
from tests.documents.mailorg import DUC, HANG, TAM, VANTHU, Mail, stored_messages

from govmail.delivery.envelope import Envelope
from govmail.documents.meetings import (
    Invitee,
    ItipError,
    MeetingError,
    MeetingInfo,
    MeetingReplies,
    Meetings,
    build_calendar,
    build_invitation_message,
    parse_itip,
)
from govmail.store.repos.documents_extra import DocumentsExtraRepo

org_fixture, mail_fixture = mailorg.org_fixture, mailorg.mail_fixture  # the fixtures

START = datetime(2025, 3, 5, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
END = START + timedelta(hours=2)
INFO = MeetingInfo(
    uid="m-1@mic.gov.vn",
    summary="Họp giao ban công tác chuyển đổi số",
    starts_at=START,
    ends_at=END,
    timezone="Asia/Ho_Chi_Minh",
    organizer_address=VANTHU,
    organizer_name="Văn thư Bộ",
    location="Phòng họp tầng 3, 18 Nguyễn Du, Hà Nội",
    description="Thành phần: Lãnh đạo các Cục, Vụ.\nChuẩn bị: báo cáo tuần.",
    number_symbol="12/GM-BTTTT",
)
PEOPLE = [Invitee(DUC, "Trần Văn Đức"), Invitee(TAM, "Lê Văn Tám")]


def calendar_of(raw: bytes) -> tuple[str, Calendar]:
    """(Content-Type of the text/calendar alternative, its calendar)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return str(part["Content-Type"]), Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no text/calendar part")


def test_the_request_is_a_valid_icalendar_with_timezone_and_rsvp() -> None:
    cal = Calendar.from_ical(build_calendar(INFO, PEOPLE, "REQUEST", now=START))
    assert str(cal["method"]) == "REQUEST" and str(cal["version"]) == "2.0"
    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["tzid"]) == "Asia/Ho_Chi_Minh"
    [ev] = cal.walk("VEVENT")
    assert str(ev["uid"]) == INFO.uid
    assert ev["dtstart"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert ev.decoded("dtstart").hour == 8 and ev.decoded("dtend").hour == 10
    assert ev.decoded("dtstart") == START and ev.decoded("dtend") == END
    assert str(ev["summary"]) == INFO.summary
    assert str(ev["location"]) == INFO.location
    assert "báo cáo tuần" in str(ev["description"])
    assert str(ev["organizer"]).lower() == f"mailto:{VANTHU}"
    assert ev["organizer"].params["CN"] == "Văn thư Bộ"
    attendees = ev["attendee"]
    assert [str(a).lower() for a in attendees] == [f"mailto:{DUC}", f"mailto:{TAM}"]
    for a in attendees:
        assert a.params["RSVP"] == "TRUE" and a.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees[0].params["CN"] == "Trần Văn Đức"
    assert int(ev["sequence"]) == 0 and str(ev["status"]) == "CONFIRMED"
    assert ev.decoded("dtstamp") == START


def test_a_cancel_says_so() -> None:
    cal = Calendar.from_ical(build_calendar(INFO, PEOPLE, "CANCEL", now=START))
    [ev] = cal.walk("VEVENT")
    assert str(cal["method"]) == "CANCEL" and str(ev["status"]) == "CANCELLED"


def test_the_invitation_mail_has_the_layout_clients_expect() -> None:
    raw = build_invitation_message(INFO, PEOPLE, "REQUEST", now=START)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()  # type: ignore[misc]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    ctype, cal = calendar_of(raw)
    assert "method=REQUEST" in ctype.replace('"', "")
    assert str(cal.walk("VEVENT")[0]["uid"]) == INFO.uid
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() == "application/ics"
    assert str(msg["Subject"]).startswith("Giấy mời họp / Invitation: Họp giao ban")
    assert "Văn thư Bộ" in str(msg["From"]) and VANTHU in str(msg["From"])
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert plain.index("GIẤY MỜI HỌP") < plain.index("MEETING INVITATION")
    assert "08:00–10:00, Thứ Tư 05/03/2025" in plain
    assert "08:00–10:00, Wednesday 05/03/2025" in plain
    assert "12/GM-BTTTT" in plain


def test_garbage_calendars_are_itip_errors() -> None:
    for bad in (b"", b"hello", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", b"\xff\xfe" * 10):
        with pytest.raises(ItipError):
            parse_itip(bad)


# -- replies through the pipeline ----------------------------------------------------------


def thunderbird_reply(
    uid: str,
    attendee: str,
    name: str,
    partstat: str,
    *,
    sequence: int,
    stamp: datetime,
    sender: str | None = None,
) -> bytes:
    """A REPLY laid out as Thunderbird sends it (multipart/mixed, 8bit calendar)."""
    ics = (
        "BEGIN:VCALENDAR\r\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\n"
        "VERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
        f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}\r\nUID:{uid}\r\nSUMMARY:Họp giao ban\r\n"
        f"ORGANIZER;CN=Văn thư Bộ:mailto:{VANTHU}\r\n"
        f"ATTENDEE;CN={name};PARTSTAT={partstat};ROLE=REQ-PARTICIPANT;CUTYPE=INDIVIDUAL:"
        f"mailto:{attendee}\r\n"
        "DTSTART;TZID=Asia/Ho_Chi_Minh:20250305T080000\r\n"
        "DTEND;TZID=Asia/Ho_Chi_Minh:20250305T100000\r\n"
        f"SEQUENCE:{sequence}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return (
        f"From: {name} <{sender or attendee}>\r\nTo: {VANTHU}\r\n"
        f"Subject: {partstat}: Họp giao ban\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="tb"\r\n\r\n'
        "--tb\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
        f"\r\n{name} has answered.\r\n"
        "--tb\r\nContent-Type: text/calendar; charset=UTF-8; method=REPLY\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + ics + "--tb--\r\n"
    ).encode()


def outlook_reply(
    uid: str, attendee: str, partstat: str, *, sequence: int, stamp: datetime
) -> bytes:
    """A REPLY laid out as Outlook sends it (alternative, base64 calendar, MAILTO)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = attendee
    msg["To"] = VANTHU
    msg["Subject"] = "Tentative: Họp giao ban"
    msg.set_content("Lê Văn Tám đã trả lời.")
    ics = (
        "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\n"
        "VERSION:2.0\r\nBEGIN:VEVENT\r\n"
        f"ATTENDEE;PARTSTAT={partstat};CN=Lê Văn Tám:MAILTO:{attendee.upper()}\r\n"
        "COMMENT;LANGUAGE=vi-VN:Tôi có thể đến muộn.\r\n"
        f"UID:{uid}\r\nSUMMARY;LANGUAGE=vi-VN:Tentative: Họp giao ban\r\n"
        "DTSTART;TZID=SE Asia Standard Time:20250305T080000\r\n"
        f"DTEND;TZID=SE Asia Standard Time:20250305T100000\r\nSEQUENCE:{sequence}\r\n"
        f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    msg.add_alternative(
        ics, maintype="text", subtype="calendar", params={"method": "REPLY"}, cte="base64"
    )
    return msg.as_bytes()


async def send(mail: Mail, sender: str, raw: bytes) -> None:
    env = Envelope(sender, [VANTHU], "submission", client_ip="127.0.0.1", auth_user=sender)
    await mail.pipeline.deliver(env, raw)
    await mail.pipeline.wait_background()


async def test_invite_reply_reschedule_cancel(mail: Mail) -> None:
    hook = MeetingReplies(mail.store)
    mail.pipeline.after_delivery.append(hook)
    meetings = Meetings(mail.store, mail.pipeline.deliver)
    info = await meetings.invite(
        sender=HANG,  # Hằng handles the agency mailbox: she may invite as vanthu@
        organizer_address=VANTHU,
        organizer_name="Văn thư Bộ",
        summary="Họp giao ban tuần",
        starts_at=START,
        ends_at=END,
        location="Phòng 301",
        attendees=[*PEOPLE, Invitee(VANTHU), Invitee(DUC.upper())],  # organizer, duplicate
        number_symbol="12/GM-BTTTT",
    )
    for who in (DUC, TAM):
        [raw] = await stored_messages(mail, who)
        ctype, cal = calendar_of(raw)
        assert "method=REQUEST" in ctype.replace('"', "")
        [ev] = cal.walk("VEVENT")
        assert str(ev["uid"]) == info.uid and int(ev["sequence"]) == 0
    tally = await meetings.tally(info.uid)
    assert [a.address for a in tally.attendees] == [DUC, TAM]
    assert tally.counts["NEEDS-ACTION"] == 2

    t0 = datetime.now(UTC)

    async def duc(partstat: str, sequence: int, minutes: float, sender: str = DUC) -> None:
        stamp = t0 + timedelta(minutes=minutes)
        raw = thunderbird_reply(
            info.uid, DUC, "Trần Văn Đức", partstat, sequence=sequence, stamp=stamp, sender=sender
        )
        await send(mail, sender, raw)

    async def tam(partstat: str, sequence: int, minutes: float) -> None:
        stamp = t0 + timedelta(minutes=minutes)
        await send(
            mail, TAM, outlook_reply(info.uid, TAM, partstat, sequence=sequence, stamp=stamp)
        )

    await duc("ACCEPTED", 0, 0)
    tally = await meetings.tally(info.uid)
    assert (tally.counts["ACCEPTED"], tally.counts["NEEDS-ACTION"]) == (1, 1)

    # Tám cannot answer for Đức.
    await duc("DECLINED", 0, 1, sender=TAM)
    assert (await meetings.tally(info.uid)).counts["ACCEPTED"] == 1

    await tam("TENTATIVE", 0, 2)
    tally = await meetings.tally(info.uid)
    assert tally.counts["TENTATIVE"] == 1
    tam_state = next(a for a in tally.attendees if a.address == TAM)
    assert tam_state.comment == "Tôi có thể đến muộn."
    await tam("DECLINED", 0, 3)
    # A late-arriving older answer does not overwrite the newer one.
    await tam("ACCEPTED", 0, 2.5)
    tally = await meetings.tally(info.uid)
    counts = tally.counts
    assert (counts["ACCEPTED"], counts["DECLINED"], counts["TENTATIVE"]) == (1, 1, 0)
    assert hook.recorded == 3

    # Rescheduling: SEQUENCE 1, answers reset, old answers no longer count.
    moved = await meetings.reschedule(
        info.uid, sender=HANG, starts_at=START + timedelta(days=1), ends_at=END + timedelta(days=1)
    )
    assert moved.sequence == 1
    assert (await meetings.tally(info.uid)).counts["NEEDS-ACTION"] == 2
    _first, update = await stored_messages(mail, DUC)
    _ctype, cal = calendar_of(update)
    [ev] = cal.walk("VEVENT")
    assert int(ev["sequence"]) == 1 and ev.decoded("dtstart") == START + timedelta(days=1)
    await duc("ACCEPTED", 0, 5)
    assert (await meetings.tally(info.uid)).counts["ACCEPTED"] == 0
    await duc("ACCEPTED", 1, 6)
    assert (await meetings.tally(info.uid)).counts["ACCEPTED"] == 1

    # Cancelling: a CANCEL to everyone; later answers are ignored.
    cancelled = await meetings.cancel(info.uid, sender=HANG)
    assert cancelled.sequence == 2
    *_, last = await stored_messages(mail, TAM)
    ctype, cal = calendar_of(last)
    assert "method=CANCEL" in ctype.replace('"', "")
    [ev] = cal.walk("VEVENT")
    assert str(ev["status"]) == "CANCELLED" and int(ev["sequence"]) == 2
    await tam("ACCEPTED", 2, 9)
    tally = await meetings.tally(info.uid)
    assert tally.status == "cancelled" and tally.counts["ACCEPTED"] == 1
    with pytest.raises(MeetingError):
        await meetings.cancel(info.uid, sender=HANG)


async def test_replies_the_hook_cannot_use_are_ignored(mail: Mail) -> None:
    hook = MeetingReplies(mail.store)
    mail.pipeline.after_delivery.append(hook)
    now = datetime.now(UTC)
    unknown = thunderbird_reply("unknown@x", DUC, "Đức", "ACCEPTED", sequence=0, stamp=now)
    await send(mail, DUC, unknown)
    broken = thunderbird_reply("x", DUC, "Đức", "ACCEPTED", sequence=0, stamp=now).replace(
        b"BEGIN:VEVENT", b"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:not-a-date\r\nATTENDEE;=="
    )
    await send(mail, DUC, broken)
    assert hook.recorded == 0
    assert len(await stored_messages(mail, VANTHU)) == 2  # delivered all the same


async def test_an_invitation_the_sender_may_not_send_is_refused_and_not_kept(mail: Mail) -> None:
    meetings = Meetings(mail.store, mail.pipeline.deliver)
    with pytest.raises(MeetingError) as err:
        await meetings.invite(
            sender=TAM,  # Tám does not handle vanthu@
            organizer_address=VANTHU,
            summary="Họp",
            starts_at=START,
            ends_at=END,
            attendees=PEOPLE,
        )
    assert err.value.key == "documents.meeting.not_sent"
    async with mail.store.read() as tx:
        assert await DocumentsExtraRepo(tx.session, mail.store.dialect).meetings_of(VANTHU) == []


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"attendees": []}, "documents.meeting.no_attendees"),
        ({"attendees": [Invitee("not an address")]}, "documents.meeting.bad_address"),
        ({"ends_at": START}, "documents.meeting.bad_times"),
        ({"starts_at": datetime(2025, 3, 5, 8, 0)}, "documents.meeting.naive_time"),
        ({"summary": "  "}, "documents.meeting.bad_summary"),
    ],
)
async def test_bad_meetings_are_refused(mail: Mail, kw: dict[str, object], key: str) -> None:
    args: dict[str, object] = {
        "sender": HANG,
        "organizer_address": VANTHU,
        "summary": "Họp",
        "starts_at": START,
        "ends_at": END,
        "attendees": PEOPLE,
        **kw,
    }
    with pytest.raises(MeetingError) as err:
        await Meetings(mail.store, mail.pipeline.deliver).invite(**args)  # type: ignore[arg-type]
    assert err.value.key == key
    assert str(err.value)  # both languages render
