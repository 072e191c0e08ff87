"""The documents pages: check a "Nơi nhận" block, issue and send with a PDF, the receiving
clerk registers and assigns it, the issuing clerk sees each recipient's status; pages
are limited to the people who handle the agency mailbox."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from tests.documents.docorg import MIC, PY_ICT, pdf
from tests.documents.test_recipients import NOI_NHAN
from tests.web.conftest import WebClient

from govmail.app import App
from govmail.config import Settings
from govmail.directory.demo import DEMO_PASSWORD, load_demo


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[App]:
    ls = settings.listeners
    for attr in (
        "smtp_port",
        "submission_port",
        "submissions_port",
        "http_port",
        "imap_port",
        "imaps_port",
        "pop3_port",
        "pop3s_port",
    ):
        setattr(ls, attr, 0)
    app = App(settings)
    await app.start()
    await load_demo(app.directory, staff_per_agency=4, only=["000.00.00.H45"])
    await app.pipeline.local_domains(refresh=True)
    try:
        yield app
    finally:
        await app.pipeline.wait_background()
        await app.stop()


async def people(app: App, agency_mailbox: str) -> tuple[int, str, str]:
    """(mailbox id, clerk, another member of staff) of an agency mailbox."""
    async with app.store.read() as tx:
        box = await tx.directory.mailbox_by_address(agency_mailbox)
        assert box is not None and box.agency_id is not None
        clerk = next(p.address for h, p in await tx.directory.handlers_of(box.id) if h.is_clerk)
        staff = [
            m.address
            for m in await tx.directory.mailboxes(agency_ids=[box.agency_id], kind="person")
            if m.address != clerk
        ]
    return box.id, clerk, staff[0]


async def login(app: App, address: str) -> WebClient:
    client = WebClient(app)
    r = await client.login(address, DEMO_PASSWORD)
    assert r.status_code == 200, r.text
    return client


async def test_clerks_issue_send_register_and_follow_documents_on_the_web(server: App) -> None:
    mic_id, mic_clerk, mic_staff = await people(server, MIC)
    ict_id, ict_clerk, ict_staff = await people(server, PY_ICT)
    web = await login(server, mic_clerk)
    other = await login(server, ict_clerk)
    outsider = await login(server, mic_staff)
    try:
        r = await web.get("/van-ban")
        assert r.status_code == 200 and MIC in r.text

        r = await web.post_form(
            f"/van-ban/noi-nhan?mb={mic_id}",
            {"recipients": NOI_NHAN["000"] + "- Ban Chỉ đạo quốc gia về CNTT;\n"},
        )
        assert r.status_code == 200
        assert "cacbo@mic.gov.vn" in r.text and "sotttt@mic.gov.vn" in r.text
        assert 'name="answer_8"' in r.text and "Ban Chỉ đạo quốc gia về CNTT" in r.text

        r = await web.get(f"/van-ban/moi?mb={mic_id}")
        assert r.status_code == 200
        form = {
            "type": "14",
            "subject": "Báo cáo thử trên web",
            "signer_name": "Nguyễn Minh Hồng",
            "urgency": "thuong",
            "recipients": "- Sở TT&TT tỉnh Phú Yên (qua thư điện tử);",
            "action": "send",
        }
        files = {"main": ("22-BC-BTTTT.pdf", pdf(), "application/pdf")}
        r = await web.post_form(f"/van-ban/moi?mb={mic_id}", form, files=files)
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        doc_path = location.split("?")[0]
        await server.pipeline.wait_background()
        r = await web.get(doc_path)
        assert r.status_code == 200 and "01/BC-BTTTT" in r.text and PY_ICT in r.text
        assert "Đã nhận, vào sổ" in r.text

        # The receiving clerk registers nothing by hand: it is there, with its file.
        r = await other.get(f"/van-ban/den?mb={ict_id}")
        assert r.status_code == 200 and "01/BC-BTTTT" in r.text
        doc_id = re.search(r'href="/van-ban/den/(\d+)"', r.text).group(1)  # type: ignore[union-attr]
        r = await other.get(f"/van-ban/den/{doc_id}")
        assert r.status_code == 200 and "22-BC-BTTTT.pdf" in r.text
        f = await other.get(f"/van-ban/den/{doc_id}/tep/0")
        assert f.status_code == 200 and f.content == pdf()
        assert f.headers["content-security-policy"] == "sandbox"
        r = await other.post_form(
            f"/van-ban/den/{doc_id}/xu-ly",
            {"action": "assign", "assignee": ict_staff, "deadline": "2031-01-15", "note": "Gấp"},
        )
        assert r.status_code == 303, r.text
        r = await other.post_form(f"/van-ban/den/{doc_id}/xu-ly", {"action": "refuse"})
        assert r.status_code == 409  # no reason, and not allowed once assigned
        await server.pipeline.wait_background()

        r = await web.get(doc_path)
        assert "Đã giao xử lý" in r.text
        # The clerk records that it also went out on paper; someone else cannot.
        assert "Ghi nhận đã gửi bản giấy" in r.text
        r = await outsider.post_form(f"{doc_path}/ban-giay", {})
        assert r.status_code == 303 and "error=" in r.headers["location"]
        r = await web.post_form(f"{doc_path}/ban-giay", {})
        assert r.status_code == 303 and "documents_paper" in r.headers["location"]
        r = await web.get(doc_path)
        assert "Đã gửi bản giấy" in r.text and "Ghi nhận đã gửi bản giấy" not in r.text
        async with server.store.read() as tx:
            channel = await tx.session.scalar(
                text("SELECT paper FROM outgoing_document WHERE id = :i"),
                {"i": int(doc_path.rsplit("/", 1)[1])},
            )
        assert channel
        # Someone of the ministry who does not handle its mailbox sees nothing.
        assert (await outsider.get(doc_path)).status_code == 404
        assert (await outsider.get(f"/van-ban/den/{doc_id}")).status_code == 404
        assert (await outsider.get(f"/van-ban/moi?mb={mic_id}")).status_code == 403

        # The other pages of the clerk.
        assert (await other.get(f"/van-ban/su-co?mb={ict_id}")).status_code == 200
        r = await web.get(f"/van-ban/chua-gui?mb={mic_id}")
        assert r.status_code == 200 and "chưa quy định" in r.text
        async with server.store.read() as tx:
            box = await tx.directory.mailbox_by_address(PY_ICT)
            inbox = await tx.mail.folder(box.id, "INBOX")  # type: ignore[union-attr]
            (message,) = await tx.mail.messages(inbox.id)  # type: ignore[union-attr]
        ref = f"{inbox.id}:{message.uid}"  # type: ignore[union-attr]
        r = await other.get(f"/van-ban/dang-ky?ref={ref}")
        assert r.status_code == 200 and "Báo cáo thử trên web" in r.text
        r = await other.post_form("/van-ban/dang-ky", {"ref": ref, "symbol": "01/BC-BTTTT"})
        assert r.status_code == 409 and "đã được đăng ký" in r.text
        assert (await outsider.get(f"/van-ban/dang-ky?ref={ref}")).status_code == 404

        # A classified document is refused with its reason, nothing is sent.
        form.update({"subject": "Kế hoạch mật", "confidentiality": "mat"})
        r = await web.post_form(f"/van-ban/moi?mb={mic_id}", form, files=files)
        assert r.status_code == 303
        r = await web.get(r.headers["location"])
        assert "văn bản mật không được gửi qua thư điện tử" in r.text
    finally:
        for c in (web, other, outsider):
            await c.close()


async def test_documents_over_the_api(server: App) -> None:
    import base64

    import httpx
    from tests.web.conftest import base_url

    from govmail.directory.base import Actor
    from govmail.web.api.tokens import create_token

    _mic_id, mic_clerk, mic_staff = await people(server, MIC)
    _ict_id, ict_clerk, _ict_staff = await people(server, PY_ICT)

    async def client(person: str) -> httpx.AsyncClient:
        token = await create_token(
            server.directory,
            Actor("test", "cli"),
            label="qlvb",
            scopes=["mail:send", "mail:read"],
            mailbox=person,
        )
        return httpx.AsyncClient(
            base_url=base_url(server) + "/api/v1",
            timeout=30,
            headers={"authorization": f"Bearer {token.secret}"},
        )

    mic, ict, staff = await client(mic_clerk), await client(ict_clerk), await client(mic_staff)
    try:
        body = {
            "agency_mailbox": MIC,
            "type": "GM",
            "subject": "Mời họp triển khai hệ thống",
            "signer": {"name": "Nguyễn Minh Hồng", "position": "Thứ trưởng"},
            "recipients": "- Sở TT&TT tỉnh Phú Yên;",
            "files": [
                {
                    "filename": "gm.pdf",
                    "content_type": "application/pdf",
                    "data": base64.b64encode(pdf()).decode(),
                }
            ],
        }
        r = await mic.post(
            "/documents/recipients", json={"agency_mailbox": MIC, "recipients": body["recipients"]}
        )
        assert r.status_code == 200 and r.json()["unresolved"] == []
        r = await mic.post("/documents", json=body)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["symbol"] == "01/GM-BTTTT" and created["sent"][0]["ok"]
        await server.pipeline.wait_background()
        r = await mic.get(f"/documents/outgoing/{created['id']}")
        assert r.status_code == 200 and r.json()["recipients"][0]["state"] == "received"
        assert (await staff.get(f"/documents/outgoing/{created['id']}")).status_code == 404
        assert (await staff.post("/documents", json=body)).status_code == 422  # not a clerk
        assert (await staff.post(f"/documents/{created['id']}/paper")).status_code == 422
        r = await mic.post(f"/documents/{created['id']}/paper")
        assert r.status_code == 200 and r.json() == {"id": created["id"], "paper": True,
                                                      "sent": True}

        r = await ict.get("/documents/incoming", params={"mailbox": PY_ICT})
        assert r.status_code == 200
        (arrival,) = r.json()["documents"]
        assert arrival["symbol"] == "01/GM-BTTTT" and arrival["files"][0]["name"] == "gm.pdf"
        r = await ict.post(f"/documents/incoming/{arrival['id']}/refuse", json={})
        assert r.status_code == 422  # a reason is required
        r = await ict.post(
            f"/documents/incoming/{arrival['id']}/refuse", json={"reason": "Trùng lịch"}
        )
        assert r.status_code == 200 and r.json()["status"] == "refused"
        await server.pipeline.wait_background()
        r = await mic.get("/documents/outgoing", params={"mailbox": MIC})
        (listed,) = r.json()["documents"]
        assert listed["recipients"][0]["state"] == "refused"
        assert listed["recipients"][0]["status_text"] == "Trùng lịch"

        r = await mic.post("/documents", json={**body, "recipients": "- ai@gmail.com;"})
        assert r.status_code == 422 and "ai@gmail.com" in r.json()["detail"]
        async with httpx.AsyncClient(base_url=base_url(server)) as anonymous:
            r = await anonymous.get("/api/v1/documents/incoming")
            assert r.status_code == 401
    finally:
        for c in (mic, ict, staff):
            await c.aclose()
