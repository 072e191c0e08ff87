"""A new SMTP connection's protocol object, set up without aiosmtpd's introspection.

aiosmtpd's ``SMTP.__init__`` finds the protocol's commands, AUTH mechanisms and the
handler's hooks by listing and inspecting both objects (``inspect.getmembers``, ``dir``,
``inspect.signature``) for every connection: ≈ 90 µs, as much as the rest of the
connection's set-up, on the event loop, for answers that never change. Here the first
connection of each protocol class and handler runs aiosmtpd's own constructor and what it
found is kept (``Template``: the names of the methods); later connections get the same
attributes, the methods looked up by those names on the new object and the handler
(``fill``). ``tests/smtp/test_protocol_setup.py`` compares the two ways
attribute by attribute, so a new aiosmtpd release that sets more is noticed; any other
release than the one this follows, or any argument this does not handle, takes
aiosmtpd's constructor.
"""

from __future__ import annotations

import asyncio
import socket
import weakref
from dataclasses import dataclass
from typing import Any

import aiosmtpd
from aiosmtpd.smtp import DATA_SIZE_DEFAULT, SMTP, _AuthMechAttr, login_always_fail
from aiosmtpd.smtp import __ident__ as default_ident

FOLLOWS_RELEASE = "1.4."  # the aiosmtpd releases whose constructor ``fill`` repeats
# The constructor's arguments ``fill`` handles; any other one takes aiosmtpd's way.
HANDLED = frozenset(
    {
        "data_size_limit",
        "enable_SMTPUTF8",
        "decode_data",
        "hostname",
        "ident",
        "tls_context",
        "require_starttls",
        "timeout",
        "auth_required",
        "auth_require_tls",
    }
)


@dataclass(frozen=True, slots=True)
class Template:
    # Attribute names, looked up on the new protocol object (or on the handler) for each
    # connection, as aiosmtpd does: a method replaced later is the one used, and the
    # template holds no reference to either object, so a handler's templates go with it.
    smtp_methods: dict[str, str]  # command -> attribute of the protocol
    auth_methods: dict[str, tuple[str, bool]]  # mechanism -> (attribute, of the protocol?)
    handle_hooks: dict[str, str]  # hook -> attribute of the handler
    ehlo_hook_ver: str | None


_templates: weakref.WeakKeyDictionary[Any, dict[type, Template]] = weakref.WeakKeyDictionary()


def usable(kwargs: dict[str, Any]) -> bool:
    return aiosmtpd.__version__.startswith(FOLLOWS_RELEASE) and HANDLED.issuperset(kwargs)


def template_for(handler: Any, cls: type) -> Template | None:
    try:
        return _templates.get(handler, {}).get(cls)
    except TypeError:  # a handler that cannot be weakly referenced: no template
        return None


def remember(proto: SMTP) -> None:
    """Keep what aiosmtpd's constructor found for ``proto``'s class and handler."""
    handler = proto.event_handler
    auth: dict[str, tuple[str, bool]] = {}
    for obj in (proto, handler):  # the order of aiosmtpd's own lookup: the handler wins
        for name in dir(obj):
            if name.startswith("auth_"):
                mech = getattr(
                    getattr(obj, name),
                    "__auth_mechanism_name__",
                    name.replace("auth_", "").replace("__", "-"),
                )
                auth[mech] = (name, obj is proto)
    template = Template(
        smtp_methods={m.replace("smtp_", ""): m for m in dir(proto) if m.startswith("smtp_")},
        auth_methods=auth,
        handle_hooks={m.replace("handle_", ""): m for m in dir(handler) if m.startswith("handle_")},
        ehlo_hook_ver=proto._ehlo_hook_ver,
    )
    found = (
        list(template.smtp_methods) == list(proto._smtp_methods)
        and list(template.auth_methods) == list(proto._auth_methods)
        and list(template.handle_hooks) == list(proto._handle_hooks)
    )
    if not found:
        return  # not what aiosmtpd found: every connection takes aiosmtpd's way
    try:
        _templates.setdefault(handler, {})[type(proto)] = template
    except TypeError:
        pass


def fill(proto: SMTP, handler: Any, template: Template, kwargs: dict[str, Any]) -> bool:
    """Set ``proto`` up as ``SMTP.__init__(handler, **kwargs)`` would; False if it cannot
    (no running event loop), and nothing was set."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    tls_context = kwargs.get("tls_context")
    proto.__ident__ = kwargs.get("ident") or default_ident
    proto.loop = loop
    asyncio.StreamReaderProtocol.__init__(
        proto,
        asyncio.StreamReader(loop=loop, limit=proto.line_length_limit),
        client_connected_cb=proto._cb_client_connected,
        loop=loop,
    )
    proto.event_handler = handler
    proto.data_size_limit = kwargs.get("data_size_limit", DATA_SIZE_DEFAULT)
    proto.enable_SMTPUTF8 = kwargs.get("enable_SMTPUTF8", False)
    proto._decode_data = kwargs.get("decode_data", False)
    proto.command_size_limits.clear()
    proto.hostname = kwargs.get("hostname") or socket.getfqdn()
    proto.tls_context = tls_context
    proto.require_starttls = tls_context and kwargs.get("require_starttls", False)
    proto._timeout_duration = kwargs.get("timeout", 300)
    proto._timeout_handle = None
    proto._tls_handshake_okay = True
    proto._tls_protocol = None
    proto._original_transport = None
    proto.session = None
    proto.envelope = None
    proto.transport = None
    proto._handler_coroutine = None
    proto._auth_require_tls = kwargs.get("auth_require_tls", True)
    proto._proxy_timeout = None
    proto._auth_callback = login_always_fail
    proto._authenticator = None
    proto._auth_required = kwargs.get("auth_required", False)
    proto._auth_methods = {
        mech: _AuthMechAttr(getattr(proto if builtin else handler, name), builtin)
        for mech, (name, builtin) in template.auth_methods.items()
    }
    proto._handle_hooks = {
        hook: getattr(handler, name) for hook, name in template.handle_hooks.items()
    }
    proto._ehlo_hook_ver = template.ehlo_hook_ver
    proto._smtp_methods = {cmd: getattr(proto, name) for cmd, name in template.smtp_methods.items()}
    proto._enforce_call_limit = False
    return True
