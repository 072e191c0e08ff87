"""One installation hosting Bộ TT&TT and Phú Yên: a document issued by the ministry goes
to three agencies of the province, each registers it and answers with statuses; the
ministry's outgoing register shows every step per recipient. Then the bad input: a
duplicate arrival, forged statuses, hostile or inconsistent envelopes, a tampered PDF, a
document from a plain mailbox registered by hand, and the report of unsent documents."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from tests.documents import docorg
from tests.documents.docorg import MIC, PY, PY_HOME, PY_ICT, DocEnv, pdf, signed_pdf
from tests.documents.test_envelope import BILLION_LAUGHS, XXE
from tests.documents.test_policies import mojibake

from govmail.documents.envelope import build_document, build_status, parse_package
from govmail.documents.errors import DocumentError, DocumentRefused
from govmail.documents.mailbuild import MailFile, build_mail
from govmail.documents.model import DocumentEnvelope, Organ, ResponseFor, StatusMessage
from govmail.documents.receiving import ManualFields
from govmail.documents.sending import DocumentDraft, FileInput
from govmail.mail.parsed import decoded_part, parse_message
from govmail.store.models import utcnow

docenv, docenv_sqlite = docorg.docenv, docorg.docenv_sqlite  # the fixtures

LEGACY_SUBJECT = "báo cáo tình hình sử dụng thư điện tử"
RECIPIENTS = """Nơi nhận:
- Như trên;
- Sở TT&TT tỉnh Phú Yên (qua thư điện tử);
- Sở Nội vụ tỉnh Phú Yên;
- Lưu: VT, UDCNTT.
"""


async def _issue_and_send(env: DocEnv, **changes: object) -> tuple[int, str]:
    clerk = await env.clerk(MIC)
    main = await asyncio.to_thread(signed_pdf)
    draft = DocumentDraft(
        type="BC",
        subject="Tình hình sử dụng hệ thống thư điện tử năm 2025",
        signer_name="Nguyễn Minh Hồng",
        signer_position="Thứ trưởng",
        signer_competence="KT. BỘ TRƯỞNG",
        place="Hà Nội",
        urgency="Khẩn",
        due_date=env.documents.core.today() + timedelta(days=10),
        addressees="Kính gửi: UBND tỉnh Phú Yên",
        recipients=RECIPIENTS,
        files=[
            FileInput("22-BC-BTTTT.pdf", "application/pdf", main, "main"),
            FileInput("Phụ lục số liệu.pdf", "application/pdf", pdf(), "appendix"),
        ],
    )
    for k, v in changes.items():
        setattr(draft, k, v)
    issued = await env.documents.outgoing.issue(clerk, MIC, draft)
    await env.documents.outgoing.send(clerk, issued.id)
    await env.settle()
    return issued.id, issued.doc_uid


async def _incoming(env: DocEnv, agency_mailbox: str):  # type: ignore[no-untyped-def]
    async with env.store.read() as tx:
        box = await tx.directory.mailbox_by_address(agency_mailbox)
        assert box is not None and box.agency_id is not None
    return await env.documents.incoming_register(box.agency_id)


async def _problems(env: DocEnv, agency_mailbox: str) -> list[str]:
    async with env.store.read() as tx:
        box = await tx.directory.mailbox_by_address(agency_mailbox)
        assert box is not None and box.agency_id is not None
    return [p.kind for p in await env.documents.problems([box.agency_id])]


async def test_document_sent_registered_and_answered_per_recipient(docenv: DocEnv) -> None:
    env = docenv
    docorg.trust_test_root(env.settings)
    doc_id, uid = await _issue_and_send(env)

    view = await env.documents.outgoing_document(doc_id)
    assert view.doc.status == "sent" and view.symbol == "01/BC-BTTTT"
    states = {r.row.address: r.state for r in view.recipients}
    assert states == {
        PY: "received",
        PY_ICT: "received",
        PY_HOME: "received",
        MIC: "internal",
        "udcntt@mic.gov.vn": "internal",
    }

    # Each agency of the province registered it with its own arrival number.
    for box in (PY, PY_ICT, PY_HOME):
        (item,) = await _incoming(env, box)
        d = item.doc
        assert (d.arrival_number, d.doc_uid, d.source) == (1, uid, "edxml")
        assert (d.number_text, d.notation, d.type_name) == ("01", "BC-BTTTT", "Báo cáo")
        assert d.issuer_code == "000.00.00.G14" and d.sender_address == MIC
        assert d.urgency == "khan" and d.authentication == "local"
        assert [f["role"] for f in d.files] == ["main", "appendix"]
        main_sigs = d.signatures[0]["signatures"]
        assert [s["signer"] for s in main_sigs] == [
            "Nguyễn Minh Hồng",
            "Bộ Thông tin và Truyền thông",
        ]
        assert all(s["intact"] and s["trusted"] for s in main_sigs)
        assert any(w.startswith("unsigned:") for w in d.warnings)  # the appendix
        name, ctype, data = await env.documents.incoming.file_of(d, 0)
        assert (name, ctype) == ("22-BC-BTTTT.pdf", "application/pdf")
        assert data == await asyncio.to_thread(signed_pdf)
    # The message itself is readable mail with the envelope attached.
    (raw,) = await env.inbox(PY_ICT)
    parsed = parse_message(raw)
    assert parsed.subject == "[KHẨN] Báo cáo số 01/BC-BTTTT: " + view.doc.subject
    assert [a.filename for a in parsed.attachments][:2] == [
        "22-BC-BTTTT.pdf",
        "Phụ lục số liệu.pdf",
    ]
    assert parsed.attachments[2].filename.endswith(".edxml")  # type: ignore[union-attr]
    pkg = parse_package(decoded_part(raw, parsed, parsed.attachments[2].part))
    assert isinstance(pkg, DocumentEnvelope) and pkg.priority == 1
    assert {r.email for r in pkg.recipients} == {PY, PY_ICT, PY_HOME}
    assert "Như trên" in pkg.to_places

    # Refused by one agency, assigned and completed in another, accepted by the third.
    home = (await _incoming(env, PY_HOME))[0].doc
    await env.documents.incoming.refuse(await env.clerk(PY_HOME), home.id, "Không thuộc thẩm quyền")
    ict = (await _incoming(env, PY_ICT))[0].doc
    ict_clerk = await env.clerk(PY_ICT)
    staff = (await env.staff(PY_ICT))[0]
    deadline = env.documents.core.today() + timedelta(days=5)
    with pytest.raises(DocumentError):  # staff cannot assign
        await env.documents.incoming.assign(staff, ict.id, staff, deadline)
    with pytest.raises(DocumentError):  # nobody outside the agency
        await env.documents.incoming.assign(ict_clerk, ict.id, await env.clerk(PY), deadline)
    await env.documents.incoming.assign(ict_clerk, ict.id, staff, deadline, "Tổng hợp số liệu")
    await env.settle()
    (notice,) = [parse_message(r) for r in await env.inbox(staff)]
    assert notice.subject.startswith("Giao xử lý văn bản 01/BC-BTTTT")
    assert [a.filename for a in notice.attachments] == ["22-BC-BTTTT.pdf", "Phụ lục số liệu.pdf"]
    await env.documents.incoming.progress(staff, ict.id, "Đang tổng hợp")
    await env.documents.incoming.complete(staff, ict.id, "Đã báo cáo bằng văn bản 12/STTTT-CNTT")
    with pytest.raises(DocumentError):  # completed is final
        await env.documents.incoming.refuse(ict_clerk, ict.id, "x")
    ubnd = (await _incoming(env, PY))[0].doc
    await env.documents.incoming.accept(await env.clerk(PY), ubnd.id)
    await env.settle()

    view = await env.documents.outgoing_document(doc_id)
    rows = {r.row.address: r for r in view.recipients}
    assert rows[PY_HOME].state == "refused"
    assert rows[PY_HOME].row.status_text == "Không thuộc thẩm quyền"
    assert rows[PY_ICT].state == "completed"
    ict_row = rows[PY_ICT].row
    assert all(
        getattr(ict_row, c)
        for c in ("received_at", "accepted_at", "assigned_at", "in_progress_at", "completed_at")
    )
    assert rows[PY].state == "accepted"
    assert not any(r.overdue for r in view.recipients)
    (ict_view,) = await _incoming(env, PY_ICT)
    assert ict_view.doc.status == "completed" and ict_view.assignee.address == staff
    events = await env.documents.events(outgoing_id=doc_id)
    assert [e.code for e in events if e.kind == "status_in" and e.actor == PY_ICT] == [
        "01",
        "03",
        "04",
        "05",
        "06",
    ]
    assert await _problems(env, MIC) == []

    # Overdue: a recipient that has not completed once the deadline has passed.
    async with env.store.write() as tx:
        row = await env.documents.core.repo(tx).outgoing(doc_id)
        assert row is not None
        row.due_date = date(2020, 1, 1)
    view = await env.documents.outgoing_document(doc_id)
    assert {r.row.address for r in view.recipients if r.overdue} == {PY}


async def test_duplicate_arrival_is_reported_and_not_registered_twice(docenv: DocEnv) -> None:
    env = docenv
    await _issue_and_send(env, recipients="- Sở TT&TT tỉnh Phú Yên;", addressees="")
    (raw,) = await env.inbox(PY_ICT)
    # The same message delivered again, and twice at once.
    await asyncio.gather(env.deliver_mx(raw, MIC, [PY_ICT]), env.deliver_mx(raw, MIC, [PY_ICT]))
    items = await _incoming(env, PY_ICT)
    assert len(items) == 1 and items[0].doc.arrival_number == 1
    assert await _problems(env, PY_ICT) == ["duplicate", "duplicate"]


async def test_forged_and_stray_status_messages_change_nothing(docenv_sqlite: DocEnv) -> None:
    env = docenv_sqlite
    doc_id, uid = await _issue_and_send(env, recipients="- Sở TT&TT tỉnh Phú Yên;", addressees="")

    def status_mail(sender: str, organ: str, code: str, document_id: str = uid) -> bytes:
        pkg = build_status(
            StatusMessage(
                ResponseFor("000.00.00.G14", "01/BC-BTTTT", None, document_id),
                Organ(organ, "Cơ quan", email=sender),
                code,
                "Đã hoàn thành",
                utcnow(),
            )
        )
        return build_mail(
            from_name="X",
            from_addr=sender,
            to=[(None, MIC)],
            subject="Trạng thái",
            body="x",
            files=[],
            package=pkg,
            package_name="Status.edxml",
            date=utcnow(),
        )

    before = (await env.documents.outgoing_document(doc_id)).recipients
    # Not a recipient (a sở of the same province that was not sent the document).
    await env.deliver_mx(status_mail(PY_HOME, "000.00.03.H45", "06"), PY_HOME, [MIC])
    # From the Internet, another province.
    await env.deliver_mx(
        status_mail("vanthu@nghean.gov.vn", "000.00.00.H41", "06"), "vanthu@nghean.gov.vn", [MIC]
    )
    # The right mailbox but another agency's code.
    await env.deliver_mx(status_mail(PY_ICT, "000.00.03.H45", "06"), PY_ICT, [MIC])
    # A document this agency never issued.
    await env.deliver_mx(
        status_mail(PY_ICT, "000.00.02.H45", "06", "000.00.00.G14,2020/01/01,99/BC-BTTTT"),
        PY_ICT,
        [MIC],
    )
    after = (await env.documents.outgoing_document(doc_id)).recipients
    assert [(r.row.status_code, r.row.completed_at) for r in after] == [
        (r.row.status_code, r.row.completed_at) for r in before
    ]
    assert await _problems(env, MIC) == [
        "unknown_status",
        "forged_status",
        "forged_status",
        "forged_status",
    ]
    # The real recipient's status is applied.
    await env.deliver_mx(status_mail(PY_ICT, "000.00.02.H45", "06"), PY_ICT, [MIC])
    (row,) = (await env.documents.outgoing_document(doc_id)).recipients
    assert row.state == "completed"


def _document_mail(
    env_pkg: DocumentEnvelope,
    files: list[MailFile],
    *,
    frm: str = MIC,
    to: str = PY,
    package: bytes | None = None,
) -> bytes:
    return build_mail(
        from_name="Bộ Thông tin và Truyền thông",
        from_addr=frm,
        to=[(None, to)],
        subject="Báo cáo",
        body="Văn bản kèm theo.",
        files=files,
        package=package if package is not None else build_document(env_pkg),
        package_name="SendDocument.edxml",
        date=utcnow(),
        headers=[("X-Govmail-Document", env_pkg.document_id)],
    )


async def test_hostile_and_inconsistent_arrivals_are_reported_not_registered(
    docenv_sqlite: DocEnv,
) -> None:
    env = docenv_sqlite
    docorg.trust_test_root(env.settings)
    main = await asyncio.to_thread(signed_pdf)
    from tests.documents.test_envelope import document

    def good(**changes: object) -> DocumentEnvelope:
        pkg = document()
        pkg.recipients = [Organ("000.00.00.H45", "UBND tỉnh Phú Yên", email=PY)]
        pkg.response_for = []
        pkg.files = [pkg.files[0]]
        for k, v in changes.items():
            setattr(pkg, k, v)
        return pkg

    files = [MailFile("22-BC-BTTTT.pdf", "application/pdf", main, "a1@mic.gov.vn")]
    tampered = (
        main.replace(b"Nguyen", b"Nguyeen")
        if b"Nguyen" in main
        else (main[:2000] + bytes([main[2000] ^ 1]) + main[2001:])
    )
    cases = [
        ("billion laughs", _document_mail(good(), files, package=BILLION_LAUGHS), MIC),
        ("xxe", _document_mail(good(), files, package=XXE), MIC),
        (
            "other sender",
            _document_mail(good(), files, frm="vanthu@nghean.gov.vn"),
            "vanthu@nghean.gov.vn",
        ),
        (
            "not for us",
            _document_mail(
                good(recipients=[Organ("000.00.00.H41", "Nghệ An", email="vanthu@nghean.gov.vn")]),
                files,
            ),
            MIC,
        ),
        ("missing file", _document_mail(good(), []), MIC),
        (
            "tampered",
            _document_mail(
                good(), [MailFile("22-BC-BTTTT.pdf", "application/pdf", tampered, "a1@mic.gov.vn")]
            ),
            MIC,
        ),
    ]
    header_raw = _document_mail(good(), files).replace(
        b"X-Govmail-Document: 000.00.00.G14,2011/11/18,22/BC-BTTTT",
        b"X-Govmail-Document: 000.00.00.G14,2011/11/18,23/BC-BTTTT",
    )
    cases.append(("header id", header_raw, MIC))
    for _name, raw, sender in cases:
        await env.deliver_mx(raw, sender, [PY])
    assert await _incoming(env, PY) == []
    kinds = await _problems(env, PY)
    assert sorted(kinds) == sorted(
        [
            "malformed_envelope",
            "malformed_envelope",
            "header_mismatch",
            "misaddressed",
            "missing_file",
            "bad_signature",
            "header_mismatch",
        ]
    )
    # Nothing went back to the sender for any of them.
    assert all("Trạng thái" not in parse_message(r).subject for r in await env.inbox(MIC))
    # The same document, well formed, is registered (duplicates are by DocumentId only).
    await env.deliver_mx(_document_mail(good(), files), MIC, [PY])
    (item,) = await _incoming(env, PY)
    assert item.doc.authentication == "unverified"  # no DMARC check in this pipeline


async def test_plain_mail_registered_by_hand(docenv_sqlite: DocEnv) -> None:
    env = docenv_sqlite
    raw = build_mail(
        from_name="Văn phòng UBND thành phố Tuy Hòa",
        from_addr="vp.tuyhoa@gmail.com",
        to=[(None, PY)],
        subject="Công văn 15/UBND-VP (bản chụp)",
        body="Gửi bản chụp.",
        files=[MailFile("15-UBND-VP.pdf", "application/pdf", pdf())],
        package=b"",
        package_name="x.txt",
        date=utcnow(),
    )
    await env.deliver_mx(raw, "vp.tuyhoa@gmail.com", [PY])
    assert await _incoming(env, PY) == []  # no envelope: nothing automatic
    async with env.store.read() as tx:
        box = await tx.directory.mailbox_by_address(PY)
        assert box is not None
        inbox = await tx.mail.folder(box.id, "INBOX")
        assert inbox is not None
        (msg,) = await tx.mail.messages(inbox.id)
    clerk = await env.clerk(PY)
    fields = ManualFields(
        symbol="15/UBND-VP", issuer_name="UBND thành phố Tuy Hòa", issued_on=date(2025, 5, 6)
    )
    with pytest.raises(DocumentError):  # only clerks
        await env.documents.incoming.register_message(
            (await env.staff(PY))[0], inbox.id, msg.uid, fields
        )
    doc = await env.documents.incoming.register_message(clerk, inbox.id, msg.uid, fields)
    assert (doc.arrival_number, doc.source, doc.type_name) == (1, "manual", "Công văn")
    assert doc.files[0]["name"] == "15-UBND-VP.pdf"
    with pytest.raises(DocumentError):
        await env.documents.incoming.register_message(clerk, inbox.id, msg.uid, fields)
    # Hand-registered documents have nobody to send statuses to, but can be worked on.
    await env.documents.incoming.accept(clerk, doc.id)
    await env.documents.incoming.complete(clerk, doc.id, "Đã xử lý")


async def test_refused_sending_sends_nothing_and_the_unsent_report(docenv_sqlite: DocEnv) -> None:
    env = docenv_sqlite
    clerk = await env.clerk(MIC)
    drafts = {
        "classified": DocumentDraft(
            type="BC", subject="Báo cáo tình hình an ninh", confidentiality="Tối mật"
        ),
        "gmail": DocumentDraft(
            type="BC",
            subject="Báo cáo số liệu",
            recipients="- Sở TT&TT tỉnh Phú Yên;\n- canbo@gmail.com;",
        ),
        "tcvn3": DocumentDraft(type="BC", subject=mojibake(LEGACY_SUBJECT, "tcvn3")),
    }
    reasons = {}
    for name, draft in drafts.items():
        if not draft.recipients:
            draft.recipients = "- Sở TT&TT tỉnh Phú Yên;"
        draft.files = [FileInput("a.pdf", "application/pdf", pdf(), "main")]
        issued = await env.documents.outgoing.issue(clerk, MIC, draft)
        with pytest.raises(DocumentRefused) as exc:
            await env.documents.outgoing.send(clerk, issued.id)
        reasons[name] = exc.value.reason
        view = await env.documents.outgoing_document(issued.id)
        assert view.doc.status == "refused" and view.doc.send_error == exc.value.reason
        assert all(r.row.sent_at is None for r in view.recipients)
    assert "Tối mật" in reasons["classified"] and "never sent by e-mail" in reasons["classified"]
    assert "canbo@gmail.com" in reasons["gmail"]
    assert "TCVN3" in reasons["tcvn3"]
    await env.settle()
    assert await env.inbox(PY_ICT) == []
    # Converted on request, the TCVN3 document goes.
    drafts["tcvn3"].files = [FileInput("a.pdf", "application/pdf", pdf(), "main")]
    issued = await env.documents.outgoing.issue(clerk, MIC, drafts["tcvn3"], convert_legacy=True)
    await env.documents.outgoing.send(clerk, issued.id)
    view = await env.documents.outgoing_document(issued.id)
    assert view.doc.subject == LEGACY_SUBJECT

    # Mandatory-electronic types issued but never sent.
    async with env.store.read() as tx:
        mic = await tx.directory.agency_by_code("000.00.00.G14")
    assert mic is not None
    await env.documents.set_policy("admin", mic.id, mandatory_types=["BC", "Giấy mời"])
    today = env.documents.core.today()
    unsent = await env.documents.unsent_report(mic.id, today - timedelta(days=1), today)
    assert sorted(d.subject for d in unsent) == [
        "Báo cáo số liệu",
        "Báo cáo tình hình an ninh",
        "b¸o c¸o t×nh h×nh sö dông th­ ®iÖn tö",
    ][:0] or sorted(d.subject for d in unsent) == sorted(
        ["Báo cáo tình hình an ninh", "Báo cáo số liệu", drafts["tcvn3"].subject]
    )
    with pytest.raises(DocumentError):
        await env.documents.set_policy("admin", mic.id, mandatory_types=["Không có"])
