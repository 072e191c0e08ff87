"""Self-reported figures: the seed report's Bảng 1 imported and ranked as the seed ranks it;
bad input reported row by row; merged with computed figures and marked."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from govmail.config import Settings
from govmail.directory import demo_data
from govmail.directory.base import Actor
from govmail.directory.service import Directory
from govmail.reports.exports import to_xlsx
from govmail.reports.headcounts import import_headcounts
from govmail.reports.periods import parse_period, year
from govmail.reports.report import build_report
from govmail.reports.selfreport import import_figures
from govmail.reports.tables import cell_text
from govmail.reports.tabular import TableFileError
from govmail.store.db import Store
from tests.reports.conftest import Org

DATA = Path(__file__).with_name("data")
Y2011 = year(2011)


def seed_rows(n: int) -> list[list[str]]:
    with (DATA / f"seed_bang{n}.csv").open(encoding="utf-8") as fh:
        return list(csv.reader(fh))[2:]


def competition_ranks(values: list[str]) -> list[int | None]:
    out: list[int | None] = []
    for i, v in enumerate(values, start=1):
        if not v.endswith("%"):
            out.append(None)
        elif i > 1 and v == values[i - 2]:
            out.append(out[-1])
        else:
            out.append(i)
    return out


@pytest.fixture
async def ministries(store: Store, db_settings: Settings, backend: str) -> Directory:
    """The directory holds the ministries of the demo organisation, none of them on govmail."""
    if backend != "sqlite":
        pytest.skip("the import does not depend on the database; SQLite is enough")
    d = Directory(store, db_settings)
    async with d.ops() as ops:
        for m in demo_data.MINISTRIES:
            await ops.add_domain(m.domain or f"{m.abbr.lower()}.gov.vn")
            await ops.add_agency(
                name=m.name, short_name=m.short_name, kind=m.kind, code=m.code, domain=m.domain
            )
    return d


async def test_seed_table_1_reproduces_its_ranking(ministries: Directory) -> None:
    result = await import_figures(ministries.store, DATA / "seed_bang1.csv", Y2011)
    assert result.errors == [] and result.warnings == []  # every name found, typos included
    assert (result.added, result.replaced) == (27, 0)
    report = await build_report(ministries.store, Y2011)
    table = report.tables[0]
    assert table.title("vi") == (
        "Bảng 1: Tỷ lệ cán bộ, công chức được cung cấp hộp thư điện tử sử dụng trong công việc"
    )
    seed = seed_rows(1)
    got = table.rows[: len(seed)]
    assert [r.stt for r in got] == [int(s[0]) for s in seed]
    expected_codes = [demo_data.find_by_name(s[1]).code for s in seed]  # type: ignore[union-attr]
    assert [r.subject.code for r in got] == expected_codes
    assert [cell_text(r.figure, "vi") for r in got] == [s[2] for s in seed]
    assert [r.rank for r in got] == competition_ranks([s[2] for s in seed])
    assert [r.rank for r in got][:9] == [1, 1, 1, 1, 1, 1, 1, 8, 9]
    assert all(r.figure.status in ("self_reported", "qualitative") for r in got)
    assert got[-1].figure.status == "qualitative" and got[-1].rank is None
    # Ministries of the directory that are not in Bảng 1 follow, "Chưa báo cáo".
    rest = table.rows[len(seed) :]
    assert rest and all(cell_text(r.figure, "vi") == "Chưa báo cáo" for r in rest)
    # The average of the self-reported numbers (25 agencies with a number).
    values = [float(s[2].rstrip("%")) for s in seed if s[2].endswith("%")]
    assert table.average_n == 25 and table.average == pytest.approx(sum(values) / 25)
    again = await import_figures(ministries.store, DATA / "seed_bang1.csv", Y2011)
    assert (again.added, again.replaced) == (0, 27)  # importing twice changes nothing


async def test_seed_tables_without_directory(store: Store, backend: str) -> None:
    """Agencies not in the directory are kept under their written names (with a warning)."""
    if backend != "sqlite":
        pytest.skip("SQLite is enough")
    result = await import_figures(store, DATA / "seed_bang3.csv", Y2011)
    assert len(result.warnings) == 24 and not result.errors
    assert "không có trong danh bạ" in result.warnings[0].text("vi")
    report = await build_report(store, Y2011, indicators=["electronic_document_share"])
    (table,) = report.tables
    assert table.group == "ministries"
    seed = seed_rows(3)
    assert [(r.stt, r.subject.name, cell_text(r.figure, "vi")) for r in table.rows] == [
        (int(s[0]), s[1], s[2]) for s in seed
    ]


async def test_seed_table_4_real_world_text_is_reported_by_row(ministries: Directory) -> None:
    result = await import_figures(ministries.store, DATA / "seed_bang4.csv", Y2011, dry_run=True)
    assert [(e.row, e.params["agency"]) for e in result.errors] == [
        (62, "Lai Châu (chưa có hệ thống thư điện tử chính thức)"),
        (64, "Phú Yên"),
    ]
    assert "không phải là số" in result.errors[0].text("vi")
    assert "dòng 62" in result.errors[0].text("vi")
    assert len(result.figures) == 61 and not result.applied


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


async def test_bad_input_named_by_row(ministries: Directory, tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "bad.csv",
        [
            ["STT", "Tên cơ quan", "Mã", "Tỷ lệ CBCC thường xuyên sử dụng thư điện tử"],
            ["1", "Bộ Tư pháp", "", "120%"],
            ["2", "Bộ Y tế", "", "khoảng một nửa"],
            ["3", "Bộ Nội vụ", "", "80%"],
            ["4", "Bộ nội vụ", "", "70%"],
            ["5", "Bộ Xây dựng", "999.99.99.G99", "50%"],
            ["6", "", "", "50%"],
            ["7", "Bộ Tài chính", "", "-5"],
            ["8", "Bộ Công Thương", "", "90,5%"],
            ["9", "Bộ Ngoại giao", "", "Chưa báo cáo"],
        ],
    )
    result = await import_figures(ministries.store, f, Y2011)
    errors = {(e.row, e.key) for e in result.errors}
    assert errors == {
        (2, "value_over_100"),
        (3, "value_bad_number"),
        (4, "duplicate"),
        (5, "duplicate"),
        (6, "unknown_code"),
        (7, "no_name"),
        (8, "value_negative"),
    }
    texts = [e.text("vi") for e in result.errors]
    assert any("Bộ Y tế" in x and "khoảng một nửa" in x for x in texts)
    assert any("Bộ nội vụ" in x and "dòng 4" in x for x in texts)
    assert [(f.agency_name, f.value, f.status) for f in result.figures] == [
        ("Bộ Công Thương", 90.5, "value"),
        ("Bộ Ngoại giao", None, "not_reported"),
    ]
    report = await build_report(ministries.store, Y2011, indicators=["regular_use_share"])
    rows = {r.subject.name: cell_text(r.figure, "vi") for r in report.tables[0].rows}
    assert rows["Bộ Công Thương"] == "90.5%"
    assert rows["Bộ Nội vụ"] == rows["Bộ Tư pháp"] == "Chưa báo cáo"  # nothing wrong printed


async def test_unreadable_files(ministries: Directory, tmp_path: Path) -> None:
    with pytest.raises(TableFileError):
        await import_figures(ministries.store, tmp_path / "none.csv", Y2011)
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(TableFileError):
        await import_figures(ministries.store, tmp_path / "x.pdf", Y2011)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(TableFileError):
        await import_figures(ministries.store, tmp_path / "broken.xlsx", Y2011)
    eight_bit = b"T\xean,T\xfd l\xea h\xf4p thu\nB\xf4 Y te,50%\n"  # not UTF-8
    (tmp_path / "latin1.csv").write_bytes(eight_bit)
    with pytest.raises(TableFileError):
        await import_figures(ministries.store, tmp_path / "latin1.csv", Y2011)
    no_header = write_csv(tmp_path / "noheader.csv", [["a", "b"], ["1", "2"]])
    with pytest.raises(TableFileError):
        await import_figures(ministries.store, no_header, Y2011)


async def test_xlsx_with_percent_cells_and_indicator_option(
    ministries: Directory, tmp_path: Path
) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Báo cáo tự đánh giá"])
    ws.append(["STT", "Tên Bộ, cơ quan ngang Bộ", "Tỷ lệ", "Ghi chú"])
    ws.append([1, "Bộ Y tế", 0.915, "ước tính"])
    ws.cell(row=3, column=3).number_format = "0.0%"
    ws.append([2, "Bộ Tài chính", 80, None])
    path = tmp_path / "f.xlsx"
    wb.save(path)
    result = await import_figures(
        ministries.store, path, parse_period("2011"), indicator="electronic_document_share"
    )
    assert not result.errors
    assert [(f.indicator, f.value, f.note) for f in result.figures] == [
        ("electronic_document_share", pytest.approx(91.5), "ước tính"),
        ("electronic_document_share", 80.0, None),
    ]


async def test_merged_with_computed_figures(org: Org, tmp_path: Path, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite is enough")
    f = write_csv(
        tmp_path / "tinh.csv",
        [
            ["Tỉnh, thành phố trực thuộc Trung ương", "Tỷ lệ CBCC được cung cấp hộp thư điện tử"],
            ["Tỉnh D", "55%"],
            ["Tỉnh B", "70%"],
            ["Bộ A", "99%"],
            ["Tỉnh Lạ", "10%"],
        ],
    )
    result = await import_figures(org.store, f, org.period)
    assert [w.key for w in result.warnings] == ["class_mismatch", "not_in_directory"]
    report = await build_report(org.store, org.period, indicators=["mailbox_share"])
    ministries, provinces = report.tables
    rows = {r.subject.name: r.figure for r in provinces.rows}
    assert rows["Ủy ban nhân dân tỉnh D"].status == "self_reported"
    assert rows["Ủy ban nhân dân tỉnh D"].value == 55.0
    b = rows["Ủy ban nhân dân tỉnh B"]  # not computable on govmail: the self-reported 70 %
    assert b.status == "self_reported" and b.value == 70.0
    assert {p.key for p in b.problems} == {"missing_headcount", "self_reported_used"}
    assert rows["Tỉnh Lạ"].value == 10.0  # outside the directory, by its written name
    assert rows["Ủy ban nhân dân tỉnh C"].status == "not_computed"
    # Computed figures win over self-reported ones.
    (a,) = ministries.rows
    assert a.figure.status == "computed" and a.figure.value == 65.0
    assert [r.subject.name for r in provinces.rows][:3] == [
        "Ủy ban nhân dân tỉnh B",
        "Ủy ban nhân dân tỉnh D",
        "Tỉnh Lạ",
    ]


async def test_export_reads_back(org: Org, tmp_path: Path, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite is enough")
    report = await build_report(org.store, org.period)
    path = tmp_path / "report.xlsx"
    path.write_bytes(to_xlsx(report))
    result = await import_figures(org.store, path, parse_period("2025-Q2"), dry_run=True)
    assert not result.errors
    got = {(f.indicator, f.agency_name): f.value for f in result.figures if f.value is not None}
    assert got[("mailbox_share", "Bộ A")] == pytest.approx(65.0)
    assert got[("electronic_document_share", "Bộ A")] == pytest.approx(80.0)
    assert got[("regulation_share", "Bộ A")] == pytest.approx(50.0)


async def test_headcount_import(org: Org, tmp_path: Path, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite is enough")
    f = write_csv(
        tmp_path / "bienche.csv",
        [
            ["Mã cơ quan", "Tên cơ quan", "Biên chế"],
            ["000.00.01.H01", "", "1"],
            ["", "Vụ A1", "12"],
            ["", "Vụ Không Có", "3"],
            ["000.00.00.H03", "", "ba mươi"],
            ["000.00.00.G01", "", "10"],
            ["000.00.00.H02", "", "5"],
            ["000.00.00.H02", "", "6"],
        ],
    )
    result = await import_headcounts(org.directory, f, actor=Actor("test"))
    assert {(e.row, e.key) for e in result.errors} == {
        (4, "unknown_agency"),
        (5, "bad_headcount"),
        (8, "duplicate_headcount"),
    }
    assert [w.key for w in result.issues if w.severity == "warning"] == [
        "headcount_below_mailboxes"
    ]
    assert sorted(c[0] for c in result.changes) == ["Sở B1", "Vụ A1"]
    assert result.unchanged == 1 and result.applied
    report = await build_report(org.store, org.period, indicators=["mailbox_share"])
    b = next(r for r in report.tables[1].rows if r.subject.name == "Ủy ban nhân dân tỉnh B").figure
    assert b.status == "not_computed"
    assert [(p.key, p.params["agency"]) for p in b.problems] == [
        ("headcount_below_mailboxes", "Sở B1")
    ]
