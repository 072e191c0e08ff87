"""Filters and the vacation responder, set up through the web and exercised through the
delivery pipeline (the same path SMTP takes)."""

from __future__ import annotations

from tests.web.conftest import DUC, HANG, TAM, WebClient, deliver, folder_id, folder_messages
from tests.web.test_webmail import mail

from govmail.app import App
from govmail.delivery.vacation import header_values, refusal_reason
from govmail.mail.parsed import parse_message


async def test_filters_file_arriving_mail(server: App, hang: WebClient) -> None:
    await hang.get("/settings/filters")
    await hang.post_form("/folders", {"name": "Công văn Phú Yên"})
    target = await folder_id(server, HANG, "Công văn Phú Yên")
    r = await hang.post_form(
        "/settings/filters",
        {"field": "from", "value": "phuyen.gov.vn", "action": "move", "folder": str(target)},
    )
    assert "flash=filter_added" in r.headers["location"]
    await hang.post_form(
        "/settings/filters", {"field": "subject", "value": "khan", "action": "flag"}
    )
    await hang.post_form(
        "/settings/filters", {"field": "text", "value": "quang cao", "action": "trash"}
    )
    r = await hang.post_form("/settings/filters", {"field": "from", "value": "", "action": "flag"})
    assert "flash=filter_incomplete" in r.headers["location"]
    r = await hang.get("/settings/filters")
    assert "Nếu người gửi chứa &#34;phuyen.gov.vn&#34;" in r.text

    await deliver(server, mail("Báo cáo tháng", sender=TAM), [HANG], sender=TAM)
    await deliver(server, mail("HỎA TỐC: Khẩn", "x"), [HANG, DUC])
    await deliver(server, mail("Ưu đãi", "Chương trình QUẢNG CÁO đặc biệt"), [HANG])
    await deliver(server, mail("Bình thường", "y"), [HANG])

    (filed,) = await folder_messages(server, HANG, "Công văn Phú Yên")
    assert filed.subject == "Báo cáo tháng"
    inbox = await folder_messages(server, HANG)
    assert [(m.subject, m.flagged) for m in inbox] == [
        ("HỎA TỐC: Khẩn", True),
        ("Bình thường", False),
    ]
    assert [m.subject for m in await folder_messages(server, HANG, "Trash")] == ["Ưu đãi"]
    # Rules are per mailbox: Đức got the same message untouched; the sender's Sent copy too.
    (duc_copy,) = await folder_messages(server, DUC)
    assert not duc_copy.flagged
    assert all(not m.flagged for m in await folder_messages(server, DUC, "Sent"))

    rules = await hang.get("/settings/filters")
    first = rules.text.split('action="/settings/filters/')[1].split("/delete")[0]
    r = await hang.post_form(f"/settings/filters/{first}/delete")
    assert "flash=filter_deleted" in r.headers["location"]
    await deliver(server, mail("Lần hai", sender=TAM), [HANG], sender=TAM)
    assert [m.subject for m in await folder_messages(server, HANG)][-1] == "Lần hai"


async def vacation_on(hang: WebClient, **extra: str) -> None:
    await hang.get("/settings")
    form = {"enabled": "1", "subject": "", "body": "Tôi đi công tác đến hết tuần.",
            "interval": "7", "starts": "", "ends": ""}  # fmt: skip
    form.update(extra)
    r = await hang.post_form("/settings/vacation", form)
    assert r.status_code == 303 and "vacation_saved" in r.headers["location"], r.text


async def replies_to(server: App, address: str) -> list[bytes]:
    await server.pipeline.wait_background()
    out = []
    for m in await folder_messages(server, address):
        raw = await server.mailstore.read_raw(m)
        if b"Auto-Submitted: auto-replied" in raw:
            out.append(raw)
    return out


async def test_vacation_replies_once_per_sender_as_rfc_3834_asks(
    server: App, hang: WebClient
) -> None:
    await vacation_on(hang)
    await deliver(server, mail("Xin ý kiến", message_id="<a1@mic.gov.vn>"), [HANG])
    (reply,) = await replies_to(server, DUC)
    parsed = parse_message(reply)
    assert parsed.subject == "Auto: Xin ý kiến"
    assert parsed.from_addr == HANG and parsed.to_addrs == [DUC]
    assert parsed.in_reply_to == "<a1@mic.gov.vn>"
    assert "Tôi đi công tác đến hết tuần." in reply.decode()
    headers = header_values(reply)
    assert headers["auto-submitted"] == ["auto-replied (vacation)"]
    # A second message from the same sender within the interval: no second reply.
    await deliver(server, mail("Nhắc lại"), [HANG])
    assert len(await replies_to(server, DUC)) == 1
    # Another sender gets their own reply.
    await deliver(server, mail("Từ tỉnh", sender=TAM), [HANG], sender=TAM)
    assert len(await replies_to(server, TAM)) == 1
    # The reply itself (Auto-Submitted) never triggers Đức's or anyone's responder loop.
    assert len(await replies_to(server, HANG)) == 0


async def test_vacation_stays_silent_for_lists_bulk_automatic_and_indirect_mail(
    server: App, hang: WebClient
) -> None:
    await vacation_on(hang)
    silent = [
        mail("Bản tin", headers={"List-Id": "<tin.mic.gov.vn>"}),
        mail("Hàng loạt", headers={"Precedence": "bulk"}),
        mail("Tự động", headers={"Auto-Submitted": "auto-generated"}),
        mail("Không trả lời", headers={"X-Auto-Response-Suppress": "OOF, AutoReply"}),
    ]
    for raw in silent:
        await deliver(server, raw, [HANG])
    # Through a group: Hằng's address is not among To/Cc.
    await deliver(server, mail("Gửi nhóm", to="lanhdao@mic.gov.vn"), ["lanhdao@mic.gov.vn"])
    assert await replies_to(server, DUC) == []
    # Explicit Auto-Submitted: no is an ordinary message.
    await deliver(server, mail("Thư thường", headers={"Auto-Submitted": "no"}), [HANG])
    assert len(await replies_to(server, DUC)) == 1


async def test_vacation_dates_and_switching_off(server: App, hang: WebClient) -> None:
    await vacation_on(hang, starts="2099-01-01", ends="2099-01-31")
    await deliver(server, mail("Chưa đến ngày"), [HANG])
    assert await replies_to(server, DUC) == []
    r = await hang.post_form(
        "/settings/vacation",
        {"enabled": "1", "body": "x", "starts": "2026-02-10", "ends": "2026-02-01"},
    )
    assert r.status_code == 400 and "Ngày kết thúc phải sau ngày bắt đầu" in r.text
    r = await hang.post_form("/settings/vacation", {"enabled": "1", "body": ""})
    assert r.status_code == 400
    await vacation_on(hang)
    r = await hang.get("/settings")
    assert 'name="enabled" value="1" checked' in r.text
    await hang.post_form("/settings/vacation", {"body": "Tôi đi công tác.", "interval": "7"})
    await deliver(server, mail("Đã tắt"), [HANG])
    assert await replies_to(server, DUC) == []


def test_refusal_reasons() -> None:
    assert refusal_reason("", {}) == "null sender"
    assert refusal_reason("MAILER-DAEMON@x.vn", {}) == "system sender"
    assert refusal_reason("owner-list@x.vn", {}) == "system sender"
    assert refusal_reason("a@x.vn", {"auto-submitted": ["auto-replied"]}) == "auto-submitted"
    assert refusal_reason("a@x.vn", {"precedence": ["junk"]}) == "precedence"
    assert refusal_reason("a@x.vn", {"list-unsubscribe": ["<mailto:u@x>"]}) == "mailing list"
    assert refusal_reason("a@x.vn", {"auto-submitted": ["no"]}) is None
