"""The HTTP listener: runs the ASGI application with uvicorn on our own sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from govmail.services import bind_sockets, bound_port


class HttpService:
    name = "http"

    def __init__(self, asgi_app: Any, addresses: list[str], port: int) -> None:
        self.asgi_app = asgi_app
        self.addresses = addresses
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sockets: list[socket.socket] = []

    async def start(self) -> None:
        self._sockets = bind_sockets(self.addresses, self.port)
        for s in self._sockets:
            # Accepted connections inherit it: without it a response written in two parts
            # (headers, body) waits ~40 ms for the client's delayed ACK (Nagle).
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = bound_port(self._sockets)
        config = uvicorn.Config(
            self.asgi_app,
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=self._sockets))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=10)
        for s in self._sockets:
            s.close()

    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()
