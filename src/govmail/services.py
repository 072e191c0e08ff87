"""Named background services and listeners started by the composition root."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def healthy(self) -> bool: ...


def bind_sockets(addresses: list[str], port: int) -> list[socket.socket]:
    """Listening TCP sockets on every address (IPv4 and IPv6), non-blocking."""
    socks: list[socket.socket] = []
    try:
        for addr in addresses:
            family = socket.AF_INET6 if ":" in addr else socket.AF_INET
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Replies are written in several pieces (multi-line SMTP/IMAP responses): without
            # this each waits for the client's delayed ACK. Accepted sockets inherit it.
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            s.listen(1024)
            s.setblocking(False)
            socks.append(s)
            if port == 0:  # the same ephemeral port on every address would need a retry loop
                port = s.getsockname()[1]
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def bound_port(socks: list[socket.socket]) -> int:
    return int(socks[0].getsockname()[1])


async def cancel_and_wait(task: asyncio.Task[object] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True if it was set.

    Not ``asyncio.wait_for(event.wait(), …)``: on Python 3.11 that swallows a cancellation
    arriving while the event is being set, so a service told to stop would wait forever.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
