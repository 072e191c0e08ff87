"""Webmail over HTTP: folders, listing, reading, attachments, composing, drafts, actions,
search, suggestions, two-step login, agency mailboxes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from tests.web.conftest import (
    DUC,
    HANG,
    PASSWORD,
    TAM,
    WebClient,
    append,
    folder_id,
    folder_messages,
)

from govmail.app import App
from govmail.mail.parsed import parse_message, text_body
from govmail.web import totp

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def mail(
    subject: str,
    body: str = "Nội dung thư.",
    *,
    sender: str = "Trần Văn Đức <ductv@mic.gov.vn>",
    to: str = HANG,
    cc: str | None = None,
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = format_datetime(date or datetime.now(UTC))
    m["Message-ID"] = message_id or f"<{abs(hash((subject, body, str(date))))}@mic.gov.vn>"
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    if html is not None:
        m.add_alternative(html, subtype="html")
    for name, ctype, data in attachments:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes()


async def fill_inbox(app: App, n: int, address: str = HANG) -> None:
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    for i in range(n):
        raw = mail(
            f"Công văn số {i:03d} về việc triển khai thư điện tử",
            f"Kính gửi đồng chí. Thư thứ {i}.",
            date=start + timedelta(minutes=i),
        )
        async with app.store.read() as tx:
            folder = await tx.mail.folder_by_id(await folder_id(app, address))
        assert folder is not None
        await app.mailstore.append(folder, raw, internal_date=start + timedelta(minutes=i))


def subjects(html: str) -> list[str]:
    return re.findall(
        r'<td class="subj"><a href="[^"]+">(?:<span[^>]*>★</span> )?([^<]+)</a>', html
    )


async def test_folder_list_shows_unread_counts(server: App, hang: WebClient) -> None:
    await fill_inbox(server, 3)
    r = await hang.follow(await hang.get("/mail"))
    assert re.search(r"Hộp thư đến <b class=\"n\">3</b>", r.text)
    assert "3 thư" in r.text
    assert r.text.count('<tr class="unseen">') == 3
    # Agency mailboxes the user handles are listed beside her own.
    assert "Văn thư Bộ" in r.text


async def test_listing_pages_and_sorts(server: App, hang: WebClient) -> None:
    await fill_inbox(server, 60)
    inbox = await folder_id(server, HANG)
    r = await hang.get(f"/mail/f/{inbox}")
    first = subjects(r.text)
    assert len(first) == 50 and first[0].startswith("Công văn số 059")
    assert "Trang 1/2" in r.text
    r = await hang.get(f"/mail/f/{inbox}?page=2")
    second = subjects(r.text)
    assert len(second) == 10 and second[-1].startswith("Công văn số 000")
    r = await hang.get(f"/mail/f/{inbox}?sort=subject&dir=asc")
    assert subjects(r.text)[0].startswith("Công văn số 000")
    r = await hang.get(f"/mail/f/{inbox}?page=99")
    assert "Trang 2/2" in r.text  # past the end: the last page
    r = await hang.get(f"/mail/f/{inbox}?show=unseen&sort=bogus")
    assert r.status_code == 200 and len(subjects(r.text)) == 50


async def test_reading_a_plain_message_marks_it_seen(server: App, hang: WebClient) -> None:
    uid = await append(
        server,
        HANG,
        mail("Giấy mời họp", "Mời đồng chí dự họp.\nXem https://mic.gov.vn/lich\n> trích"),
    )
    inbox = await folder_id(server, HANG)
    r = await hang.get(f"/mail/f/{inbox}/m/{uid}")
    assert r.status_code == 200
    assert "Giấy mời họp" in r.text and "Trần Văn Đức" in r.text
    assert (
        '<a href="https://mic.gov.vn/lich" target="_blank" rel="noopener noreferrer nofollow">'
        in r.text
    )
    assert '<span class="q1">' in r.text
    assert "<iframe" not in r.text
    (m,) = await folder_messages(server, HANG)
    assert m.seen


async def test_html_body_is_sanitised_in_a_sandboxed_frame(server: App, hang: WebClient) -> None:
    html = (
        '<p onclick="alert(1)">Kính gửi <b>anh</b></p><script>alert(2)</script>'
        '<img src="https://tracker.example/p.gif"><a href="javascript:alert(3)">x</a>'
    )
    uid = await append(server, HANG, mail("Bản tin", "Bản tin", html=html))
    inbox = await folder_id(server, HANG)
    r = await hang.get(f"/mail/f/{inbox}/m/{uid}")
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in r.text
    assert f'src="/mail/f/{inbox}/m/{uid}/body"' in r.text
    assert "Đã chặn 1 hình ảnh" in r.text
    body = await hang.get(f"/mail/f/{inbox}/m/{uid}/body")
    csp = body.headers["content-security-policy"]
    assert "img-src data:;" in csp and "sandbox" in csp and "script" not in csp.split("sandbox")[0]
    assert body.headers["x-frame-options"] == "SAMEORIGIN"
    assert "<b>anh</b>" in body.text
    for bad in ("onclick", "<script", "alert(2)", "tracker.example", "javascript:"):
        assert bad not in body.text
    shown = await hang.get(f"/mail/f/{inbox}/m/{uid}/body?images=1")
    assert "https://tracker.example/p.gif" in shown.text
    assert "img-src data: https: http:" in shown.headers["content-security-policy"]
    page = await hang.get(f"/mail/f/{inbox}/m/{uid}?images=1")
    assert "Đã chặn" not in page.text and "/body?images=1" in page.text


async def test_attachments_download_and_pdf_opens_in_the_browser(
    server: App, hang: WebClient
) -> None:
    raw = mail(
        "Văn bản đính kèm",
        attachments=[
            ("Quyết định số 12.pdf", "application/pdf", PDF),
            ("bảng.csv", "text/csv", b"a,b\n1,2\n"),
        ],
    )
    uid = await append(server, HANG, raw)
    inbox = await folder_id(server, HANG)
    r = await hang.get(f"/mail/f/{inbox}/m/{uid}")
    parts = re.findall(r'href="(/mail/f/\d+/m/\d+/part/[0-9.]+)" download>([^<]+)<', r.text)
    assert [name for _, name in parts] == ["Quyết định số 12.pdf", "bảng.csv"]
    pdf = await hang.get(parts[0][0])
    assert pdf.content == PDF
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Quy%E1%BA%BFt" in pdf.headers["content-disposition"]
    inline = await hang.get(parts[0][0] + "?inline=1")
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;")
    csv = await hang.get(parts[1][0])
    assert csv.content == b"a,b\n1,2\n"
    assert csv.headers["content-type"] == "application/octet-stream"
    assert "sandbox" in csv.headers["content-security-policy"]
    assert (await hang.get(f"/mail/f/{inbox}/m/{uid}/part/9")).status_code == 404
    src = await hang.get(f"/mail/f/{inbox}/m/{uid}/source")
    assert src.content == raw


async def test_send_with_vietnamese_subject_and_attachment(server: App, hang: WebClient) -> None:
    await hang.get("/compose")
    subject = "Báo cáo tình hình ứng dụng CNTT quý IV"
    r = await hang.http.post(
        "/compose",
        data={
            "_csrf": hang.csrf,
            "from": HANG,
            "to": f"Trần Văn Đức <{DUC}>",
            "cc": TAM,
            "subject": subject,
            "body": "Kính gửi anh Đức,\nEm gửi báo cáo.",
            "action": "send",
        },
        files={"attachment": ("Báo cáo quý IV.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 303 and r.headers["location"] == "/mail?flash=sent"
    for address in (DUC, TAM):
        (m,) = await folder_messages(server, address)
        assert m.subject == subject and m.has_attachments
    (sent,) = await folder_messages(server, HANG, "Sent")
    raw = await server.mailstore.read_raw(sent)
    parsed = parse_message(raw)
    assert parsed.from_addr == HANG and parsed.subject == subject
    assert [a.filename for a in parsed.attachments] == ["Báo cáo quý IV.pdf"]
    assert (text_body(raw, parsed)[0] or "").rstrip() == "Kính gửi anh Đức,\nEm gửi báo cáo."
    r = await hang.follow(r)
    assert "Đã gửi thư." in r.text


async def test_send_refusals_keep_the_message(server: App, hang: WebClient) -> None:
    await hang.get("/compose")
    r = await hang.post_form(
        "/compose", {"to": "không phải địa chỉ", "subject": "S", "body": "B", "action": "send"}
    )
    assert r.status_code == 400 and "Địa chỉ không hợp lệ" in r.text
    assert 'value="không phải địa chỉ"' in r.text  # what was typed is kept
    r = await hang.post_form("/compose", {"to": "", "subject": "S", "body": "B", "action": "send"})
    assert r.status_code == 400 and "ít nhất một người nhận" in r.text
    # The pipeline refuses an unknown local recipient; the message is kept as a draft.
    r = await hang.post_form(
        "/compose", {"to": "khongco@mic.gov.vn", "subject": "S", "body": "B", "action": "send"}
    )
    assert r.status_code == 422 and "khongco@mic.gov.vn" in r.text and "Thư nháp" in r.text
    (draft,) = await folder_messages(server, HANG, "Drafts")
    assert draft.subject == "S"
    # Nobody may send as someone else: a forged From falls back to the user's own address.
    r = await hang.post_form(
        "/compose", {"from": DUC, "to": TAM, "subject": "Giả", "body": "B", "action": "send"}
    )
    assert r.status_code == 303
    (m,) = await folder_messages(server, TAM)
    assert m.from_addr == HANG


async def test_send_as_a_handled_agency_mailbox(server: App, hang: WebClient) -> None:
    r = await hang.get("/compose")
    assert 'value="vanthu@mic.gov.vn"' in r.text
    r = await hang.post_form(
        "/compose",
        {"from": "vanthu@mic.gov.vn", "to": TAM, "subject": "Công văn", "body": "B",
         "action": "send"},
    )  # fmt: skip
    assert r.status_code == 303
    (m,) = await folder_messages(server, TAM)
    assert m.from_addr == "vanthu@mic.gov.vn"


async def test_reply_reply_all_and_forward(server: App, hang: WebClient) -> None:
    raw = mail(
        "Lịch công tác tuần",
        "Lịch tuần sau.",
        to=f"{HANG}, {TAM}",
        cc="Lãnh đạo <lanhdao@mic.gov.vn>",
        message_id="<lich-1@mic.gov.vn>",
        attachments=[("lịch.pdf", "application/pdf", PDF)],
    )
    uid = await append(server, HANG, raw)
    inbox = await folder_id(server, HANG)
    r = await hang.get(f"/compose?reply={inbox}:{uid}")
    assert 'name="to" value="Trần Văn Đức &lt;ductv@mic.gov.vn&gt;"' in r.text
    assert 'value="Re: Lịch công tác tuần"' in r.text
    assert "&gt; Lịch tuần sau." in r.text and "đã viết:" in r.text
    assert 'name="in_reply_to" value="&lt;lich-1@mic.gov.vn&gt;"' in r.text
    r = await hang.get(f"/compose?reply={inbox}:{uid}&all=1")
    cc = re.search(r'name="cc" value="([^"]*)"', r.text)
    assert cc is not None and TAM in cc.group(1) and "lanhdao@mic.gov.vn" in cc.group(1)
    assert HANG not in cc.group(1)
    form = {
        k: v
        for k, v in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', r.text)
    }
    r = await hang.post_form(
        "/compose",
        {"to": DUC, "subject": "Re: Lịch công tác tuần", "body": "Đã nhận.", "action": "send",
         "in_reply_to": "<lich-1@mic.gov.vn>", "references": "<lich-1@mic.gov.vn>",
         "reply_ref": form["reply_ref"]},
    )  # fmt: skip
    assert r.status_code == 303
    (original,) = await folder_messages(server, HANG)
    assert original.answered
    (got,) = await folder_messages(server, DUC)
    assert got.meta["in_reply_to"] == "<lich-1@mic.gov.vn>"

    r = await hang.get(f"/compose?forward={inbox}:{uid}")
    assert 'value="Fwd: Lịch công tác tuần"' in r.text
    keep = re.findall(r'name="keep" value="([^"]+)" checked', r.text)
    assert len(keep) == 1
    r = await hang.post_form(
        "/compose",
        [("to", TAM), ("subject", "Fwd: Lịch công tác tuần"), ("body", "Chuyển anh."),
         ("action", "send"), ("keep", keep[0]), ("forward_ref", f"{inbox}:{uid}")],
    )  # fmt: skip
    assert r.status_code == 303
    (fwd,) = await folder_messages(server, TAM)
    assert fwd.has_attachments
    fwd_raw = await server.mailstore.read_raw(fwd)
    assert [a.filename for a in parse_message(fwd_raw).attachments] == ["lịch.pdf"]
    (original,) = await folder_messages(server, HANG)
    assert "$Forwarded" in original.keywords


async def test_drafts_are_saved_reopened_and_sent(server: App, hang: WebClient) -> None:
    await hang.get("/compose")
    r = await hang.http.post(
        "/compose",
        data={"_csrf": hang.csrf, "to": DUC, "bcc": TAM, "subject": "Dự thảo tờ trình",
              "body": "Bản nháp.", "action": "draft"},
        files={"attachment": ("dự thảo.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/compose?draft=")
    (draft,) = await folder_messages(server, HANG, "Drafts")
    assert draft.draft and draft.seen
    r = await hang.follow(r)
    assert "Đã lưu thư nháp." in r.text and 'value="Dự thảo tờ trình"' in r.text
    assert TAM in r.text  # Bcc kept in the draft
    keep = re.findall(r'name="keep" value="([^"]+)" checked', r.text)
    draft_ref = re.search(r'name="draft_ref" value="([^"]+)"', r.text)
    assert keep and draft_ref
    # The drafts folder opens drafts in the editor.
    drafts = await folder_id(server, HANG, "Drafts")
    listing = await hang.get(f"/mail/f/{drafts}")
    assert f"/compose?draft={drafts}:{draft.uid}" in listing.text
    r = await hang.post_form(
        "/compose",
        [("to", DUC), ("bcc", TAM), ("subject", "Dự thảo tờ trình"), ("body", "Bản cuối."),
         ("action", "send"), ("keep", keep[0]), ("draft_ref", draft_ref.group(1))],
    )  # fmt: skip
    assert r.status_code == 303
    assert await folder_messages(server, HANG, "Drafts") == []
    (got,) = await folder_messages(server, TAM)  # Bcc delivered...
    raw = await server.mailstore.read_raw(got)
    assert b"Bcc:" not in raw and TAM.encode() not in raw.split(b"\r\n\r\n")[0]  # ...not shown
    assert got.has_attachments


async def test_move_flag_and_delete(server: App, hang: WebClient) -> None:
    await fill_inbox(server, 3)
    inbox = await folder_id(server, HANG)
    archive = await folder_id(server, HANG, "Archive")
    trash = await folder_id(server, HANG, "Trash")
    await hang.get(f"/mail/f/{inbox}")
    act = f"/mail/f/{inbox}/act"
    r = await hang.post_form(act, [("uid", "1"), ("uid", "2"), ("action", "flag")])
    assert r.status_code == 303 and "flash=done" in r.headers["location"]
    flagged = [m.uid for m in await folder_messages(server, HANG) if m.flagged]
    assert flagged == [1, 2]
    r = await hang.post_form(act, [("uid", "1"), ("action", "read")])
    assert [m.uid for m in await folder_messages(server, HANG) if m.seen] == [1]
    r = await hang.post_form(act, [("uid", "1"), ("action", "move"), ("target", str(archive))])
    assert "flash=moved" in r.headers["location"]
    assert [m.subject[:14] for m in await folder_messages(server, HANG, "Archive")] == [
        "Công văn số 00"
    ]
    r = await hang.post_form(act, [("uid", "2"), ("action", "delete")])
    assert "flash=moved_to_trash" in r.headers["location"]
    assert [m.uid for m in await folder_messages(server, HANG)] == [3]
    (trashed,) = await folder_messages(server, HANG, "Trash")
    r = await hang.post_form(
        f"/mail/f/{trash}/act", [("uid", str(trashed.uid)), ("action", "delete")]
    )
    assert "flash=deleted_forever" in r.headers["location"]
    assert await folder_messages(server, HANG, "Trash") == []
    r = await hang.post_form(act, [("action", "read")])
    assert "flash=none_selected" in r.headers["location"]
    # Another user's folder as a target is refused.
    other = await folder_id(server, DUC)
    r = await hang.post_form(act, [("uid", "3"), ("action", "move"), ("target", str(other))])
    assert "flash=choose_folder" in r.headers["location"]
    assert [m.uid for m in await folder_messages(server, HANG)] == [3]


async def test_search_without_diacritics(server: App, hang: WebClient) -> None:
    await append(server, HANG, mail("Công văn về việc đôn đốc báo cáo", "Đề nghị các đơn vị."))
    await append(server, HANG, mail("Lịch họp", "Họp giao ban sáng thứ Hai về công tác đảng."))
    await append(server, HANG, mail("Khác", "Không liên quan."))
    # Every word must occur (as IMAP's SEARCH TEXT a TEXT b); quotes keep a phrase whole.
    cases = [("cong van", 2), ('"cong van"', 1), ("CÔNG", 2), ("don doc bao cao", 1),
             ('"giao ban sang"', 1), ("dang", 1), ("khong co tu nay", 0)]  # fmt: skip
    for q, n in cases:
        r = await hang.get("/search", params={"q": q})
        assert r.status_code == 200
        assert f"Tìm thấy {n} thư" in r.text, q
    r = await hang.get("/search", params={"q": '"cong van"'})
    assert "Công văn về việc đôn đốc báo cáo" in r.text and "Hộp thư đến" in r.text


async def test_recipient_suggestions_from_the_directory(server: App, hang: WebClient) -> None:
    r = await hang.get("/contacts/suggest", params={"q": "hang"})
    assert [e["address"] for e in r.json()] == [HANG]
    r = await hang.get("/contacts/suggest", params={"q": "văn đ"})
    assert [e["address"] for e in r.json()] == [DUC]
    r = await hang.get("/contacts/suggest", params={"q": "lanh dao"})
    assert r.json()[0] == {"address": "lanhdao@mic.gov.vn", "name": "Lãnh đạo Bộ",
                           "position": None, "kind": "group"}  # fmt: skip
    assert (await hang.get("/contacts/suggest", params={"q": "x"})).json() == []


async def test_totp_second_factor(server: App, hang: WebClient) -> None:
    r = await hang.post_form("/settings/totp/new")
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', r.text)
    signature = re.search(r'name="signature" value="([0-9a-f]+)"', r.text)
    assert secret and signature
    r = await hang.post_form(
        "/settings/totp/enable",
        {"secret": secret.group(1), "signature": signature.group(1), "code": "000000"},
    )
    assert r.status_code == 400 and "Mã xác thực không đúng" in r.text
    r = await hang.post_form(
        "/settings/totp/enable",
        {"secret": "A" * 32, "signature": signature.group(1),
         "code": totp.now_code("A" * 32)},
    )  # fmt: skip
    assert r.status_code == 400  # a secret the server did not hand out
    r = await hang.post_form(
        "/settings/totp/enable",
        {"secret": secret.group(1), "signature": signature.group(1),
         "code": totp.now_code(secret.group(1))},
    )  # fmt: skip
    assert r.status_code == 303 and "totp_enabled" in r.headers["location"]
    async with server.store.read() as tx:
        entries = await tx.audit.search(action="mailbox.totp_enable")
    assert [e.actor for e in entries] == [HANG]

    other = WebClient(server)
    try:
        r = await other.login(HANG)
        assert "Xác thực hai bước" in r.text
        assert (await other.get("/mail")).headers["location"].startswith("/login")
        r = await other.post_form("/login/totp", {"code": "123456"})
        assert r.status_code == 401
        code = totp.now_code(secret.group(1))
        r = await other.post_form("/login/totp", {"code": code, "next": "/mail"})
        assert r.status_code == 303
        r = await other.follow(r)
        assert "Hộp thư đến" in r.text
    finally:
        await other.close()
    # The same code cannot be used twice.
    third = WebClient(server)
    try:
        await third.login(HANG)
        r = await third.post_form("/login/totp", {"code": code})
        assert r.status_code == 401
    finally:
        await third.close()


async def test_password_change_is_audited_and_ends_other_sessions(
    server: App, hang: WebClient
) -> None:
    other = WebClient(server)
    await other.login(HANG)
    await hang.get("/settings")
    r = await hang.post_form(
        "/settings/password",
        {"current": "sai", "new": "mật khẩu mới 2026", "again": "mật khẩu mới 2026"},
    )
    assert r.status_code == 400 and "không đúng" in r.text
    r = await hang.post_form(
        "/settings/password",
        {"current": PASSWORD, "new": "mật khẩu mới 2026", "again": "mật khẩu mới 2026"},
    )
    assert r.status_code == 303
    async with server.store.read() as tx:
        (entry,) = await tx.audit.search(action="mailbox.password")
    assert entry.actor == HANG and entry.source == "web"
    assert (await other.get("/mail")).headers["location"].startswith("/login")
    await other.close()
    assert (await hang.get("/mail")).status_code == 303  # still logged in (redirect to INBOX)


async def test_agency_mailbox_folders_open_only_for_handlers(server: App, hang: WebClient) -> None:
    vanthu_inbox = await folder_id(server, "vanthu@mic.gov.vn")
    await append(server, "vanthu@mic.gov.vn", mail("Công văn đến", to="vanthu@mic.gov.vn"))
    r = await hang.get(f"/mail/f/{vanthu_inbox}")
    assert r.status_code == 200 and "Công văn đến" in r.text
    duc = WebClient(server)
    try:
        await duc.login(DUC)
        assert (await duc.get(f"/mail/f/{vanthu_inbox}")).status_code == 404
        assert (await duc.get(f"/mail/f/{vanthu_inbox}/m/1")).status_code == 404
        assert (await duc.get(f"/mail/f/{vanthu_inbox}/m/1/part/2")).status_code == 404
        r = await duc.get(f"/compose?reply={vanthu_inbox}:1")
        assert r.status_code == 404
    finally:
        await duc.close()


async def test_folders_can_be_created_and_deleted(server: App, hang: WebClient) -> None:
    await hang.get("/settings/filters")
    r = await hang.post_form("/folders", {"name": "Dự án/Thư điện tử"})
    assert "flash=folder_created" in r.headers["location"]
    r = await hang.post_form("/folders", {"name": "INBOX"})
    assert "flash=folder_bad_name" in r.headers["location"]
    fid = await folder_id(server, HANG, "Dự án/Thư điện tử")
    r = await hang.get("/mail")
    r = await hang.follow(r)
    assert "Thư điện tử" in r.text and 'class="d1"' in r.text
    r = await hang.post_form(f"/folders/{fid}/delete", {})
    assert "flash=folder_deleted" in r.headers["location"]
    inbox = await folder_id(server, HANG)
    r = await hang.post_form(f"/folders/{inbox}/delete", {})
    assert "flash=folder_special" in r.headers["location"]


async def test_english_interface(server: App, hang: WebClient) -> None:
    await fill_inbox(server, 1)
    await hang.post_form("/lang", {"lang": "en", "next": "/mail"})
    r = await hang.follow(await hang.get("/mail"))
    for text in ("Inbox", "Compose", "Mark read", "Sent", "Drafts", "1 messages"):
        assert text in r.text
