"""Directory exports: the HR round-trip (CSV/JSON) and the public directory (danh bạ)
for the agency portal (CSV, JSON, vCard), with per-field publication control."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from govmail.directory.service import DirectoryOps
from govmail.store.models import Agency, Mailbox

HR_COLUMNS = ("staff_id", "full_name", "unit", "position", "email", "status", "phone")
PUBLIC_FIELDS = ("full_name", "position", "address", "phone")


async def directory_entries(
    ops: DirectoryOps, *, under: Agency | None = None, public: bool = False
) -> list[dict[str, Any]]:
    agencies = {a.id: a for a in await ops.repo.agencies(under=under, active_only=False)}
    mailboxes: Sequence[Mailbox] = await ops.repo.mailboxes(agency_ids=list(agencies))
    out: list[dict[str, Any]] = []
    for m in mailboxes:
        unit = agencies.get(m.agency_id or -1)
        if public:
            if m.status != "active" or (m.kind == "person" and not m.listed):
                continue
            shown = set(PUBLIC_FIELDS) if m.kind == "agency" else set(m.public_fields or [])
            row: dict[str, Any] = {
                "agency": unit.name if unit else None,
                "agency_code": unit.code if unit else None,
                "kind": m.kind,
            }
            for f in PUBLIC_FIELDS:
                if f in shown:
                    row[f] = getattr(m, f)
            out.append(row)
        else:
            out.append(
                {
                    "staff_id": m.staff_id,
                    "full_name": m.full_name,
                    "unit": (unit.code or unit.name) if unit else None,
                    "position": m.position,
                    "email": m.address,
                    "status": "nghỉ việc" if m.status == "archived" else m.status,
                    "phone": m.phone,
                    "kind": m.kind,
                }
            )
    return out


def to_csv(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r.get(k) for k in columns})
    return buf.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"


def _vescape(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def to_vcard(rows: list[dict[str, Any]]) -> str:
    """vCard 4.0 (RFC 6350), one card per entry, UTF-8, CRLF line ends."""
    cards: list[str] = []
    for r in rows:
        name = r.get("full_name") or r.get("address") or ""
        lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:{_vescape(name)}"]
        if r.get("kind") == "agency":
            lines.append("KIND:org")
        if r.get("agency"):
            lines.append(f"ORG:{_vescape(r['agency'])}")
        if r.get("position"):
            lines.append(f"TITLE:{_vescape(r['position'])}")
        if r.get("address"):
            lines.append(f"EMAIL;TYPE=work:{r['address']}")
        if r.get("phone"):
            lines.append(f"TEL;TYPE=work:{_vescape(r['phone'])}")
        lines.append("END:VCARD")
        cards.append("\r\n".join(lines))
    return "\r\n".join(cards) + ("\r\n" if cards else "")
