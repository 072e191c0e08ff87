"""Jinja2 templates (autoescaped), static assets with content-hashed URLs, and the
template helpers every page uses: ``_`` (translate), ``csrf_field()``, ``static()``,
date and size formatting in the installation's time zone."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from govmail.i18n import t

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    name: str
    body: bytes
    gzipped: bytes
    content_type: str
    digest: str

    @property
    def url(self) -> str:
        return f"/static/{self.digest}/{self.name}"


def load_static(directory: Path = STATIC_DIR) -> dict[str, StaticFile]:
    """Every asset, read once, with its hash (for the URL) and a gzip copy (for the wire)."""
    out: dict[str, StaticFile] = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.suffix not in STATIC_TYPES:
            continue
        body = path.read_bytes()
        out[path.name] = StaticFile(
            path.name,
            body,
            gzip.compress(body, 9, mtime=0),
            STATIC_TYPES[path.suffix],
            hashlib.sha256(body).hexdigest()[:12],
        )
    return out


@pass_context
def _translate(ctx: Context, key: str, **params: Any) -> str:
    return t(key, ctx.get("lang"), **params)


@pass_context
def _csrf_field(ctx: Context) -> Markup:
    token = ctx["req"].csrf_token
    return Markup('<input type="hidden" name="_csrf" value="{}">').format(token)


def human_size(n: int | None, lang: str = "vi") -> str:
    if n is None:
        return ""
    units = ["B", "KB", "MB", "GB"]
    value = float(n)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            text = f"{value:.0f}" if unit in ("B", "KB") or value >= 10 else f"{value:.1f}"
            if lang == "vi":
                text = text.replace(".", ",")
            return f"{text} {unit}"
        value /= 1024
    return str(n)


class Renderer:
    def __init__(self, timezone: str, static: dict[str, StaticFile]) -> None:
        self.tz = ZoneInfo(timezone)
        self.static = static
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html", "xml"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.globals.update(_=_translate, csrf_field=_csrf_field, static=self.static_url)
        self.env.filters.update(dt_short=self.dt_short, dt_long=self.dt_long, size=human_size)

    def static_url(self, name: str) -> str:
        return self.static[name].url

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)

    def dt_short(self, value: datetime | None, now: datetime | None = None) -> str:
        if value is None:
            return ""
        local = self.local(value)
        today = self.local(now or datetime.now(self.tz))
        if local.date() == today.date():
            return local.strftime("%H:%M")
        if local.year == today.year:
            return local.strftime("%d/%m")
        return local.strftime("%d/%m/%Y")

    def dt_long(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return self.local(value).strftime("%H:%M %d/%m/%Y")

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)
