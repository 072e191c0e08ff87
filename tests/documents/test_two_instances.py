"""Done when (issue 6): two govmail instances on loopback. Bộ TT&TT (instance A) issues a
report signed twice (the person, then the agency seal) whose "Nơi nhận" resolves to three
agencies of Phú Yên (instance B). B registers it in each agency, refuses it in one,
assigns and completes it in another, accepts it in the third; A's outgoing register shows
each status. A classified document, a TCVN3-encoded document and a document addressed to
a gmail.com recipient are each refused with their reason, and nothing is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.documents.docorg import pdf, signed_pdf, trust_test_root
from tests.documents.test_policies import mojibake
from tests.smtp.test_two_agencies import make_settings, wait_for
from tests.support.dns_server import DnsServer
from tests.support.ports import free_port

from govmail.app import App
from govmail.delivery.dkim_sign import dns_txt_record, generate_key
from govmail.directory import demo_data
from govmail.directory.demo import agency_mailbox_local
from govmail.documents.errors import DocumentRefused
from govmail.documents.sending import DocumentDraft, FileInput

A_IP, B_IP = "127.0.0.2", "127.0.0.3"
MIC_CODE, PY_CODE = "000.00.00.G14", "000.00.00.H45"
A_CLERK = "vanthu.bo@mic.gov.vn"
RECIPIENTS = """Nơi nhận:
- Như trên;
- Sở TT&TT tỉnh Phú Yên (qua thư điện tử);
- Sở Nội vụ tỉnh Phú Yên;
- Lưu: VT, UDCNTT.
"""


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    server = DnsServer({}).start()
    yield server
    server.stop()


async def load_agencies(app: App, root_code: str) -> dict[str, tuple[str, str, str]]:
    """The agency and its units from the national data: each with its agency mailbox, a
    clerk (văn thư) and one member of staff. Returns code -> (mailbox, clerk, staff)."""
    root = demo_data.agency_by_code(root_code)
    units = (
        demo_data.province_units(root)
        if root.kind == "province"
        else demo_data.ministry_units(root)
    )
    out: dict[str, tuple[str, str, str]] = {}
    async with app.directory.ops() as ops:
        await ops.add_domain(root.domain or "")
        for i, seed in enumerate((root, *units)):
            agency = await ops.add_agency(
                name=seed.name,
                short_name=seed.short_name,
                kind=seed.kind,
                code=seed.code,
                parent=seed.parent_code,
                domain=seed.domain,
                role=seed.role,
                place=seed.place,
            )
            box = await ops.add_mailbox(
                full_name=seed.name,
                agency=agency,
                kind="agency",
                local_part=agency_mailbox_local(seed),
            )
            clerk = await ops.add_mailbox(
                full_name="Trần Thị Văn Thư",
                agency=agency,
                position="Văn thư",
                local_part="vanthu.bo" if i == 0 and root.kind != "province" else f"vt{i}",
            )
            staff = await ops.add_mailbox(
                full_name="Lê Văn Tám",
                agency=agency,
                position="Chuyên viên",
                local_part=f"cv{i}",
            )
            await ops.add_handler(box.address, clerk.address, is_clerk=True)
            out[seed.code] = (box.address, clerk.address, staff.address)
    await app.pipeline.local_domains(refresh=True)
    return out


@pytest.fixture
async def instances(
    tmp_path: Path, dns: DnsServer
) -> AsyncIterator[
    tuple[App, App, dict[str, tuple[str, str, str]], dict[str, tuple[str, str, str]]]
]:
    port = free_port(B_IP)
    a = App(make_settings(tmp_path / "a", A_IP, "mail.mic.gov.vn", port, dns))
    b = App(make_settings(tmp_path / "b", B_IP, "mail.phuyen.gov.vn", port, dns))
    await a.start()
    await b.start()
    try:
        org_a = await load_agencies(a, MIC_CODE)
        org_b = await load_agencies(b, PY_CODE)
        for app, domain, ip in ((a, "mic.gov.vn", A_IP), (b, "phuyen.gov.vn", B_IP)):
            private, public = generate_key(1024)
            async with app.directory.ops() as ops:
                await ops.set_dkim_key(domain, "gm2026", private)
            dns.set(domain, "MX", [f"10 mx.{domain}."])
            dns.set(f"mx.{domain}", "A", [ip])
            dns.set(domain, "TXT", [f"v=spf1 ip4:{ip} -all"])
            dns.set(f"_dmarc.{domain}", "TXT", ["v=DMARC1; p=reject"])
            dns.set(f"gm2026._domainkey.{domain}", "TXT", [dns_txt_record(public)])
        trust_test_root(b.settings)
        yield a, b, org_a, org_b
    finally:
        await a.pipeline.wait_background()
        await b.pipeline.wait_background()
        await a.stop()
        await b.stop()


async def test_a_report_travels_between_two_instances_and_every_status_comes_back(
    instances: tuple[App, App, dict[str, tuple[str, str, str]], dict[str, tuple[str, str, str]]],
) -> None:
    a, b, org_a, org_b = instances
    mic_box, clerk, _ = org_a[MIC_CODE]
    py = {code: org_b[code] for code in (PY_CODE, "000.00.02.H45", "000.00.03.H45")}
    ubnd, ict, home = py[PY_CODE], py["000.00.02.H45"], py["000.00.03.H45"]

    # Resolution on A: the three agencies of B come from the national directory.
    async with a.store.read() as tx:
        mic = await tx.directory.agency_by_code(MIC_CODE)
    assert mic is not None
    plan = await a.documents.outgoing.plan(mic.id, RECIPIENTS, "Kính gửi: UBND tỉnh Phú Yên")
    sent_to = sorted(t.address for t in plan.targets() if not t.internal)
    assert sent_to == sorted([ubnd[0], ict[0], home[0]])
    assert plan.unresolved == []

    signed = await asyncio.to_thread(signed_pdf)
    draft = DocumentDraft(
        type="BC",
        subject="Tình hình thực hiện Chỉ thị số 34/2008/CT-TTg về sử dụng thư điện tử",
        signer_name="Nguyễn Minh Hồng",
        signer_position="Thứ trưởng",
        signer_competence="KT. BỘ TRƯỞNG",
        place="Hà Nội",
        due_date=a.documents.core.today() + timedelta(days=15),
        addressees="Kính gửi: UBND tỉnh Phú Yên",
        recipients=RECIPIENTS,
        files=[FileInput("22-BC-BTTTT.pdf", "application/pdf", signed, "main")],
    )
    issued = await a.documents.outgoing.issue(clerk, mic_box, draft)
    outcomes = await a.documents.outgoing.send(clerk, issued.id)
    assert sorted(o.address for o in outcomes if o.ok) == sent_to

    async def registered_everywhere() -> bool:
        for box, _, _ in (ubnd, ict, home):
            agency_id = await _agency_id(b, box)
            if len(await b.documents.incoming_register(agency_id)) != 1:
                return False
        return True

    await wait_for(registered_everywhere, 60)
    for box, _, _ in (ubnd, ict, home):
        (item,) = await b.documents.incoming_register(await _agency_id(b, box))
        doc = item.doc
        assert doc.doc_uid == issued.doc_uid and doc.arrival_number == 1
        assert doc.authentication == "pass"  # DKIM and SPF aligned: DMARC pass
        sigs = doc.signatures[0]["signatures"]
        assert [s["signer"] for s in sigs] == ["Nguyễn Minh Hồng", "Bộ Thông tin và Truyền thông"]
        assert all(s["intact"] and s["trusted"] for s in sigs)

    async def states() -> dict[str, str]:
        view = await a.documents.outgoing_document(issued.id)
        return {r.row.address: r.state for r in view.recipients if not r.row.internal}

    async def all_received() -> bool:
        return set((await states()).values()) == {"received"}

    await wait_for(all_received, 60)

    # B works on it: refused in one agency, assigned and completed in another.
    home_doc = (await b.documents.incoming_register(await _agency_id(b, home[0])))[0].doc
    await b.documents.incoming.refuse(home[1], home_doc.id, "Không thuộc chức năng của Sở")
    ict_doc = (await b.documents.incoming_register(await _agency_id(b, ict[0])))[0].doc
    deadline = b.documents.core.today() + timedelta(days=7)
    await b.documents.incoming.assign(ict[1], ict_doc.id, ict[2], deadline, "Tổng hợp số liệu")
    await b.documents.incoming.complete(ict[2], ict_doc.id, "Đã báo cáo UBND tỉnh")
    ubnd_doc = (await b.documents.incoming_register(await _agency_id(b, ubnd[0])))[0].doc
    await b.documents.incoming.accept(ubnd[1], ubnd_doc.id)

    expected = {home[0]: "refused", ict[0]: "completed", ubnd[0]: "accepted"}

    async def answered() -> bool:
        return await states() == expected

    await wait_for(answered, 60)
    view = await a.documents.outgoing_document(issued.id)
    rows = {r.row.address: r.row for r in view.recipients}
    assert rows[home[0]].status_text == "Không thuộc chức năng của Sở"
    assert rows[ict[0]].assigned_at and rows[ict[0]].completed_at and rows[ict[0]].accepted_at
    assert all(rows[x[0]].delivered_at for x in (ubnd, ict, home))
    register = await a.documents.outgoing_register(mic.id)
    assert [v.symbol for v in register] == [issued.symbol]
    assert await a.documents.problems([mic.id]) == []

    # Refused with their reasons, and nothing sent.
    queued_before = (await a.queue.admin.stats()).counts
    refused = {
        "classified": DocumentDraft(type="BC", subject="Phương án bảo vệ", confidentiality="Mật"),
        "tcvn3": DocumentDraft(
            type="BC", subject=mojibake("báo cáo tình hình ứng dụng công nghệ thông tin", "tcvn3")
        ),
        "gmail": DocumentDraft(
            type="BC",
            subject="Báo cáo số liệu",
            recipients=RECIPIENTS + "- chuyenvien.py@gmail.com;",
        ),
    }
    reasons = {}
    for name, d in refused.items():
        d.addressees = "Kính gửi: UBND tỉnh Phú Yên"
        d.recipients = d.recipients or RECIPIENTS
        d.files = [FileInput("vb.pdf", "application/pdf", pdf(), "main")]
        doc = await a.documents.outgoing.issue(clerk, mic_box, d)
        with pytest.raises(DocumentRefused) as exc:
            await a.documents.outgoing.send(clerk, doc.id)
        reasons[name] = exc.value.reason
    assert "Mật" in reasons["classified"] and "never sent by e-mail" in reasons["classified"]
    assert "TCVN3/ABC" in reasons["tcvn3"] and "Unicode" in reasons["tcvn3"]
    assert "chuyenvien.py@gmail.com" in reasons["gmail"]
    assert (await a.queue.admin.stats()).counts == queued_before
    await asyncio.sleep(0.5)
    for box, _, _ in (ubnd, ict, home):
        assert len(await b.documents.incoming_register(await _agency_id(b, box))) == 1


async def _agency_id(app: App, address: str) -> int:
    async with app.store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
    assert m is not None and m.agency_id is not None
    return m.agency_id
