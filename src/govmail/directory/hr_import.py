"""HR import: bring the mailboxes in step with the personnel list (R2).

A file (CSV or XLSX) lists staff: staff id, full name, unit, position, optional wanted
address, status. The import plans, per row, one of create / update / transfer /
archive / nothing, reports rows it cannot use (naming the row and the problem) and
applies each good row in its own transaction, so one bad row never blocks the rest
and a second run over the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govmail.directory.base import Actor
from govmail.directory.errors import DirectoryError
from govmail.directory.groups import split_address
from govmail.directory.names import ascii_fold, split_name, validate_local_part
from govmail.directory.service import Directory, DirectoryOps
from govmail.i18n import t

COLUMNS: dict[str, tuple[str, ...]] = {
    "staff_id": ("staff id", "staff_id", "ma can bo", "ma cb", "ma nhan vien", "ma so", "id"),
    "full_name": ("full name", "full_name", "ho va ten", "ho ten", "name", "ten"),
    "unit": ("unit", "agency", "don vi", "ma don vi", "co quan", "agency code", "unit code"),
    "position": ("position", "chuc vu", "title"),
    "email": ("email", "e-mail", "dia chi thu", "thu dien tu", "address"),
    "status": ("status", "trang thai", "tinh trang"),
    "phone": ("phone", "dien thoai", "so dien thoai"),
}
ACTIVE_WORDS = {"", "active", "dang lam viec", "lam viec", "dang cong tac", "hoat dong"}
LEFT_WORDS = {
    "left",
    "inactive",
    "nghi viec",
    "nghi huu",
    "thoi viec",
    "da nghi",
    "nghi",
    "chuyen cong tac ngoai",
    "archived",
}
REQUIRED = ("staff_id", "full_name", "unit")


class HrFileError(Exception):
    """The file as a whole cannot be read; nothing is changed."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(t(f"directory.hr.{key}", **params))


@dataclass(slots=True)
class HrRow:
    row: int  # 1-based line/row number in the file, header included
    staff_id: str
    full_name: str
    unit: str
    position: str | None = None
    email: str | None = None
    status: str = "active"
    phone: str | None = None


@dataclass(slots=True)
class RowResult:
    row: int
    staff_id: str
    action: str  # create | update | transfer | archive | none | error
    address: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    error: str | None = None


@dataclass(slots=True)
class ImportReport:
    results: list[RowResult]
    applied: bool

    def count(self, action: str) -> int:
        return sum(1 for r in self.results if r.action == action)

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.results if r.action == "error"]

    def summary(self) -> dict[str, int]:
        keys = ("create", "update", "transfer", "archive", "none", "error")
        return {k: self.count(k) for k in keys}


def _key(header: str) -> str:
    return " ".join(ascii_fold(str(header)).split())


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return unicodedata.normalize("NFC", str(v)).strip()


def read_rows(path: Path) -> list[HrRow]:
    """Read an HR file; raises HrFileError if the file is unusable as a whole."""
    if not path.is_file():
        raise HrFileError("file_missing", path=str(path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        table = list(_xlsx_rows(path))
    elif suffix in (".csv", ".txt"):
        table = list(_csv_rows(path))
    else:
        raise HrFileError("file_type", path=str(path))
    if not table:
        raise HrFileError("file_empty", path=str(path))
    header = [_key(h) for h in table[0]]
    index: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        for i, h in enumerate(header):
            if h in aliases:
                index[name] = i
                break
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise HrFileError("columns_missing", columns=", ".join(missing))
    rows: list[HrRow] = []
    for n, raw in enumerate(table[1:], start=2):
        cells = [_cell(c) for c in raw]
        if not any(cells):
            continue

        def get(name: str, cells: list[str] = cells) -> str:
            i = index.get(name)
            return cells[i] if i is not None and i < len(cells) else ""

        rows.append(
            HrRow(
                row=n,
                staff_id=get("staff_id"),
                full_name=" ".join(get("full_name").split()),
                unit=get("unit"),
                position=get("position") or None,
                email=get("email").lower() or None,
                status=get("status"),
                phone=get("phone") or None,
            )
        )
    return rows


def _csv_rows(path: Path) -> Iterator[list[str]]:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise HrFileError("file_corrupt", path=str(path), detail="binary content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HrFileError("file_encoding", path=str(path), position=exc.start) from exc
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text), dialect)
    except csv.Error as exc:
        raise HrFileError("file_corrupt", path=str(path), detail=str(exc)) from exc


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise HrFileError("file_corrupt", path=str(path), detail=type(exc).__name__) from exc
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield list(row)
    finally:
        wb.close()


def _status(raw: str) -> str | None:
    k = _key(raw)
    if k in ACTIVE_WORDS:
        return "active"
    if k in LEFT_WORDS:
        return "left"
    return None


async def _plan_row(ops: DirectoryOps, r: HrRow) -> RowResult:
    res = RowResult(row=r.row, staff_id=r.staff_id, action="none")
    if not r.staff_id:
        raise DirectoryError("hr.no_staff_id")
    if not r.full_name:
        raise DirectoryError("mailbox.name_required")
    split_name(r.full_name)  # refuses a name that folds to nothing
    status = _status(r.status)
    if status is None:
        raise DirectoryError("hr.bad_status", status=r.status)
    if r.email:
        local, domain = split_address(r.email)
        validate_local_part(local)
        await ops.domain(domain)
    unit = await ops.agency(r.unit)
    m = await ops.repo.mailbox_by_staff_id(r.staff_id)
    if m is None:
        if status == "left":
            return res  # left before ever having a mailbox: nothing to do
        if r.email:
            owner = await ops.repo.address_owner(r.email)
            if owner:
                raise DirectoryError("address.taken", address=r.email, owner=owner)
        res.action = "create"
        if r.email:
            res.address = r.email
        else:
            dom = await ops.agency_domain(unit)
            res.address = f"{await ops.propose_local_part(dom, r.full_name)}@{dom.name}"
        return res
    res.address = m.address
    if status == "left":
        if m.status != "archived":
            res.action = "archive"
        return res
    if m.status == "archived":
        raise DirectoryError("hr.archived_returns", address=m.address, staff_id=r.staff_id)
    if m.agency_id != unit.id:
        res.action = "transfer"
        res.changes["unit"] = (m.agency_id, unit.code or unit.name)
    if m.full_name != r.full_name:
        res.changes["full_name"] = (m.full_name, r.full_name)
    if r.position is not None and (m.position or None) != r.position:
        res.changes["position"] = (m.position, r.position)
    if r.phone is not None and m.phone != r.phone:
        res.changes["phone"] = (m.phone, r.phone)
    if res.action == "none" and res.changes:
        res.action = "update"
    return res


async def _apply_row(ops: DirectoryOps, r: HrRow, planned: RowResult) -> RowResult:
    unit = await ops.agency(r.unit)
    if planned.action == "create":
        local = domain = None
        if r.email:
            local, domain = split_address(r.email)
        m = await ops.add_mailbox(
            full_name=r.full_name,
            agency=unit,
            position=r.position,
            staff_id=r.staff_id,
            local_part=local,
            domain=domain,
            phone=r.phone,
        )
        planned.address = m.address
    elif planned.action == "archive":
        await ops.archive(planned.address or "")
    elif planned.action in ("transfer", "update"):
        address = planned.address or ""
        if planned.changes.keys() & {"full_name", "position", "phone"}:
            await ops.update_person(
                address, full_name=r.full_name, position=r.position, phone=r.phone
            )
        if planned.action == "transfer":
            m = await ops.transfer(address, unit.id)
            planned.address = m.address
    return planned


async def run_import(
    directory: Directory,
    rows: list[HrRow],
    *,
    actor: Actor,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Plan (and unless ``dry_run`` apply) the rows; returns the row-by-row report."""
    results: list[RowResult] = []
    seen: dict[str, int] = {}
    for r in rows:
        if r.staff_id and r.staff_id in seen:
            results.append(
                RowResult(
                    r.row,
                    r.staff_id,
                    "error",
                    error=t(
                        "directory.hr.duplicate_staff_id",
                        staff_id=r.staff_id,
                        first=seen[r.staff_id],
                    ),
                )
            )
            if progress:
                progress(1)
            continue
        if r.staff_id:
            seen[r.staff_id] = r.row
        try:
            if dry_run:
                async with directory.reader() as ops:
                    results.append(await _plan_row(ops, r))
            else:
                async with directory.ops(actor) as ops:
                    planned = await _plan_row(ops, r)
                    if planned.action != "none":
                        planned = await _apply_row(ops, r, planned)
                    results.append(planned)
        except DirectoryError as exc:
            results.append(RowResult(r.row, r.staff_id, "error", error=exc.message()))
        if progress:
            progress(1)
    return ImportReport(results, applied=not dry_run)


def iter_report_lines(report: ImportReport) -> Iterable[str]:
    for r in report.results:
        if r.action == "error":
            yield t("directory.hr.row_error", row=r.row, staff_id=r.staff_id or "-", error=r.error)
        elif r.action != "none":
            yield t("directory.hr.row_change", row=r.row, action=r.action, address=r.address)
