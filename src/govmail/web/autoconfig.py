"""Mail client autoconfiguration on the HTTP listener.

- Thunderbird (and Evolution, K-9/FairEmail, which read the same format):
  ``GET /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=…`` and
  ``GET /mail/config-v1.1.xml?emailaddress=…`` (the ``autoconfig.<domain>`` host) answer a
  ``clientConfig`` v1.1 document listing IMAP, POP3 and SMTP submission.
- Outlook: ``POST /autodiscover/autodiscover.xml`` (either capitalisation) with a POX
  request naming ``EMailAddress``; the answer uses the "outlook" response schema
  (``…/outlook/responseschema/2006a``) with IMAP, SMTP and POP3 protocol entries.

Host name and ports are the configured ones (``general.hostname``, ``listeners.*``): the
ones clients must use, so production installations set the standard ports there. Only
domains this server hosts get a configuration (no look-up of the mailbox itself, so the
answers reveal nothing about which addresses exist). Request bodies are parsed with
defusedxml, with DTDs refused outright: no entity is ever expanded.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from xml.sax.saxutils import escape

import defusedxml
import defusedxml.ElementTree as DET
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from govmail.config import Settings
from govmail.directory.agencies import normalize_domain
from govmail.directory.errors import DirectoryError
from govmail.i18n import both, t

if TYPE_CHECKING:
    from govmail.app import App

MAX_REQUEST_BODY = 16 * 1024  # a real autodiscover request is a few hundred bytes
XML_TYPE = "application/xml; charset=utf-8"
REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

Kind = Literal["imap", "pop3", "smtp"]
Security = Literal["SSL", "STARTTLS"]
_LOCAL_FORBIDDEN = set("<>()[]\\,;:\"@&'") | {" ", "\t"}


class BadRequest(ValueError):
    """A request this module refuses; ``key`` names the catalogue message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# -- pure: addresses, endpoints, documents ------------------------------------------------------


def parse_email(value: str) -> tuple[str, str]:
    """(local part, ASCII domain) of a plausible address, lower case; raises BadRequest."""
    value = unicodedata.normalize("NFC", value.strip())
    if not value or len(value) > 254 or value.count("@") != 1:
        raise BadRequest("autoconfig.invalid_address")
    local, domain = value.split("@")
    if (
        not 1 <= len(local.encode("utf-8")) <= 64
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or any(c in _LOCAL_FORBIDDEN or not c.isprintable() for c in local)
    ):
        raise BadRequest("autoconfig.invalid_address")
    try:
        domain = normalize_domain(domain)
    except DirectoryError:
        raise BadRequest("autoconfig.invalid_address") from None
    return local.lower(), domain


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: Kind
    port: int
    security: Security


def endpoints(settings: Settings) -> list[Endpoint]:
    """Every door a client may use, preferred first within each kind (implicit TLS)."""
    ls = settings.listeners
    return [
        Endpoint("imap", ls.imaps_port, "SSL"),
        Endpoint("imap", ls.imap_port, "STARTTLS"),
        Endpoint("pop3", ls.pop3s_port, "SSL"),
        Endpoint("pop3", ls.pop3_port, "STARTTLS"),
        Endpoint("smtp", ls.submissions_port, "SSL"),
        Endpoint("smtp", ls.submission_port, "STARTTLS"),
    ]


def thunderbird_config(
    hostname: str, domains: list[str], address: str | None, doors: list[Endpoint]
) -> str:
    """A clientConfig v1.1 document. Without an address, Thunderbird's placeholder
    ``%EMAILADDRESS%`` stands for the user name."""
    user = escape(address) if address else "%EMAILADDRESS%"
    host = escape(hostname)
    provider = escape(domains[0])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<clientConfig version="1.1">',
        f'  <emailProvider id="{provider}">',
        *(f"    <domain>{escape(d)}</domain>" for d in domains),
        f"    <displayName>{escape(t('autoconfig.display_name', domain=domains[0]))}</displayName>",
        f"    <displayShortName>{provider}</displayShortName>",
    ]
    for door in doors:
        tag = "outgoingServer" if door.kind == "smtp" else "incomingServer"
        lines += [
            f'    <{tag} type="{door.kind}">',
            f"      <hostname>{host}</hostname>",
            f"      <port>{door.port}</port>",
            f"      <socketType>{door.security}</socketType>",
            "      <authentication>password-cleartext</authentication>",
            f"      <username>{user}</username>",
            f"    </{tag}>",
        ]
    lines += ["  </emailProvider>", "</clientConfig>", ""]
    return "\n".join(lines)


def outlook_response(hostname: str, address: str, doors: list[Endpoint]) -> str:
    """A POX autodiscover answer in the "outlook" schema: one protocol entry per kind."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<Autodiscover xmlns="{RESPONSE_NS}">',
        f'  <Response xmlns="{OUTLOOK_NS}">',
        "    <Account>",
        "      <AccountType>email</AccountType>",
        "      <Action>settings</Action>",
    ]
    seen: set[str] = set()
    for door in sorted(doors, key=lambda d: ("imap", "smtp", "pop3").index(d.kind)):
        if door.kind in seen:
            continue
        seen.add(door.kind)
        implicit = door.security == "SSL"
        lines += [
            "      <Protocol>",
            f"        <Type>{door.kind.upper()}</Type>",
            f"        <Server>{escape(hostname)}</Server>",
            f"        <Port>{door.port}</Port>",
            "        <DomainRequired>off</DomainRequired>",
            f"        <LoginName>{escape(address)}</LoginName>",
            "        <SPA>off</SPA>",
            f"        <SSL>{'on' if implicit else 'off'}</SSL>",
            f"        <Encryption>{'SSL' if implicit else 'TLS'}</Encryption>",
            "        <AuthRequired>on</AuthRequired>",
        ]
        if door.kind == "smtp":
            lines.append("        <UsePOPAuth>off</UsePOPAuth>")
        lines.append("      </Protocol>")
    lines += ["    </Account>", "  </Response>", "</Autodiscover>", ""]
    return "\n".join(lines)


def outlook_error(code: int, message: str) -> str:
    """A POX autodiscover error (500 address not found, 600 invalid request, 601 schema
    not provided)."""
    now = datetime.now(UTC).strftime("%H:%M:%S.%f")
    return "\n".join(
        [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<Autodiscover xmlns="{RESPONSE_NS}">',
            "  <Response>",
            f'    <Error Time="{now}" Id="0">',
            f"      <ErrorCode>{code}</ErrorCode>",
            f"      <Message>{escape(message)}</Message>",
            "      <DebugData />",
            "    </Error>",
            "  </Response>",
            "</Autodiscover>",
            "",
        ]
    )


def _local_name(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_autodiscover_request(body: bytes) -> tuple[str, str | None]:
    """(EMailAddress, AcceptableResponseSchema or None) of a POX request.

    DTDs (hence entity definitions, external references and "billion laughs") are
    refused before anything is expanded; raises BadRequest.
    """
    try:
        root = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (defusedxml.DefusedXmlException, ET.ParseError, ValueError):
        raise BadRequest("autoconfig.bad_request") from None
    if _local_name(root.tag) != "Autodiscover":
        raise BadRequest("autoconfig.bad_request")
    address: str | None = None
    schema: str | None = None
    for el in root.iter():
        name = _local_name(el.tag)
        if name == "EMailAddress" and address is None:
            address = (el.text or "").strip()
        elif name == "AcceptableResponseSchema" and schema is None:
            schema = (el.text or "").strip()
    if not address:
        raise BadRequest("autoconfig.bad_request")
    return address, schema


# -- the routes ---------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None if it is larger than ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _text(status: int, key: str, **params: str) -> Response:
    return PlainTextResponse(both(key, **params) + "\n", status_code=status)


def autoconfig_routes(app: App) -> list[Route]:
    settings = app.settings

    async def hosted(domain: str) -> bool:
        return domain in await app.pipeline.local_domains()

    async def thunderbird(request: Request) -> Response:
        raw = request.query_params.get("emailaddress")
        hostname = settings.general.hostname
        if raw is None:
            domains = sorted(await app.pipeline.local_domains())
            if not domains:
                return _text(404, "autoconfig.no_domains")
            doc = thunderbird_config(hostname, domains, None, endpoints(settings))
            return Response(doc, media_type=XML_TYPE)
        try:
            local, domain = parse_email(raw)
        except BadRequest as exc:
            return _text(400, exc.key)
        if not await hosted(domain):
            return _text(404, "autoconfig.unknown_domain", domain=domain)
        doc = thunderbird_config(hostname, [domain], f"{local}@{domain}", endpoints(settings))
        return Response(doc, media_type=XML_TYPE)

    async def outlook(request: Request) -> Response:
        def error(status: int, code: int, key: str, **params: str) -> Response:
            return Response(
                outlook_error(code, both(key, **params)), status_code=status, media_type=XML_TYPE
            )

        body = await _read_body(request, MAX_REQUEST_BODY)
        if body is None:
            return error(413, 600, "autoconfig.too_large")
        try:
            raw, schema = parse_autodiscover_request(body)
            local, domain = parse_email(raw)
        except BadRequest as exc:
            return error(400, 600, exc.key)
        if schema is not None and schema != OUTLOOK_NS:
            # e.g. ActiveSync's "mobilesync" schema: not provided here (client falls back)
            return error(200, 601, "autoconfig.schema_unsupported")
        if not await hosted(domain):
            return error(404, 500, "autoconfig.unknown_domain", domain=domain)
        doc = outlook_response(settings.general.hostname, f"{local}@{domain}", endpoints(settings))
        return Response(doc, media_type=XML_TYPE)

    return [
        Route("/.well-known/autoconfig/mail/config-v1.1.xml", thunderbird, methods=["GET"]),
        Route("/mail/config-v1.1.xml", thunderbird, methods=["GET"]),
        Route("/autodiscover/autodiscover.xml", outlook, methods=["POST"]),
        Route("/Autodiscover/Autodiscover.xml", outlook, methods=["POST"]),
    ]
