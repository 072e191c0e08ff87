"""The command line, run as a real process against a fresh data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOVMAIL = [sys.executable, "-m", "govmail.cli.main"]


def gm(
    cwd: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVMAIL_")}
    env["COLUMNS"] = "200"
    p = subprocess.run(
        [*GOVMAIL, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check and p.returncode != 0:
        raise AssertionError(
            f"govmail {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
        )
    return p


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    gm(d, "init")
    gm(d, "demo", "--only", "phuyen.gov.vn", "--staff", "3")
    return d


def test_init_refuses_to_overwrite(home: Path) -> None:
    p = gm(home, "init", check=False)
    assert p.returncode == 1 and "govmail.toml" in p.stderr


def test_demo_staff_are_listed(home: Path) -> None:
    rows = json.loads(gm(home, "mailbox", "list", "--domain", "phuyen.gov.vn", "--json").stdout)
    addresses = {r["address"] for r in rows}
    assert "vanthu@phuyen.gov.vn" in addresses and "stttt@phuyen.gov.vn" in addresses
    people = [r for r in rows if r["kind"] == "person"]
    assert len(people) == 3 * 10  # UBND, 7 departments, 2 districts
    assert all(r["status"] == "active" for r in people)
    table = gm(home, "mailbox", "list", "--agency", "000.00.00.H45").stdout
    assert "Địa chỉ" in table and "vanthu@phuyen.gov.vn" in table
    assert "Đang hoạt động" in table and "Hộp thư cơ quan" in table and "active" not in table


def test_mailbox_lifecycle_through_cli(home: Path) -> None:
    out = gm(
        home,
        "mailbox",
        "add",
        "Nguyễn Thị Minh Hằng",
        "--agency",
        "000.00.02.H45",
        "--position",
        "Chuyên viên",
        "--staff-id",
        "T-1",
        "--password-stdin",
        "--json",
        stdin="một mật khẩu dài\n",
    ).stdout
    address = json.loads(out)["address"]
    assert address.startswith("hangntm") and address.endswith("@phuyen.gov.vn")
    gm(home, "mailbox", "suspend", address)
    show = json.loads(gm(home, "mailbox", "show", address, "--json").stdout)
    assert show["status"] == "suspended"
    gm(home, "mailbox", "reactivate", address)
    moved = gm(home, "mailbox", "transfer", address, "--to", "000.00.00.G14", check=False)
    assert moved.returncode == 0 and "hangntm" in moved.stdout
    gm(home, "mailbox", "archive", "hangntm@mic.gov.vn")
    show = json.loads(gm(home, "mailbox", "show", "hangntm@mic.gov.vn", "--json").stdout)
    assert show["status"] == "archived" and address in show["aliases"]


def test_refusals_have_specific_messages(home: Path) -> None:
    p = gm(home, "mailbox", "add", "Lê Văn A", "--agency", "000.99.99.H45", check=False)
    assert p.returncode == 1 and "000.99.99.H45" in p.stderr
    p = gm(
        home,
        "mailbox",
        "add",
        "Lê Văn A",
        "--agency",
        "000.00.00.H45",
        "--domain",
        "gmail.com",
        check=False,
    )
    assert p.returncode == 1 and "gmail.com" in p.stderr
    p = gm(home, "domain", "add", "not a domain", check=False)
    assert p.returncode == 1 and "not a domain" in p.stderr


def test_bad_configuration_stops_with_key(tmp_path: Path) -> None:
    (tmp_path / "govmail.toml").write_text("[listeners]\nimap_port = -1\n")
    p = gm(tmp_path, "mailbox", "list", check=False)
    assert p.returncode == 2 and "listeners.imap_port" in p.stderr


def test_hr_import_dry_run_and_export_roundtrip(home: Path) -> None:
    (home / "staff.csv").write_text(
        "Mã cán bộ,Họ và tên,Đơn vị,Chức vụ\n"
        "NEW-1,Trịnh Văn Ước,000.00.03.H45,Chuyên viên\n"
        "NEW-2,Ai Đó,Không có đơn vị này,\n",
        encoding="utf-8",
    )
    p = gm(home, "directory", "import", "staff.csv", "--dry-run", "--json", check=False)
    report = json.loads(p.stdout)
    assert p.returncode == 3 and report["applied"] is False
    assert report["summary"]["create"] == 1 and report["summary"]["error"] == 1
    assert report["rows"][1]["row"] == 3 and "Không có đơn vị này" in report["rows"][1]["error"]
    p = gm(home, "directory", "import", "staff.csv", check=False)
    assert p.returncode == 3
    csv_out = gm(home, "directory", "export", "--agency", "000.00.03.H45").stdout
    assert "NEW-1,Trịnh Văn Ước,000.00.03.H45,Chuyên viên,uoctv@phuyen.gov.vn,active" in csv_out
    vcard = gm(
        home, "directory", "export", "--public", "--format", "vcard", "--agency", "000.00.03.H45"
    ).stdout
    assert "FN:Trịnh Văn Ước" in vcard and "EMAIL;TYPE=work:uoctv@phuyen.gov.vn" in vcard
