"""Status messages ("gói tin trạng thái") sent back to the agency that issued a document:
01 arrived (automatically, on registration), 02 refused, 03 accepted, 04 assigned,
05 in progress, 06 completed. Each is an e-mail with a short Vietnamese body and the
edXML status package, from the receiving agency's mailbox to the issuing agency's."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.documents.common import Core, organ_of
from govmail.documents.envelope import build_status
from govmail.documents.mailbuild import build_mail
from govmail.documents.model import STATUS_CODES, ResponseFor, StaffInfo, StatusMessage
from govmail.i18n import t
from govmail.mail.headers import make_message_id
from govmail.store.models import Agency, Mailbox
from govmail.store.models_documents import IncomingDocument

log = logging.getLogger("govmail.documents")

STATUS_HEADER = "X-Govmail-Status"


def status_label(code: str, lang: str | None = None) -> str:
    name = STATUS_CODES.get(code)
    return t(f"documents.status.{name}", lang) if name else code


@dataclass(slots=True)
class StatusSent:
    ok: bool
    reason: str = ""


async def send_status(
    core: Core,
    *,
    agency: Agency,
    mailbox: Mailbox,
    doc: IncomingDocument,
    code: str,
    description: str = "",
    staff: StaffInfo | None = None,
    auth_user: str | None = None,
) -> StatusSent:
    """Send one status message for ``doc`` back to its sender (nothing for documents
    registered by hand, which have nobody to answer)."""
    if doc.source != "edxml" or not doc.sender_address or not doc.doc_uid:
        return StatusSent(False, "no sender")
    code_text = f"{doc.number_text}/{doc.notation}"
    status = StatusMessage(
        response_for=ResponseFor(doc.issuer_code, code_text, doc.issued_on, doc.doc_uid),
        sender=organ_of(agency, mailbox.address),
        code=code,
        description=description,
        timestamp=core.now(),
        staff=staff,
    )
    label = status_label(code, "vi")
    domain = mailbox.address.rsplit("@", 1)[1]
    lines = [
        t("documents.status_mail.intro", "vi", agency=agency.name, symbol=code_text, status=label),
        "",
        f"  {t('documents.field.symbol', 'vi')}: {code_text}",
        f"  {t('documents.field.subject', 'vi')}: {doc.subject}",
        f"  {t('documents.field.status', 'vi')}: {code} – {label}",
    ]
    if doc.arrival_number:
        lines.append(f"  {t('documents.field.arrival_number', 'vi')}: {doc.arrival_number}")
    if description:
        lines += ["", description]
    lines += [
        "",
        "-- ",
        t("documents.status_mail.footer", "vi"),
        t("documents.status_mail.footer", "en"),
    ]
    raw = build_mail(
        from_name=agency.name,
        from_addr=mailbox.address,
        to=[(doc.issuer_name or None, doc.sender_address)],
        subject=t("documents.status_mail.subject", "vi", symbol=code_text, status=label),
        body="\n".join(lines),
        files=[],
        package=build_status(status),
        package_name=f"Status.{agency.code or 'govmail'}.{secrets.token_hex(8)}.edxml",
        date=core.now(),
        headers=[(STATUS_HEADER, code), ("Auto-Submitted", "auto-replied")],
        message_id=make_message_id(domain),
        in_reply_to=doc.message_id,
        references=[doc.message_id] if doc.message_id else [],
    )
    env = Envelope(
        mailbox.address, [doc.sender_address], "documents", auth_user=auth_user or mailbox.address
    )
    try:
        await core.pipeline.deliver(env, raw, save_sent_copy=False)
    except DeliveryRefused as exc:
        log.warning("status message refused", extra={"doc": doc.doc_uid, "code": code})
        return StatusSent(False, exc.reason)
    return StatusSent(True)
