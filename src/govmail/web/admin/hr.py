"""HR import: upload the personnel list (.csv or .xlsx), read the dry-run report, then
apply it. The plan and the changes are the directory's (``directory.hr_import``); an
agency administrator's rows outside its subtree are refused row by row."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response

from govmail.directory.errors import DirectoryError
from govmail.directory.hr_import import (
    COLUMNS,
    HrFileError,
    HrRow,
    ImportReport,
    RowResult,
    read_rows,
    run_import,
)
from govmail.i18n import t
from govmail.web.admin.common import ADMIN_ROLES, render, scope
from govmail.web.admin.scope import Scope
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
SUFFIXES = (".csv", ".xlsx")
MAX_FILE = 10 * 1024 * 1024
KEEP_SECONDS = 3600


@dataclass(slots=True)
class Upload:
    path: Path
    filename: str
    owner: int
    at: float


def _uploads(w: WebRequest) -> dict[str, Upload]:
    return w.state.extras.setdefault("hr_uploads", {})


def _folder(w: WebRequest) -> Path:
    folder = w.core.settings.data_dir / "hr-imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _forget_old(w: WebRequest) -> None:
    now = time.time()
    uploads = _uploads(w)
    for key, up in list(uploads.items()):
        if now - up.at > KEEP_SECONDS:
            up.path.unlink(missing_ok=True)
            del uploads[key]
    for path in _folder(w).iterdir():  # files left by an earlier run of the server
        try:
            if now - path.stat().st_mtime > KEEP_SECONDS:
                path.unlink(missing_ok=True)
        except OSError:
            continue


async def _form(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    return await render(
        w,
        "admin/import.html",
        {"columns": COLUMNS, "report": None, "token": None, "filename": None},
        status=status,
        error=error,
    )


@router.get("/admin/import", roles=ADMIN_ROLES)
async def import_page(w: WebRequest) -> Response:
    return await _form(w)


async def _scoped(
    w: WebRequest, sc: Scope, rows: list[HrRow]
) -> tuple[list[HrRow], list[RowResult]]:
    """Rows this administrator may import, and a refusal for each of the others: a unit
    outside the subtree, or a person whose mailbox is in another agency."""
    if sc.everything:
        return rows, []
    keep: list[HrRow] = []
    refused: list[RowResult] = []
    async with w.core.directory.reader() as ops:
        for r in rows:
            reason = None
            try:
                unit = await ops.agency(r.unit) if r.unit else None
            except DirectoryError:
                unit = None  # the import reports the unknown unit itself
            if unit is not None and not sc.covers(unit):
                reason = w.t("web.admin.import.unit_outside", unit=r.unit)
            existing = await ops.repo.mailbox_by_staff_id(r.staff_id) if r.staff_id else None
            if (
                reason is None
                and existing is not None
                and not await sc.covers_mailbox(ops.tx, existing)
            ):
                reason = w.t("web.admin.import.person_outside", address=existing.address)
            if reason is None and r.email and "@" in r.email:
                domain = await ops.repo.domain_by_name(r.email.rsplit("@", 1)[1])
                allowed = await sc.domain_ids(ops)
                if domain is not None and allowed is not None and domain.id not in allowed:
                    reason = w.t("web.admin.import.domain_outside", address=r.email)
            if reason is None:
                keep.append(r)
            else:
                refused.append(RowResult(r.row, r.staff_id, "error", error=reason))
    return keep, refused


def _merge(report: ImportReport, refused: list[RowResult]) -> ImportReport:
    results = sorted([*report.results, *refused], key=lambda r: r.row)
    return ImportReport(results, report.applied)


@router.post("/admin/import", roles=ADMIN_ROLES)
async def run(w: WebRequest) -> Response:
    sc = await scope(w)
    user = w.verified_user
    assert user is not None
    apply = w.form_str("mode") == "apply"
    _forget_old(w)
    uploads = _uploads(w)
    files = w.form_files("file")
    token = w.form_str("token")
    if files:
        upload = files[0]
        name = Path(upload.filename or "").name
        suffix = Path(name).suffix.lower()
        if suffix not in SUFFIXES:
            return await _form(w, error=w.t("web.admin.import.bad_type"), status=400)
        data = await upload.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            return await _form(
                w, error=w.t("web.admin.import.too_big", mb=MAX_FILE // 1048576), status=413
            )
        token = secrets.token_urlsafe(18)
        path = _folder(w) / f"{token}{suffix}"
        path.write_bytes(data)
        path.chmod(0o600)
        uploads[token] = Upload(path, name, user.id, time.time())
    up = uploads.get(token)
    if up is None or up.owner != user.id or not up.path.exists():
        return await _form(w, error=w.t("web.admin.import.no_file"), status=400)
    try:
        rows = read_rows(up.path)
    except HrFileError as exc:
        params = {**exc.params, "path": up.filename}
        up.path.unlink(missing_ok=True)
        uploads.pop(token, None)
        return await _form(w, error=t(f"directory.hr.{exc.key}", w.lang, **params), status=400)
    rows, refused = await _scoped(w, sc, rows)
    report = await run_import(w.core.directory, rows, actor=w.actor(), dry_run=not apply)
    report = _merge(report, refused)
    if apply:
        up.path.unlink(missing_ok=True)
        uploads.pop(token, None)
        if refused:
            async with w.core.store.write() as tx:
                await tx.audit.record(
                    actor=user.address,
                    source="web",
                    remote_addr=w.client_ip,
                    action="admin.refused",
                    object_type="hr_import",
                    object_id=up.filename[:320],
                    after={"attempt": "hr.import", "rows": [r.row for r in refused]},
                )
    changes = sum(1 for r in report.results if r.action not in ("none", "error"))
    return await render(
        w,
        "admin/import.html",
        {
            "columns": COLUMNS,
            "report": report,
            "summary": report.summary(),
            "token": token if not apply and changes else None,
            "filename": up.filename,
        },
    )
