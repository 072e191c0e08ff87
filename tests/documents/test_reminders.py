"""Reminder digests: slots in the agency's time zone, once per slot across restarts,
nothing sent when there is nothing to say, the digest's content, and the plain-mail
source reading edXML envelopes in agency mailboxes. A fake clock: nothing sleeps."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.documents import mailorg
from tests.documents.mailorg import DUC, Mail, append, stored_messages

from govmail.delivery.envelope import Envelope
from govmail.documents.reminders import (
    Digest,
    DigestLine,
    MailboxEdxmlSource,
    ReminderConfigError,
    ReminderService,
    build_digest_message,
    edxml_summary,
    latest_slots,
    merge_digests,
    next_slot,
    parse_slots,
)
from govmail.store.db import Store

org_fixture, mail_fixture = mailorg.org_fixture, mailorg.mail_fixture  # the fixtures
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def at(local: str, tz: ZoneInfo = HCM) -> datetime:
    """A UTC instant from a local "YYYY-MM-DD HH:MM"."""
    return datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=tz).astimezone(UTC)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[Envelope, bytes]] = []

    async def __call__(self, env: Envelope, raw: bytes) -> object:
        self.sent.append((env, raw))
        return None


class FixedSource:
    def __init__(self, digests: list[Digest]) -> None:
        self.digests_to_give = digests
        self.calls = 0

    async def digests(self, now: datetime) -> list[Digest]:
        self.calls += 1
        return list(self.digests_to_give)


def line(kind: str = "unread", title: str = "Về việc họp giao ban", **kw: Any) -> DigestLine:
    return DigestLine(kind, title, kw.get("number"), kw.get("due"), kw.get("link"))  # type: ignore[arg-type]


# -- slots (pure) -------------------------------------------------------------------------


def test_slots_are_local_times_of_the_configured_zone() -> None:
    slots = parse_slots(["13:30", "08:00"])
    # 01:00 UTC is 08:00 in Hà Nội: the morning slot has just come.
    latest = latest_slots(datetime(2025, 3, 5, 1, 0, tzinfo=UTC), slots, HCM)
    assert latest == {"08:00": at("2025-03-05 08:00"), "13:30": at("2025-03-04 13:30")}
    # One minute earlier it is still yesterday's morning slot.
    latest = latest_slots(datetime(2025, 3, 5, 0, 59, tzinfo=UTC), slots, HCM)
    assert latest["08:00"] == at("2025-03-04 08:00")
    assert next_slot(datetime(2025, 3, 5, 0, 59, tzinfo=UTC), slots, HCM) == at("2025-03-05 08:00")
    assert next_slot(at("2025-03-05 13:30"), slots, HCM) == at("2025-03-06 08:00")
    # A UTC date that is already "tomorrow" in Hà Nội (23:00 UTC = 06:00 next day).
    assert next_slot(datetime(2025, 3, 5, 23, 0, tzinfo=UTC), slots, HCM) == at("2025-03-06 08:00")


def test_slots_follow_daylight_saving_time_where_there_is_one() -> None:
    paris = ZoneInfo("Europe/Paris")
    slots = parse_slots(["08:00"])
    # 30 March 2025: clocks go from 02:00 to 03:00; 08:00 is 06:00 UTC that day, 07:00 before.
    assert next_slot(datetime(2025, 3, 29, 12, 0, tzinfo=UTC), slots, paris) == datetime(
        2025, 3, 30, 6, 0, tzinfo=UTC
    )
    assert latest_slots(datetime(2025, 3, 30, 5, 59, tzinfo=UTC), slots, paris)["08:00"] == (
        datetime(2025, 3, 29, 7, 0, tzinfo=UTC)
    )


@pytest.mark.parametrize("bad", ["8:00", "24:00", "08:60", "soon", ""])
def test_bad_reminder_times_are_refused(bad: str) -> None:
    with pytest.raises(ReminderConfigError):
        parse_slots([bad])


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ReminderConfigError):
        ReminderService(None, Recorder(), [], timezone="Asia/Nowhere")  # type: ignore[arg-type]


# -- the service over a real store ---------------------------------------------------------


def service(store: Store, deliver: Recorder, source: FixedSource, **kw: Any) -> ReminderService:
    return ReminderService(store, deliver, [source], times=["08:00", "13:30"], **kw)


async def test_a_slot_is_sent_once_even_across_a_restart(store: Store) -> None:
    deliver = Recorder()
    source = FixedSource([Digest("hangntm@mic.gov.vn", [line()])])
    first = service(store, deliver, source)
    assert (await first.run_due(at("2025-03-05 07:59"))).slots == []  # yesterday's are stale
    run = await first.run_due(at("2025-03-05 08:00"))
    assert run.slots == ["08:00"] and run.sent == ["hangntm@mic.gov.vn"]
    assert (await first.run_due(at("2025-03-05 08:01"))).slots == []
    # A new process (restart) in the same slot sends nothing more.
    again = service(store, deliver, source)
    assert (await again.run_due(at("2025-03-05 08:05"))).slots == []
    assert len(deliver.sent) == 1 and source.calls == 1
    # The afternoon slot, then the next morning.
    assert (await again.run_due(at("2025-03-05 13:31"))).slots == ["13:30"]
    assert (await again.run_due(at("2025-03-06 08:00"))).slots == ["08:00"]
    assert len(deliver.sent) == 3
    env, _raw = deliver.sent[0]
    assert env.mail_from == "" and env.rcpt_to == ["hangntm@mic.gov.vn"]
    assert env.source == "system"


async def test_a_slot_missed_for_longer_than_the_grace_is_skipped(store: Store) -> None:
    deliver = Recorder()
    source = FixedSource([Digest("hangntm@mic.gov.vn", [line()])])
    svc = service(store, deliver, source, grace=timedelta(hours=2))
    assert (await svc.run_due(at("2025-03-05 10:01"))).slots == []  # 08:00 + 2 h passed
    assert (await svc.run_due(at("2025-03-05 09:59"))).slots == ["08:00"]
    assert len(deliver.sent) == 1


async def test_no_reminders_on_days_off(store: Store) -> None:
    deliver = Recorder()
    source = FixedSource([Digest("hangntm@mic.gov.vn", [line()])])
    svc = service(store, deliver, source)
    assert (await svc.run_due(at("2025-03-08 08:00"))).slots == []  # a Saturday
    assert (await svc.run_due(at("2025-03-09 13:30"))).slots == []  # a Sunday
    assert (await svc.run_due(at("2025-03-10 08:00"))).slots == ["08:00"]  # Monday
    weekend = service(store, deliver, source, weekdays=[6, 7])
    assert (await weekend.run_due(at("2025-03-08 13:30"))).slots == ["13:30"]
    with pytest.raises(ReminderConfigError):
        service(store, deliver, source, weekdays=[0])


async def test_nothing_to_say_sends_nothing(store: Store) -> None:
    deliver = Recorder()
    source = FixedSource([Digest("hangntm@mic.gov.vn", []), Digest("ductv@mic.gov.vn", [])])
    run = await service(store, deliver, source).run_due(at("2025-03-05 08:00"))
    assert run.slots == ["08:00"] and run.sent == []
    assert deliver.sent == [] and source.calls == 1


async def test_a_failing_source_does_not_silence_the_others(store: Store) -> None:
    class Broken:
        async def digests(self, now: datetime) -> list[Digest]:
            raise RuntimeError("core not ready")

    deliver = Recorder()
    good = FixedSource([Digest("ductv@mic.gov.vn", [line("deadline")])])
    svc = ReminderService(store, deliver, [Broken(), good])  # type: ignore[list-item]
    run = await svc.run_due(at("2025-03-05 13:30"))
    assert run.sent == ["ductv@mic.gov.vn"]


async def test_the_service_starts_and_stops(store: Store) -> None:
    svc = service(store, Recorder(), FixedSource([]), clock=lambda: at("2025-03-05 03:00"))
    assert not svc.healthy()
    await svc.start()
    assert svc.healthy() and svc.name == "reminders"
    await svc.stop()
    assert not svc.healthy()


# -- the digest ---------------------------------------------------------------------------


def test_digests_are_merged_per_recipient_without_duplicates() -> None:
    a = line("unread", "Công văn A", number="12/UBND-VP")
    merged = merge_digests(
        [
            Digest("HangNTM@mic.gov.vn", [a]),
            Digest("hangntm@mic.gov.vn", [a, line("deadline", "Công văn A", number="12/UBND-VP")]),
            Digest("ductv@mic.gov.vn", []),
            Digest("not-an-address", [a]),
        ]
    )
    assert [(d.recipient_address, [x.kind for x in d.lines]) for d in merged] == [
        ("hangntm@mic.gov.vn", ["unread", "deadline"])
    ]


def test_digest_content_vietnamese_first_then_english() -> None:
    now = at("2025-03-05 08:00")
    digest = Digest(
        "hangntm@mic.gov.vn",
        [
            line(
                "unread",
                "Về việc <triển khai> chữ ký số",
                number="22/BC-BTTTT",
                link="https://mail.mic.gov.vn/mail/f/3/m/7",
            ),
            line("deadline", "Báo cáo quý I", number="15/UBND-VP", due=at("2025-03-06 00:00")),
            line("deadline", "Kế hoạch năm", due=at("2025-03-03 00:00")),
            line("unregistered", "Giấy mời họp"),
        ],
    )
    raw = build_digest_message(digest, HCM, now)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["To"] == "hangntm@mic.gov.vn"
    assert str(msg["From"]).endswith("<no-reply@mic.gov.vn>")
    subject = str(msg["Subject"])
    assert subject.index("Nhắc việc") < subject.index("Reminder") and "4" in subject
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    rich = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert plain.index("Văn bản đến chưa đọc (1)") < plain.index("Unread official documents (1)")
    assert "22/BC-BTTTT — Về việc <triển khai> chữ ký số" in plain
    assert "https://mail.mic.gov.vn/mail/f/3/m/7" in plain
    assert "hạn xử lý 06/03/2025" in plain and "due 06/03/2025" in plain
    assert "đã quá hạn 03/03/2025" in plain and "overdue since 03/03/2025" in plain
    assert "Văn bản đến chưa vào sổ (1)" in plain
    assert plain.index("chưa vào sổ") < plain.index("chưa đọc")  # clerk's work first
    assert "&lt;triển khai&gt;" in rich and "<triển khai>" not in rich
    assert '<a href="https://mail.mic.gov.vn/mail/f/3/m/7">' in rich


# -- edXML envelopes -----------------------------------------------------------------------

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def edxml(subject: str, number: str, notation: str, due: str | None) -> bytes:
    due_el = f"<edXML:DueDate>{due}</edXML:DueDate>" if due else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXMLEnvelope xmlns:edXML="{NS}">
 <edXML:edXMLHeader><edXML:MessageHeader>
  <edXML:From><edXML:OrganId>000.00.00.H45</edXML:OrganId></edXML:From>
  <edXML:Code><edXML:CodeNumber>{number}</edXML:CodeNumber>
   <edXML:CodeNotation>{notation}</edXML:CodeNotation></edXML:Code>
  <edXML:Subject>{subject}</edXML:Subject>{due_el}
 </edXML:MessageHeader></edXML:edXMLHeader>
 <edXML:edXMLBody/>
</edXML:edXMLEnvelope>""".encode()


def test_edxml_summary() -> None:
    s = edxml_summary(edxml("Về việc báo cáo", "15", "UBND-VP", "2025/03/06"))
    assert s is not None
    assert (s.subject, s.number_symbol, str(s.due)) == (
        "Về việc báo cáo",
        "15/UBND-VP",
        "2025-03-06",
    )
    assert edxml_summary(b"<a>plain xml</a>") is None
    assert edxml_summary(b"not xml " + NS.encode()) is None
    status = f'<edXML:edXMLEnvelope xmlns:edXML="{NS}"><edXML:Status/></edXML:edXMLEnvelope>'
    assert edxml_summary(status.encode()) is None
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "{"y" * 10}">]>'
        f'<edXML:MessageHeader xmlns:edXML="{NS}">&x;</edXML:MessageHeader>'
    )
    assert edxml_summary(bomb.encode()) is None


def mail_with(attachment: bytes | None, *, filename: str, ctype: str, subject: str) -> bytes:
    head = (
        "From: vanthu@phuyen.gov.vn\r\nTo: vanthu@mic.gov.vn\r\n"
        f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
    )
    if attachment is None:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\nxin chào\r\n").encode()
    import base64

    body = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    return (
        head
        + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        + "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVăn bản điện tử\r\n"
        + f'--b1\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename="{filename}"'
        + "\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + body
        + "--b1--\r\n"
    ).encode()


async def test_plain_mail_source_finds_edxml_arrivals_and_deadlines(
    store: Store, mail: Mail
) -> None:
    today_due = "2025/03/05"
    uid_a = await append(
        mail,
        "vanthu@mic.gov.vn",
        mail_with(
            edxml("Về việc triển khai chữ ký số", "22", "BC-BTTTT", today_due),
            filename="SendDocument.000.00.00.H45.1.edxml",
            ctype="application/octet-stream",
            subject="Văn bản 22",
        ),
    )
    await append(
        mail,
        "vanthu@mic.gov.vn",
        mail_with(
            edxml("Giấy mời họp", "5", "GM-UBND", None),
            filename="goi-tin.xml",
            ctype="application/xml",
            subject="Văn bản 5",
        ),
    )
    # Not official documents: plain text, an XML without the QCVN namespace.
    await append(
        mail, "vanthu@mic.gov.vn", mail_with(None, filename="", ctype="", subject="Thư thường")
    )
    await append(
        mail,
        "vanthu@mic.gov.vn",
        mail_with(
            b"<config/>", filename="cau-hinh.xml", ctype="application/xml", subject="XML khác"
        ),
    )
    # An edXML in a person's own mailbox is not an agency arrival.
    await append(
        mail,
        "tamlv@mic.gov.vn",
        mail_with(
            edxml("Riêng", "1", "X", None),
            filename="a.edxml",
            ctype="application/xml",
            subject="riêng",
        ),
    )
    source = MailboxEdxmlSource(store, web_url="https://mail.mic.gov.vn/")
    now = at("2025-03-05 08:00")
    digests = {d.recipient_address: d for d in await source.digests(now)}
    assert set(digests) == {"hangntm@mic.gov.vn", "ductv@mic.gov.vn"}
    clerk = sorted((x.kind, x.number_symbol) for x in digests["hangntm@mic.gov.vn"].lines)
    assert clerk == [
        ("deadline", "22/BC-BTTTT"),
        ("unregistered", "22/BC-BTTTT"),
        ("unregistered", "5/GM-UBND"),
    ]
    other = sorted((x.kind, x.number_symbol) for x in digests["ductv@mic.gov.vn"].lines)
    assert other == [
        ("deadline", "22/BC-BTTTT"),
        ("unread", "22/BC-BTTTT"),
        ("unread", "5/GM-UBND"),
    ]
    deadline = next(x for x in digests["ductv@mic.gov.vn"].lines if x.kind == "deadline")
    assert deadline.title == "Về việc triển khai chữ ký số"
    assert deadline.due == at("2025-03-05 00:00")
    assert deadline.link is not None and deadline.link.endswith(f"/m/{uid_a}")
    assert deadline.link.startswith("https://mail.mic.gov.vn/mail/f/")

    # Once read, only the deadline remains; once past the overdue window, nothing.
    async with store.write() as tx:
        mb = await tx.directory.mailbox_by_address("vanthu@mic.gov.vn")
        assert mb is not None
        folder = await tx.mail.folder(mb.id, "INBOX")
        assert folder is not None
        for m in await tx.mail.messages(folder.id):
            m.seen = True
    digests = {d.recipient_address: d for d in await source.digests(now)}
    assert [x.kind for x in digests["ductv@mic.gov.vn"].lines] == ["deadline"]
    assert await source.digests(at("2025-03-12 08:00")) == []

    # Through the service and the real pipeline: the digest lands in the INBOX.
    svc = ReminderService(store, mail.pipeline.deliver, [source])
    run = await svc.run_due(now)
    assert sorted(run.sent) == ["ductv@mic.gov.vn", "hangntm@mic.gov.vn"]
    [stored] = await stored_messages(mail, DUC)
    msg = email.message_from_bytes(stored, policy=email.policy.default)
    assert str(msg["Subject"]).startswith("Nhắc việc: 1 ")
    assert "Processing deadlines due (1)" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
