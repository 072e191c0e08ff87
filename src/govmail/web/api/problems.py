"""Errors of the API as RFC 9457 problem details (``application/problem+json``), in
Vietnamese or English as the caller's Accept-Language asks."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from govmail.i18n import LANGUAGES, default_language, t

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:govmail:problem:"


class ApiProblem(Exception):
    """Raised by a handler: the request is refused with ``status``; ``key`` names the
    message ``api.error.<key>`` (or, with ``detail``, the text is given)."""

    def __init__(
        self,
        status: int,
        key: str,
        *,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.detail = detail
        self.headers = headers or {}
        self.params = params


def negotiate_language(header: str | None) -> str:
    """The best of our languages for an Accept-Language header (RFC 9110 12.5.4)."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((header or "").split(",")):
        parts = [p.strip() for p in item.split(";")]
        tag = parts[0].lower()
        q = 1.0
        for p in parts[1:]:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        lang = tag.split("-", 1)[0]
        if lang in LANGUAGES and q > 0 and (best is None or (q, -position) > best[:2]):
            best = (q, -position, lang)
    return best[2] if best else default_language()


def problem_body(
    status: int, key: str, lang: str, detail: str | None = None, **params: Any
) -> dict[str, Any]:
    title_key = f"api.title.{status}"
    try:
        title = t(title_key, lang)
    except KeyError:
        title = t("api.title.other", lang, status=status)
    return {
        "type": TYPE_PREFIX + key.replace(".", "-").replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail if detail is not None else t(f"api.error.{key}", lang, **params),
        "code": key,
    }


def problem_response(
    status: int,
    key: str,
    lang: str,
    *,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> Response:
    body = problem_body(status, key, lang, detail, **params)
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers={"content-language": lang, **(headers or {})},
    )


def from_exception(exc: ApiProblem, lang: str) -> Response:
    return problem_response(
        exc.status, exc.key, lang, detail=exc.detail, headers=exc.headers, **exc.params
    )


def too_large_problem(scope: dict[str, Any]) -> Response:
    """The 413 of the body-limit middleware, for /api requests."""
    accept = next(
        (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"), None
    )
    return problem_response(413, "too_large", negotiate_language(accept))
