"""Outgoing and arrival numbers: per agency, per register and per year, without gaps or
duplicates when many transactions take numbers at once and some of them roll back — on
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from tests.documents import docorg
from tests.documents.docorg import MIC, DocEnv

from govmail.config import Settings
from govmail.directory.service import Directory
from govmail.documents.sending import DocumentDraft
from govmail.store.db import Store
from govmail.store.repos.documents import DocumentsRepo

docenv = docorg.docenv  # the fixture


class Rollback(Exception):
    pass


async def test_counters_have_no_gaps_or_duplicates_under_concurrency(
    store: Store, db_settings: Settings
) -> None:
    directory = Directory(store, db_settings)
    async with directory.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        a = await ops.add_agency(name="Bộ A", short_name="BA", kind="ministry", domain="mic.gov.vn")
        b = await ops.add_agency(name="Bộ B", short_name="BB", kind="ministry", domain="mic.gov.vn")

    taken: list[tuple[int, str, int, int]] = []

    async def take(agency_id: int, register: str, year: int, fail: bool) -> None:
        try:
            async with store.write() as tx:
                n = await DocumentsRepo(tx.session, store.dialect).next_number(
                    agency_id, register, year
                )
                await asyncio.sleep(0.001)  # hold the transaction open a little
                if fail:
                    raise Rollback
                taken.append((agency_id, register, year, n))
        except Rollback:
            pass

    jobs = []
    for i in range(60):
        agency = a.id if i % 3 else b.id
        register = "di" if i % 4 else "den"
        jobs.append(take(agency, register, 2025, fail=i % 7 == 0))
    jobs += [take(a.id, "di", 2026, fail=False) for _ in range(5)]
    await asyncio.gather(*jobs)

    series: dict[tuple[int, str, int], list[int]] = {}
    for agency_id, register, year, n in taken:
        series.setdefault((agency_id, register, year), []).append(n)
    assert len(series) == 5
    for numbers in series.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))  # no gap, no duplicate
    assert sorted(series[(a.id, "di", 2026)]) == [1, 2, 3, 4, 5]  # a new year starts at 1


async def test_documents_issued_at_once_get_consecutive_symbols(docenv: DocEnv) -> None:
    clerk = await docenv.clerk(MIC)

    async def issue(i: int) -> str:
        draft = DocumentDraft(
            type="CV" if i % 2 else "BC",
            subject=f"Văn bản thử số {i}",
            unit_symbol="UDCNTT",
            issued_on=date(2025, 6, 2),
            recipients="- Sở TT&TT tỉnh Phú Yên;",
        )
        return (await docenv.documents.outgoing.issue(clerk, MIC, draft)).symbol

    symbols = await asyncio.gather(*(issue(i) for i in range(16)))
    numbers = sorted(int(s.split("/")[0]) for s in symbols)
    assert numbers == list(range(1, 17))
    assert len(set(symbols)) == 16
    assert any(s.endswith("/BTTTT-UDCNTT") for s in symbols)  # Công văn
    assert any(s.endswith("/BC-BTTTT-UDCNTT") for s in symbols)
    assert "01/" in " ".join(symbols)  # zero-padded below 10
    # A classified document takes a number of its own series.
    secret = await docenv.documents.outgoing.issue(
        clerk,
        MIC,
        DocumentDraft(
            type="BC",
            subject="Báo cáo mật",
            confidentiality="Mật",
            issued_on=date(2025, 6, 2),
            recipients="",
        ),
    )
    assert secret.symbol.startswith("01/")


@pytest.mark.parametrize("year", [2024])
async def test_a_failed_issue_gives_its_number_back(docenv: DocEnv, year: int) -> None:
    clerk = await docenv.clerk(MIC)
    first = await docenv.documents.outgoing.issue(
        clerk, MIC, DocumentDraft(type="BC", subject="Một", issued_on=date(year, 1, 5))
    )
    draft = DocumentDraft(type="BC", subject="Hai", issued_on=date(year, 1, 5))
    draft.unit_symbol = "X" * 40  # the symbol is too long: nothing is recorded
    with pytest.raises(Exception):  # noqa: B017
        await docenv.documents.outgoing.issue(clerk, MIC, draft)
    third = await docenv.documents.outgoing.issue(
        clerk, MIC, DocumentDraft(type="BC", subject="Ba", issued_on=date(year, 1, 5))
    )
    assert (first.symbol, third.symbol) == ("01/BC-BTTTT", "02/BC-BTTTT")
