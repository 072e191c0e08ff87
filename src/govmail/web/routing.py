"""Routes of the web doors and the request object handed to their handlers.

A handler is ``async def handler(w: WebRequest) -> Response``, registered on a
``WebRouter``::

    router = WebRouter()

    @router.get("/mail/f/{folder_id:int}")                  # logged-in users only
    async def folder(w: WebRequest) -> Response:
        return w.render("mail/folder.html", {"folder": ...})

    @router.post("/settings/language")                       # CSRF checked before the call
    async def language(w: WebRequest) -> Response:
        lang = w.form_str("lang")
        return w.redirect("/settings", flash="saved")

    @router.get("/admin/", roles=("installation_admin", "agency_admin"))

Before the handler runs, the wrapper has: loaded the session (``w.user``, ``w.session``),
chosen the language (``w.lang``), for unsafe methods parsed the form and checked its CSRF
token (``w.form``), enforced ``auth`` and ``roles``. Refusals are pages in the visitor's
language with the right status: 401 (session expired: nothing done), 403 (CSRF, role),
400 (malformed form), 413 (body too large, from the ``BodyLimit`` middleware).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from govmail.directory.base import Actor
from govmail.i18n import LANGUAGES, catalogue, default_language, t
from govmail.store.models import AdminRole, Mailbox, WebSession
from govmail.web import csrf
from govmail.web.rendering import Renderer
from govmail.web.sessions import (
    LANG_COOKIE,
    PRE_COOKIE,
    Loaded,
    SessionManager,
    read_cookie,
    set_cookie,
)

if TYPE_CHECKING:
    from govmail.app import App

Auth = Literal["none", "pending", "user"]
Handler = Callable[["WebRequest"], Awaitable[Response]]
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
MAX_FORM_FIELDS = 2000
MAX_FORM_FILES = 100
MAX_FIELD_SIZE = 2 * 1024 * 1024


@dataclass
class WebState:
    """What every web handler shares; kept on ``starlette_app.state.web``."""

    core: App
    renderer: Renderer
    sessions: SessionManager
    key: bytes
    extras: dict[str, Any] = field(default_factory=dict)  # per-feature singletons


class WebRequest:
    """One request as the handlers see it (the Starlette request is ``w.request``)."""

    def __init__(self, request: Request, state: WebState, loaded: Loaded) -> None:
        self.request = request
        self.state = state
        self.core = state.core
        self.session: WebSession | None = loaded.session
        self.user: Mailbox | None = loaded.mailbox if loaded.session else None
        self.session_expired = loaded.expired
        self.form: FormData | None = None
        self.params: dict[str, Any] = dict(request.path_params)
        self.lang = self._choose_language()
        self._pre_nonce: str | None = None
        self._roles: Sequence[AdminRole] | None = None

    # -- who and where -------------------------------------------------------------------
    @property
    def client_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    @property
    def here(self) -> str:
        """This page's path and query, for ``next``/``back`` fields."""
        url = self.request.url
        return url.path + ("?" + url.query if url.query else "")

    @property
    def verified_user(self) -> Mailbox | None:
        return self.user if self.session is not None and self.session.verified else None

    def actor(self) -> Actor:
        """The logged-in user as the audit log records them (``directory.ops(w.actor())``)."""
        name = self.user.address if self.user else "anonymous"
        return Actor(name, "web", self.client_ip)

    async def roles(self) -> Sequence[AdminRole]:
        if self._roles is None:
            if self.user is None:
                self._roles = []
            else:
                async with self.core.store.read() as tx:
                    self._roles = await tx.directory.roles_of(self.user.id)
        return self._roles

    async def has_role(self, *roles: str) -> bool:
        return any(r.role in roles for r in await self.roles())

    # -- language ------------------------------------------------------------------------
    def _choose_language(self) -> str:
        for candidate in (
            self.request.query_params.get("lang") if self.request.method == "GET" else None,
            self.session.language if self.session else None,
            self.user.language if self.user else None,
            self.request.cookies.get(LANG_COOKIE),
        ):
            if candidate in LANGUAGES:
                return str(candidate)
        return default_language()

    def t(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    # -- CSRF ----------------------------------------------------------------------------
    def _binding(self, create: bool) -> str:
        if self.session is not None:
            return "s:" + self.session.token_hash
        nonce = self._pre_nonce or read_cookie(self.request, PRE_COOKIE)
        if not nonce and create:
            import secrets

            nonce = self._pre_nonce = secrets.token_urlsafe(24)
        return "p:" + nonce if nonce else ""

    @property
    def csrf_token(self) -> str:
        return csrf.make_token(self.state.key, self._binding(create=True))

    def csrf_ok(self) -> bool:
        token = None
        if self.form is not None:
            value = self.form.get(csrf.FIELD)
            token = value if isinstance(value, str) else None
        token = token or self.request.headers.get(csrf.HEADER)
        return csrf.check_token(self.state.key, self._binding(create=False), token)

    # -- forms ---------------------------------------------------------------------------
    def form_str(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def form_list(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v for v in self.form.getlist(name) if isinstance(v, str)]

    def form_files(self, name: str) -> list[UploadFile]:
        if self.form is None:
            return []
        return [v for v in self.form.getlist(name) if isinstance(v, UploadFile) and v.filename]

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def query_int(self, name: str, default: int, lo: int = 0, hi: int = 1 << 31) -> int:
        try:
            return max(lo, min(hi, int(self.request.query_params.get(name, default))))
        except ValueError:
            return default

    # -- responses -----------------------------------------------------------------------
    def flash(self) -> str | None:
        key = self.query("flash")
        full = f"web.flash.{key}"
        return self.t(full) if key and full in catalogue("en") else None

    def render(
        self,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        ctx: dict[str, Any] = {"req": self, "lang": self.lang, "user": self.verified_user}
        ctx.setdefault("flash", self.flash())
        ctx.update(context or {})
        html = self.state.renderer.render(template, ctx)
        response = HTMLResponse(html, status_code=status, headers=headers)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        """Set the anonymous CSRF cookie if this response handed out a token bound to it."""
        if self._pre_nonce and self.session is None:
            set_cookie(response, self.request, PRE_COOKIE, self._pre_nonce, samesite="strict")

    def redirect(self, path: str, *, flash: str | None = None) -> RedirectResponse:
        """303 See Other to a path of this site (never elsewhere), with an optional flash."""
        path = safe_path(path)
        if flash:
            path += ("&" if "?" in path else "?") + "flash=" + urllib.parse.quote(flash)
        response = RedirectResponse(path, status_code=303)
        self.finish(response)
        return response

    def error(self, status: int, key: str, **params: Any) -> HTMLResponse:
        return self.render(
            "error.html",
            {
                "status": status,
                "message": self.t(key, **params),
                "title_key": f"web.error.{status}",
            },
            status=status,
        )


def safe_path(path: str, default: str = "/") -> str:
    """``path`` if it is a local path (``/x``), else ``default``: no open redirects."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    parsed = urllib.parse.urlsplit(path)
    if parsed.scheme or parsed.netloc:
        return default
    return path


def _level(auth: bool | Auth) -> Auth:
    if auth is True:
        return "user"
    if auth is False:
        return "none"
    return auth


class WebRouter:
    """Collects routes; ``create_app`` mounts every router's ``routes``."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        path: str,
        methods: Sequence[str] = ("GET",),
        *,
        auth: bool | Auth = True,
        roles: Sequence[str] = (),
        csrf_check: bool = True,
        name: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a handler.

        ``auth``: True / "user" (logged in, second factor done), "pending" (logged in,
        second factor may be missing), False / "none" (anyone).
        ``roles``: any one of these admin roles is needed (implies ``auth``).
        ``csrf_check``: False only for requests that carry no ambient credential (a REST
        call with a bearer token); every browser form keeps it on.
        """
        level = _level(auth)
        if roles:
            level = "user"

        def decorator(handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                return await _dispatch(request, handler, level, tuple(roles), csrf_check)

            self.routes.append(Route(path, endpoint, methods=list(methods), name=name))
            return handler

        return decorator

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ("GET",), **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ("POST",), **kw)


async def _dispatch(
    request: Request, handler: Handler, level: Auth, roles: tuple[str, ...], csrf_check: bool
) -> Response:
    state: WebState = request.app.state.web
    loaded = await state.sessions.load(request)
    w = WebRequest(request, state, loaded)
    unsafe = request.method in UNSAFE

    if level != "none":
        ok = w.session is not None and (level == "pending" or w.session.verified)
        if not ok:
            if unsafe:
                # The form may have been open while the session ran out: say so, do nothing.
                return w.error(401, "web.error.session_expired")
            target = "/login?next=" + urllib.parse.quote(
                request.url.path + (("?" + request.url.query) if request.url.query else "")
            )
            if w.session_expired:
                target += "&expired=1"
            return w.redirect(target)

    if unsafe and csrf_check:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                w.form = await request.form(
                    max_files=MAX_FORM_FILES,
                    max_fields=MAX_FORM_FIELDS,
                    max_part_size=MAX_FIELD_SIZE,
                )
            except MultiPartException:
                return w.error(400, "web.error.bad_form")
        if not w.csrf_ok():
            if w.session_expired:
                return w.error(401, "web.error.session_expired")
            return w.error(403, "web.error.csrf")
    elif unsafe:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            w.form = await request.form()

    if roles and not await w.has_role(*roles):
        return w.error(403, "web.error.forbidden")
    try:
        return await handler(w)
    finally:
        if w.form is not None:
            await w.form.close()
