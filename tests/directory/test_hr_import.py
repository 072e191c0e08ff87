"""HR import: create, update, transfer, archive; idempotent; row-level errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from govmail.directory.base import Actor
from govmail.directory.hr_import import HrFileError, read_rows, run_import
from govmail.directory.service import Directory

HR = Actor("hr-import", "cli")
HEADER = "Mã cán bộ,Họ và tên,Đơn vị,Chức vụ,Email,Trạng thái\n"


def write_csv(path: Path, body: str) -> Path:
    path.write_text(HEADER + body, encoding="utf-8")
    return path


async def test_full_cycle_and_second_run_is_noop(directory: Directory, tmp_path: Path) -> None:
    f1 = write_csv(
        tmp_path / "staff1.csv",
        "PY-1,Nguyễn Thị Minh Hằng,000.01.00.H45,Chuyên viên,,đang làm việc\n"
        "PY-2,Đặng Văn Đức,000.01.00.H45,Trưởng phòng,,\n"
        "MIC-1,Trần Thị Ưng,000.01.00.G14,Chuyên viên,ung.tt@mic.gov.vn,\n"
        "MIC-2,Lưu Văn Ơn,000.00.00.G14,Văn thư,,\n",
    )
    report = await run_import(directory, read_rows(f1), actor=HR)
    assert report.summary() == {
        "create": 4,
        "update": 0,
        "transfer": 0,
        "archive": 0,
        "none": 0,
        "error": 0,
    }
    assert [r.address for r in report.results] == [
        "hang.ntm@phuyen.gov.vn",
        "duc.dv@phuyen.gov.vn",
        "ung.tt@mic.gov.vn",
        "onlv@mic.gov.vn",
    ]

    again = await run_import(directory, read_rows(f1), actor=HR)
    assert again.summary()["none"] == 4

    f2 = write_csv(
        tmp_path / "staff2.csv",
        "PY-1,Nguyễn Thị Minh Hằng,000.01.00.H45,Phó Trưởng phòng,,\n"  # update position
        "PY-2,Đặng Văn Đức,000.01.00.G14,Trưởng phòng,,\n"  # transfer to the ministry
        "MIC-1,Trần Thị Ưng,000.01.00.G14,Chuyên viên,,nghỉ việc\n"  # left
        "MIC-2,Lưu Văn Ơn,000.00.00.G14,Văn thư,,\n"  # unchanged
        "MIC-3,Phan Thị Ánh,000.00.00.G14,Kế toán,,\n",
    )  # new
    dry = await run_import(directory, read_rows(f2), actor=HR, dry_run=True)
    assert [r.action for r in dry.results] == ["update", "transfer", "archive", "none", "create"]
    async with directory.reader() as ops:  # the dry run changed nothing
        assert (await ops.mailbox("ung.tt@mic.gov.vn")).status == "active"
        assert await ops.repo.mailbox_by_staff_id("MIC-3") is None

    applied = await run_import(directory, read_rows(f2), actor=HR)
    assert [r.action for r in applied.results] == [
        "update",
        "transfer",
        "archive",
        "none",
        "create",
    ]
    async with directory.reader() as ops:
        assert (await ops.mailbox("hang.ntm@phuyen.gov.vn")).position == "Phó Trưởng phòng"
        moved = await ops.repo.mailbox_by_staff_id("PY-2")
        assert moved is not None and moved.address == "ducdv@mic.gov.vn"
        assert (await ops.repo.alias_by_address("duc.dv@phuyen.gov.vn")) is not None
        assert (await ops.mailbox("ung.tt@mic.gov.vn")).status == "archived"
        assert len(await ops.tx.audit.search(actor="hr-import")) >= 8

    assert (await run_import(directory, read_rows(f2), actor=HR)).summary()["none"] == 5


async def test_bad_rows_are_reported_and_good_rows_still_land(
    directory: Directory, tmp_path: Path
) -> None:
    f = write_csv(
        tmp_path / "bad.csv",
        "A-1,Hoàng Văn Nam,000.00.00.G14,,,\n"
        "A-2,Lý Thị Hoa,Sở Không Tồn Tại,,,\n"  # unknown unit
        "A-3,Vũ Thị Mai,000.00.00.G14,,mai@@mic.gov.vn,\n"  # bad e-mail
        "A-1,Hoàng Văn Nam,000.00.00.G14,,,\n"  # duplicate staff id
        "A-4,@@@,000.00.00.G14,,,\n"  # name folds to nothing
        ",Đinh Văn Tú,000.00.00.G14,,,\n"  # no staff id
        "A-5,Tạ Thị Xuân,000.00.00.G14,,xuan@gmail.com,\n"  # domain not hosted
        "A-6,Kiều Văn Thành,000.00.00.G14,,,đi du lịch\n"  # unknown status
        "A-7,Mạc Thị Yến,000.00.00.G14,,,\n",
    )
    report = await run_import(directory, read_rows(f), actor=HR)
    errors = {r.row: r.error for r in report.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9]
    assert "Sở Không Tồn Tại" in errors[3]
    assert "mai@@mic.gov.vn" in errors[4]
    assert "dòng 2" in errors[5] or "row 2" in errors[5]
    assert "gmail.com" in errors[8]
    assert report.count("create") == 2
    async with directory.reader() as ops:
        assert await ops.repo.mailbox_by_staff_id("A-7") is not None
        assert await ops.repo.mailbox_by_staff_id("A-2") is None


async def test_xlsx_import(directory: Directory, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Staff ID", "Full name", "Unit", "Position"])
    ws.append([1001, "Dương Thị Thanh Thủy", "000.01.00.H45", "Chuyên viên"])
    ws.append([1002, "Ngô Quang Trường", "Sở Thông tin và Truyền thông tỉnh Phú Yên", None])
    path = tmp_path / "staff.xlsx"
    wb.save(path)
    report = await run_import(directory, read_rows(path), actor=HR)
    assert [r.address for r in report.results] == [
        "thuy.dtt@phuyen.gov.vn",
        "truong.nq@phuyen.gov.vn",
    ]
    assert [r.staff_id for r in report.results] == ["1001", "1002"]


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "file_corrupt"),
        ("latin1.csv", b"Ma can bo,Ho ten,Don vi\nPY-1,Nguy\xean,X\n", "file_encoding"),
        ("cols.csv", "Tên,Tuổi\nA,1\n".encode(), "columns_missing"),
        ("empty.csv", b"", "file_empty"),
        ("staff.pdf", b"%PDF-1.4", "file_type"),
    ],
)
def test_unusable_files_are_refused_whole(
    tmp_path: Path, name: str, content: bytes, key: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(HrFileError) as exc:
        read_rows(path)
    assert exc.value.key == key
    assert str(exc.value)
