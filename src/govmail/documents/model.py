"""What an official document and a status message carry, as the edXML packages of QCVN
102:2016/BTTTT hold them (``envelope.py`` reads and writes these; no I/O here).

Names follow the edXML elements (``OrganId`` → ``organ_id``). Dates are calendar dates
(edXML ``yyyy/MM/dd``); timestamps are timezone-aware datetimes (written in Vietnam time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

# Status codes of the "gói tin trạng thái" (QCVN 102:2016; reference notes §1.4).
STATUS_ARRIVED: Final = "01"  # đã đến
STATUS_REFUSED: Final = "02"  # từ chối tiếp nhận
STATUS_ACCEPTED: Final = "03"  # đã tiếp nhận
STATUS_ASSIGNED: Final = "04"  # phân công
STATUS_IN_PROGRESS: Final = "05"  # đang xử lý
STATUS_COMPLETED: Final = "06"  # hoàn thành
STATUS_RECALL: Final = "13"  # thu hồi
STATUS_RECALL_ACCEPTED: Final = "15"  # đồng ý thu hồi / cập nhật
STATUS_RECALL_REFUSED: Final = "16"  # từ chối thu hồi / cập nhật
STATUS_CODES: Final[dict[str, str]] = {
    STATUS_ARRIVED: "arrived",
    STATUS_REFUSED: "refused",
    STATUS_ACCEPTED: "accepted",
    STATUS_ASSIGNED: "assigned",
    STATUS_IN_PROGRESS: "in_progress",
    STATUS_COMPLETED: "completed",
    STATUS_RECALL: "recall",
    STATUS_RECALL_ACCEPTED: "recall_accepted",
    STATUS_RECALL_REFUSED: "recall_refused",
}

# Bussiness/BussinessDocType
BUSINESS_NEW: Final = 0
BUSINESS_REVOKE: Final = 1
BUSINESS_UPDATE: Final = 2
BUSINESS_REPLACE: Final = 3


@dataclass(slots=True)
class Organ:
    """An organisation (From, To, Status/From): ``OrganId`` is its mã định danh."""

    organ_id: str = ""
    name: str = ""
    in_charge: str = ""  # OrganizationInCharge
    address: str = ""  # OrganAdd
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(slots=True)
class Signer:
    full_name: str = ""
    position: str = ""  # chức vụ, "Thứ trưởng"
    competence: str = ""  # quyền hạn: "KT. BỘ TRƯỞNG", "TM. ỦY BAN NHÂN DÂN", "TL."…


@dataclass(slots=True)
class ResponseFor:
    """The document answered (a reply, or the subject of a status message)."""

    organ_id: str = ""
    code: str = ""  # "22/BC-BTTTT"
    promulgation_date: date | None = None
    document_id: str = ""


@dataclass(slots=True)
class StaffInfo:
    department: str = ""
    staff: str = ""
    mobile: str = ""
    email: str = ""


@dataclass(slots=True)
class TraceEntry:
    organ_id: str
    timestamp: datetime


@dataclass(slots=True)
class Business:
    doc_type: int = BUSINESS_NEW
    reason: str = ""
    document_id: str = ""
    staff: StaffInfo | None = None
    paper: int = 0  # 0: no paper copy follows


@dataclass(slots=True)
class FileRef:
    """An entry of the edXML manifest: a file carried beside the envelope.

    In mail the file is a MIME part whose Content-ID is ``content_id``; ``data`` is set
    only when the package itself carried the file (``AttachmentEncoded``)."""

    content_id: str
    name: str
    content_type: str
    description: str = ""
    data: bytes | None = None


@dataclass(slots=True)
class DocumentEnvelope:
    """The edXML ``MessageHeader`` of a new official document, plus trace and manifest."""

    sender: Organ
    recipients: list[Organ]
    number: str  # CodeNumber
    notation: str  # CodeNotation
    place: str
    promulgation_date: date
    type_no: int
    type_name: str
    subject: str  # trích yếu
    signer: Signer
    document_id: str
    content: str = ""
    due_date: date | None = None
    to_places: list[str] = field(default_factory=list)  # the "Nơi nhận" lines
    priority: int = 0  # edXML OtherInfo/Priority: urgency 0-4
    sphere: str = ""  # SphereOfPromulgation
    typer_notation: str = ""
    promulgation_amount: int | None = None
    page_amount: int | None = None
    appendixes: list[str] = field(default_factory=list)
    response_for: list[ResponseFor] = field(default_factory=list)
    steering_type: int = 1  # 1: không phải chỉ đạo (edoc.json; see docs/documents.md)
    trace: list[TraceEntry] = field(default_factory=list)
    business: Business = field(default_factory=Business)
    files: list[FileRef] = field(default_factory=list)

    @property
    def code(self) -> str:
        return f"{self.number}/{self.notation}"


@dataclass(slots=True)
class StatusMessage:
    """A "gói tin trạng thái": what the receiving agency did with a document."""

    response_for: ResponseFor
    sender: Organ
    code: str  # "01".."16"
    description: str
    timestamp: datetime
    staff: StaffInfo | None = None
