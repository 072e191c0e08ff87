"""The protocol object of a new connection, set up from what the first connection's
aiosmtpd constructor found (``smtp/protocol_setup.py``): attribute by attribute the same as
aiosmtpd's own constructor gives, methods bound to the new object, and aiosmtpd's way
whenever the shortcut does not apply."""

from __future__ import annotations

import asyncio
import gc
import ssl
import types
import weakref
from typing import Any
from unittest import mock

import pytest
from aiosmtpd.smtp import SMTP

from govmail.smtp import protocol_setup
from govmail.smtp.handler import SmtpHandler
from govmail.smtp.protocol import GovSMTP

KWARGS: dict[str, Any] = {
    "hostname": "mx.phuyen.gov.vn",
    "ident": "govmail ESMTP",
    "data_size_limit": 1_000_000,
    "enable_SMTPUTF8": True,
    "decode_data": False,
    "require_starttls": False,
    "auth_required": True,
    "auth_require_tls": False,
    "timeout": 300,
}


def handler() -> SmtpHandler:
    return SmtpHandler.__new__(SmtpHandler)  # its methods are what matters here


def aiosmtpd_way(h: Any, **kwargs: Any) -> GovSMTP:
    """A GovSMTP set up by aiosmtpd's constructor, whatever templates exist."""
    with mock.patch.object(protocol_setup, "usable", return_value=False):
        return GovSMTP(h, **kwargs)


def assert_same_setup(fast: SMTP, slow: SMTP) -> None:
    a, b = vars(fast), vars(slow)
    assert sorted(a) == sorted(b)
    for name in a:
        x, y = a[name], b[name]
        if name in ("_smtp_methods", "_handle_hooks", "_auth_methods"):
            assert list(x) == list(y), name
            for key in x:
                mx = x[key] if name != "_auth_methods" else x[key].method
                my = y[key] if name != "_auth_methods" else y[key].method
                if not isinstance(my, types.MethodType):  # a function set on the handler
                    assert mx is my, (name, key)
                    continue
                assert isinstance(mx, types.MethodType) and mx.__func__ is my.__func__
                # Bound to its own protocol object, or to the shared handler.
                owner = fast if my.__self__ is slow else my.__self__
                assert mx.__self__ is owner, (name, key)
                if name == "_auth_methods":
                    assert x[key].is_builtin == y[key].is_builtin
        elif isinstance(x, str | int | float | bool | type(None) | ssl.SSLContext):
            assert x == y, name
        elif isinstance(x, types.FunctionType):
            assert x is y, name
        elif isinstance(x, types.MethodType):
            assert x.__func__ is y.__func__, name
            assert x.__self__ is (fast if y.__self__ is slow else y.__self__), name
        else:  # per-connection objects: a reader, futures, the loop, the handler
            assert type(x) is type(y), name
            if name in ("loop", "_loop", "event_handler"):
                assert x is y, name
            else:
                assert x is not y, name


@pytest.mark.parametrize("tls", [False, True])
async def test_later_connections_are_set_up_as_aiosmtpd_does(tls: bool) -> None:
    h = handler()
    kwargs = dict(KWARGS)
    if tls:
        kwargs["tls_context"] = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    first = GovSMTP(h, **kwargs)  # aiosmtpd's constructor; what it found is kept
    assert protocol_setup.template_for(h, GovSMTP) is not None
    second = GovSMTP(h, **kwargs)
    assert_same_setup(second, aiosmtpd_way(h, **kwargs))
    assert_same_setup(first, aiosmtpd_way(h, **kwargs))
    assert second._smtp_methods["DATA"].__self__ is second
    assert second._auth_methods["PLAIN"].method.__self__ is h
    assert not second._auth_methods["PLAIN"].is_builtin


async def test_a_hook_replaced_after_the_first_connection_is_used() -> None:
    h = handler()
    GovSMTP(h, **KWARGS)

    async def handle_DATA(*args: Any) -> str:
        return "250 2.0.0 replaced"

    h.handle_DATA = handle_DATA  # type: ignore[method-assign]
    later = GovSMTP(h, **KWARGS)
    assert later._handle_hooks["DATA"] is handle_DATA
    assert_same_setup(later, aiosmtpd_way(h, **KWARGS))


async def test_other_arguments_and_releases_take_aiosmtpd_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = handler()
    GovSMTP(h, **KWARGS)
    filled: list[SMTP] = []
    real_fill = protocol_setup.fill

    def counted(proto: SMTP, *args: Any) -> bool:
        filled.append(proto)
        return real_fill(proto, *args)

    monkeypatch.setattr(protocol_setup, "fill", counted)
    excluded = GovSMTP(h, auth_exclude_mechanism=["LOGIN"], **KWARGS)
    assert filled == [] and "LOGIN" not in excluded._auth_methods
    monkeypatch.setattr("aiosmtpd.__version__", "1.5.0")
    GovSMTP(h, **KWARGS)
    assert filled == []
    monkeypatch.undo()
    monkeypatch.setattr(protocol_setup, "fill", counted)
    GovSMTP(h, **KWARGS)
    assert len(filled) == 1


def test_without_a_running_loop_aiosmtpd_way() -> None:
    h = handler()

    async def first() -> None:
        GovSMTP(h, **KWARGS)

    asyncio.run(first())
    assert protocol_setup.template_for(h, GovSMTP) is not None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        proto = GovSMTP(h, **KWARGS)  # aiosmtpd finds the loop it was given
        assert proto.loop is loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def test_a_handler_s_templates_go_with_it() -> None:
    h = handler()
    GovSMTP(h, **KWARGS)
    assert protocol_setup.template_for(h, GovSMTP) is not None
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None  # the template held no reference to it
