"""The REST API: the OpenAPI document, bearer tokens (scopes, forged, expired, revoked,
rate-limited, never a browser session), directory management with the agency subtree
enforced, sending through the pipeline and reading the mailbox back, problem+json."""

from __future__ import annotations

import base64
import importlib
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from tests.web import admin_fixtures
from tests.web.admin_fixtures import (
    MIC,
    NGA,
    PHUYEN,
    QUANTRI,
    SO_TTTT,
    Api,
    audit_actions,
    both,
    chosen_backend,
    make_token,
)
from tests.web.conftest import DUC, HANG, TAM, WebClient, folder_messages
from typer.testing import CliRunner

from govmail.app import App
from govmail.cli import api_cmd
from govmail.cli.runtime import state
from govmail.store.models import utcnow
from govmail.store.models_api import ApiToken
from govmail.web.api.openapi import document
from govmail.web.api.tokens import hash_secret
from govmail.web.app import ROUTE_MODULES

org = admin_fixtures.org  # the fixture, for this module

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ALL_DIRECTORY = ["directory:read", "directory:write"]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite; the tests that write through the directory and the pipeline run on both
    databases (``@both``)."""
    return chosen_backend(request)


@pytest.fixture
async def admin_api(org: App) -> AsyncIterator[Api]:
    client = Api(org, await make_token(org, ALL_DIRECTORY))
    try:
        yield client
    finally:
        await client.close()


def assert_problem(r, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status and body["type"].startswith("urn:govmail:problem:")
    if code is not None:
        assert body["code"] == code, body
    return body


# -- the OpenAPI document ------------------------------------------------------------------


def test_openapi_document_is_valid_and_describes_every_route() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    doc = document()
    validator.validate(doc)
    described = {
        (method.upper(), "/api/v1" + path) for path, item in doc["paths"].items() for method in item
    }
    served = {
        (method, re.sub(r":[a-z]+\}", "}", route.path))
        for module in ROUTE_MODULES
        for route in importlib.import_module(module).router.routes
        for method in route.methods or ()
        if method != "HEAD" and route.path.startswith("/api/v1/") and "openapi" not in route.path
    }
    assert ("POST", "/api/v1/messages") in served and len(served) >= 20
    assert described == served
    for item in doc["paths"].values():
        for operation in item.values():
            assert operation["responses"]["401"]
            assert operation["x-scope"] in (
                "directory:read",
                "directory:write",
                "mail:send",
                "mail:read",
            )


async def test_openapi_document_is_served_without_a_token(org: App) -> None:
    api = Api(org, None)
    r = await api.get("/openapi.json")
    await api.close()
    assert r.status_code == 200 and r.json()["openapi"] == "3.1.0"
    assert r.json() == json.loads(json.dumps(document()))


# -- tokens ----------------------------------------------------------------------------------


async def test_missing_forged_expired_and_revoked_tokens_get_401(org: App) -> None:
    good = await make_token(org, ["directory:read"])
    for token, code in (
        (None, "token_missing"),
        ("gmt_" + "A" * 43, "token_invalid"),  # well-formed, unknown
        ("not-a-token", "token_invalid"),
        (good[:-1] + ("B" if good[-1] != "B" else "C"), "token_invalid"),
    ):
        api = Api(org, token)
        body = assert_problem(await api.get("/agencies"), 401, code)
        await api.close()
        assert body["title"] == "Chưa xác thực"
    api = Api(org, None, lang="en-GB,en;q=0.9,vi;q=0.5")
    r = await api.get("/agencies")
    await api.close()
    assert_problem(r, 401, "token_missing")
    assert r.json()["title"] == "Unauthorized" and r.headers["content-language"] == "en"
    assert r.headers["www-authenticate"].startswith("Bearer")

    expiring = await make_token(org, ["directory:read"], expires_days=1)
    async with org.store.write() as tx:
        await tx.session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == hash_secret(expiring))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    api = Api(org, expiring)
    assert_problem(await api.get("/agencies"), 401, "token_expired")
    await api.close()

    api = Api(org, good)
    assert (await api.get("/agencies")).status_code == 200
    async with org.store.read() as tx:
        row = (await tx.session.execute(ApiToken.__table__.select())).first()
        assert row is not None and good not in [str(v) for v in row]  # only the hash is kept
    quantri = WebClient(org)
    await quantri.login(QUANTRI)
    await quantri.get("/admin/tokens")
    ids = [t.id for t in await _tokens(org) if t.token_hash == hash_secret(good)]
    r = await quantri.post_form(f"/admin/tokens/{ids[0]}/revoke")
    assert r.status_code == 303
    await quantri.close()
    assert_problem(await api.get("/agencies"), 401, "token_revoked")
    await api.close()


async def _tokens(app: App) -> list[ApiToken]:
    from govmail.store.repos.api import ApiRepo

    async with app.store.read() as tx:
        return list(await ApiRepo(tx.session, tx.store.dialect).tokens())


async def test_scopes_are_enforced(org: App) -> None:
    reader = Api(org, await make_token(org, ["directory:read"]))
    assert (await reader.get("/mailboxes")).status_code == 200
    body = assert_problem(
        await reader.post("/mailboxes", {"full_name": "Phạm Văn Mới", "agency": MIC}),
        403,
        "insufficient_scope",
    )
    assert "directory:write" in body["detail"]
    assert_problem(await reader.get("/mail/folders"), 403, "insufficient_scope")
    await reader.close()
    async with org.store.read() as tx:
        assert await tx.directory.mailbox_by_address("mailbox-does-not-exist") is None
        names = [m.full_name for m in await tx.directory.mailboxes()]
    assert "Phạm Văn Mới" not in names


async def test_a_browser_session_never_authorizes_the_api(org: App, hang: WebClient) -> None:
    r = await hang.http.get("/api/v1/mailboxes")
    assert_problem(r, 403, "session_not_accepted")
    r = await hang.http.post(
        "/api/v1/messages",
        json={"to": [DUC], "subject": "x", "text": "y"},
        headers={"x-csrf-token": hang.csrf},
    )
    assert_problem(r, 403, "session_not_accepted")
    assert await folder_messages(org, DUC) == []


async def test_failed_tokens_are_rate_limited_per_address(org: App) -> None:
    org.guard.by_address.limit = 3
    good = await make_token(org, ["directory:read"])
    bad = Api(org, "gmt_" + "Z" * 43)
    for _ in range(3):
        assert_problem(await bad.get("/agencies"), 401)
    await bad.close()
    api = Api(org, good)
    r = await api.get("/agencies")  # even a good token waits out the lock
    await api.close()
    assert_problem(r, 429, "too_many_failures")
    assert int(r.headers["retry-after"]) > 0


async def test_token_creation_rules(org: App) -> None:
    from govmail.web.api.tokens import TokenError

    with pytest.raises(TokenError) as exc:
        await make_token(org, ["mail:send"])
    assert exc.value.key == "needs_mailbox"
    with pytest.raises(TokenError) as exc:
        await make_token(org, ["everything"])
    assert exc.value.key == "bad_scope"
    with pytest.raises(TokenError):
        await make_token(org, [])


# -- directory management ------------------------------------------------------------------


@both
async def test_directory_management_through_the_api(org: App, admin_api: Api) -> None:
    r = await admin_api.get("/agencies", params={"under": PHUYEN})
    assert r.status_code == 200
    codes = [a["code"] for a in r.json()["items"]]
    assert codes == [PHUYEN, SO_TTTT]
    r = await admin_api.get(f"/agencies/{MIC}")
    assert r.json()["name"] == "Bộ Thông tin và Truyền thông" and r.json()["domain"] == "mic.gov.vn"

    r = await admin_api.post(
        "/agencies",
        {
            "name": "Văn phòng UBND tỉnh Phú Yên",
            "short_name": "VP UBND",
            "kind": "unit",
            "code": "000.02.45.H45",
            "parent": PHUYEN,
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/agencies/{r.json()['id']}"
    body = assert_problem(
        await admin_api.post(
            "/agencies",
            {
                "name": "Trùng mã",
                "short_name": "X",
                "kind": "unit",
                "code": "000.02.45.H45",
                "parent": PHUYEN,
            },
        ),
        409,
        "directory.agency.code_exists",
    )
    assert "000.02.45.H45" in body["detail"]

    r = await admin_api.post(
        "/mailboxes",
        {
            "full_name": "Đặng Thị Thu Hà",
            "agency": "000.02.45.H45",
            "position": "Chuyên viên",
            "staff_id": "PY-0042",
        },
    )
    assert r.status_code == 201, r.text
    address = r.json()["address"]
    assert address == "hadtt@phuyen.gov.vn" and r.json()["status"] == "active"

    r = await admin_api.get("/mailboxes", params={"q": "dang thi thu", "agency": PHUYEN})
    assert [m["address"] for m in r.json()["items"]] == [address]

    r = await admin_api.patch(
        f"/mailboxes/{address}", {"position": "Phó Chánh Văn phòng", "quota_mb": 500}
    )
    assert r.json()["position"] == "Phó Chánh Văn phòng"
    assert r.json()["quota_bytes"] == 500 * 1024 * 1024
    assert_problem(await admin_api.patch(f"/mailboxes/{address}", {"status": "x"}), 422)
    r = await admin_api.patch(f"/mailboxes/{address}", {"public_fields": ["phone", "address"]})
    assert r.json()["public_fields"] == ["full_name", "address", "phone"] and r.json()["listed"]
    assert_problem(
        await admin_api.patch(f"/mailboxes/{address}", {"public_fields": ["password_hash"]}), 422
    )

    assert (await admin_api.post(f"/mailboxes/{address}/suspend")).json()["status"] == "suspended"
    assert_problem(
        await admin_api.post(f"/mailboxes/{address}/suspend"), 400, "directory.mailbox.not_active"
    )
    r = await admin_api.post(f"/mailboxes/{address}/reactivate")
    assert r.json()["status"] == "active"
    r = await admin_api.post(f"/mailboxes/{address}/transfer", {"agency": SO_TTTT})
    assert r.json()["agency_code"] == SO_TTTT
    r = await admin_api.post(f"/mailboxes/{address}/archive")
    assert r.json()["status"] == "archived" and r.json()["delete_after"]
    assert_problem(await admin_api.get("/mailboxes/nobody@mic.gov.vn"), 404)

    entries = await audit_actions(org, object_id=address)
    assert [e.action for e in reversed(entries)] == [
        "mailbox.add",
        "mailbox.update",
        "mailbox.quota",
        "mailbox.listing",
        "mailbox.suspend",
        "mailbox.reactivate",
        "mailbox.transfer",
        "mailbox.archive",
    ]
    assert {e.source for e in entries} == {"api"}
    assert all(e.actor.startswith("api-token:") for e in entries)


async def test_groups_through_the_api(admin_api: Api) -> None:
    r = await admin_api.get("/groups/lanhdao@mic.gov.vn")
    assert r.json()["members"] == [HANG, DUC] and r.json()["expands_to"] == [HANG, DUC]
    r = await admin_api.post(
        "/groups",
        {
            "address": "cacso@phuyen.gov.vn",
            "name": "Các sở",
            "rule": {"kinds": ["department"], "under": PHUYEN, "target": "staff"},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "dynamic" and r.json()["expands_to"] == [NGA]
    r = await admin_api.post("/groups/lanhdao@mic.gov.vn/members", {"address": TAM})
    assert r.status_code == 201 and TAM in r.json()["members"]
    r = await admin_api.delete(f"/groups/lanhdao@mic.gov.vn/members/{DUC}")
    assert r.json()["members"] == [HANG, TAM]
    assert_problem(
        await admin_api.delete(f"/groups/lanhdao@mic.gov.vn/members/{DUC}"),
        400,
        "directory.group.not_member",
    )
    names = [g["address"] for g in (await admin_api.get("/groups")).json()["items"]]
    assert names == ["cacso@phuyen.gov.vn", "lanhdao@mic.gov.vn"]


@both
async def test_an_agency_token_stays_in_its_subtree(org: App) -> None:
    api = Api(org, await make_token(org, ALL_DIRECTORY, agency=PHUYEN))
    r = await api.get("/mailboxes")
    assert {m["address"].split("@")[1] for m in r.json()["items"]} == {"phuyen.gov.vn"}
    assert [a["code"] for a in (await api.get("/agencies")).json()["items"]] == [PHUYEN, SO_TTTT]

    attempts = [
        api.post(f"/mailboxes/{HANG}/suspend"),
        api.get(f"/mailboxes/{HANG}"),
        api.post(f"/mailboxes/{NGA}/transfer", {"agency": MIC}),
        api.post("/mailboxes", {"full_name": "Người Ngoài", "agency": MIC}),
        api.post("/agencies", {"name": "Cục X", "short_name": "CX", "kind": "unit", "parent": MIC}),
        api.post("/groups/lanhdao@mic.gov.vn/members", {"address": NGA}),
        api.patch(f"/mailboxes/{DUC}", {"quota_mb": 1}),
    ]
    for attempt in attempts:
        assert_problem(await attempt, 403, "out_of_scope")
    async with org.store.read() as tx:
        hang = await tx.directory.mailbox_by_address(HANG)
        nga = await tx.directory.mailbox_by_address(NGA)
        duc = await tx.directory.mailbox_by_address(DUC)
        assert hang is not None and nga is not None and duc is not None
        assert hang.status == "active" and nga.address == NGA and duc.quota_bytes != 1048576
        assert await tx.directory.agency_by_code("000.09.45.H45") is None
    refused = await audit_actions(org, action="admin.refused")
    assert len(refused) == len(attempts)
    assert {e.source for e in refused} == {"api"}
    assert (await api.post(f"/mailboxes/{NGA}/suspend")).json()["status"] == "suspended"
    await api.close()


# -- mail ----------------------------------------------------------------------------------


@both
async def test_send_through_the_pipeline_and_read_back(org: App) -> None:
    sender = Api(org, await make_token(org, ["mail:send"], mailbox=HANG))
    r = await sender.post(
        "/messages",
        {
            "to": [f"Trần Văn Đức <{DUC}>"],
            "cc": [{"name": "Lê Văn Tám", "address": TAM}],
            "subject": "Báo cáo tình hình sử dụng thư điện tử quý IV",
            "text": "Kính gửi anh Đức,\nEm gửi báo cáo đính kèm.",
            "attachments": [
                {
                    "filename": "Báo cáo quý IV.pdf",
                    "content_type": "application/pdf",
                    "data": base64.b64encode(PDF).decode(),
                }
            ],
        },
    )
    assert r.status_code == 202, r.text
    assert sorted(r.json()["accepted"]) == sorted([DUC, TAM]) and r.json()["refused"] == []
    assert len(await folder_messages(org, HANG, "Sent")) == 1

    # As an agency mailbox Hằng handles; but not as a colleague.
    r = await sender.post(
        "/messages",
        {
            "from": "vanthu@mic.gov.vn",
            "to": [DUC],
            "subject": "Giấy mời họp",
            "text": "Trân trọng.",
        },
    )
    assert r.status_code == 202, r.text
    body = assert_problem(
        await sender.post("/messages", {"from": DUC, "to": [TAM], "subject": "x", "text": "y"}),
        422,
        "refused",
    )
    assert body["detail"]
    assert_problem(await sender.get("/mail/folders"), 403, "insufficient_scope")
    await sender.close()

    reader = Api(org, await make_token(org, ["mail:read"], mailbox=DUC))
    folders = (await reader.get("/mail/folders")).json()
    assert folders["mailbox"] == DUC
    inbox = next(f for f in folders["items"] if f["name"] == "INBOX")
    assert inbox["messages"] == 2 and inbox["unseen"] == 2
    listing = (
        await reader.get(f"/mail/folders/{inbox['id']}/messages", params={"limit": 1})
    ).json()
    assert listing["total"] == 2 and len(listing["items"]) == 1
    assert listing["items"][0]["subject"] == "Giấy mời họp"
    listing = (
        await reader.get(f"/mail/folders/{inbox['id']}/messages", params={"limit": 1, "offset": 1})
    ).json()
    uid = listing["items"][0]["uid"]
    detail = (await reader.get(f"/mail/folders/{inbox['id']}/messages/{uid}")).json()
    assert detail["subject"] == "Báo cáo tình hình sử dụng thư điện tử quý IV"
    assert detail["from"]["address"] == HANG and detail["cc"][0]["address"] == TAM
    assert "Em gửi báo cáo đính kèm." in detail["text"]
    att = detail["attachments"][0]
    assert att["filename"] == "Báo cáo quý IV.pdf" and att["size"] == len(PDF)
    r = await reader.get(f"/mail/folders/{inbox['id']}/messages/{uid}/attachments/{att['part']}")
    assert r.content == PDF and "attachment" in r.headers["content-disposition"]
    raw = await reader.get(f"/mail/folders/{inbox['id']}/messages/{uid}/raw")
    assert raw.headers["content-type"] == "message/rfc822"
    assert b"DKIM-Signature" in raw.content or b"Received:" in raw.content
    # Reading changes no flag.
    folders = (await reader.get("/mail/folders")).json()
    assert next(f for f in folders["items"] if f["name"] == "INBOX")["unseen"] == 2
    # Hằng's folders are not Đức's to read.
    hang_inbox = (await folder_messages(org, HANG, "Sent"))[0].folder_id
    assert_problem(await reader.get(f"/mail/folders/{hang_inbox}/messages"), 404, "no_folder")
    assert_problem(await reader.get(f"/mail/folders/{inbox['id']}/messages/999"), 404)
    assert_problem(
        await reader.get(f"/mail/folders/{inbox['id']}/messages/{uid}/attachments/9"), 404
    )
    await reader.close()


async def test_bad_send_requests_are_refused_and_send_nothing(org: App) -> None:
    api = Api(org, await make_token(org, ["mail:send"], mailbox=HANG))
    cases = [
        (
            api.http.post(
                "/messages", content=b"{not json", headers={"content-type": "application/json"}
            ),
            400,
            "bad_json",
        ),
        (
            api.http.post("/messages", content=b"to=x", headers={"content-type": "text/plain"}),
            415,
            "json_expected",
        ),
        (api.post("/messages", [DUC]), 400, "bad_json"),
        (api.post("/messages", {"subject": "x"}), 422, "no_recipient"),
        (api.post("/messages", {"to": ["không phải địa chỉ"]}), 422, "bad_address"),
        (
            api.post("/messages", {"to": DUC, "attachments": [{"data": "***"}]}),
            422,
            "bad_attachment",
        ),
        (api.post("/messages", {"to": [DUC], "subject": 5}), 422, "field_type"),
    ]
    for request, status, code in cases:
        assert_problem(await request, status, code)
    big = {"to": [DUC], "attachments": [{"data": "A" * (4 * 1024 * 1024)}]}
    r = await api.post("/messages", big)
    assert_problem(r, 413, "too_large")
    assert await folder_messages(org, DUC) == []
    assert await folder_messages(org, HANG, "Sent") == []
    await api.close()


async def test_unknown_paths_and_methods_answer_in_problem_json(org: App) -> None:
    api = Api(org, None, lang="en")
    assert_problem(await api.get("/nothing-here"), 404, "not_found")
    r = await api.delete("/agencies")
    assert_problem(r, 405, "method")
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    await api.close()


async def test_the_cli_creates_lists_and_revokes_tokens(
    org: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "_settings", org.settings)
    runner = CliRunner()
    import asyncio

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(api_cmd.app, list(args))

    result = await asyncio.to_thread(
        invoke,
        "token",
        "create",
        "--scope",
        "mail:read",
        "--scope",
        "directory:read",
        "--mailbox",
        DUC,
        "--label",
        "Cổng thông tin",
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("gmt_")
    api = Api(org, secret)
    assert (await api.get("/mail/folders")).json()["mailbox"] == DUC
    result = await asyncio.to_thread(invoke, "token", "list", "--json")
    rows = json.loads(result.output)
    assert rows[0]["label"] == "Cổng thông tin" and rows[0]["mailbox"] == DUC
    assert secret not in result.output
    result = await asyncio.to_thread(invoke, "token", "create", "--scope", "mail:send")
    assert result.exit_code == 2
    result = await asyncio.to_thread(invoke, "token", "revoke", str(rows[0]["id"]))
    assert result.exit_code == 0, result.output
    assert_problem(await api.get("/mail/folders"), 401, "token_revoked")
    await api.close()
    created = await audit_actions(org, action="api_token.create")
    assert created[0].actor.startswith("cli:") and "secret" not in json.dumps(created[0].after)


async def test_an_unexpected_failure_is_a_500_problem(
    org: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(org.pipeline, "deliver", broken)
    api = Api(org, await make_token(org, ["mail:send"], mailbox=HANG), lang="en")
    body = assert_problem(await api.post("/messages", {"to": [DUC], "text": "x"}), 500, "server")
    assert "disk on fire" not in body["detail"]
    await api.close()
