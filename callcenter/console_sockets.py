"""What the console's sockets (`/agent/ws`, `/supervisor/ws`) share: they push while their
user is signed in, checked before each push and between events, and close, telling the
page why, once the user signed out or was disabled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from callcenter.auth import credential_still_stands, still_signed_in
from callcenter.keys import SETTINGS


async def open_socket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    return socket


async def close_signed_out(socket: web.WebSocketResponse) -> None:
    """Close the socket, telling the page why: its user signed out or was disabled."""
    await socket.close(code=WSCloseCode.POLICY_VIOLATION, message=b"signed out")


async def signed_out(request: web.Request, socket: web.WebSocketResponse) -> bool:
    """Close the socket once its user signed out or was disabled."""
    if await still_signed_in(request):
        return False
    await close_signed_out(socket)
    return True


async def _close_when_signed_out(request: web.Request, socket: web.WebSocketResponse) -> None:
    # Between events too, so an idle socket of a disabled user does not stay open.
    while True:
        await asyncio.sleep(request.app[SETTINGS].socket_recheck_seconds)
        if await signed_out(request, socket):
            return


async def serve(
    request: web.Request, socket: web.WebSocketResponse, *pushers: Coroutine[Any, Any, None]
) -> None:
    """Run the socket's pushers until the browser leaves or its user signs out."""
    tasks = [asyncio.create_task(p) for p in (*pushers, _close_when_signed_out(request, socket))]
    try:
        async for received in socket:
            if received.type == WSMsgType.ERROR:
                break
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Sender:
    """One socket's messages, one at a time: several pushers share it."""

    def __init__(self, request: web.Request, socket: web.WebSocketResponse) -> None:
        self._request = request
        self._socket = socket
        self._lock = asyncio.Lock()

    async def signed_out(self) -> bool:
        """`signed_out` before a push, in one small statement: it runs for every call, and
        the periodic check keeps the full one (which also marks the session as seen)."""
        if await credential_still_stands(self._request):
            return False
        await self.close_signed_out()
        return True

    async def close_signed_out(self) -> None:
        await close_signed_out(self._socket)

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if not self._socket.closed:
                await self._socket.send_json(message)
