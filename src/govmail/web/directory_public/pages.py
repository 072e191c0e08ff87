"""The public directory (danh bạ) at /danh-ba (and /directory): the agency tree, a page
per agency with its agency mailbox and listed staff, diacritic-insensitive search by
name, and exports for the agency portal (CSV, vCard, JSON). Anyone may read it; only
listed entries and their public fields are shown (``directory.export``'s rule)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from govmail.directory.errors import DirectoryError
from govmail.directory.export import PUBLIC_FIELDS, directory_entries, to_csv, to_json, to_vcard
from govmail.mail.textfold import fold
from govmail.store.models import Agency
from govmail.web.admin.agencies import Node, build_tree
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
INDEX_SECONDS = 60.0
MAX_RESULTS = 200
CSV_COLUMNS = ("agency", "agency_code", "kind", *PUBLIC_FIELDS)
EXPORTS = {
    "csv": ("text/csv; charset=utf-8", "danh-ba.csv"),
    "vcf": ("text/vcard; charset=utf-8", "danh-ba.vcf"),
    "json": ("application/json; charset=utf-8", "danh-ba.json"),
}


def agency_key(a: Agency) -> str:
    return a.code or str(a.id)


@dataclass(slots=True)
class PublicIndex:
    """Every public entry and active agency, with folded names, for search."""

    generation: int
    built: float
    agencies: list[Agency]
    entries: list[dict[str, Any]]
    entry_folds: list[str] = field(default_factory=list)
    agency_folds: list[str] = field(default_factory=list)
    keys_by_agency: dict[tuple[str | None, str | None], str] = field(default_factory=dict)


async def public_index(w: WebRequest) -> PublicIndex:
    """Built once a minute, or at once after a directory change made in this process."""
    directory = w.core.directory
    cached: PublicIndex | None = w.state.extras.get("public_index")
    now = time.monotonic()
    if cached and cached.generation == directory.generation and now - cached.built < INDEX_SECONDS:
        return cached
    async with directory.reader() as ops:
        entries = await directory_entries(ops, public=True)
        agencies = list(await ops.repo.agencies())
    index = PublicIndex(directory.generation, now, agencies, entries)
    index.entry_folds = [fold(e.get("full_name") or "") for e in entries]
    index.agency_folds = [fold(f"{a.name} {a.short_name}") for a in agencies]
    index.keys_by_agency = {(a.code, a.name): agency_key(a) for a in agencies}
    w.state.extras["public_index"] = index
    return index


def search(index: PublicIndex, query: str) -> tuple[list[dict[str, Any]], list[Agency]]:
    """Entries whose name, and agencies whose name, hold every folded word of ``query``."""
    words = fold(query).split()
    if not words:
        return [], []
    people = [
        e
        for e, f in zip(index.entries, index.entry_folds, strict=True)
        if all(word in f for word in words)
    ]
    agencies = [
        a
        for a, f in zip(index.agencies, index.agency_folds, strict=True)
        if all(word in f for word in words)
    ]
    return people[:MAX_RESULTS], agencies[:MAX_RESULTS]


def _sorted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        entries, key=lambda e: (e.get("kind") != "agency", fold(e.get("full_name") or ""))
    )


@router.get("/danh-ba", auth=False)
@router.get("/directory", auth=False)
async def directory_home(w: WebRequest) -> Response:
    index = await public_index(w)
    q = w.query("q").strip()[:200]
    people: list[dict[str, Any]] = []
    found: list[Agency] = []
    if q:
        people, found = search(index, q)
    tree: list[Node] = build_tree(index.agencies) if not q else []
    return w.render(
        "directory/index.html",
        {
            "q": q,
            "tree": tree,
            "people": _sorted(people),
            "found": found,
            "keys": index.keys_by_agency,
            "agency_key": agency_key,
        },
    )


async def _agency(w: WebRequest) -> Agency | None:
    ref = w.params["ref"]
    async with w.core.directory.reader() as ops:
        try:
            a = await ops.agency(ref)
        except DirectoryError:
            return None
    return a if a.active else None


def _export(w: WebRequest, rows: list[dict[str, Any]], fmt: str, name: str) -> Response:
    media, filename = EXPORTS[fmt]
    if fmt == "csv":
        body = to_csv(rows, CSV_COLUMNS)
    elif fmt == "vcf":
        body = to_vcard(rows)
    else:
        body = to_json(rows)
    if name:
        filename = f"danh-ba-{name}.{fmt}"
    return Response(
        body.encode("utf-8"),
        media_type=media,
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            # Public data for the agency portal, which may fetch it from its own origin.
            "access-control-allow-origin": "*",
            "cross-origin-resource-policy": "cross-origin",
            "cache-control": "public, max-age=300",
        },
    )


async def export(w: WebRequest, fmt: str) -> Response:
    ref = w.query("agency").strip()
    under: Agency | None = None
    async with w.core.directory.reader() as ops:
        if ref:
            try:
                under = await ops.agency(ref)
            except DirectoryError:
                return Response(
                    w.t("web.directory.no_agency") + "\n", status_code=404, media_type="text/plain"
                )
            if not under.active:
                return Response(
                    w.t("web.directory.no_agency") + "\n", status_code=404, media_type="text/plain"
                )
        rows = await directory_entries(ops, under=under, public=True)
    safe = (
        "".join(c for c in (under.code or str(under.id)) if c.isalnum() or c in ".-")
        if under
        else ""
    )
    return _export(w, rows, fmt, safe)


def _export_route(fmt: str):  # type: ignore[no-untyped-def]
    async def handler(w: WebRequest) -> Response:
        return await export(w, fmt)

    return handler


for _fmt in EXPORTS:
    for _base in ("/danh-ba", "/directory"):
        router.get(f"{_base}/export.{_fmt}", auth=False)(_export_route(_fmt))


@router.get("/danh-ba/{ref}", auth=False)
@router.get("/directory/{ref}", auth=False)
async def agency_page(w: WebRequest) -> Response:
    a = await _agency(w)
    if a is None:
        return w.error(404, "web.directory.no_agency")
    async with w.core.directory.reader() as ops:
        entries = await directory_entries(ops, under=a, public=True)
        children = [c for c in await ops.repo.children(a.id) if c.active]
        ancestors: list[Agency] = []
        for agency_id in [int(x) for x in a.path.strip("/").split("/") if x][:-1]:
            parent = await ops.repo.agency_by_id(agency_id)
            if parent is not None:
                ancestors.append(parent)
    own = [e for e in entries if e.get("agency_code") == a.code and e.get("agency") == a.name]
    return w.render(
        "directory/agency.html",
        {
            "a": a,
            "key": agency_key(a),
            "own": _sorted(own),
            "children": children,
            "ancestors": ancestors,
            "agency_key": agency_key,
            "others": len(entries) - len(own),
        },
    )
