"""The public directory (danh bạ): the agency tree and pages, search by name without
diacritics, the portal's exports (CSV columns, vCard that parses, JSON), and what each
person chooses to show, within what the administration requires."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from tests.web import admin_fixtures
from tests.web.admin_fixtures import (
    NGA,
    PHUYEN,
    QUANTRI,
    SO_TTTT,
    audit_actions,
    both,
    chosen_backend,
    logged_in,
)
from tests.web.conftest import DUC, HANG, TAM, WebClient

from govmail.app import App

org = admin_fixtures.org
quantri = admin_fixtures.quantri


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return chosen_backend(request)


def parse_vcards(text: str) -> list[dict[str, list[str]]]:
    """A strict reader of RFC 6350 text: CRLF line ends, unfolded lines, every card
    BEGIN..END with VERSION:4.0 and an FN, every line ``NAME[;PARAMS]:VALUE``."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.replace("\r\n ", "").split("\r\n")[:-1]
    cards: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    for line in lines:
        m = re.fullmatch(r"([A-Z][A-Z0-9-]*)((?:;[A-Z-]+=[^;:]+)*):(.*)", line)
        assert m, line
        name, value = m.group(1), m.group(3)
        if name == "BEGIN":
            assert value == "VCARD" and current is None
            current = {}
        elif name == "END":
            assert value == "VCARD" and current is not None
            assert current["VERSION"] == ["4.0"] and current.get("FN")
            cards.append(current)
            current = None
        else:
            assert current is not None
            unescaped = re.sub(r"\\([,;\\])", r"\1", value).replace("\\n", "\n")
            current.setdefault(name, []).append(unescaped)
    assert current is None
    return cards


async def test_directory_tree_agency_pages_and_search_without_diacritics(
    org: App, web: WebClient
) -> None:
    r = await web.get("/danh-ba")
    assert r.status_code == 200
    assert "Ủy ban nhân dân tỉnh Phú Yên" in r.text
    assert f'href="/danh-ba/{SO_TTTT}"' in r.text
    alias = await web.get("/directory")
    assert alias.status_code == 200 and "Ủy ban nhân dân tỉnh Phú Yên" in alias.text

    page = await web.get(f"/danh-ba/{PHUYEN}")
    assert page.status_code == 200
    assert "vanthu@phuyen.gov.vn" in page.text and "hộp thư cơ quan" in page.text
    assert TAM in page.text and NGA not in page.text  # Nga is in a unit, linked below
    assert "Sở Thông tin và Truyền thông tỉnh Phú Yên" in page.text
    assert (await web.get("/danh-ba/000.99.99.X00")).status_code == 404

    for query in ("nguyen thi", "NGUYEN THI", "Nguyễn Thị", "nguyên thi"):
        r = await web.get("/danh-ba", params={"q": query})
        assert "Nguyễn Thị Minh Hằng" in r.text and "Nguyễn Thị Nga" in r.text, query
        assert "Trần Văn Đức" not in r.text
    r = await web.get("/danh-ba", params={"q": "minh hang"})
    assert HANG in r.text and r.text.count("mailto:") == 1
    r = await web.get("/danh-ba", params={"q": "phu yen"})
    assert f'href="/danh-ba/{PHUYEN}"' in r.text
    r = await web.get("/danh-ba", params={"q": "quan tri"})
    assert QUANTRI not in r.text  # not listed
    # English page, same data.
    r = await web.get("/danh-ba", params={"q": "duc", "lang": "en"})
    assert "E-mail directory" in r.text and DUC in r.text


async def test_exports_for_the_portal(org: App, web: WebClient) -> None:
    r = await web.get("/danh-ba/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["access-control-allow-origin"] == "*"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == [
        "agency",
        "agency_code",
        "kind",
        "full_name",
        "position",
        "address",
        "phone",
    ]
    addresses = {row["address"] for row in rows}
    assert {HANG, DUC, TAM, NGA, "vanthu@mic.gov.vn", "vanthu@phuyen.gov.vn"} <= addresses
    assert QUANTRI not in addresses
    nga = next(row for row in rows if row["address"] == NGA)
    assert nga["phone"] == ""  # not among her public fields by default
    assert nga["agency_code"] == SO_TTTT and nga["position"] == "Chuyên viên"

    r = await web.get("/danh-ba/export.vcf", params={"agency": PHUYEN})
    assert r.headers["content-type"].startswith("text/vcard")
    cards = parse_vcards(r.text)
    emails = {c["EMAIL"][0] for c in cards}
    assert emails == {TAM, NGA, "vanthu@phuyen.gov.vn"}
    agency_card = next(c for c in cards if c["EMAIL"] == ["vanthu@phuyen.gov.vn"])
    assert agency_card["KIND"] == ["org"]
    assert next(c for c in cards if c["EMAIL"] == [NGA])["ORG"] == [
        "Sở Thông tin và Truyền thông tỉnh Phú Yên"
    ]

    r = await web.get("/directory/export.json", params={"agency": SO_TTTT})
    data = json.loads(r.text)
    assert [d["address"] for d in data] == [NGA]
    assert set(data[0]) == {"agency", "agency_code", "kind", "full_name", "position", "address"}
    r = await web.get("/danh-ba/export.json", params={"agency": "nothing"})
    assert r.status_code == 404


@both
async def test_a_person_chooses_what_the_directory_shows(org: App, web: WebClient) -> None:
    hang = await logged_in(org, HANG)
    assert 'href="/settings/directory"' in (await hang.get("/settings")).text
    r = await hang.get("/settings/directory")
    assert r.status_code == 200 and "Hiện tôi trên danh bạ công khai" in r.text
    r = await hang.post_form(
        "/settings/directory", [("listed", "1"), ("field", "address"), ("field", "phone")]
    )
    assert r.status_code == 303
    rows = json.loads((await web.get("/danh-ba/export.json")).text)
    mine = next(row for row in rows if row.get("address") == HANG)
    assert "position" not in mine and mine["full_name"] == "Nguyễn Thị Minh Hằng"

    r = await hang.post_form("/settings/directory", [("field", "address")])  # unlisted
    assert r.status_code == 303
    r = await web.get("/danh-ba", params={"q": "minh hang"})
    assert HANG not in r.text
    rows = json.loads((await web.get("/danh-ba/export.json")).text)
    assert all(row.get("full_name") != "Nguyễn Thị Minh Hằng" for row in rows)
    changes = await audit_actions(org, action="mailbox.listing", object_id=HANG)
    assert [e.after["listed"] for e in reversed(changes)] == [True, False]
    assert {e.actor for e in changes} == {HANG}

    r = await hang.http.post("/settings/directory", data={"_csrf": "bad", "listed": "1"})
    assert r.status_code == 403
    async with org.store.read() as tx:
        m = await tx.directory.mailbox_by_address(HANG)
        assert m is not None and not m.listed
    await hang.close()


async def test_a_required_listing_cannot_be_hidden(org: App, quantri: WebClient) -> None:
    async with org.store.read() as tx:
        nga_row = await tx.directory.mailbox_by_address(NGA)
    assert nga_row is not None
    r = await quantri.post_form(
        f"/admin/mailboxes/{nga_row.id}/listing",
        [("listed", "1"), ("field", "position"), ("required", "1"), ("required_field", "phone")],
    )
    assert r.status_code == 303
    nga = await logged_in(org, NGA)
    page = await nga.get("/settings/directory")
    assert "Cơ quan yêu cầu bạn có mặt trên danh bạ" in page.text
    r = await nga.post_form("/settings/directory", [("field", "position")])
    assert r.status_code == 400 and "không ẩn được" in r.text
    r = await nga.post_form("/settings/directory", [("listed", "1"), ("field", "position")])
    assert r.status_code == 400 and "bắt buộc phải hiện: phone" in r.text
    async with org.store.read() as tx:
        m = await tx.directory.mailbox_by_address(NGA)
        assert m is not None and m.listed
        assert m.public_fields == ["full_name", "position", "phone"]
    rows = json.loads((await org_get(org, "/danh-ba/export.json")).text)
    assert next(row for row in rows if row.get("full_name") == "Nguyễn Thị Nga")["phone"] == (
        "0257 3811 222"
    )
    r = await nga.post_form(
        "/settings/directory", [("listed", "1"), ("field", "phone"), ("field", "address")]
    )
    assert r.status_code == 303  # anything beyond the requirement is hers to choose
    await nga.close()


async def org_get(app: App, path: str):  # type: ignore[no-untyped-def]
    client = WebClient(app)
    try:
        return await client.get(path)
    finally:
        await client.close()
