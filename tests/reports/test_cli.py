"""govmail report …, run as a real process against a demo province."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from govmail.cli.main import app
from govmail.cli.runtime import state
from govmail.reports.periods import current_quarter
from tests.cli.test_cli import gm

DATA = Path(__file__).with_name("data")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report-cli")
    gm(d, "init")
    gm(d, "demo", "--only", "phuyen.gov.vn", "--staff", "2")
    return d


def test_national_report_json(home: Path) -> None:
    period = current_quarter(date.today()).label  # the demo mailboxes exist from today
    out = json.loads(gm(home, "report", "national", "--period", period, "--json").stdout)
    tables = {tb["key"]: tb for tb in out["tables"]}
    (py,) = [r for r in tables["mailbox_share.provinces"]["rows"] if r["code"] == "000.00.00.H45"]
    # 10 agencies with 2 people each; demo headcounts are 2 + 1 + 1 per agency.
    assert (py["numerator"], py["denominator"], py["text"]) == (20, 40, "50%")
    assert py["rank"] == 1 and py["status"] == "computed"
    assert out["rule"]["min_days"] == 10 and len(out["rule"]["days"]) == 20


class InProcess:
    """The same commands in this process (no interpreter start for each)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
        state.config, state._settings = self.home / "govmail.toml", None
        try:
            r = self.runner.invoke(app, list(args), env={"COLUMNS": "200"})
        finally:
            state.config, state._settings = None, None
        if check and r.exit_code != 0:
            raise AssertionError(f"govmail {' '.join(args)} failed ({r.exit_code}):\n{r.output}")
        return r


def test_import_export_and_facts(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(home)
    run = InProcess(home)
    ok = run("report", "import", str(DATA / "seed_bang1.csv"), "--period", "2011")
    assert "Đã nhập 27 số liệu (27 mới, 0 thay thế)" in ok.stdout
    bad = run("report", "import", str(DATA / "seed_bang4.csv"), "-p", "2011", "--json", check=False)
    assert bad.exit_code == 3
    errors = [i for i in json.loads(bad.stdout)["issues"] if i["severity"] == "error"]
    assert [(e["row"], e["agency"]) for e in errors] == [
        (62, "Lai Châu (chưa có hệ thống thư điện tử chính thức)"),
        (64, "Phú Yên"),
    ]
    xlsx = tmp_path / "2011.xlsx"
    run("report", "export", "-o", str(xlsx), "--period", "2011", "-i", "mailbox_share")
    ws = load_workbook(xlsx)["Bảng 1"]
    assert [ws.cell(row=r, column=3).value for r in (4, 5)] == [
        "Bộ Giáo dục và Đào tạo",
        "Bộ Khoa học và Công nghệ",
    ]
    assert ws.cell(row=4, column=6).value == "Tự báo cáo"
    run(
        "report",
        "regulation",
        "000.00.00.H45",
        "--date",
        "12/03/2010",
        "--number",
        "05/2010/QĐ-UBND",
    )
    run("report", "filtering", "--spam", "on", "--virus", "off")
    period = current_quarter(date.today()).label
    out = json.loads(
        run(
            "report",
            "agency",
            "000.00.00.H45",
            "-p",
            period,
            "-i",
            "regulation_share",
            "-i",
            "filtering_share",
            "--json",
        ).stdout
    )
    reg, flt = out["tables"]
    assert reg["total"]["numerator"] == 1 and reg["total"]["denominator"] == 10
    own = next(r for r in reg["rows"] if r["code"] == "000.00.00.H45")
    assert own["note"] == "05/2010/QĐ-UBND, 12/03/2010"
    assert flt["total"]["value"] == 0.0  # virus filtering declared off
    rule = run("report", "rule", "--min-days", "25", check=False)
    assert rule.exit_code == 1 and "25" in rule.output
    run("report", "calendar", "add", "2026-01-02", "--off", "--note", "Nghỉ bù")
    days = json.loads(run("report", "calendar", "list", "--year", "2026", "--json").stdout)
    assert {
        "day": "2026-01-02",
        "weekday": "Fri",
        "working": False,
        "note": "Nghỉ bù",
        "declared": True,
    } in days
    assert any(d["day"] == "2026-02-17" and d["note"] == "Tết Nguyên Đán" for d in days)


def test_bad_period_and_unknown_agency(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(home)
    run = InProcess(home)
    p = run("report", "national", "--period", "2025-Q5", check=False)
    assert p.exit_code == 1 and "2025-Q5" in p.output
    p = run("report", "agency", "999.99.99.X99", "-p", "2025", check=False)
    assert p.exit_code == 1 and "999.99.99.X99" in p.output
