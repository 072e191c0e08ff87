"""edXML packages (QCVN 102:2016/BTTTT): build and parse official-document envelopes and
status messages. Pure: bytes in, dataclasses out (and back), no I/O.

The layout written is the one of the public SDK samples (reference notes §1.2)::

    <edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xmlns:xsi=… xmlns:xsd=…>
      <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
        <edXML:edXMLHeader>
          <edXML:MessageHeader>…</edXML:MessageHeader>   (or <edXML:Status>…)
          <edXML:TraceHeaderList …>…</edXML:TraceHeaderList>
        </edXML:edXMLHeader>
        <edXML:edXMLBody><edXML:edXMLManifest version="1.0">
          <edXML:Reference xlink:href="cid:…">…</edXML:Reference>…
        </edXML:edXMLManifest></edXML:edXMLBody>
      </edXML:edXMLEnvelope>
      [<AttachmentEncoded>…</AttachmentEncoded>]   (read, never written: in mail the
                                                     files are MIME parts named by cid:)
    </edXML>

Parsing is strict and safe against hostile input: defusedxml with DTDs forbidden (no
entity expansion, no external entities: XXE and "billion laughs" fail at once), a size
limit, the QCVN namespace required (the older ``http://www.go.vn/eDoc`` is refused),
required fields, lengths, code formats and dates checked, and the DocumentId compared with
the fields it is made of. Every problem is an ``EnvelopeError`` with a reason code.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

from govmail.documents.model import (
    STATUS_CODES,
    Business,
    DocumentEnvelope,
    FileRef,
    Organ,
    ResponseFor,
    Signer,
    StaffInfo,
    StatusMessage,
    TraceEntry,
)

__all__ = [
    "EDXML_NS",
    "MAX_PACKAGE_BYTES",
    "VN_TZ",
    "EnvelopeError",
    "build_document",
    "build_status",
    "looks_like_edxml",
    "parse_package",
]

EDXML_NS: Final = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
OLD_NS: Final = "http://www.go.vn/eDoc"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"
SOAP_ACTOR: Final = "http://schemas.xmlsoap.org/soap/actor/next"
VN_TZ: Final = timezone(timedelta(hours=7), "ICT")
MAX_PACKAGE_BYTES: Final = 64 * 1024 * 1024
MAX_FILES: Final = 200
MAX_RECIPIENTS: Final = 5000
ORGAN_ID_RE: Final = re.compile(r"^[0-9A-Z]+(\.[0-9A-Z]+)*$")
_DATE_RE = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")
_TS_RE = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})$")
# XML 1.0 forbids most C0 controls even as character references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Field limits: Phụ lục VI NĐ 30/2020 where it gives one, generous elsewhere.
LIMITS: Final[dict[str, int]] = {
    "OrganId": 35,
    "OrganName": 300,
    "CodeNumber": 11,
    "CodeNotation": 30,
    "Subject": 1000,
    "Content": 20000,
    "Place": 1000,
    "FullName": 100,
    "Position": 200,
    "Competence": 100,
    "DocumentId": 200,
    "TypeName": 100,
    "Description": 4000,
    "AttachmentName": 255,
    "ContentType": 127,
    "ContentId": 255,
}


class EnvelopeError(ValueError):
    """An edXML package that cannot be accepted. ``reason`` names the problem (a key of
    the ``documents.envelope.*`` messages), ``detail`` says where."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- writing


class _W:
    """A tiny XML writer: every element of the edXML namespace gets the ``edXML:`` prefix."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def open(self, name: str, attrs: dict[str, str] | None = None) -> None:
        a = "".join(f" {k}={quoteattr(_clean(v))}" for k, v in (attrs or {}).items())
        self.out.append(f"<edXML:{name}{a}>")

    def close(self, name: str) -> None:
        self.out.append(f"</edXML:{name}>")

    def leaf(self, name: str, value: object) -> None:
        text = "" if value is None else str(value)
        if text:
            self.out.append(f"<edXML:{name}>{escape(_clean(text))}</edXML:{name}>")
        else:
            self.out.append(f"<edXML:{name} />")

    def raw(self, text: str) -> None:
        self.out.append(text)


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", unicodedata.normalize("NFC", text))


def _d(value: date | None) -> str:
    return "" if value is None else f"{value:%Y/%m/%d}"


def _ts(value: datetime) -> str:
    return value.astimezone(VN_TZ).strftime("%Y/%m/%d %H:%M:%S")


def _organ(w: _W, tag: str, o: Organ) -> None:
    w.open(tag)
    w.leaf("OrganId", o.organ_id)
    w.leaf("OrganizationInCharge", o.in_charge)
    w.leaf("OrganName", o.name)
    w.leaf("OrganAdd", o.address)
    w.leaf("Email", o.email)
    w.leaf("Telephone", o.telephone)
    w.leaf("Fax", o.fax)
    w.leaf("Website", o.website)
    w.close(tag)


def _staff(w: _W, s: StaffInfo | None) -> None:
    if s is None:
        return
    w.open("StaffInfo")
    w.leaf("Department", s.department)
    w.leaf("Staff", s.staff)
    w.leaf("Mobile", s.mobile)
    w.leaf("Email", s.email)
    w.close("StaffInfo")


def _response_for(w: _W, r: ResponseFor) -> None:
    w.open("ResponseFor")
    w.leaf("OrganId", r.organ_id)
    w.leaf("Code", r.code)
    w.leaf("PromulgationDate", _d(r.promulgation_date))
    w.leaf("DocumentId", r.document_id)
    w.close("ResponseFor")


def _start(w: _W) -> None:
    w.raw('<?xml version="1.0" encoding="utf-8"?>\n')
    w.raw(f'<edXML xmlns:xsi="{XSI_NS}" xmlns:xsd="{XSD_NS}" xmlns="{EDXML_NS}">')
    w.raw(f'<edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">')
    w.open("edXMLHeader")


def _trace(w: _W, trace: list[TraceEntry], business: Business | None) -> None:
    w.open(
        "TraceHeaderList",
        {"id": secrets.token_hex(4), "version": "1.0", "mustUnderstand": "1", "actor": SOAP_ACTOR},
    )
    for t in trace:
        w.open("TraceHeader")
        w.leaf("OrganId", t.organ_id)
        w.leaf("Timestamp", _ts(t.timestamp))
        w.close("TraceHeader")
    if business is not None:
        w.open("Bussiness")
        w.leaf("BussinessDocType", business.doc_type)
        w.leaf("BussinessDocReason", business.reason)
        if business.document_id:
            w.leaf("DocumentId", business.document_id)
        _staff(w, business.staff)
        w.leaf("Paper", business.paper)
        w.close("Bussiness")
    w.close("TraceHeaderList")


def build_document(env: DocumentEnvelope) -> bytes:
    """The edXML package of a document; files are listed in the manifest by ``cid:``."""
    w = _W()
    _start(w)
    w.open("MessageHeader")
    _organ(w, "From", env.sender)
    for r in env.recipients:
        _organ(w, "To", r)
    w.open("Code")
    w.leaf("CodeNumber", env.number)
    w.leaf("CodeNotation", env.notation)
    w.close("Code")
    w.open("PromulgationInfo")
    w.leaf("Place", env.place)
    w.leaf("PromulgationDate", _d(env.promulgation_date))
    w.close("PromulgationInfo")
    w.open("DocumentType")
    w.leaf("Type", env.type_no)
    w.leaf("TypeName", env.type_name)
    w.close("DocumentType")
    w.leaf("Subject", env.subject)
    w.leaf("Content", env.content)
    w.open("SignerInfo")
    w.leaf("Competence", env.signer.competence)
    w.leaf("Position", env.signer.position)
    w.leaf("FullName", env.signer.full_name)
    w.close("SignerInfo")
    w.leaf("DueDate", _d(env.due_date))
    w.open("ToPlaces")
    for p in env.to_places:
        w.leaf("Place", p)
    w.close("ToPlaces")
    w.open("OtherInfo")
    w.leaf("Priority", env.priority)
    w.leaf("SphereOfPromulgation", env.sphere)
    w.leaf("TyperNotation", env.typer_notation)
    w.leaf("PromulgationAmount", "" if env.promulgation_amount is None else env.promulgation_amount)
    w.leaf("PageAmount", "" if env.page_amount is None else env.page_amount)
    w.open("Appendixes")
    for a in env.appendixes:
        w.leaf("Appendix", a)
    w.close("Appendixes")
    w.close("OtherInfo")
    for answered in env.response_for:
        _response_for(w, answered)
    w.leaf("SteeringType", env.steering_type)
    w.leaf("DocumentId", env.document_id)
    w.close("MessageHeader")
    _trace(w, env.trace, env.business)
    w.close("edXMLHeader")
    w.open("edXMLBody")
    w.open("edXMLManifest", {"version": "1.0"})
    for f in env.files:
        href = quoteattr("cid:" + _clean(f.content_id))
        w.raw(f'<edXML:Reference xmlns:xlink="{XLINK_NS}" xlink:href={href} xlink:type="simple">')
        w.leaf("Description", f.description)
        w.leaf("AttachmentName", f.name)
        w.leaf("ContentType", f.content_type)
        w.leaf("ContentId", "cid:" + f.content_id)
        w.close("Reference")
    w.close("edXMLManifest")
    w.close("edXMLBody")
    w.raw("</edXML:edXMLEnvelope></edXML>\n")
    return "".join(w.out).encode("utf-8")


def build_status(status: StatusMessage) -> bytes:
    """The edXML package of a status message ("gói tin trạng thái")."""
    w = _W()
    _start(w)
    w.open("Status")
    _response_for(w, status.response_for)
    _organ(w, "From", status.sender)
    w.leaf("StatusCode", status.code)
    w.leaf("Description", status.description)
    w.leaf("Timestamp", _ts(status.timestamp))
    _staff(w, status.staff)
    w.close("Status")
    w.close("edXMLHeader")
    w.raw("</edXML:edXMLEnvelope></edXML>\n")
    return "".join(w.out).encode("utf-8")


# --------------------------------------------------------------------------- reading


def looks_like_edxml(data: bytes) -> bool:
    """A cheap test before parsing: the QCVN namespace (or the old one) near the start."""
    head = data[:4096]
    return EDXML_NS.encode() in head or OLD_NS.encode() in head


def _q(name: str) -> str:
    return f"{{{EDXML_NS}}}{name}"


def _child(parent: ET.Element, name: str) -> ET.Element | None:
    return parent.find(_q(name))


def _children(parent: ET.Element, name: str) -> Iterator[ET.Element]:
    return iter(parent.findall(_q(name)))


def _text(parent: ET.Element | None, name: str, *, required: bool = False, where: str = "") -> str:
    el = None if parent is None else _child(parent, name)
    value = unicodedata.normalize("NFC", (el.text or "") if el is not None else "").strip()
    if required and not value:
        raise EnvelopeError("missing_field", f"{where}{name}")
    limit = LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise EnvelopeError("field_too_long", f"{where}{name} ({len(value)} > {limit})")
    return value


def _int(parent: ET.Element | None, name: str, default: int | None, lo: int, hi: int) -> int | None:
    value = _text(parent, name)
    if not value:
        return default
    if not value.lstrip("-").isdigit() or not lo <= int(value) <= hi:
        raise EnvelopeError("bad_number", f"{name}={value[:20]!r}")
    return int(value)


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    m = _DATE_RE.match(value)
    if m is None:
        raise EnvelopeError("bad_date", f"{name}={value[:30]!r}")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise EnvelopeError("bad_date", f"{name}={value[:30]!r}") from None


def _timestamp(value: str, name: str) -> datetime:
    m = _TS_RE.match(value)
    if m is None:
        raise EnvelopeError("bad_date", f"{name}={value[:30]!r}")
    try:
        y, mo, d, h, mi, sec = (int(g) for g in m.groups())
        return datetime(y, mo, d, h, mi, sec, tzinfo=VN_TZ)
    except ValueError:
        raise EnvelopeError("bad_date", f"{name}={value[:30]!r}") from None


def _organ_of(el: ET.Element, where: str, *, require_id: bool = True) -> Organ:
    organ_id = _text(el, "OrganId", required=require_id, where=where)
    if organ_id and not ORGAN_ID_RE.match(organ_id):
        raise EnvelopeError("bad_organ_id", f"{where}OrganId={organ_id[:40]!r}")
    return Organ(
        organ_id=organ_id,
        name=_text(el, "OrganName", where=where),
        in_charge=_text(el, "OrganizationInCharge", where=where),
        address=_text(el, "OrganAdd", where=where),
        email=_text(el, "Email", where=where).lower(),
        telephone=_text(el, "Telephone", where=where),
        fax=_text(el, "Fax", where=where),
        website=_text(el, "Website", where=where),
    )


def _staff_of(el: ET.Element | None) -> StaffInfo | None:
    if el is None:
        return None
    return StaffInfo(
        department=_text(el, "Department"),
        staff=_text(el, "Staff"),
        mobile=_text(el, "Mobile"),
        email=_text(el, "Email"),
    )


def _response_for_of(el: ET.Element, where: str) -> ResponseFor:
    organ_id = _text(el, "OrganId", where=where)
    if organ_id and not ORGAN_ID_RE.match(organ_id):
        raise EnvelopeError("bad_organ_id", f"{where}OrganId={organ_id[:40]!r}")
    return ResponseFor(
        organ_id=organ_id,
        code=_text(el, "Code", where=where),
        promulgation_date=_date(_text(el, "PromulgationDate"), f"{where}PromulgationDate"),
        document_id=_text(el, "DocumentId", where=where),
    )


def _root(data: bytes, max_bytes: int) -> ET.Element:
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse_package needs bytes")
    if len(data) > max_bytes:
        raise EnvelopeError("too_big", f"{len(data)} > {max_bytes}")
    try:
        root = fromstring(bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise EnvelopeError("forbidden_xml", type(exc).__name__) from None
    except (ET.ParseError, ValueError, UnicodeError, LookupError) as exc:
        raise EnvelopeError("malformed_xml", str(exc)[:200]) from None
    if root.tag.startswith(f"{{{OLD_NS}}}"):
        raise EnvelopeError("old_namespace", OLD_NS)
    if root.tag == _q("edXML"):
        env = _child(root, "edXMLEnvelope")
        if env is None:
            raise EnvelopeError("not_edxml", "edXML without edXMLEnvelope")
        return root
    if root.tag == _q("edXMLEnvelope"):
        return root
    raise EnvelopeError("not_edxml", root.tag[:120])


def parse_package(
    data: bytes, *, max_bytes: int = MAX_PACKAGE_BYTES
) -> DocumentEnvelope | StatusMessage:
    """Read an edXML package: a document envelope or a status message."""
    outer = _root(data, max_bytes)
    env = outer if outer.tag == _q("edXMLEnvelope") else _child(outer, "edXMLEnvelope")
    assert env is not None
    header = _child(env, "edXMLHeader")
    if header is None:
        raise EnvelopeError("missing_field", "edXMLHeader")
    message_header = _child(header, "MessageHeader")
    status = _child(header, "Status")
    if (message_header is None) == (status is None):
        raise EnvelopeError("not_edxml", "needs exactly one of MessageHeader and Status")
    if status is not None:
        return _status_of(status)
    assert message_header is not None
    return _document_of(outer, env, header, message_header)


def _status_of(el: ET.Element) -> StatusMessage:
    rf = _child(el, "ResponseFor")
    frm = _child(el, "From")
    if rf is None or frm is None:
        raise EnvelopeError("missing_field", "Status/ResponseFor, Status/From")
    response_for = _response_for_of(rf, "Status/ResponseFor/")
    if not response_for.document_id:
        raise EnvelopeError("missing_field", "Status/ResponseFor/DocumentId")
    code = _text(el, "StatusCode", required=True, where="Status/")
    if len(code) == 1 and code.isdigit():
        code = "0" + code
    if code not in STATUS_CODES:
        raise EnvelopeError("bad_status_code", code[:10])
    return StatusMessage(
        response_for=response_for,
        sender=_organ_of(frm, "Status/From/"),
        code=code,
        description=_text(el, "Description"),
        timestamp=_timestamp(_text(el, "Timestamp", required=True, where="Status/"), "Timestamp"),
        staff=_staff_of(_child(el, "StaffInfo")),
    )


def _document_of(
    outer: ET.Element, env: ET.Element, header: ET.Element, mh: ET.Element
) -> DocumentEnvelope:
    frm = _child(mh, "From")
    if frm is None:
        raise EnvelopeError("missing_field", "From")
    sender = _organ_of(frm, "From/")
    recipients = [_organ_of(t, "To/", require_id=False) for t in _children(mh, "To")]
    if not recipients:
        raise EnvelopeError("missing_field", "To")
    if len(recipients) > MAX_RECIPIENTS:
        raise EnvelopeError("too_big", f"{len(recipients)} To")
    if any(not (r.organ_id or r.email) for r in recipients):
        raise EnvelopeError("missing_field", "To/OrganId")
    code = _child(mh, "Code")
    number = _text(code, "CodeNumber", required=True, where="Code/")
    notation = _text(code, "CodeNotation", required=True, where="Code/")
    if not number.isdigit():
        raise EnvelopeError("bad_number", f"CodeNumber={number!r}")
    info = _child(mh, "PromulgationInfo")
    promulgated = _date(
        _text(info, "PromulgationDate", required=True, where="PromulgationInfo/"),
        "PromulgationDate",
    )
    assert promulgated is not None
    dtype = _child(mh, "DocumentType")
    type_no = _int(dtype, "Type", 0, 0, 999) or 0
    type_name = _text(dtype, "TypeName")
    if not type_no and not type_name:
        raise EnvelopeError("missing_field", "DocumentType")
    signer_el = _child(mh, "SignerInfo")
    other = _child(mh, "OtherInfo")
    places_el = _child(mh, "ToPlaces")
    appendixes_el = None if other is None else _child(other, "Appendixes")
    document_id = _text(mh, "DocumentId", required=True)
    expected = f"{sender.organ_id},{_d(promulgated)},{number}/{notation}"
    if unicodedata.normalize("NFC", document_id) != expected:
        raise EnvelopeError("document_id_mismatch", f"{document_id!r} != {expected!r}")
    trace_list = _child(header, "TraceHeaderList")
    trace: list[TraceEntry] = []
    business = Business()
    if trace_list is not None:
        for t in _children(trace_list, "TraceHeader"):
            stamp = _timestamp(_text(t, "Timestamp", required=True), "Timestamp")
            trace.append(TraceEntry(_text(t, "OrganId"), stamp))
        b = _child(trace_list, "Bussiness")
        if b is not None:
            business = Business(
                doc_type=_int(b, "BussinessDocType", 0, 0, 3) or 0,
                reason=_text(b, "BussinessDocReason"),
                document_id=_text(b, "DocumentId"),
                staff=_staff_of(_child(b, "StaffInfo")),
                paper=_int(b, "Paper", 0, 0, 1_000_000) or 0,
            )
    return DocumentEnvelope(
        sender=sender,
        recipients=recipients,
        number=number,
        notation=notation,
        place=_text(info, "Place"),
        promulgation_date=promulgated,
        type_no=type_no,
        type_name=type_name,
        subject=_text(mh, "Subject", required=True),
        content=_text(mh, "Content"),
        signer=Signer(
            full_name=_text(signer_el, "FullName"),
            position=_text(signer_el, "Position"),
            competence=_text(signer_el, "Competence"),
        ),
        document_id=document_id,
        due_date=_date(_text(mh, "DueDate"), "DueDate"),
        to_places=[
            unicodedata.normalize("NFC", p.text or "").strip()[: LIMITS["Place"]]
            for p in ([] if places_el is None else _children(places_el, "Place"))
            if (p.text or "").strip()
        ],
        priority=_int(other, "Priority", 0, 0, 4) or 0,
        sphere=_text(other, "SphereOfPromulgation"),
        typer_notation=_text(other, "TyperNotation"),
        promulgation_amount=_int(other, "PromulgationAmount", None, 0, 10_000_000),
        page_amount=_int(other, "PageAmount", None, 0, 10_000_000),
        appendixes=[
            unicodedata.normalize("NFC", a.text or "").strip()
            for a in ([] if appendixes_el is None else _children(appendixes_el, "Appendix"))
            if (a.text or "").strip()
        ],
        response_for=[_response_for_of(r, "ResponseFor/") for r in _children(mh, "ResponseFor")],
        steering_type=_int(mh, "SteeringType", 1, 0, 9) or 0,
        trace=trace,
        business=business,
        files=_files(outer, env),
    )


def _files(outer: ET.Element, env: ET.Element) -> list[FileRef]:
    body = _child(env, "edXMLBody")
    manifest = None if body is None else _child(body, "edXMLManifest")
    refs: list[FileRef] = []
    seen: set[str] = set()
    for el in [] if manifest is None else _children(manifest, "Reference"):
        href = el.get(f"{{{XLINK_NS}}}href") or _text(el, "ContentId")
        cid = _cid(href)
        if not cid:
            raise EnvelopeError("bad_reference", "Reference without cid:")
        if cid in seen:
            raise EnvelopeError("bad_reference", f"cid:{cid} twice")
        seen.add(cid)
        refs.append(
            FileRef(
                content_id=cid,
                name=_safe_name(_text(el, "AttachmentName")),
                content_type=_text(el, "ContentType").lower() or "application/octet-stream",
                description=_text(el, "Description"),
            )
        )
        if len(refs) > MAX_FILES:
            raise EnvelopeError("too_big", f"more than {MAX_FILES} files")
    encoded = _child(outer, "AttachmentEncoded") if outer is not env else None
    if encoded is not None:
        by_cid = {r.content_id: r for r in refs}
        for att in _children(encoded, "Attachment"):
            cid = _cid(_text(att, "ContentId"))
            body_el = _child(att, "ContentTransferEncoded")
            data_text = "" if body_el is None else "".join(body_el.itertext())
            try:
                data = base64.b64decode("".join(data_text.split()), validate=True)
            except (binascii.Error, ValueError):
                raise EnvelopeError("bad_attachment", f"cid:{cid}") from None
            if cid in by_cid:
                by_cid[cid].data = data
            else:
                ref = FileRef(
                    content_id=cid or secrets.token_hex(8),
                    name=_safe_name(_text(att, "AttachmentName")),
                    content_type=_text(att, "ContentType").lower() or "application/octet-stream",
                    description=_text(att, "Description"),
                    data=data,
                )
                refs.append(ref)
                by_cid[ref.content_id] = ref
    return refs


def _cid(value: str) -> str:
    v = value.strip()
    if v.lower().startswith("cid:"):
        v = v[4:]
    return v.strip("<>").strip()


def _safe_name(name: str) -> str:
    """A file name without directories or control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable()).strip() or "tep-dinh-kem"
