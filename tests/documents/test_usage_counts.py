"""The outgoing register feeds the usage reports: each document issued counts once, on its
issue date, in the channel it went by (sent by govmail, recorded on paper, or both),
written in the transaction of the register entry; the national report then computes the
share of documents exchanged electronically."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select
from tests.documents import docorg
from tests.documents.docorg import MIC, PY_HOME, PY_ICT, DocEnv, pdf

from govmail.documents.errors import DocumentError
from govmail.documents.mailbuild import MailFile, build_mail
from govmail.documents.receiving import ManualFields
from govmail.documents.sending import DocumentDraft, FileInput
from govmail.reports.calendar import WorkCalendar
from govmail.reports.periods import Period
from govmail.reports.report import build_report
from govmail.store.models import utcnow
from govmail.store.models_reports import UsageDetailDay
from govmail.store.repos.reports import ReportsRepo

docenv = docorg.docenv  # the fixture

MINISTRY = "Bộ Thông tin và Truyền thông"


async def issue(env: DocEnv, *, paper: bool = False, send: bool = True) -> int:
    clerk = await env.clerk(MIC)
    draft = DocumentDraft(
        type="CV",
        subject="Hướng dẫn sử dụng hệ thống thư điện tử công vụ",
        recipients="- Sở TT&TT tỉnh Phú Yên;",
        files=[FileInput("huong-dan.pdf", "application/pdf", pdf(), "main")],
        paper=paper,
    )
    issued = await env.documents.outgoing.issue(clerk, MIC, draft)
    if send:
        await env.documents.outgoing.send(clerk, issued.id)
        await env.settle()
    return issued.id


async def channels(env: DocEnv, day: date) -> tuple[int, int, int]:
    async with env.store.read() as tx:
        agency = await tx.directory.agency_by_code("000.00.00.G14")
        assert agency is not None
        totals = await ReportsRepo(tx.session, env.store.dialect).agency_totals(day, day)
    t = totals.get(agency.id, {})
    return t.get("docs_electronic", 0), t.get("docs_paper", 0), t.get("docs_both", 0)


async def test_each_document_counts_once_in_its_channel(docenv: DocEnv) -> None:
    env = docenv
    today = env.documents.core.today()
    clerk = await env.clerk(MIC)
    first = await issue(env)
    await issue(env)
    assert await channels(env, today) == (2, 0, 0)
    on_paper = await issue(env, paper=True, send=False)
    assert await channels(env, today) == (2, 1, 0)
    # Neither sent nor recorded on paper yet: not counted.
    pending = await issue(env, send=False)
    assert await channels(env, today) == (2, 1, 0)

    # Paper recorded for a document sent electronically: moved to "both", counted once.
    await env.documents.outgoing.record_paper(clerk, first)
    await env.documents.outgoing.record_paper(clerk, first)  # again: nothing changes
    assert await channels(env, today) == (1, 1, 1)
    # The paper document sent electronically later: "both" as well.
    await env.documents.outgoing.send(clerk, on_paper)
    await env.settle()
    assert await channels(env, today) == (1, 0, 2)
    # Sending again to the recipients not reached yet changes nothing.
    with pytest.raises(DocumentError):
        await env.documents.outgoing.send(clerk, on_paper)
    assert await channels(env, today) == (1, 0, 2)
    await env.documents.outgoing.record_paper(clerk, pending)
    assert await channels(env, today) == (1, 1, 2)
    # Only a clerk of the agency records paper.
    with pytest.raises(DocumentError):
        await env.documents.outgoing.record_paper((await env.staff(MIC))[0], pending)

    async with env.store.read() as tx:
        details = {
            (d.detail, d.count)
            for d in (await tx.session.scalars(select(UsageDetailDay))).all()
            if d.metric == "doc" and d.count
        }
    assert details == {("công văn:electronic", 1), ("công văn:paper", 1), ("công văn:both", 2)}


async def test_refused_document_is_not_counted(docenv: DocEnv) -> None:
    env = docenv
    today = env.documents.core.today()
    clerk = await env.clerk(MIC)
    draft = DocumentDraft(
        type="CV",
        subject="Tài liệu mật",
        confidentiality="Mật",
        recipients="- Sở TT&TT tỉnh Phú Yên;",
        files=[FileInput("mat.pdf", "application/pdf", pdf(), "main")],
    )
    issued = await env.documents.outgoing.issue(clerk, MIC, draft)
    with pytest.raises(DocumentError):
        await env.documents.outgoing.send(clerk, issued.id)  # classified: refused by policy
    assert await channels(env, today) == (0, 0, 0)


async def test_report_shows_the_electronic_share(docenv: DocEnv) -> None:
    env = docenv
    today = env.documents.core.today()
    await issue(env)
    await issue(env)
    await issue(env, paper=True, send=False)
    period = Period(today, today, today.isoformat())
    report = await build_report(
        env.store,
        period,
        timezone=env.settings.general.timezone,
        indicators=("electronic_document_share",),
        with_daily=False,
    )
    table = next(tb for tb in report.tables if tb.key == "electronic_document_share.ministries")
    (figure,) = [r.figure for r in table.rows if r.subject.name == MINISTRY]
    assert (figure.status, figure.numerator, figure.denominator) == ("computed", 2, 3)
    assert figure.value is not None and round(figure.value, 1) == 66.7


# --------------------------------------------------------------------------- arrivals


async def arrivals(env: DocEnv, agency_mailbox: str) -> tuple[int, int, int]:
    async with env.store.read() as tx:
        box = await tx.directory.mailbox_by_address(agency_mailbox)
        assert box is not None and box.agency_id is not None
        totals = await ReportsRepo(tx.session, env.store.dialect).agency_totals(
            date(2000, 1, 1), date(2100, 1, 1)
        )
    t = totals.get(box.agency_id, {})
    return t.get("arrivals", 0), t.get("arrivals_registered", 0), t.get("arrivals_on_time", 0)


async def plain_mail(env: DocEnv, to: str) -> tuple[int, int]:
    """A scanned letter from a plain mailbox: (folder id, uid) of its copy in ``to``."""
    raw = build_mail(
        from_name="Văn phòng UBND thành phố Tuy Hòa",
        from_addr="vp.tuyhoa@gmail.com",
        to=[(None, to)],
        subject="Công văn 15/UBND-VP (bản chụp)",
        body="Gửi bản chụp.",
        files=[MailFile("15-UBND-VP.pdf", "application/pdf", pdf())],
        package=b"",
        package_name="x.txt",
        date=utcnow(),
    )
    await env.deliver_mx(raw, "vp.tuyhoa@gmail.com", [to])
    return await last_message(env, to)


async def last_message(env: DocEnv, address: str) -> tuple[int, int]:
    async with env.store.read() as tx:
        box = await tx.directory.mailbox_by_address(address)
        assert box is not None
        inbox = await tx.mail.folder(box.id, "INBOX")
        assert inbox is not None
        msgs = await tx.mail.messages(inbox.id)
    return inbox.id, max(m.uid for m in msgs)


def working_days_later(env: DocEnv, n: int) -> datetime:
    """10:00 local time on the n-th working day after today."""
    tz = env.documents.core.tz
    day = env.documents.core.today()
    calendar = WorkCalendar()
    for _ in range(n):
        day = calendar.next_working_day(day)
    return datetime.combine(day, time(10), tz).astimezone(UTC)


async def test_arrivals_and_registrations_are_counted(
    docenv: DocEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = docenv
    # A document registered automatically at arrival: on time; the same message again
    # (a duplicate, reported to the clerk) is not a second arrival.
    await issue(env)
    assert await arrivals(env, PY_ICT) == (1, 1, 1)
    (raw,) = await env.inbox(PY_ICT)
    await env.deliver_mx(raw, MIC, [PY_ICT])
    assert await arrivals(env, PY_ICT) == (1, 1, 1)

    # A document that arrived with a problem (not addressed to this agency): an arrival,
    # not registered; registered by hand the same day: on time, still one arrival.
    await env.deliver_mx(raw, MIC, [PY_HOME])
    assert await arrivals(env, PY_HOME) == (1, 0, 0)
    folder_id, uid = await last_message(env, PY_HOME)
    fields = ManualFields(symbol="01/CV-BTTTT", issuer_name=MINISTRY, issued_on=date(2025, 5, 6))
    await env.documents.incoming.register_message(await env.clerk(PY_HOME), folder_id, uid, fields)
    assert await arrivals(env, PY_HOME) == (1, 1, 1)

    # Plain mail is known to be a document when the clerk registers it: counted then, on
    # the day it came; three working days later is late.
    folder_id, uid = await plain_mail(env, PY_ICT)
    assert await arrivals(env, PY_ICT) == (1, 1, 1)
    monkeypatch.setattr(env.documents.core, "now", lambda: working_days_later(env, 3))
    fields = ManualFields(symbol="15/UBND-VP", issuer_name="UBND thành phố Tuy Hòa")
    await env.documents.incoming.register_message(await env.clerk(PY_ICT), folder_id, uid, fields)
    assert await arrivals(env, PY_ICT) == (2, 2, 1)

    # The report: one of the two arrivals of Sở TT&TT registered within a working day.
    today = datetime.now(env.documents.core.tz).date()  # the arrival day (now is patched)
    report = await build_report(
        env.store,
        Period(today, today, today.isoformat()),
        timezone=env.settings.general.timezone,
        agency="000.00.00.H45",
        indicators=("on_time_registration_share",),
        with_daily=False,
    )
    (table,) = [tb for tb in report.tables if tb.indicator.key == "on_time_registration_share"]
    figures = {r.subject.name: r.figure for r in table.rows}
    (ict,) = [f for name, f in figures.items() if name.startswith("Sở Thông tin")]
    assert (ict.status, ict.numerator, ict.denominator, ict.value) == ("computed", 1, 2, 50.0)
