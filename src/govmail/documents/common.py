"""What sending and receiving share: the services they use, the clock in Vietnam time,
who may act for an agency mailbox, and how an agency appears in an edXML package."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from govmail.config import Settings
from govmail.directory import demo_data
from govmail.directory.service import Directory
from govmail.documents.errors import DocumentError
from govmail.documents.model import Organ
from govmail.store.db import Store
from govmail.store.models import Agency, Mailbox, utcnow
from govmail.store.repos.documents import DocumentsRepo
from govmail.store.tx import Tx

if TYPE_CHECKING:
    from govmail.delivery.pipeline import Pipeline

REGISTER_OUT = "di"
REGISTER_OUT_SECRET = "di-mat"  # Điều 15.2: classified documents have their own series
REGISTER_IN = "den"


@dataclass
class Core:
    store: Store
    directory: Directory
    settings: Settings
    pipeline_of: Callable[[], Pipeline]

    @property
    def pipeline(self) -> Pipeline:
        return self.pipeline_of()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.general.timezone)

    def now(self) -> datetime:
        return utcnow()

    def today(self) -> date:
        return utcnow().astimezone(self.tz).date()

    def repo(self, tx: Tx) -> DocumentsRepo:
        return DocumentsRepo(tx.session, self.store.dialect)


@dataclass(slots=True)
class Desk:
    """A person acting for an agency mailbox (a clerk, or a handler)."""

    person: Mailbox
    mailbox: Mailbox  # the agency mailbox
    agency: Agency
    is_clerk: bool


async def desk_of(tx: Tx, person_address: str, agency_mailbox: str) -> Desk:
    """The person's desk at an agency mailbox; DocumentError when they have none."""
    person = await tx.directory.mailbox_by_address(person_address)
    box = await tx.directory.mailbox_by_address(agency_mailbox)
    if person is None or person.status != "active":
        raise DocumentError("documents.error.no_person", address=person_address)
    if box is None or box.kind != "agency" or box.agency_id is None:
        raise DocumentError("documents.error.not_agency_mailbox", address=agency_mailbox)
    handler = await tx.directory.handler(box.id, person.id)
    if handler is None:
        raise DocumentError(
            "documents.error.not_handler", person=person.address, address=box.address
        )
    agency = await tx.directory.agency_by_id(box.agency_id)
    assert agency is not None
    return Desk(person, box, agency, handler.is_clerk)


async def clerk_desk(tx: Tx, person_address: str, agency_mailbox: str) -> Desk:
    desk = await desk_of(tx, person_address, agency_mailbox)
    if not desk.is_clerk:
        raise DocumentError(
            "documents.error.not_clerk", person=desk.person.address, address=desk.mailbox.address
        )
    return desk


def agency_symbol(agency: Agency) -> str:
    """The agency part of a ký hiệu: "BTTTT", "UBND", "STTTT"."""
    if agency.code:
        try:
            seed = demo_data.agency_by_code(agency.code)
        except demo_data.DemoDataError:
            seed = None
        if seed is not None and seed.name == agency.name:
            return seed.symbol
    short = agency.short_name.strip()
    if short and " " not in short and len(short) <= 15:
        return short
    words = re.findall(r"\w+", agency.name)
    return "".join(w[0].upper() for w in words)[:15]


def organ_of(agency: Agency, address: str, parent: Agency | None = None) -> Organ:
    return Organ(
        organ_id=agency.code or "",
        name=agency.name,
        in_charge=parent.name if parent is not None else "",
        email=address,
    )
