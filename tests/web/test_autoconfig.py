"""Thunderbird autoconfig and Outlook autodiscover, over a real HTTP connection."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from govmail.app import App
from govmail.config import Settings
from govmail.web.autoconfig import (
    OUTLOOK_NS,
    REQUEST_NS,
    RESPONSE_NS,
    BadRequest,
    autoconfig_routes,
    parse_autodiscover_request,
    parse_email,
)
from govmail.web.http_service import HttpService

STANDARD_PORTS = {
    "imaps_port": 993,
    "imap_port": 143,
    "pop3s_port": 995,
    "pop3_port": 110,
    "submissions_port": 465,
    "submission_port": 587,
}


@pytest.fixture
async def client(db_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A running App (listeners on ephemeral ports) hosting mic.gov.vn, and an HTTP
    client for a server that mounts the autoconfig routes."""
    ls = db_settings.listeners
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
    db_settings.general.hostname = "mail.mic.gov.vn"
    app = App(db_settings)
    await app.start()
    async with app.directory.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        await ops.add_domain("phuyen.gov.vn")
    # What clients are told: the configured ports (standard in production).
    for attr, value in STANDARD_PORTS.items():
        setattr(ls, attr, value)
    http = HttpService(Starlette(routes=autoconfig_routes(app)), ["127.0.0.1"], 0)
    await http.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}", timeout=10) as c:
            yield c
    finally:
        await http.stop()
        await app.stop()


TB_PATHS = ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"]
OUTLOOK_PATHS = ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"]


def servers(doc: ET.Element, tag: str) -> list[dict[str, str]]:
    out = []
    for el in doc.iter(tag):
        entry = {"type": el.get("type", "")}
        entry.update({child.tag: (child.text or "") for child in el})
        out.append(entry)
    return out


def expected_server(kind: str, port: int, socket_type: str, user: str) -> dict[str, str]:
    return {
        "type": kind,
        "hostname": "mail.mic.gov.vn",
        "port": str(port),
        "socketType": socket_type,
        "authentication": "password-cleartext",
        "username": user,
    }


# -- Thunderbird --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TB_PATHS)
async def test_thunderbird_config(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, params={"emailaddress": "HangNTM@MIC.gov.vn"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    doc = ET.fromstring(r.content)
    assert doc.tag == "clientConfig" and doc.get("version") == "1.1"
    (provider,) = doc.findall("emailProvider")
    assert provider.get("id") == "mic.gov.vn"
    assert [d.text for d in provider.findall("domain")] == ["mic.gov.vn"]
    assert provider.findtext("displayName") == "Thư điện tử công vụ mic.gov.vn"
    user = "hangntm@mic.gov.vn"
    assert servers(doc, "incomingServer") == [
        expected_server("imap", 993, "SSL", user),
        expected_server("imap", 143, "STARTTLS", user),
        expected_server("pop3", 995, "SSL", user),
        expected_server("pop3", 110, "STARTTLS", user),
    ]
    assert servers(doc, "outgoingServer") == [
        expected_server("smtp", 465, "SSL", user),
        expected_server("smtp", 587, "STARTTLS", user),
    ]


async def test_thunderbird_without_address_uses_placeholder(client: httpx.AsyncClient) -> None:
    r = await client.get(TB_PATHS[0])
    assert r.status_code == 200
    doc = ET.fromstring(r.content)
    assert [d.text for d in doc.iter("domain")] == ["mic.gov.vn", "phuyen.gov.vn"]
    assert {s["username"] for s in servers(doc, "incomingServer")} == {"%EMAILADDRESS%"}


@pytest.mark.parametrize(
    "address",
    [
        "",
        "khong-co-a-cong",
        "a@b@mic.gov.vn",
        "a b@mic.gov.vn",
        "<x>@mic.gov.vn",
        "x@-bad-.vn",
        "x@mic..gov.vn",
        "x@localhost",
        ".x@mic.gov.vn",
        "x\x00y@mic.gov.vn",
        "x" * 65 + "@mic.gov.vn",
        "a@" + "b" * 260 + ".vn",
    ],
)
async def test_thunderbird_refuses_invalid_address(client: httpx.AsyncClient, address: str) -> None:
    r = await client.get(TB_PATHS[1], params={"emailaddress": address})
    assert r.status_code == 400
    assert r.text.startswith("Địa chỉ thư điện tử không hợp lệ. / Invalid e-mail address.")


async def test_thunderbird_unknown_domain(client: httpx.AsyncClient) -> None:
    r = await client.get(TB_PATHS[0], params={"emailaddress": "someone@gmail.com"})
    assert r.status_code == 404
    assert "gmail.com" in r.text and "does not host" in r.text


# -- Outlook ----------------------------------------------------------------------------------


def autodiscover_request(address: str, schema: str = OUTLOOK_NS, ns: bool = True) -> bytes:
    xmlns = f' xmlns="{REQUEST_NS}"' if ns else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover{xmlns}><Request>'
        f"<EMailAddress>{address}</EMailAddress>"
        f"<AcceptableResponseSchema>{schema}</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    ).encode()


A = "{" + OUTLOOK_NS + "}"


@pytest.mark.parametrize("path", OUTLOOK_PATHS)
async def test_outlook_autodiscover(client: httpx.AsyncClient, path: str) -> None:
    r = await client.post(
        path,
        content=autodiscover_request("tamlv@PhuYen.gov.vn"),
        headers={"content-type": "text/xml"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    doc = ET.fromstring(r.content)
    assert doc.tag == "{" + RESPONSE_NS + "}Autodiscover"
    response = doc.find(A + "Response")
    assert response is not None
    account = response.find(A + "Account")
    assert account is not None
    assert account.findtext(A + "AccountType") == "email"
    assert account.findtext(A + "Action") == "settings"
    protocols = [
        {child.tag.removeprefix(A): child.text for child in proto}
        for proto in account.findall(A + "Protocol")
    ]
    common = {
        "Server": "mail.mic.gov.vn",
        "DomainRequired": "off",
        "LoginName": "tamlv@phuyen.gov.vn",
        "SPA": "off",
        "SSL": "on",
        "Encryption": "SSL",
        "AuthRequired": "on",
    }
    assert protocols == [
        {"Type": "IMAP", "Port": "993", **common},
        {"Type": "SMTP", "Port": "465", **common, "UsePOPAuth": "off"},
        {"Type": "POP3", "Port": "995", **common},
    ]


async def test_outlook_request_without_namespace(client: httpx.AsyncClient) -> None:
    r = await client.post(
        OUTLOOK_PATHS[0], content=autodiscover_request("hangntm@mic.gov.vn", ns=False)
    )
    assert r.status_code == 200 and b"<LoginName>hangntm@mic.gov.vn</LoginName>" in r.content


def error_of(content: bytes) -> tuple[str | None, str | None]:
    doc = ET.fromstring(content)
    ns = "{" + RESPONSE_NS + "}"
    err = doc.find(f"{ns}Response/{ns}Error")
    assert err is not None
    return err.findtext(ns + "ErrorCode"), err.findtext(ns + "Message")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Autodiscover [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Autodiscover><Request><EMailAddress>&xxe;@mic.gov.vn</EMailAddress></Request></Autodiscover>"""

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<Autodiscover><Request><EMailAddress>&lol9;</EMailAddress></Request></Autodiscover>"
)

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]>
<Autodiscover/>"""


@pytest.mark.parametrize("body", [XXE, LAUGHS, PARAMETER_ENTITY], ids=["xxe", "laughs", "param"])
async def test_outlook_refuses_hostile_xml(client: httpx.AsyncClient, body: bytes) -> None:
    started = time.monotonic()
    r = await client.post(OUTLOOK_PATHS[0], content=body)
    assert time.monotonic() - started < 5
    assert r.status_code == 400
    assert error_of(r.content) == (
        "600",
        "Yêu cầu autodiscover không hợp lệ. / Malformed autodiscover request.",
    )
    assert b"root:" not in r.content and b"lollol" not in r.content


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<Autodiscover><Request>",
        b"<Other><EMailAddress>a@mic.gov.vn</EMailAddress></Other>",
        b"<Autodiscover><Request><EMailAddress> </EMailAddress></Request></Autodiscover>",
        "<Autodiscover>\udcff</Autodiscover>".encode("utf-8", "surrogateescape"),
    ],
)
async def test_outlook_refuses_malformed_requests(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post(OUTLOOK_PATHS[1], content=body)
    assert r.status_code == 400
    assert error_of(r.content)[0] == "600"


async def test_outlook_other_refusals(client: httpx.AsyncClient) -> None:
    r = await client.post(OUTLOOK_PATHS[0], content=autodiscover_request("a b@mic.gov.vn"))
    assert r.status_code == 400
    assert error_of(r.content) == (
        "600",
        "Địa chỉ thư điện tử không hợp lệ. / Invalid e-mail address.",
    )
    r = await client.post(OUTLOOK_PATHS[0], content=autodiscover_request("x@example.org"))
    assert r.status_code == 404 and error_of(r.content)[0] == "500"
    mobilesync = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
    r = await client.post(
        OUTLOOK_PATHS[0], content=autodiscover_request("hangntm@mic.gov.vn", schema=mobilesync)
    )
    assert r.status_code == 200 and error_of(r.content)[0] == "601"
    big = autodiscover_request("hangntm@mic.gov.vn").replace(
        b"<Request>", b"<Request>" + b" " * 20000
    )
    r = await client.post(OUTLOOK_PATHS[0], content=big)
    assert r.status_code == 413
    r = await client.get(OUTLOOK_PATHS[0])
    assert r.status_code == 405


# -- pure functions ---------------------------------------------------------------------------


def test_parse_email() -> None:
    assert parse_email("  HangNTM@MIC.GOV.VN. ") == ("hangntm", "mic.gov.vn")
    assert parse_email("Hằng@Bộ.vn") == ("hằng", "bộ.vn".encode("idna").decode())
    for bad in ("a@b", "@mic.gov.vn", "a@", "a..b@mic.gov.vn", 'a"b@mic.gov.vn'):
        with pytest.raises(BadRequest):
            parse_email(bad)


def test_parse_autodiscover_request() -> None:
    assert parse_autodiscover_request(autodiscover_request("a@mic.gov.vn")) == (
        "a@mic.gov.vn",
        OUTLOOK_NS,
    )
    body = b"<Autodiscover><Request><EMailAddress>a@b.vn</EMailAddress></Request></Autodiscover>"
    assert parse_autodiscover_request(body) == ("a@b.vn", None)
    for hostile in (XXE, LAUGHS, PARAMETER_ENTITY):
        with pytest.raises(BadRequest):
            parse_autodiscover_request(hostile)
