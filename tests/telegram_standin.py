"""A local stand-in for Telegram's Bot API: answers methods over real HTTP and records them."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from callcenter.settings import Settings


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def markup(self) -> dict[str, Any]:
        raw = self.params.get("reply_markup")
        return json.loads(raw) if isinstance(raw, str) else (raw or {})


@dataclass
class BotApiStandIn:
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    base_url: str = ""
    # Seconds to hold each answer after recording the call: a slow network, and the window
    # in which a sender that dies has sent a message without learning that it arrived.
    delay: float = 0.0
    # Files the bot may download, by file id (a photo a customer sent).
    files: dict[str, bytes] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def fail_next(self, method: str, code: int, description: str, retry_after: int | None = None) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self.failures.setdefault(method, []).append(body)

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            form = await request.post()
            params = {k: str(v) for k, v in form.items()}
        self.calls.append(Call(method, params, time.monotonic()))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures.get(method):
            body = self.failures[method].pop(0)
            return web.json_response(body, status=body["error_code"])
        return web.json_response({"ok": True, "result": self._result(method, params)})

    async def download(self, request: web.Request) -> web.Response:
        """`GET /file/bot<token>/<file_path>`: the file getFile pointed at."""
        file_id = request.match_info["path"].removeprefix("photos/")
        if file_id not in self.files:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=self.files[file_id], content_type="image/jpeg")

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            return {"file_id": file_id, "file_unique_id": file_id, "file_path": f"photos/{file_id}"}
        if method == "getMe":
            return {"id": 4242, "is_bot": True, "first_name": "Desk", "username": "desk_bot"}
        if method in ("sendMessage", "editMessageText", "sendPhoto"):
            return {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
                "text": params.get("text", ""),
            }
        return True


@asynccontextmanager
async def bot_api() -> AsyncIterator[BotApiStandIn]:
    standin = BotApiStandIn()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", standin.handle)
    app.router.add_get("/file/bot{token}/{path:.+}", standin.download)
    server = TestServer(app)
    await server.start_server()
    standin.base_url = str(server.make_url("")).rstrip("/")
    try:
        yield standin
    finally:
        await server.close()


def pointed_at(settings: Settings, api: BotApiStandIn, secret: str, **extra: Any) -> Settings:
    """`settings` with the bot on, talking to the stand-in, taking webhooks with `secret`."""
    bot = {
        "bot_token": "123456:TEST",
        "telegram_api_base": api.base_url,
        "telegram_webhook_secret": secret,
        "telegram_chat_interval_seconds": 0.0,
    }
    return settings.model_copy(update={**bot, **extra})
