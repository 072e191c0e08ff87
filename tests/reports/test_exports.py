"""Exports parse back (XLSX with openpyxl, CSV with csv), charts are valid PNG/SVG with
the Vietnamese text in the SVG, the printable HTML and the PDF hold the tables."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook

from govmail.reports.charts import report_charts
from govmail.reports.exports import table_csv, to_csv, to_html, to_pdf, to_xlsx
from govmail.reports.report import Report, build_report
from tests.reports.conftest import Org

PNG = b"\x89PNG\r\n\x1a\n"


def svg_text(root: ET.Element) -> str:
    """The text of every <text> element (a wrapped title is one element per line)."""
    return " ".join(el.text or "" for el in root.iter() if el.tag.endswith("}text"))


@pytest.fixture
async def report(org: Org, backend: str) -> Report:
    if backend != "sqlite":
        pytest.skip("exports do not depend on the database")
    return await build_report(org.store, org.period)


async def test_xlsx_one_sheet_per_table_and_reads_back(report: Report) -> None:
    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    names = wb.sheetnames
    assert names[:12] == [f"Bảng {n}" for n in range(1, 13)]
    assert names[12:] == [
        "Trung bình",
        "Hoạt động - Bộ, ngành",
        "Hoạt động - Tỉnh, TP",
        "Theo ngày",
        "Văn bản, từ chối",
        "Lưu ý",
        "Định nghĩa",
    ]
    ws = wb["Bảng 1"]
    assert ws["A1"].value == (
        "Bảng 1: Tỷ lệ cán bộ, công chức được cung cấp hộp thư điện tử sử dụng trong công việc"
    )
    assert [c.value for c in ws[3]][:5] == [
        "Xếp hạng",
        "STT",
        "Tên Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ",
        "Mã cơ quan",
        "Tỷ lệ CBCC được cung cấp hộp thư điện tử sử dụng trong công việc",
    ]
    first = [c.value for c in ws[4]]
    assert first[:4] == [1, 1, "Bộ A", "000.00.00.G01"]
    assert first[4] == pytest.approx(0.65) and ws.cell(row=4, column=5).number_format == "0.0%"
    assert first[5] == "Hệ thống" and first[6].startswith("13/20")
    provinces = wb["Bảng 4"]
    cells = {
        provinces.cell(row=r, column=3).value: provinces.cell(row=r, column=5).value
        for r in range(4, 7)
    }
    assert cells["Ủy ban nhân dân tỉnh D"] == "Chưa báo cáo"
    assert cells["Ủy ban nhân dân tỉnh B"] == "Không tính được"
    problems = wb["Lưu ý"]
    text = "\n".join(str(c.value) for c in problems["A"] if c.value)
    assert "Sở B1" in text and "tỉnh C" in text


async def test_csv_long_format(report: Report) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0][:6] == ["Bảng", "Chỉ tiêu", "Nhóm", "Xếp hạng", "STT", "Cơ quan, đơn vị"]
    assert len(rows) == 1 + sum(len(tb.rows) for tb in report.tables)
    bo_a = next(r for r in rows[1:] if r[0] == "1" and r[5] == "Bộ A")
    assert bo_a[7] == "65.00" and bo_a[8] == "tính từ hệ thống"
    shaped = list(csv.reader(io.StringIO(table_csv(report.tables[3], "vi"))))
    assert shaped[0] == [
        "STT",
        "Tỉnh, thành phố trực thuộc Trung ương",
        report.tables[3].indicator.column_vi,
    ]
    assert {r[2] for r in shaped[1:]} == {"Không tính được", "Chưa báo cáo"}


async def test_charts_png_and_svg_with_vietnamese_text(report: Report) -> None:
    charts = report_charts(report)
    names = [c.name for c in charts]
    assert (
        names[:6] == [f"fig{n}" for n in range(1, 7)] and "rank-1" in names and names[-1] == "daily"
    )
    fig1 = charts[0]
    png = fig1.render("png")
    assert png.startswith(PNG) and len(png) > 2000
    svg = fig1.render("svg").decode("utf-8")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    words = svg_text(root)
    assert "Hình 1: Tỷ lệ cán bộ, công chức được cung cấp hộp thư điện tử sử dụng" in words
    assert "DejaVu Sans" in svg
    rank = next(c for c in charts if c.name == "rank-1").render("svg").decode()
    assert "Bộ A" in rank and "65%" in rank
    en = ET.fromstring(report_charts(report, "en")[0].render("svg"))
    assert "Figure 1: Share of staff provided with an official mailbox" in svg_text(en)


async def test_printable_html_and_pdf(report: Report) -> None:
    html = to_html(report)
    assert html.startswith("<!doctype html>")
    assert "Bảng 6: Tỷ lệ văn bản được trao đổi qua hệ thống thư điện tử" in html
    assert html.count("<svg") == len(report_charts(report))
    assert "Chưa có biên chế (số CBCC) của Sở B1" in html
    assert "<script" not in html
    pdf = to_pdf(report)
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert b"DejaVuSans" in pdf  # the font is embedded
