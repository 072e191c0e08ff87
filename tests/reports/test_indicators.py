"""Indicators on a small synthetic organisation with known answers (see conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from govmail.reports.indicators import RegularRule
from govmail.reports.report import ReportError, build_report
from govmail.reports.tables import Table
from govmail.store.repos.reports import ReportsRepo
from tests.reports.conftest import Org, agency_id


def row(table: Table, name: str):  # type: ignore[no-untyped-def]
    for r in table.rows:
        if r.subject.name == name:
            return r
    raise AssertionError(f"{name} not in {table.title('vi')}")


def by_key(report, key: str) -> Table:  # type: ignore[no-untyped-def]
    return next(tb for tb in report.tables if tb.key == key)


async def test_national_report_known_answers(org: Org) -> None:
    report = await build_report(org.store, org.period)
    assert [tb.number for tb in report.tables] == list(range(1, 13))
    # Bảng 1–3: ministries, 4–6: provinces, as in the national report.
    assert [tb.key for tb in report.tables[:6]] == [
        "mailbox_share.ministries",
        "regular_use_share.ministries",
        "electronic_document_share.ministries",
        "mailbox_share.provinces",
        "regular_use_share.provinces",
        "electronic_document_share.provinces",
    ]
    mb = row(by_key(report, "mailbox_share.ministries"), "Bộ A").figure
    assert (mb.status, mb.numerator, mb.denominator, mb.value) == ("computed", 13, 20, 65.0)
    reg = row(by_key(report, "regular_use_share.ministries"), "Bộ A").figure
    assert (reg.numerator, reg.denominator, reg.value) == (4, 20, 20.0)
    docs = row(by_key(report, "electronic_document_share.ministries"), "Bộ A").figure
    assert (docs.numerator, docs.denominator, docs.value) == (8, 10, 80.0)
    arr = row(by_key(report, "on_time_registration_share.ministries"), "Bộ A").figure
    assert (arr.numerator, arr.denominator, arr.value) == (2, 4, 50.0)
    flt = row(by_key(report, "filtering_share.ministries"), "Bộ A").figure
    assert (flt.numerator, flt.denominator) == (2, 2)
    quy = row(by_key(report, "regulation_share.ministries"), "Bộ A").figure
    assert (quy.numerator, quy.denominator, quy.value) == (1, 2, 50.0)
    assert quy.note == "12/QĐ-BA, 01/02/2025"

    provinces = by_key(report, "mailbox_share.provinces")
    b = row(provinces, "Ủy ban nhân dân tỉnh B").figure
    assert b.status == "not_computed" and b.value is None
    assert any(p.key == "missing_headcount" and p.params["agency"] == "Sở B1" for p in b.problems)
    c = row(provinces, "Ủy ban nhân dân tỉnh C").figure
    assert c.status == "not_computed"
    assert c.problems[0].key == "headcount_below_mailboxes"
    assert c.problems[0].params == {
        "agency": "Ủy ban nhân dân tỉnh C",
        "headcount": 2,
        "mailboxes": 3,
    }
    d = row(provinces, "Ủy ban nhân dân tỉnh D").figure
    assert d.status == "not_reported"
    # The report says, in words, which figures it could not compute and why.
    lines = report.problem_lines("vi")
    assert any("Sở B1" in line and "biên chế" in line for line in lines)
    assert any("nhỏ hơn số hộp thư" in line and "tỉnh C" in line for line in lines)
    # Not computed and not reported rows are ranked after the numbers, without a rank.
    assert [r.rank for r in provinces.rows] == [None, None, None]
    assert provinces.average is None and by_key(report, "mailbox_share.ministries").average == 65.0


async def test_activity_counts(org: Org) -> None:
    report = await build_report(org.store, org.period)
    (act,) = [r for r in report.activity["ministries"] if r.subject.name == "Bộ A"]
    v = act.values
    assert v["mailboxes"] == 13 and v["headcount"] == 20 and v["regular_users"] == 4
    assert v["logins_imap"] == 10 + 12 + 20 + 15 + 9
    assert v["logins_web"] == 19  # working days of 6–30 January 2025
    assert v["failed_logins"] == 1
    assert (v["docs_electronic"], v["docs_paper"], v["docs_both"]) == (6, 2, 2)
    assert (v["arrivals"], v["arrivals_registered"], v["arrivals_on_time"]) == (4, 3, 2)
    assert (v["spam"], v["refused"]) == (1, 1)
    assert report.refusals_by_check == [("classified", 1)]
    assert report.documents_by_type == [
        ("công văn", "electronic", 6),
        ("công văn", "both", 2),
        ("công văn", "paper", 2),
    ]
    # Daily series: 20 active people-days on the last day of the window? One per regular
    # user active on the 31st (only the 20-day user).
    assert report.daily[date(2025, 3, 31)]["active_mailboxes"] == 1
    assert report.daily[date(2025, 3, 4)]["active_mailboxes"] == 5


async def test_agency_report_subtree(org: Org) -> None:
    report = await build_report(org.store, org.period, agency="000.00.00.G01")
    assert report.scope_name == "Bộ A"
    table = report.tables[0]
    names = [r.subject.name for r in table.rows]
    assert names == ["Bộ A (khối cơ quan, không kể đơn vị trực thuộc)", "Vụ A1"]
    assert [r.figure.value for r in table.rows] == [80.0, 50.0]
    assert [r.rank for r in table.rows] == [1, 2]
    assert table.total is not None and table.total.value == 65.0


async def test_regular_rule_is_configurable(org: Org) -> None:
    strict = await build_report(org.store, org.period, rule=RegularRule(min_days=15, window=20))
    reg = row(by_key(strict, "regular_use_share.ministries"), "Bộ A").figure
    assert reg.numerator == 2  # 20 and 15 days
    async with org.store.write() as tx:
        await ReportsRepo(tx.session, org.store.dialect).set_setting(
            "regular_rule", {"min_days": 9, "window": 20}
        )
    stored = await build_report(org.store, org.period)
    assert row(by_key(stored, "regular_use_share.ministries"), "Bộ A").figure.numerator == 5
    with pytest.raises(ValueError):
        RegularRule(min_days=21, window=20)


async def test_moved_agency_is_named(org: Org) -> None:
    async with org.directory.ops() as ops:
        await ops.move_agency("000.00.01.H01", "000.00.00.H02")
    period = org.period.__class__(org.period.start, date(2026, 12, 31), "custom")
    report = await build_report(org.store, period)
    moved = [p for p in report.problems if p.key == "agency_moved"]
    assert len(moved) == 1 and moved[0].params["agency"] == "Sở B1"
    assert moved[0].params["old"] == "Ủy ban nhân dân tỉnh B"
    assert moved[0].params["new"] == "Ủy ban nhân dân tỉnh C"
    # Tỉnh B alone is now computable (3 of 4); Sở B1 (no headcount) is counted under C.
    b = row(by_key(report, "mailbox_share.provinces"), "Ủy ban nhân dân tỉnh B").figure
    assert b.value == 75.0
    c = row(by_key(report, "mailbox_share.provinces"), "Ủy ban nhân dân tỉnh C").figure
    assert {p.key for p in c.problems} == {"headcount_below_mailboxes", "missing_headcount"}


async def test_unknown_agency(org: Org) -> None:
    with pytest.raises(ReportError) as exc:
        await build_report(org.store, org.period, agency="999.99.99.X99")
    assert "999.99.99.X99" in str(exc.value)


async def test_recorder_counts_deliveries(org: Org) -> None:
    """Sent once for the sender, received per copy, the sender's Sent copy excepted."""
    from govmail.delivery.committer import StoredCopy, StoreResult
    from govmail.delivery.envelope import Envelope
    from govmail.delivery.pipeline import DeliveryResult

    a = org.people["000.00.00.G01"]
    ids = {}
    async with org.store.read() as tx:
        for address in a[:3]:
            m = await tx.directory.mailbox_by_address(address)
            assert m is not None
            ids[address] = m.id
    at = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
    rec = org.recorder
    for _ in range(2):  # second time the sender's id is known from the first flush
        env = Envelope(a[0], [a[1], a[2]], "submission", auth_user=a[0], received_at=at)
        copies = [
            StoredCopy(ids[a[1]], 1, 1),
            StoredCopy(ids[a[2]], 1, 1),
            StoredCopy(ids[a[0]], 2, 1),
        ]
        result = DeliveryResult("q", [], StoreResult("x", copies, []))
        await rec.after_delivery(env, None, result)  # type: ignore[arg-type]
        await rec.flush()
    inbound = Envelope("someone@example.org", [a[0]], "mx", received_at=at)
    await rec.after_delivery(
        inbound, None, DeliveryResult("q", [], StoreResult("x", [StoredCopy(ids[a[0]], 1, 2)], []))
    )  # type: ignore[arg-type]
    await rec.flush()
    async with org.store.read() as tx:
        totals = await ReportsRepo(tx.session, org.store.dialect).agency_totals(
            at.date(), at.date()
        )
    bo_a = await agency_id(org.store, "000.00.00.G01")
    assert totals[bo_a]["sent"] == 2
    assert totals[bo_a]["received"] == 2 * 2 + 1


async def test_recorder_counts_refusals(org: Org) -> None:
    """Refused by a policy check: the sender's agency when the sender is ours, else every
    agency the message was for."""
    from govmail.delivery.envelope import Envelope

    at = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
    bo_a = await agency_id(org.store, "000.00.00.G01")
    tinh_b = await agency_id(org.store, "000.00.00.H01")
    sender = org.people["000.00.00.G01"][0]
    rec = org.recorder
    rec.message_refused(
        "classified", Envelope(sender, ["x@example.org"], "web", auth_user=sender, received_at=at)
    )
    rec.message_refused(
        "dmarc", Envelope("spoof@example.org", ["a@b.gov.vn"], "mx", received_at=at), {bo_a, tinh_b}
    )
    # Without the plan's agencies: the recipients' mailboxes, once per agency.
    to = [*org.people["000.00.00.G01"][:2], "nobody@example.org"]
    rec.message_refused("spam", Envelope("x@example.org", to, "mx", received_at=at))
    await rec.flush()
    async with org.store.read() as tx:
        repo = ReportsRepo(tx.session, org.store.dialect)
        totals = await repo.agency_totals(at.date(), at.date())
        details = await repo.detail_totals(at.date(), at.date())
    assert totals[bo_a]["refused"] == 3 and totals[tinh_b]["refused"] == 1
    assert sorted(d for d in details if d[1] == "refused") == sorted(
        [
            (bo_a, "refused", "classified", 1),
            (bo_a, "refused", "dmarc", 1),
            (bo_a, "refused", "spam", 1),
            (tinh_b, "refused", "dmarc", 1),
        ]
    )


async def test_filtering_declared_configured_or_unknown(org: Org) -> None:
    async with org.store.write() as tx:
        await ReportsRepo(tx.session, org.store.dialect).set_setting(
            "filtering", {"spam": None, "virus": None}
        )
    # Not declared: govmail's own settings (spam on, antivirus off by default).
    configured = await build_report(
        org.store, org.period, indicators=["filtering_share"], settings=org.settings
    )
    fig = row(configured.tables[0], "Bộ A").figure
    assert (fig.status, fig.numerator, fig.denominator) == ("computed", 0, 2)
    org.settings.antivirus.enabled = True
    on = await build_report(
        org.store, org.period, indicators=["filtering_share"], settings=org.settings
    )
    assert row(on.tables[0], "Bộ A").figure.value == 100.0
    # Nothing known about viruses (the spam verdict recorded shows a spam filter runs).
    unknown = await build_report(org.store, org.period, indicators=["filtering_share"])
    fig = row(unknown.tables[0], "Bộ A").figure
    assert fig.status == "not_computed" and fig.problems[0].key == "filtering_unknown"
