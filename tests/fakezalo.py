"""A fake Zalo Bot Platform on a real socket: the API's JSON shapes and error codes, its
2,000-character refusal, 429 past a rate, chats marked as blocked, and a media host
serving photos that carry EXIF GPS (the shapes the platform's public reference gives)."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "1234567890:fake-zalo-bot-token"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> str:
        return str(self.params.get("chat_id", ""))

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")


@dataclass
class FakeZalo:
    token: str = TOKEN
    #: Sends per second above which the platform answers 429 (None: no quota).
    rate: float | None = None
    calls: list[Call] = field(default_factory=list)
    refused: list[Call] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    media: dict[str, bytes] = field(default_factory=dict)
    media_hits: int = 0
    webhook: dict[str, str] = field(default_factory=dict)
    _throttle: int = 0
    _window: list[float] = field(default_factory=list)

    def throttle_next(self, count: int) -> None:
        """The next `count` sends answer 429."""
        self._throttle = count

    def sent(self, chat_id: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto") and (chat_id is None or c.chat_id == chat_id)
        ]

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [c.text for c in self.sent(chat_id)]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/media/{name}", self._media)
        return app

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        try:
            params = json.loads(await request.read() or b"{}")
        except ValueError:
            return _error(400, "Bad Request: body is not JSON")
        method = request.match_info["method"]
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: unknown method")
        call = Call(method, params)
        if method.startswith("send"):
            refusal = self._refusal(call)
            if refusal is not None:
                self.refused.append(call)
                return refusal
        self.calls.append(call)
        result = handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    def _refusal(self, call: Call) -> web.Response | None:
        if self._throttle > 0:
            self._throttle -= 1
            return _error(429, "Quota exceeded")
        if self.rate is not None:
            now = time.monotonic()
            self._window = [t for t in self._window if t > now - 1.0]
            if len(self._window) >= self.rate:
                return _error(429, "Quota exceeded")
            self._window.append(now)
        if call.chat_id in self.blocked:
            return _error(403, "Forbidden: the user has blocked the bot")
        if call.method == "sendMessage":
            text = call.params.get("text")
            if not isinstance(text, str) or not 1 <= len(text) <= 2000:
                return _error(400, "Bad Request: text must be 1-2000 characters")
        return None

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "fake-bot",
            "account_name": "bot.hotline",
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url, secret = str(params.get("url", "")), str(params.get("secret_token", ""))
        if not url.startswith("https://") or not 8 <= len(secret) <= 256:
            return _error(400, "Bad Request: an https url and a secret of 8-256 characters are required")
        self.webhook = {"url": url, "secret_token": secret}
        return {"url": url, "updated_at": 1750316131602}

    def _api_deleteWebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        self.webhook = {}
        return {"url": "", "updated_at": 1750316131602}

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url", ""), "updated_at": 1750316131602}

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": f"m{len(self.calls)}", "date": 1750316131602}

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params)

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params)

    def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def _media(self, request: web.Request) -> web.Response:
        self.media_hits += 1
        data = self.media.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")


def _error(code: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)


@dataclass
class ZaloUser:
    """A person on Zalo; the id and display name must never be stored or logged."""

    chat_id: str = "6ede9afa66b88fe6d6a9"
    display_name: str = "Trần Thị Bí Mật"
    _next: int = 0

    def event(
        self,
        name: str,
        *,
        wrapped: bool = True,
        message_id: str | None = None,
        chat_type: str = "PRIVATE",
        chat_id: str | None = None,
        is_bot: bool = False,
        **fields: Any,
    ) -> dict[str, Any]:
        self._next += 1
        message = {
            "from": {"id": self.chat_id, "display_name": self.display_name, "is_bot": is_bot},
            "chat": {"id": chat_id or self.chat_id, "chat_type": chat_type},
            "message_id": message_id or secrets.token_hex(10),  # random, like the platform's
            "date": 1750316131602 + self._next,
            **fields,
        }
        inner = {"event_name": name, "message": message}
        return {"ok": True, "result": inner} if wrapped else inner

    def text(self, text: str, **kw: Any) -> dict[str, Any]:
        return self.event("message.text.received", text=text, **kw)

    def photo(self, url: str, caption: str = "", **kw: Any) -> dict[str, Any]:
        return self.event("message.image.received", photo=url, caption=caption, **kw)
