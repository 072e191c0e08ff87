from __future__ import annotations

import pytest

from govmail.config import Settings
from govmail.directory.service import Directory
from govmail.store.db import Store


@pytest.fixture
async def directory(store: Store, db_settings: Settings) -> Directory:
    d = Directory(store, db_settings)
    async with d.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        await ops.add_domain("phuyen.gov.vn", template="{given}.{initials}")
        await ops.add_agency(
            name="Bộ Thông tin và Truyền thông",
            short_name="BTTTT",
            kind="ministry",
            code="000.00.00.G14",
            domain="mic.gov.vn",
        )
        await ops.add_agency(
            name="Cục Tin học hóa",
            short_name="THH",
            kind="unit",
            code="000.01.00.G14",
            parent="000.00.00.G14",
            role="it_unit",
        )
        await ops.add_agency(
            name="Ủy ban nhân dân tỉnh Phú Yên",
            short_name="UBND",
            kind="province",
            code="000.00.00.H45",
            domain="phuyen.gov.vn",
            place="Phú Yên",
        )
        await ops.add_agency(
            name="Sở Thông tin và Truyền thông tỉnh Phú Yên",
            short_name="STTTT",
            kind="department",
            code="000.01.00.H45",
            parent="000.00.00.H45",
            role="dept_ict",
        )
    return d
