"""govmail document …: resolve a "Nơi nhận" block, send, list the registers, act on an
arrival, policies and the unsent report, refusals with their exit status."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.documents.docorg import MIC, PY_ICT, pdf
from tests.documents.test_recipients import NOI_NHAN
from typer.testing import CliRunner

from govmail.cli import document_cmd
from govmail.cli.runtime import state
from govmail.config import Settings
from govmail.directory.demo import load_demo
from govmail.directory.service import Directory
from govmail.store.db import Store

runner = CliRunner()


@pytest.fixture
def org(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(state, "_settings", settings)

    async def go() -> dict[str, str]:
        store = Store(settings.database_url, settings.blob_dir)
        await store.open()
        try:
            await load_demo(Directory(store, settings), staff_per_agency=4, only=["000.00.00.H45"])
            out = {}
            async with store.read() as tx:
                for box in (MIC, PY_ICT):
                    m = await tx.directory.mailbox_by_address(box)
                    assert m is not None
                    for h, person in await tx.directory.handlers_of(m.id):
                        if h.is_clerk:
                            out[box] = person.address
            return out
        finally:
            await store.close()

    return asyncio.run(go())


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(document_cmd.app, list(args))
    return result.exit_code, result.output


def test_the_document_commands(org: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("recipients", NOI_NHAN["000"], "-m", MIC)
    assert code == 0, out
    assert "cacbo@mic.gov.vn" in out and "sotttt@mic.gov.vn" in out
    code, out = invoke("recipients", "-m", MIC, "--", "- Ban Chỉ đạo quốc gia về CNTT;")
    assert code == 4 and "Ban Chỉ đạo" in out

    main = tmp_path / "22-BC-BTTTT.pdf"
    main.write_bytes(pdf())
    block = tmp_path / "noinhan.txt"
    block.write_text("- Sở TT&TT tỉnh Phú Yên (qua thư điện tử);\n- Lưu: VT.\n", encoding="utf-8")
    code, out = invoke(
        "send",
        "--as",
        org[MIC],
        "-m",
        MIC,
        "--type",
        "BC",
        "--subject",
        "Báo cáo thử",
        "--pdf",
        str(main),
        "--recipients",
        f"@{block}",
        "--signer",
        "Nguyễn Minh Hồng",
        "--due",
        "2030-01-31",
        "--json",
    )
    assert code == 0, out
    sent = json.loads(out)
    assert sent["symbol"].endswith("/BC-BTTTT")
    assert sent["sent"] == [{"address": PY_ICT, "ok": True, "reason": ""}]

    code, out = invoke("list", "-m", PY_ICT, "--in", "--json")
    assert code == 0, out
    (arrival,) = json.loads(out)
    assert arrival["symbol"] == sent["symbol"] and arrival["arrival"] == 1
    code, out = invoke("accept", str(arrival["id"]), "--as", org[PY_ICT])
    assert code == 0, out
    code, out = invoke("complete", str(arrival["id"]), "--as", org[PY_ICT], "--note", "Xong")
    assert code == 0, out
    code, out = invoke("status", str(sent["id"]), "--json")
    assert code == 0, out
    recipients = {r["address"]: r for r in json.loads(out)["recipients"]}
    assert recipients[PY_ICT]["code"] == "06" and recipients[PY_ICT]["note"] == "Xong"
    code, out = invoke("list", "-m", MIC)
    assert code == 0 and sent["symbol"] in out

    # A classified document is refused with its reason (exit status 3), nothing sent.
    code, out = invoke(
        "send",
        "--as",
        org[MIC],
        "-m",
        MIC,
        "--type",
        "BC",
        "--subject",
        "Báo cáo mật",
        "--pdf",
        str(main),
        "--recipients",
        f"@{block}",
        "--confidentiality",
        "Mật",
    )
    assert code == 3 and "Mật" in out
    code, out = invoke("policy", "-m", MIC, "--mandatory", "BC,GM", "--free-mail", "flag", "--json")
    assert code == 0 and json.loads(out)["mandatory_types"] == "BC, GM"
    code, out = invoke("unsent", "-m", MIC, "--from", "2000-01-01", "--to", "2100-01-01", "--json")
    assert code == 0
    assert [d["subject"] for d in json.loads(out)] == ["Báo cáo mật"]
    code, out = invoke("policy", "-m", MIC, "--legacy", "sometimes")
    assert code == 1
    code, out = invoke("problems", "-m", PY_ICT, "--json")
    assert code == 0 and json.loads(out) == []
    code, out = invoke("accept", "999", "--as", org[PY_ICT])
    assert code == 1
