"""The RCPT-time resolution without a transaction answers exactly as the full one, and
sees every committed directory change at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3

import pytest

from govmail.directory.resolve import resolve, resolve_outside_tx
from govmail.directory.service import Directory

DOMAINS = {"mic.gov.vn", "phuyen.gov.vn"}


async def both_ways(directory: Directory, address: str) -> tuple[object, object]:
    fast = await resolve_outside_tx(directory, address, DOMAINS)
    async with directory.reader() as ops:
        full = await resolve(ops, address, DOMAINS)
    return fast, full


async def test_agrees_with_full_resolution(directory: Directory) -> None:
    async with directory.ops() as ops:
        a = await ops.add_mailbox(full_name="Đặng Thị Hương", agency="000.01.00.G14",
                                  local_part="dthuong")
        await ops.add_mailbox(full_name="Văn thư Cục", agency="000.01.00.G14",
                              kind="agency", local_part="vanthu")
        await ops.add_alias("huong.dang@mic.gov.vn", a.address)
        await ops.add_group("lanhdao@mic.gov.vn", "Lãnh đạo")
        await ops.add_group_member("lanhdao@mic.gov.vn", a.address)
        await ops.add_group_member("lanhdao@mic.gov.vn", "ai.do@example.org")
    cases = [
        "dthuong@mic.gov.vn",
        "DTHuong@MIC.gov.vn",
        "vanthu@mic.gov.vn",
        "huong.dang@mic.gov.vn",
        "dthuong+congvan@mic.gov.vn",
        "lanhdao@mic.gov.vn",
        "khongco@mic.gov.vn",
        "khongco+x@mic.gov.vn",
        "ai.do@example.org",
        "khong-co-a-cong",
    ]
    for address in cases:
        fast, full = await both_ways(directory, address)
        assert fast == full, address
    fast, _ = await both_ways(directory, "vanthu@mic.gov.vn")
    assert fast.kind == "local" and fast.via == "agency"  # type: ignore[attr-defined]
    fast, _ = await both_ways(directory, "lanhdao@mic.gov.vn")
    assert fast.remote == ["ai.do@example.org"]  # type: ignore[attr-defined]


async def test_sees_committed_changes_at_once(directory: Directory) -> None:
    address = "moi@mic.gov.vn"
    assert (await resolve_outside_tx(directory, address, DOMAINS)).kind == "unknown"
    async with directory.ops() as ops:
        await ops.add_mailbox(full_name="Nguyễn Văn Mới", agency="000.01.00.G14",
                              local_part="moi")
    assert (await resolve_outside_tx(directory, address, DOMAINS)).kind == "local"
    async with directory.ops() as ops:
        await ops.archive(address)
    assert (await resolve_outside_tx(directory, address, DOMAINS)).kind == "disabled"


async def test_sqlite_connection_is_read_only(directory: Directory) -> None:
    hot = directory.store.hot
    if not directory.store.is_sqlite:
        pytest.skip("the dedicated connection is SQLite's")
    await resolve_outside_tx(directory, "ai@mic.gov.vn", DOMAINS)
    conn = hot._connection()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM mailbox")
