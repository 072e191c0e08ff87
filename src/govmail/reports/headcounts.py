"""Staff headcounts (biên chế) per agency, imported from an HR table: the denominator of
the staff indicators. Columns: the agency ("Mã", "code" or its name) and the headcount
("Biên chế", "Số CBCC", "headcount"). Each change goes through the directory (audited).

Rows are reported, not applied, when the agency is unknown or named twice, or the
headcount is not a whole number >= 0. A headcount smaller than the agency's personal
mailboxes is applied (HR is the authority) with a warning: the reports will not compute
that agency's shares until the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from govmail.directory.base import Actor
from govmail.reports.selfreport import AgencyIndex, ImportIssue
from govmail.reports.tabular import Cell, TableFileError, fold, read_tables
from govmail.store.models import utcnow
from govmail.store.repos.reports import ReportsRepo

if TYPE_CHECKING:
    from govmail.directory.service import Directory

_CODE = {"ma", "ma co quan", "ma dinh danh", "ma don vi", "code", "agency code"}
_NAME = {"ten", "ten co quan", "co quan", "don vi", "ten don vi", "agency", "name"}
_COUNT = {"bien che", "so cbcc", "so can bo", "headcount", "so luong", "tong so cbcc", "staff"}


@dataclass(slots=True)
class HeadcountResult:
    changes: list[tuple[str, int | None, int]] = field(default_factory=list)  # name, old, new
    unchanged: int = 0
    issues: list[ImportIssue] = field(default_factory=list)
    applied: bool = False

    @property
    def errors(self) -> list[ImportIssue]:
        return [i for i in self.issues if i.severity == "error"]


def _whole(cell: Cell) -> int | None:
    v = cell.value
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else None
    text = cell.text.replace(" ", "").replace(".", "").replace(",", "")
    return int(text) if text.isdigit() else None


async def import_headcounts(
    directory: Directory, path: Path, *, actor: Actor, dry_run: bool = False
) -> HeadcountResult:
    sheet = read_tables(path)[0]
    header_row = None
    cols: dict[str, int] = {}
    for r, row in enumerate(sheet.rows[:15]):
        heads = [fold(c.text) for c in row]
        found: dict[str, int] = {}
        for i, h in enumerate(heads):
            if h in _CODE:
                found.setdefault("code", i)
            elif h in _NAME or h.startswith("ten "):
                found.setdefault("name", i)
            elif h in _COUNT:
                found.setdefault("count", i)
        if "count" in found and ("code" in found or "name" in found):
            header_row, cols = r, found
            break
    if header_row is None:
        raise TableFileError("no_headcount_table")
    async with directory.store.read() as tx:
        index = AgencyIndex.of(await ReportsRepo(tx.session, directory.store.dialect).agency_rows())
        mailboxes = await ReportsRepo(tx.session, directory.store.dialect).person_mailbox_counts(
            utcnow()
        )
    result = HeadcountResult()
    wanted: dict[int, tuple[int, int, str]] = {}  # agency id -> (headcount, row, name)
    for r in range(header_row + 1, len(sheet.rows)):
        row = sheet.rows[r]
        if not any(c.text for c in row):
            continue

        def cell(key: str, row: list[Cell] = row) -> Cell:
            i = cols.get(key)
            return row[i] if i is not None and i < len(row) else Cell(None)

        code, name = cell("code").text.upper(), cell("name").text
        label = name or code
        a = index.by_code.get(code) if code else (index.find(name, None) if name else None)
        if a is None:
            result.issues.append(
                ImportIssue("unknown_agency", {"agency": label or "?"}, sheet=sheet.name, row=r + 1)
            )
            continue
        n = _whole(cell("count"))
        if n is None or n < 0:
            result.issues.append(
                ImportIssue(
                    "bad_headcount",
                    {"agency": a.name, "value": cell("count").text},
                    sheet=sheet.name,
                    row=r + 1,
                )
            )
            continue
        if a.id in wanted:
            result.issues.append(
                ImportIssue(
                    "duplicate_headcount",
                    {"agency": a.name, "other_row": wanted[a.id][1]},
                    sheet=sheet.name,
                    row=r + 1,
                )
            )
            wanted[a.id] = (-1, wanted[a.id][1], a.name)  # neither row is applied
            continue
        wanted[a.id] = (n, r + 1, a.name)
        if n < mailboxes.get(a.id, 0):
            result.issues.append(
                ImportIssue(
                    "headcount_below_mailboxes",
                    {"agency": a.name, "headcount": n, "mailboxes": mailboxes[a.id]},
                    "warning",
                    sheet.name,
                    r + 1,
                )
            )
    by_id = index.by_id
    for aid, (n, _row, name) in wanted.items():
        if n < 0:
            continue
        old = by_id[aid].headcount if aid in by_id else None
        if old == n:
            result.unchanged += 1
        else:
            result.changes.append((name, old, n))
    if dry_run or not result.changes:
        return result
    async with directory.ops(actor) as ops:
        for aid, (n, _row, _name) in wanted.items():
            if n >= 0 and (aid not in by_id or by_id[aid].headcount != n):
                await ops.set_headcount(aid, n)
    result.applied = True
    return result
