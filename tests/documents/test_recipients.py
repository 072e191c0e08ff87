"""The "Nơi nhận" parser on every recipients block of the seed documents, and what each
line resolves to in a directory holding the demo organisation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.documents.docorg import SEEDS, seed_block

from govmail.config import Settings
from govmail.directory.demo import load_demo
from govmail.directory.service import Directory
from govmail.documents.recipients import RecipientResolver, parse_block, seed_by_name
from govmail.store.db import Store

# The blocks as the seeds write them (checked against ../shared/seeds when present).
NOI_NHAN = {
    "000": (
        "**Nơi nhận:**\n\n- Thủ tướng, các Phó Thủ tướng Chính phủ;\n"
        "- Các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ;\n"
        "- UBND các tỉnh, thành phố trực thuộc TW;\n- Bộ trưởng và các Thứ trưởng;\n"
        "- Đơn vị chuyên trách về CNTT của các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ"
        " (qua thư điện tử);\n"
        "- Sở TT&TT các tỉnh, thành phố trực thuộc TW (qua thư điện tử);\n- Lưu VT, UDCNTT.\n"
    ),
    "001": (
        "**Nơi nhận:**\n\n- Như trên;\n- Các Phó Thủ tướng Chính phủ;\n"
        "- Các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ;\n"
        "- UBND các tỉnh, thành phố trực thuộc Trung ương;\n- Bộ trưởng và các Thứ trưởng;\n"
        "- Đơn vị chuyên trách về CNTT của các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ"
        " (qua thư điện tử);\n"
        "- Sở TT&TT các tỉnh, thành phố trực thuộc TW (qua thư điện tử);\n"
        "- Các cơ quan, đơn vị thuộc Bộ;\n- Lưu: VT, THH (UDCN/TTDN).\n"
    ),
    "002": (
        "\tNơi nhận:\n\n- Như trên;\n\n- PTTg CP Nguyễn Thiện Nhân (để b/c);\n\n"
        "- Bộ trưởng (để b/c);\n\n- Các Sở TTTT;\n- Lưu: VT, ƯDCNTT.\n"
    ),
    "004": (
        "Nơi nhận:\n- Như trên;\n- Bộ trưởng (để b/c);\n"
        "- Đơn vị chuyên trách về CNTT của các Bộ, cơ quan ngang Bộ (qua thư điện tử);\n"
        "- Sở TT&TT các tỉnh, thành phố trực thuộc TW (qua thư điện tử);\n"
        "- Lưu: VT, THH (KH).\n"
    ),
}
KINH_GUI = {
    "000": "",
    "001": "Kính gửi: Thủ tướng Chính phủ",
    "002": (
        "\tKính gửi:\n\tCác Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ;\n\n"
        "Uỷ ban nhân dân các tỉnh, thành phố trực thuộc Trung ương.\n"
    ),
    "004": (
        "\tKính gửi:\n\t- Các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ;\n"
        "- Ủy ban nhân dân tỉnh, thành phố trực thuộc Trung ương.\n"
    ),
}
# Every seed with a recipients block; 003 (a news article) has none.
EXPECTED = {
    "000": [
        ("government_leaders", [], ""),
        ("national_group", [], "cacbo"),
        ("national_group", [], "cactinh"),
        ("issuer_leaders", [], ""),
        ("national_group", ["by_mail"], "cnttbo"),
        ("national_group", ["by_mail"], "sotttt"),
        ("archive", [], ""),
    ],
    "001": [
        ("as_above", [], ""),
        ("government_leaders", [], ""),
        ("national_group", [], "cacbo"),
        ("national_group", [], "cactinh"),
        ("issuer_leaders", [], ""),
        ("national_group", ["by_mail"], "cnttbo"),
        ("national_group", ["by_mail"], "sotttt"),
        ("issuer_units", [], ""),
        ("archive", [], ""),
    ],
    "002": [
        ("as_above", [], ""),
        ("government_leaders", ["for_reporting"], ""),
        ("issuer_leaders", ["for_reporting"], ""),
        ("national_group", [], "sotttt"),
        ("archive", [], ""),
    ],
    "004": [
        ("as_above", [], ""),
        ("issuer_leaders", ["for_reporting"], ""),
        ("national_group", ["by_mail"], "cnttbo"),
        ("national_group", ["by_mail"], "sotttt"),
        ("archive", [], ""),
    ],
}


def test_the_embedded_blocks_are_the_seeds_blocks() -> None:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds not present")
    files = sorted(p.name[:3] for p in Path(SEEDS).glob("*.txt"))
    with_block = [
        n
        for n in files
        if "Nơi nhận" in (SEEDS / next(SEEDS.glob(f"{n}_*")).name).read_text(encoding="utf-8")
    ]
    assert sorted(NOI_NHAN) == with_block
    for name, block in NOI_NHAN.items():
        assert [ln.text for ln in parse_block(block)] == [
            ln.text for ln in parse_block(seed_block(name))
        ]
        seed = (SEEDS / next(SEEDS.glob(f"{name}_*")).name).read_text(encoding="utf-8")
        for ln in parse_block(KINH_GUI[name]):
            assert ln.text in seed


@pytest.mark.parametrize("name", sorted(NOI_NHAN))
def test_every_seed_block_parses_into_the_expected_intents(name: str) -> None:
    lines = parse_block(NOI_NHAN[name])
    assert [(ln.intent, ln.flags, ln.group) for ln in lines] == [
        (i, f, g) for i, f, g in EXPECTED[name]
    ]
    assert all(not ln.text.endswith((";", ".")) and not ln.text.startswith("-") for ln in lines)


def test_details_of_the_lines() -> None:
    lines = parse_block(NOI_NHAN["001"])
    assert lines[4].titles == ["Bộ trưởng", "Thứ trưởng"]
    assert lines[8].units == ["VT", "THH (UDCN/TTDN)"]
    assert lines[5].name == (
        "Đơn vị chuyên trách về CNTT của các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ"
    )
    kg = parse_block(KINH_GUI["002"])
    assert [ln.group for ln in kg] == ["cacbo", "cactinh"]
    assert [ln.intent for ln in parse_block(KINH_GUI["001"])] == ["government_leaders"]


def test_other_kinds_of_lines() -> None:
    lines = parse_block(
        "Nơi nhận:\n"
        "- Sở TT&TT tỉnh Phú Yên (để thực hiện);\n"
        "- UBND thành phố Tuy Hòa;\n"
        "- vanthu@quangninh.gov.vn, vp@quangninh.gov.vn;\n"
        "- Chủ tịch, các Phó Chủ tịch UBND tỉnh;\n"
        "- Bộ trưởng Bộ Nội vụ;\n"
        "- Lãnh đạo Bộ;\n"
        "1. Ban Chỉ đạo quốc gia về CNTT\n"
        "   (để phối hợp);\n"
    )
    assert [ln.intent for ln in lines] == [
        "agency",
        "agency",
        "address",
        "agency",
        "agency",
        "issuer_leaders",
        "agency",
    ]
    assert lines[0].flags == ["for_action"] and lines[0].name == "Sở TT&TT tỉnh Phú Yên"
    assert lines[2].addresses == ["vanthu@quangninh.gov.vn", "vp@quangninh.gov.vn"]
    assert lines[5].titles  # every leader of the issuer
    assert lines[6].name == "Ban Chỉ đạo quốc gia về CNTT"
    assert lines[6].flags == ["for_coordination"]


def test_names_of_the_national_data() -> None:
    assert seed_by_name("Sở TT&TT tỉnh Phú Yên").code == "000.00.02.H45"  # type: ignore[union-attr]
    assert seed_by_name("Sở Thông tin và Truyền thông Phú Yên").code == "000.00.02.H45"  # type: ignore[union-attr]
    assert seed_by_name("UBND thành phố Tuy Hòa").code == "000.00.51.H45"  # type: ignore[union-attr]
    assert seed_by_name("Bộ Nội vụ").code == "000.00.00.G09"  # type: ignore[union-attr]
    assert seed_by_name("UBND tỉnh Nghệ An").code == "000.00.00.H41"  # type: ignore[union-attr]
    assert seed_by_name("Văn phòng") is None  # every ministry and province has one
    assert seed_by_name("Ban Chỉ đạo quốc gia về CNTT") is None


@pytest.fixture
async def resolver_env(settings: Settings) -> AsyncIterator[tuple[Store, Directory]]:
    store = Store(settings.database_url, settings.blob_dir)
    await store.open()
    directory = Directory(store, settings)
    await load_demo(
        directory, staff_per_agency=4, only=["000.00.00.H45", "000.00.00.G09", "000.00.00.G22"]
    )
    try:
        yield store, directory
    finally:
        await store.close()


async def _resolve(directory: Directory, block: str, kinh_gui: str = "", answers=None):  # type: ignore[no-untyped-def]
    async with directory.reader() as ops:
        issuer = await ops.repo.agency_by_code("000.00.00.G14")
        domains = await ops.repo.domain_names()
        assert issuer is not None
        return await RecipientResolver(ops, issuer, domains).resolve(
            parse_block(block), parse_block(kinh_gui), answers or {}
        )


async def test_every_seed_block_resolves_in_the_demo_directory(
    resolver_env: tuple[Store, Directory],
) -> None:
    _store, directory = resolver_env
    for name, block in NOI_NHAN.items():
        plan = await _resolve(directory, block, KINH_GUI[name])
        assert plan.unresolved == [], (name, [r.question for r in plan.unresolved])
        for r in plan.lines:
            assert r.explanation is not None and r.explanation.text("vi")
            assert r.explanation.text("en") != r.explanation.text("vi")

    plan = await _resolve(directory, NOI_NHAN["000"])
    by_intent = {r.line.intent + r.line.group: r for r in plan.lines}
    assert [t.address for t in by_intent["government_leaders"].targets] == ["vanthu@vpcp.gov.vn"]
    group = by_intent["national_groupcacbo"]
    assert [(t.address, t.kind) for t in group.targets] == [("cacbo@mic.gov.vn", "group")]
    assert group.explanation.params["count"] == 3  # type: ignore[union-attr]  # MIC, BNV, VPCP
    assert by_intent["national_groupsotttt"].explanation.params["count"] == 1  # type: ignore[union-attr]
    leaders = by_intent["issuer_leaders"].targets
    assert len(leaders) == 2 and all(t.kind == "person" for t in leaders)
    archive = by_intent["archive"]
    assert [t.address for t in archive.targets] == ["vanthu@mic.gov.vn", "udcntt@mic.gov.vn"]
    assert all(t.internal for t in archive.targets)
    sent = [t.address for t in plan.targets() if not t.internal]
    assert "vanthu@mic.gov.vn" not in sent and "cactinh@mic.gov.vn" in sent

    plan = await _resolve(directory, NOI_NHAN["001"], KINH_GUI["001"])
    as_above = plan.lines[0]
    assert [t.address for t in as_above.targets] == ["vanthu@vpcp.gov.vn"]
    units = plan.lines[7].targets
    assert {t.address for t in units} == {
        "vp@mic.gov.vn",
        "udcntt@mic.gov.vn",
        "tccb@mic.gov.vn",
        "khtc@mic.gov.vn",
    }

    plan = await _resolve(directory, NOI_NHAN["002"], KINH_GUI["002"])
    assert {t.address for t in plan.lines[0].targets} == {"cacbo@mic.gov.vn", "cactinh@mic.gov.vn"}
    assert [t.address for t in plan.lines[4].targets] == ["vanthu@mic.gov.vn", "udcntt@mic.gov.vn"]


async def test_named_agencies_addresses_and_questions(
    resolver_env: tuple[Store, Directory],
) -> None:
    _store, directory = resolver_env
    block = (
        "- Sở TT&TT tỉnh Phú Yên;\n- UBND thành phố Tuy Hòa;\n- Bộ Nội vụ;\n"
        "- UBND tỉnh Nghệ An (để thực hiện);\n- Sở Y tế tỉnh Nghệ An;\n"
        "- vanthu@quangninh.gov.vn;\n- khongco@phuyen.gov.vn;\n"
        "- Ban Chỉ đạo quốc gia về CNTT;\n- Như trên;\n"
    )
    plan = await _resolve(directory, block)
    got = [(r.targets[0].address if r.targets else None, r.resolved) for r in plan.lines]
    assert got == [
        ("stttt@phuyen.gov.vn", True),
        ("ubnd.tuyhoa@phuyen.gov.vn", True),
        ("vanthu@moha.gov.vn", True),
        ("vanthu@nghean.gov.vn", True),
        ("syt@nghean.gov.vn", True),
        ("vanthu@quangninh.gov.vn", True),
        (None, False),
        (None, False),
        (None, False),
    ]
    assert plan.lines[0].targets[0].organ_id == "000.00.02.H45"
    assert not plan.lines[3].targets[0].local
    assert plan.lines[3].explanation.key == "documents.recipients.agency_remote"  # type: ignore[union-attr]
    questions = [r.question.text("vi") for r in plan.unresolved]  # type: ignore[union-attr]
    assert "khongco@phuyen.gov.vn" in questions[0]
    assert "Ban Chỉ đạo quốc gia về CNTT" in questions[1]
    assert "Kính gửi" in questions[2]

    answered = await _resolve(
        directory, block, answers={7: "vanthu@phuyen.gov.vn", 8: "Sở Nội vụ tỉnh Phú Yên", 9: "-"}
    )
    assert answered.unresolved == []
    assert [t.address for t in answered.lines[6].targets] == ["vanthu@phuyen.gov.vn"]
    assert [t.address for t in answered.lines[7].targets] == ["snv@phuyen.gov.vn"]
    assert answered.lines[8].skipped
    wrong = await _resolve(directory, block, answers={7: "Không có cơ quan này"})
    assert not wrong.lines[6].resolved
