"""A fake Telegram Bot API server (aiohttp) for tests and the benchmark.

Speaks the Bot API's JSON at `/bot<token>/<method>` and serves files at
`/file/bot<token>/<path>`, records every call, and can misbehave on request: answer 429
with `parameters.retry_after`, answer 403 "bot was blocked by the user" for chosen chats,
or fail a method with a 500. The real python-telegram-bot client talks to it through
`base_url` / `base_file_url`, exactly as it would to a self-hosted Bot API server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7_000_000_001
BOT_USERNAME = "hotline_test_bot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    #: The HTTP status answered (200, 429, 403, 500…); a held call counts as 200.
    status: int = 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def markup(self) -> dict[str, Any]:
        value = self.params.get("reply_markup")
        return value if isinstance(value, dict) else {}

    def button_data(self) -> list[str]:
        return [b.get("callback_data", "") for row in self.markup.get("inline_keyboard", []) for b in row]

    def button_labels(self) -> list[str]:
        return [b.get("text", "") for row in self.markup.get("inline_keyboard", []) for b in row]

    def keyboard_labels(self) -> list[str]:
        return [
            b.get("text", "") if isinstance(b, dict) else b
            for row in self.markup.get("keyboard", [])
            for b in row
        ]


@dataclass
class FakeBotApi:
    """State and knobs of the fake server; `app()` builds the aiohttp application."""

    token: str = "123456:TEST-token"
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id → bytes
    blocked_chats: set[int] = field(default_factory=set)
    #: method → how many of its next calls answer 429, and with which retry_after.
    throttle: dict[str, list[int]] = field(default_factory=dict)
    #: method → how many of its next calls answer 500.
    failures: dict[str, int] = field(default_factory=dict)
    #: Optional strict limit: more than this many sends per second in total → 429.
    max_sends_per_second: int | None = None
    #: Seconds, for the calls' times and the strict limit's windows.
    clock: Callable[[], float] = time.monotonic
    pending_updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    too_many: int = 0
    #: Seconds every send waits before answering (a slow Bot API).
    send_delay: float = 0.0
    #: While set to an unset Event, accepted sends are recorded and then never answered
    #: (the broadcast crash test kills the worker with calls in flight).
    hold: asyncio.Event | None = None
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _file_paths: dict[str, str] = field(default_factory=dict)
    _window: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    _updates_arrived: asyncio.Event | None = None

    # --- test helpers -------------------------------------------------------------------

    def add_file(self, file_id: str, data: bytes) -> None:
        self.files[file_id] = data
        self._file_paths[file_id] = f"documents/{file_id}.bin"

    def throttle_next(self, method: str, count: int, retry_after: int = 1) -> None:
        self.throttle[method] = [retry_after] * count

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [
            c for c in self.calls if c.method.startswith("send") and (chat_id is None or c.chat_id == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text for c in self.sent(chat_id)]

    def push_update(self, update: dict[str, Any]) -> None:
        """For long polling: the next getUpdates returns it."""
        self.pending_updates.append(update)
        if self._updates_arrived is not None:
            self._updates_arrived.set()

    # --- the server -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                params[key] = value
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith(("[", "{")):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass
        return params

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params, self.clock())
        self.calls.append(call)
        if self.throttle.get(method):
            retry_after = self.throttle[method].pop(0)
            self.too_many += 1
            call.status = 429
            return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        if self.failures.get(method):
            self.failures[method] -= 1
            call.status = 500
            return _error(500, "Internal Server Error")
        if method.startswith("send"):
            if call.chat_id in self.blocked_chats:
                call.status = 403
                return _error(403, "Forbidden: bot was blocked by the user")
            if self.max_sends_per_second is not None:
                second = int(call.at)
                self._window[second] += 1
                if self._window[second] > self.max_sends_per_second:
                    self.too_many += 1
                    call.status = 429
                    return _error(429, "Too Many Requests: retry after 1", retry_after=1)
            if self.hold is not None:
                await self.hold.wait()
        if method.startswith("send") and self.send_delay:
            await asyncio.sleep(self.send_delay)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.calls.append(Call("download", {"path": path}, self.clock()))
        for file_id, file_path in self._file_paths.items():
            if file_path == path:
                return web.Response(body=self.files[file_id], content_type="application/octet-stream")
        return web.Response(status=404)

    # --- Bot API methods ------------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Hotline",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = dict(params)
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        if not self.pending_updates and timeout > 0:
            self._updates_arrived = asyncio.Event()
            try:
                await asyncio.wait_for(self._updates_arrived.wait(), min(timeout, 1.0))
            except TimeoutError:
                pass
        return list(self.pending_updates)

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Hotline", "username": BOT_USERNAME},
            **extra,
        }

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, text=str(params.get("text", "")))

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(
            params, photo=[{"file_id": "sent-photo", "file_unique_id": "sp", "width": 1, "height": 1}]
        )

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, document={"file_id": "sent-doc", "file_unique_id": "sd"})

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, text=str(params.get("text", "")))

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_leaveChat(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise web.HTTPBadRequest(
                text=json.dumps(
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
                ),
                content_type="application/json",
            )
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": self._file_paths[file_id],
        }


def _error(status: int, description: str, *, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
