"""The administration console: roles and the agency subtree (refusals audited, nothing
changed), every form's CSRF check, the mailbox lifecycle, domains and DKIM, the agency
tree with its mail regulation, groups and handlers, quotas, the HR import (dry run, then
apply), the queue, the audit log's filters, login locks and API tokens."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.web import admin_fixtures
from tests.web.admin_fixtures import (
    MIC,
    NGA,
    PHUYEN,
    QUANTRI,
    SO_TTTT,
    audit_actions,
    both,
    chosen_backend,
    logged_in,
)
from tests.web.conftest import DUC, HANG, PASSWORD, TAM, UPLOAD_LIMIT, WebClient

from govmail.app import App
from govmail.delivery.dkim_sign import public_key_b64
from govmail.store.models import Mailbox, OutboundMessage, utcnow
from govmail.web.admin.routes import router as admin_router

org = admin_fixtures.org
quantri = admin_fixtures.quantri
tam = admin_fixtures.tam


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite; the lifecycle and the subtree tests also run on PostgreSQL (``@both``)."""
    return chosen_backend(request)


async def mailbox(app: App, address: str) -> Mailbox:
    async with app.store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
    assert m is not None, address
    return m


async def agency_id(app: App, code: str) -> int:
    async with app.store.read() as tx:
        a = await tx.directory.agency_by_code(code)
    assert a is not None
    return a.id


async def state_of(app: App) -> dict[str, Any]:
    """What a refused request must leave as it was."""
    async with app.store.read() as tx:
        boxes = await tx.directory.mailboxes()
        agencies = await tx.directory.agencies(active_only=False)
        groups = await tx.directory.groups()
        audit = await tx.audit.search(limit=100000)
        return {
            "mailboxes": sorted(
                (
                    m.address,
                    m.status,
                    m.agency_id,
                    m.quota_bytes,
                    m.position,
                    m.listed,
                    tuple(m.public_fields or []),
                    m.password_hash,
                )
                for m in boxes
            ),
            "agencies": sorted((a.id, a.path, a.staff_headcount, a.name) for a in agencies),
            "groups": [(g.address, len(await tx.directory.group_members(g.id))) for g in groups],
            "audit": len(audit),
        }


def error_text(html: str) -> str:
    m = re.search(r'<p class="error" role="alert">([^<]*)</p>', html)
    return m.group(1) if m else ""


# -- roles -----------------------------------------------------------------------------------


async def test_the_console_needs_an_admin_role(org: App, hang: WebClient, web: WebClient) -> None:
    r = await hang.get("/admin")
    assert r.status_code == 403 and "không có quyền" in r.text
    r = await hang.post_form(f"/admin/mailboxes/{(await mailbox(org, DUC)).id}/suspend")
    assert r.status_code == 403
    assert (await mailbox(org, DUC)).status == "active"
    r = await web.get("/admin/mailboxes")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/admin")


async def test_dashboard_shows_the_installation_and_the_agency_admin_its_subtree(
    quantri: WebClient, tam: WebClient
) -> None:
    r = await quantri.get("/admin")
    assert r.status_code == 200
    assert "Tổng quan hệ thống thư" in r.text and "Hàng đợi thư đi" in r.text
    assert "3 cơ quan, đơn vị" in r.text and "2 tên miền" in r.text
    r = await tam.get("/admin")
    assert "Ủy ban nhân dân tỉnh Phú Yên" in r.text and "2 cơ quan, đơn vị" in r.text
    assert "/admin/queue" not in r.text and "/admin/audit" not in r.text
    r = await tam.get("/admin/mailboxes")
    addresses = set(re.findall(r'href="/admin/mailboxes/\d+">([^<]+)</a>', r.text))
    assert addresses == {TAM, NGA, "vanthu@phuyen.gov.vn"}


@both
async def test_an_agency_admin_is_refused_outside_its_subtree_and_nothing_changes(
    org: App, tam: WebClient
) -> None:
    hang, duc, nga = [await mailbox(org, a) for a in (HANG, DUC, NGA)]
    mic = await agency_id(org, MIC)
    await tam.get("/admin")
    before = await state_of(org)
    attempts: list[tuple[str, dict[str, Any]]] = [
        (f"/admin/mailboxes/{hang.id}/suspend", {}),
        (f"/admin/mailboxes/{duc.id}/archive", {}),
        (f"/admin/mailboxes/{duc.id}/quota", {"quota_mb": "1"}),
        (f"/admin/mailboxes/{duc.id}/password", {"password": "một mật khẩu mới"}),
        (f"/admin/mailboxes/{nga.id}/transfer", {"agency": str(mic)}),
        (f"/admin/mailboxes/{hang.id}/listing", {"listed": "1"}),
        (f"/admin/mailboxes/{nga.id}/role", {"role": "installation_admin"}),
        ("/admin/mailboxes", {"full_name": "Người Ngoài", "agency": str(mic)}),
        (
            "/admin/agencies",
            {"name": "Cục Mới", "short_name": "CM", "kind": "unit", "parent": str(mic)},
        ),
        ("/admin/agencies", {"name": "Tỉnh Mới", "short_name": "TM", "kind": "province"}),
        (f"/admin/agencies/{mic}/headcount", {"headcount": "7"}),
        (
            f"/admin/agencies/{mic}/profile",
            {"adopted": "1", "date": "2015-03-01", "number": "1/QĐ-BTTTT"},
        ),
        (f"/admin/agencies/{await agency_id(org, SO_TTTT)}/move", {"parent": str(mic)}),
        ("/admin/handlers", {"agency_mailbox": "vanthu@mic.gov.vn", "person": NGA}),
        ("/admin/handlers/remove", {"agency_mailbox": "vanthu@mic.gov.vn", "person": HANG}),
        ("/admin/groups", {"address": "nhom@mic.gov.vn", "name": "Nhóm"}),
        ("/admin/groups/1/members", {"member": NGA}),
        ("/admin/queue/1/delete", {}),
        ("/admin/domains", {"name": "moi.gov.vn"}),
        ("/admin/domains/mic.gov.vn/dkim", {"bits": "1024"}),
        ("/admin/tokens", {"label": "x", "scope": "directory:read", "agency": str(mic)}),
    ]
    for path, data in attempts:
        r = await tam.post_form(path, data)
        assert r.status_code == 403, (path, r.status_code, r.text[:500])
        assert "ngoài phạm vi" in r.text, path
    for path in (
        f"/admin/mailboxes/{hang.id}",
        f"/admin/agencies/{mic}",
        "/admin/queue",
        "/admin/audit",
        "/admin/domains",
        "/admin/mailboxes?agency=" + str(mic),
    ):
        assert (await tam.get(path)).status_code == 403, path
    after = await state_of(org)
    refusals = await audit_actions(org, action="admin.refused")
    assert len(refusals) == len(attempts) + 6
    assert {e.actor for e in refusals} == {TAM} and {e.source for e in refusals} == {"web"}
    assert after == {**before, "audit": before["audit"] + len(refusals)}
    # Inside its subtree the same administrator acts, as itself, in the audit log.
    r = await tam.post_form(f"/admin/mailboxes/{nga.id}/suspend")
    assert r.status_code == 303
    assert (await mailbox(org, NGA)).status == "suspended"
    entry = (await audit_actions(org, action="mailbox.suspend"))[0]
    assert (entry.actor, entry.source, entry.object_id) == (TAM, "web", NGA)


async def test_every_console_form_refuses_a_wrong_csrf_token_and_changes_nothing(
    org: App, quantri: WebClient
) -> None:
    await quantri.get("/admin")
    before = await state_of(org)
    posts = [r.path for r in admin_router.routes if "POST" in (r.methods or ())]
    assert len(posts) >= 25
    for path in [*posts, "/settings/directory"]:
        url = re.sub(r"\{[a-z_]+(:int)?\}", "1", path.replace("{name}", "mic.gov.vn"))
        data = {
            "_csrf": "0" * 64,
            "full_name": "X Y",
            "agency": "1",
            "name": "x.gov.vn",
            "headcount": "3",
            "quota_mb": "5",
            "password": "mật khẩu mới dài",
            "member": NGA,
            "label": "x",
            "scope": "directory:read",
        }
        r = await quantri.http.post(url, data=data)
        assert r.status_code == 403, (path, r.status_code)
        assert "Biểu mẫu đã cũ" in r.text
    assert await state_of(org) == before


async def test_an_expired_session_does_nothing(org: App, quantri: WebClient) -> None:
    from sqlalchemy import update

    from govmail.store.models import WebSession

    await quantri.get("/admin")
    duc = await mailbox(org, DUC)
    async with org.store.write() as tx:
        await tx.session.execute(update(WebSession).values(expires_at=utcnow()))
    r = await quantri.post_form(f"/admin/mailboxes/{duc.id}/suspend")
    assert r.status_code == 401 and "chưa được thực hiện" in r.text
    assert (await mailbox(org, DUC)).status == "active"


# -- mailboxes ---------------------------------------------------------------------------------


@both
async def test_mailbox_lifecycle_in_the_console(org: App, quantri: WebClient) -> None:
    mic = await agency_id(org, MIC)
    await quantri.get("/admin/mailboxes")
    r = await quantri.post_form(
        "/admin/mailboxes",
        {
            "full_name": "Phạm Quốc Việt",
            "agency": str(mic),
            "kind": "person",
            "position": "Chuyên viên",
            "staff_id": "BTTTT-77",
            "password": PASSWORD,
            "quota_mb": "200",
            "listed": "1",
        },
    )
    assert r.status_code == 303, error_text(r.text)
    viet = await mailbox(org, "vietpq@mic.gov.vn")
    assert r.headers["location"].startswith(f"/admin/mailboxes/{viet.id}")
    assert viet.quota_bytes == 200 * 1024 * 1024 and viet.staff_id == "BTTTT-77"

    page = await quantri.get(f"/admin/mailboxes/{viet.id}")
    assert "Phạm Quốc Việt" in page.text and "Tạm khóa" in page.text
    r = await quantri.post_form(f"/admin/mailboxes/{viet.id}/suspend")
    assert r.status_code == 303
    person = await logged_in_or_refused(org, "vietpq@mic.gov.vn")
    assert person == 401
    r = await quantri.post_form(f"/admin/mailboxes/{viet.id}/suspend")
    assert r.status_code == 400 and "không ở trạng thái hoạt động" in error_text(r.text)
    await quantri.post_form(f"/admin/mailboxes/{viet.id}/reactivate")
    assert await logged_in_or_refused(org, "vietpq@mic.gov.vn") == 200

    r = await quantri.post_form(
        f"/admin/mailboxes/{viet.id}/transfer",
        {"agency": str(await agency_id(org, SO_TTTT)), "position": "Phó Giám đốc"},
    )
    assert r.status_code == 303
    moved = await mailbox(org, "vietpq@phuyen.gov.vn")
    assert moved.id == viet.id and moved.position == "Phó Giám đốc"
    async with org.store.read() as tx:
        alias = await tx.directory.alias_by_address("vietpq@mic.gov.vn")
        assert alias is not None and alias.mailbox_id == viet.id

    await quantri.post_form(f"/admin/mailboxes/{viet.id}/quota", {"quota_mb": "0"})
    assert (await mailbox(org, moved.address)).quota_bytes == 0
    r = await quantri.post_form(f"/admin/mailboxes/{viet.id}/quota", {"quota_mb": "nhiều"})
    assert r.status_code == 400

    r = await quantri.post_form(f"/admin/mailboxes/{viet.id}/password", {"password": ""})
    shown = re.search(r'<code class="secret">([a-z0-9-]+)</code>', r.text)
    assert r.status_code == 200 and shown
    client = WebClient(org)
    assert (await client.login(moved.address, shown.group(1))).status_code == 200
    await client.close()
    r = await quantri.post_form(f"/admin/mailboxes/{viet.id}/password", {"password": "ngắn"})
    assert r.status_code == 400

    r = await quantri.post_form(f"/admin/mailboxes/{viet.id}/archive")
    archived = await mailbox(org, moved.address)
    assert archived.status == "archived" and archived.delete_after is not None
    actions = [e.action for e in reversed(await audit_actions(org, actor=QUANTRI))]
    assert actions == [
        "mailbox.add",
        "mailbox.suspend",
        "mailbox.reactivate",
        "mailbox.transfer",
        "mailbox.quota",
        "mailbox.password",
        "mailbox.archive",
    ]


async def logged_in_or_refused(app: App, account: str) -> int:
    client = WebClient(app)
    await client.get("/login")
    r = await client.post_form("/login", {"account": account, "password": PASSWORD})
    await client.close()
    return 200 if r.status_code == 303 else r.status_code


async def test_mailbox_search_paging_and_public_fields(org: App, quantri: WebClient) -> None:
    async with org.directory.ops() as ops:
        for i in range(55):
            await ops.add_mailbox(full_name=f"Vũ Thị Thu {i:02d}", agency=SO_TTTT)
    r = await quantri.get("/admin/mailboxes", params={"q": "vu thi"})
    assert "55 hộp thư" in r.text and "Trang 1/2" in r.text
    r = await quantri.get("/admin/mailboxes", params={"q": "vu thi", "page": "2"})
    assert len(re.findall(r'href="/admin/mailboxes/\d+"', r.text)) == 5
    r = await quantri.get("/admin/mailboxes", params={"q": "HẰNG"})
    assert HANG in r.text and DUC not in r.text
    r = await quantri.get("/admin/mailboxes", params={"status": "suspended"})
    assert "0 hộp thư" in r.text

    hang = await mailbox(org, HANG)
    r = await quantri.post_form(
        f"/admin/mailboxes/{hang.id}/listing",
        [
            ("listed", "1"),
            ("field", "position"),
            ("field", "phone"),
            ("required", "1"),
            ("required_field", "position"),
        ],
    )
    assert r.status_code == 303, error_text(r.text)
    hang = await mailbox(org, HANG)
    assert hang.public_fields == ["full_name", "position", "phone"] and hang.listed
    r = await quantri.post_form(
        f"/admin/mailboxes/{hang.id}/update",
        {"full_name": "Nguyễn Thị Minh Hằng", "position": "Trưởng phòng", "phone": "024 3943 7"},
    )
    assert (await mailbox(org, HANG)).position == "Trưởng phòng"
    r = await quantri.post_form(
        f"/admin/mailboxes/{hang.id}/role",
        {"role": "agency_admin", "agency": str(await agency_id(org, MIC))},
    )
    assert r.status_code == 303
    r = await quantri.post_form(
        f"/admin/mailboxes/{hang.id}/role",
        {"role": "agency_admin", "agency": str(await agency_id(org, MIC))},
    )
    assert r.status_code == 409 and "đã có quyền" in error_text(r.text)
    hang_web = await logged_in(org, HANG)
    assert (await hang_web.get("/admin")).status_code == 200
    await hang_web.close()


# -- domains, agencies ---------------------------------------------------------------------------


async def test_domains_and_the_dkim_record_to_publish(org: App, quantri: WebClient) -> None:
    await quantri.get("/admin/domains")
    r = await quantri.post_form("/admin/domains", {"name": "SoTTTT.PhuYen.gov.vn"})
    assert r.status_code == 303
    r = await quantri.post_form("/admin/domains", {"name": "sotttt.phuyen.gov.vn"})
    assert r.status_code == 409 and "sotttt.phuyen.gov.vn" in error_text(r.text)
    r = await quantri.post_form("/admin/domains", {"name": "không hợp lệ"})
    assert r.status_code == 400
    r = await quantri.get("/admin/domains/sotttt.phuyen.gov.vn")
    assert "Chưa có khóa DKIM" in r.text
    r = await quantri.post_form(
        "/admin/domains/sotttt.phuyen.gov.vn/dkim", {"selector": "Bad Selector!", "bits": "1024"}
    )
    assert r.status_code == 400
    r = await quantri.post_form(
        "/admin/domains/sotttt.phuyen.gov.vn/dkim", {"selector": "gm2026", "bits": "1024"}
    )
    assert r.status_code == 303
    page = await quantri.get("/admin/domains/sotttt.phuyen.gov.vn")
    async with org.store.read() as tx:
        d = await tx.directory.domain_by_name("sotttt.phuyen.gov.vn")
    assert d is not None and d.dkim_selector == "gm2026" and d.dkim_private_key
    public = public_key_b64(d.dkim_private_key)
    assert "gm2026._domainkey.sotttt.phuyen.gov.vn" in page.text
    assert f"v=DKIM1; k=rsa; p={public}" in page.text
    assert "PRIVATE KEY" not in page.text
    r = await quantri.post_form(
        "/admin/domains/sotttt.phuyen.gov.vn/dkim", {"selector": "gm2027", "bits": "1024"}
    )
    assert r.status_code == 409
    entry = (await audit_actions(org, action="domain.dkim"))[0]
    assert entry.actor == QUANTRI and "PRIVATE" not in str(entry.after)
    r = await quantri.post_form(
        "/admin/domains/sotttt.phuyen.gov.vn/template", {"template": "{given}.{family}"}
    )
    assert r.status_code == 303


async def test_agency_tree_headcount_move_and_mail_regulation(org: App, tam: WebClient) -> None:
    phuyen = await agency_id(org, PHUYEN)
    so = await agency_id(org, SO_TTTT)
    await tam.get("/admin/agencies")
    r = await tam.post_form(
        "/admin/agencies",
        {
            "name": "Sở Nội vụ tỉnh Phú Yên",
            "short_name": "SNV",
            "kind": "department",
            "code": "000.03.45.H45",
            "parent": str(phuyen),
            "headcount": "45",
        },
    )
    assert r.status_code == 303, error_text(r.text)
    snv = await agency_id(org, "000.03.45.H45")
    r = await tam.post_form(f"/admin/agencies/{snv}/headcount", {"headcount": "-1"})
    assert r.status_code == 400
    r = await tam.post_form(f"/admin/agencies/{snv}/headcount", {"headcount": "48"})
    assert r.status_code == 303
    r = await tam.post_form(f"/admin/agencies/{snv}/move", {"parent": str(so)})
    assert r.status_code == 303
    r = await tam.post_form(f"/admin/agencies/{so}/move", {"parent": str(snv)})
    assert r.status_code == 400  # a cycle
    async with org.store.read() as tx:
        moved = await tx.directory.agency_by_id(snv)
        assert moved is not None and moved.parent_id == so and moved.staff_headcount == 48

    r = await tam.post_form(f"/admin/agencies/{snv}/profile", {"adopted": "1"})
    assert r.status_code == 400
    r = await tam.post_form(
        f"/admin/agencies/{snv}/profile",
        {"adopted": "1", "date": "2016-05-12", "number": "15/QĐ-SNV"},
    )
    assert r.status_code == 303
    page = await tam.get(f"/admin/agencies/{snv}")
    assert "15/QĐ-SNV" in page.text and 'value="2016-05-12"' in page.text
    tree = await tam.get("/admin/agencies")
    assert "đã ban hành quy chế" in tree.text and "48 biên chế" in tree.text
    entry = (await audit_actions(org, action="agency.profile"))[0]
    assert entry.actor == TAM and entry.after["regulation_number"] == "15/QĐ-SNV"


# -- groups, handlers, quotas --------------------------------------------------------------------


async def test_groups_and_agency_mailbox_handlers(org: App, quantri: WebClient) -> None:
    phuyen = await agency_id(org, PHUYEN)
    await quantri.get("/admin/groups")
    r = await quantri.post_form(
        "/admin/groups",
        {
            "address": "cacso@phuyen.gov.vn",
            "name": "Các sở",
            "type": "dynamic",
            "kinds": "department",
            "under": str(phuyen),
            "target": "agency_mailbox",
        },
    )
    assert r.status_code == 303, error_text(r.text)
    async with org.directory.ops() as ops:
        await ops.add_mailbox(
            full_name="Sở TT&TT Phú Yên", agency=SO_TTTT, kind="agency", local_part="sotttt"
        )
    group_page = await quantri.follow(r)
    assert "sotttt@phuyen.gov.vn" in group_page.text  # the rule follows the directory

    r = await quantri.post_form(
        "/admin/groups", {"address": "banbientap@mic.gov.vn", "name": "Ban biên tập"}
    )
    static = re.search(r"/admin/groups/(\d+)", r.headers["location"])
    assert static
    gid = static.group(1)
    await quantri.post_form(f"/admin/groups/{gid}/members", {"member": HANG})
    await quantri.post_form(f"/admin/groups/{gid}/members", {"member": "vanphong@hanoi.gov.vn"})
    r = await quantri.post_form(f"/admin/groups/{gid}/members", {"member": HANG})
    assert r.status_code == 409
    r = await quantri.post_form(f"/admin/groups/{gid}/members/remove", {"member": HANG})
    assert r.status_code == 303
    async with org.directory.reader() as ops:
        assert await ops.expand_group("banbientap@mic.gov.vn") == ["vanphong@hanoi.gov.vn"]

    r = await quantri.post_form(
        "/admin/handlers", {"agency_mailbox": "vanthu@mic.gov.vn", "person": DUC, "is_clerk": "1"}
    )
    assert r.status_code == 303
    page = await quantri.get("/admin/handlers")
    assert DUC in page.text and "văn thư" in page.text
    r = await quantri.post_form(
        "/admin/handlers", {"agency_mailbox": "vanthu@mic.gov.vn", "person": DUC}
    )
    assert r.status_code == 409
    r = await quantri.post_form(
        "/admin/handlers/remove", {"agency_mailbox": "vanthu@mic.gov.vn", "person": DUC}
    )
    assert r.status_code == 303
    actions = {e.action for e in await audit_actions(org, actor=QUANTRI)}
    assert {
        "group.add",
        "group.member_add",
        "group.member_remove",
        "handler.add",
        "handler.remove",
    } <= actions


async def test_quotas_page_orders_by_usage(org: App, quantri: WebClient) -> None:
    async with org.directory.ops() as ops:
        duc = await ops.mailbox(DUC)
        duc.used_bytes, duc.quota_bytes = 90 * 1048576, 100 * 1048576
        hang = await ops.mailbox(HANG)
        hang.used_bytes, hang.quota_bytes = 300 * 1048576, 2048 * 1048576
    r = await quantri.get("/admin/quotas")
    order = re.findall(r'href="/admin/mailboxes/\d+">([^<]+)</a>', r.text)
    assert order[:2] == [HANG, DUC]
    r = await quantri.get("/admin/quotas", params={"order": "ratio"})
    order = re.findall(r'href="/admin/mailboxes/\d+">([^<]+)</a>', r.text)
    assert order[:2] == [DUC, HANG] and "90.0%" in r.text


# -- HR import ---------------------------------------------------------------------------------


def hr_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Mã cán bộ", "Họ và tên", "Đơn vị", "Chức vụ", "Trạng thái"])
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


async def upload(client: WebClient, name: str, data: bytes, mode: str) -> Any:
    await client.get("/admin/import")
    return await client.http.post(
        "/admin/import",
        data={"_csrf": client.csrf, "mode": mode},
        files={"file": (name, data, "text/csv")},
    )


async def test_hr_import_dry_run_then_apply(org: App, quantri: WebClient) -> None:
    data = hr_csv(
        [
            ["PY-001", "Hoàng Văn Minh", SO_TTTT, "Chuyên viên", ""],
            ["PY-002", "Phan Thị Lan", PHUYEN, "Văn thư", "đang làm việc"],
            ["PY-003", "", SO_TTTT, "", ""],
            ["PY-004", "Đỗ Văn Nam", "999.99.99.X99", "", ""],
        ]
    )
    before = await state_of(org)
    r = await upload(quantri, "nhan-su.csv", data, "dry_run")
    assert r.status_code == 200
    assert "Kết quả chạy thử: nhan-su.csv" in r.text
    assert "minhhv@phuyen.gov.vn" in r.text and "lanpt@phuyen.gov.vn" in r.text
    assert "Tạo mới: <b>2</b>" in r.text and "Lỗi: <b>2</b>" in r.text
    assert await state_of(org) == before  # a dry run changes nothing
    token = re.search(r'name="token" value="([^"]+)"', r.text)
    assert token
    r = await quantri.post_form("/admin/import", {"token": token.group(1), "mode": "apply"})
    assert r.status_code == 200 and "Đã áp dụng: nhan-su.csv" in r.text
    assert (await mailbox(org, "minhhv@phuyen.gov.vn")).staff_id == "PY-001"
    assert (await mailbox(org, "lanpt@phuyen.gov.vn")).position == "Văn thư"
    added = await audit_actions(org, action="mailbox.add", actor=QUANTRI)
    assert {e.object_id for e in added} == {"minhhv@phuyen.gov.vn", "lanpt@phuyen.gov.vn"}
    r = await quantri.post_form("/admin/import", {"token": token.group(1), "mode": "apply"})
    assert r.status_code == 400  # the file is gone once applied

    # Again, the person has left: one archive, and a second run changes nothing.
    again = hr_csv([["PY-001", "Hoàng Văn Minh", SO_TTTT, "Chuyên viên", "nghỉ việc"]])
    r = await upload(quantri, "lan-2.csv", again, "apply")
    assert "Lưu trữ: <b>1</b>" in r.text
    assert (await mailbox(org, "minhhv@phuyen.gov.vn")).status == "archived"
    r = await upload(quantri, "lan-2.csv", again, "dry_run")
    assert "Không có gì cần thay đổi." in r.text


async def test_hr_import_of_an_xlsx_file_and_bad_files(org: App, quantri: WebClient) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["staff id", "full name", "unit"])
    ws.append(["PY-100", "Trịnh Công Sơn", PHUYEN])
    buf = io.BytesIO()
    wb.save(buf)
    r = await upload(quantri, "Danh sách.xlsx", buf.getvalue(), "dry_run")
    assert r.status_code == 200 and "sontc@phuyen.gov.vn" in r.text
    r = await upload(quantri, "danh-sach.pdf", b"%PDF-1.4", "dry_run")
    assert r.status_code == 400 and ".csv" in error_text(r.text)
    r = await upload(quantri, "hong.xlsx", b"PK\x03\x04 not really a zip", "dry_run")
    assert r.status_code == 400 and "hong.xlsx" in error_text(r.text)
    r = await upload(quantri, "thieu-cot.csv", b"ho ten,don vi\nA,B\n", "dry_run")
    assert r.status_code == 400 and "staff_id" in error_text(r.text)


async def test_an_agency_admins_import_refuses_rows_outside_its_subtree(
    org: App, tam: WebClient
) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Mã cán bộ", "Họ và tên", "Đơn vị", "Địa chỉ thư"])
    writer.writerows(
        [
            ["PY-200", "Lương Thị Hoa", SO_TTTT, ""],
            ["MIC-9", "Người Bộ Khác", MIC, ""],
            ["PY-201", "Mạc Văn Khoa", SO_TTTT, "khoa@mic.gov.vn"],
        ]
    )
    r = await upload(tam, "py.csv", buf.getvalue().encode(), "apply")
    assert r.status_code == 200
    assert "Đơn vị 000.00.00.G14 nằm ngoài phạm vi" in r.text
    assert "Địa chỉ khoa@mic.gov.vn thuộc tên miền của cơ quan khác." in r.text
    assert (await mailbox(org, "hoalt@phuyen.gov.vn")).agency_id == await agency_id(org, SO_TTTT)
    async with org.store.read() as tx:
        assert await tx.directory.mailbox_by_staff_id("MIC-9") is None
    refused = await audit_actions(org, action="admin.refused", actor=TAM)
    assert refused[0].object_type == "hr_import" and refused[0].after["rows"] == [3, 4]
    async with org.store.read() as tx:
        assert await tx.directory.mailbox_by_staff_id("PY-201") is None


async def test_an_oversized_upload_gets_413_and_stores_nothing(
    org: App, quantri: WebClient
) -> None:
    before = await state_of(org)
    r = await upload(quantri, "to.csv", b"x" * (UPLOAD_LIMIT + 2 * 1024 * 1024), "apply")
    assert r.status_code == 413
    assert await state_of(org) == before


# -- queue, audit, locks, tokens -----------------------------------------------------------------


async def seed_queue(app: App) -> list[int]:
    ref = await app.store.blobs.put(b"Subject: x\r\n\r\nbody\r\n")
    now = utcnow()
    ids = []
    async with app.store.write() as tx:
        blob_id = await tx.mail.add_blob_refs(ref.sha256, ref.size, 2)
        for domain in ("far.example", "other.example"):
            row = await tx.queue.add(
                OutboundMessage(
                    blob_id=blob_id,
                    mail_from=HANG,
                    domain=domain,
                    recipients=[f"a@{domain}"],
                    status="deferred",
                    attempts=2,
                    next_attempt_at=now + timedelta(days=1),
                    created_at=now,
                    expires_at=now + timedelta(days=5),
                    last_error="451 4.7.1 greylisted",
                )
            )
            ids.append(row.id)
    return ids


async def test_queue_retry_and_delete(org: App, quantri: WebClient, tam: WebClient) -> None:
    first, second = await seed_queue(org)
    r = await quantri.get("/admin/queue")
    assert "a@far.example" in r.text and "451 4.7.1 greylisted" in r.text
    assert "2 thư đang chờ gửi" in r.text
    r = await quantri.post_form(f"/admin/queue/{first}/retry")
    assert r.status_code == 303
    r = await quantri.post_form(f"/admin/queue/{second}/delete")
    assert r.status_code == 303
    async with org.store.read() as tx:
        assert await tx.queue.get(second) is None
    r = await quantri.post_form(f"/admin/queue/{second}/delete")
    assert r.status_code == 404
    entries = {e.action: e for e in await audit_actions(org, actor=QUANTRI)}
    assert entries["queue.retry"].object_id == str(first)
    assert entries["queue.delete"].source == "web"
    r = await tam.post_form(f"/admin/queue/{first}/delete")
    assert r.status_code == 403
    async with org.store.read() as tx:
        assert await tx.queue.get(first) is not None


async def test_audit_log_filters(org: App, quantri: WebClient) -> None:
    duc = await mailbox(org, DUC)
    await quantri.get("/admin")
    await quantri.post_form(f"/admin/mailboxes/{duc.id}/suspend")
    await quantri.post_form(f"/admin/mailboxes/{duc.id}/reactivate")
    r = await quantri.get("/admin/audit", params={"actor": QUANTRI})
    assert r.text.count("<code>mailbox.") == 2
    r = await quantri.get("/admin/audit", params={"action": "mailbox.susp"})
    assert r.text.count("<code>mailbox.suspend</code>") == 1 and "mailbox.reactivate" not in r.text
    r = await quantri.get("/admin/audit", params={"object": DUC, "type": "mailbox"})
    assert "mailbox.add" in r.text and "mailbox.suspend" in r.text
    yesterday = datetime.now(ZoneInfo(org.settings.general.timezone)) - timedelta(days=1)
    r = await quantri.get("/admin/audit", params={"until": "2001-01-01"})
    assert "Không có mục nào." in r.text
    r = await quantri.get(
        "/admin/audit", params={"since": yesterday.date().isoformat(), "actor": QUANTRI}
    )
    assert "mailbox.suspend" in r.text
    r = await quantri.get("/admin/audit", params={"since": "hôm qua"})
    assert r.status_code == 400
    for i in range(60):
        async with org.store.write() as tx:
            await tx.audit.record(
                actor="cli:root", action="test.fill", object_type="mailbox", object_id=f"x{i}"
            )
    r = await quantri.get("/admin/audit", params={"action": "test.fill"})
    assert r.text.count("<code>test.fill</code>") == 50 and "page=2" in r.text
    r = await quantri.get("/admin/audit", params={"action": "test.fill", "page": "2"})
    assert r.text.count("<code>test.fill</code>") == 10


async def test_login_locks_are_listed(org: App, quantri: WebClient) -> None:
    for _ in range(org.settings.auth.max_failures_per_account):
        org.guard.by_account.allow(DUC)
    r = await quantri.get("/admin/locks")
    assert DUC in r.text and "Tài khoản" in r.text


async def test_api_tokens_in_the_console(org: App, quantri: WebClient, tam: WebClient) -> None:
    await quantri.get("/admin/tokens")
    r = await quantri.post_form("/admin/tokens", {"label": "Cổng TTĐT", "scope": "mail:send"})
    assert r.status_code == 400 and "gắn mã với một hộp thư" in error_text(r.text)
    r = await quantri.post_form(
        "/admin/tokens",
        [
            ("label", "Cổng TTĐT"),
            ("scope", "directory:read"),
            ("scope", "mail:send"),
            ("mailbox", HANG),
        ],
    )
    secret = re.search(r'<code id="token-secret">(gmt_[^<]+)</code>', r.text)
    assert r.status_code == 200 and secret
    listing = await quantri.get("/admin/tokens")
    assert secret.group(1) not in listing.text and "Cổng TTĐT" in listing.text

    phuyen = await agency_id(org, PHUYEN)
    await tam.get("/admin/tokens")
    r = await tam.post_form(
        "/admin/tokens", {"label": "Sở", "scope": "directory:read", "agency": str(phuyen)}
    )
    assert r.status_code == 200 and "token-secret" in r.text
    r = await tam.post_form(
        "/admin/tokens",
        {"label": "Bộ", "scope": "mail:read", "mailbox": HANG, "agency": str(phuyen)},
    )
    assert r.status_code == 403
    listing = await tam.get("/admin/tokens")
    assert "Sở" in listing.text and "Cổng TTĐT" not in listing.text
