"""The outgoing register feeds the usage reports: each document issued counts once, on its
issue date, in the channel it went by (sent by govmail, recorded on paper, or both),
written in the transaction of the register entry; the national report then computes the
share of documents exchanged electronically."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from tests.documents import docorg
from tests.documents.docorg import MIC, DocEnv, pdf

from govmail.documents.errors import DocumentError
from govmail.documents.sending import DocumentDraft, FileInput
from govmail.reports.periods import Period
from govmail.reports.report import build_report
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
