"""A thin client of the Zalo Bot Platform over aiohttp's client session: one POST per
call to `<root>/bot<TOKEN>/<method>` with a JSON body, `{"ok": true, "result": ...}` back.

Photos are fetched only from the configured media hosts (https, or http for a host
listed with its scheme), without following redirects, streamed and cut off past the
attachment size limit, so a hostile URL can neither reach inside the network nor fill
the memory.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp

#: The platform refuses longer texts.
MAX_TEXT = 2000
#: An API answer is a few hundred bytes; anything bigger is not one.
MAX_ANSWER_BYTES = 256 * 1024


class ZaloError(Exception):
    """The platform answered `ok: false` (or not JSON): `code` is its error code."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}"[:200])
        self.code = code
        self.description = description


class NotSent(Exception):
    """No connection could be made: the request never reached the platform."""


class MediaRefused(Exception):
    """A photo URL outside the allowed hosts, or a file over the limits."""


def api_root(configured: str) -> str:
    return configured.rstrip("/")


class MediaHosts:
    """`zdn.vn` allows https://zdn.vn and https://*.zdn.vn; `http://127.0.0.1:8080`
    allows plain http for exactly that host and port."""

    def __init__(self, entries: tuple[str, ...] | list[str]) -> None:
        self.domains: list[str] = []
        self.exact: set[tuple[str, str]] = set()
        for entry in entries:
            if "://" in entry:
                parts = urlsplit(entry)
                self.exact.add((parts.scheme.lower(), parts.netloc.lower()))
            else:
                self.domains.append(entry.lower().strip(".").strip())

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            netloc = parts.netloc.lower()
        except ValueError:
            return False
        if not host or parts.username or parts.password:
            return False
        if (parts.scheme.lower(), netloc) in self.exact:
            return True
        if parts.scheme.lower() != "https" or parts.port not in (None, 443):
            return False
        return any(host == d or host.endswith("." + d) for d in self.domains)


class ZaloApi:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        api_url: str,
        *,
        media_hosts: MediaHosts | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.session = session
        self._base = f"{api_root(api_url)}/bot{token}/"
        self.media_hosts = media_hosts or MediaHosts(())
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:  # the token is in the base URL: never print it
        return "ZaloApi(…)"

    async def call(self, method: str, payload: dict[str, Any] | None = None) -> Any:
        """The call's `result`; `ZaloError` for a refusal, `NotSent` when no connection
        was made, aiohttp's errors for a failure after the request left."""
        try:
            async with self.session.post(
                self._base + method, json=payload or {}, timeout=self.timeout
            ) as response:
                raw = await response.content.read(MAX_ANSWER_BYTES + 1)
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise NotSent(type(exc).__name__) from exc
        try:
            answer = json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ZaloError(status if status >= 400 else 502, "the answer is not JSON")
        if not answer.get("ok"):
            code = answer.get("error_code")
            raise ZaloError(
                code if isinstance(code, int) else status, str(answer.get("description", ""))[:200]
            )
        return answer.get("result")

    async def send_message(self, chat_id: str, text: str) -> Any:
        """Plain text (no parse mode): `*`, `_` or `<b>` anyone typed arrive as typed."""
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str) -> Any:
        return await self.call("sendPhoto", {"chat_id": chat_id, "photo": photo_url, "caption": caption})

    async def fetch_media(self, url: str, max_bytes: int) -> bytes:
        """The bytes at `url`, if its host is allowed and it is at most `max_bytes`."""
        if not self.media_hosts.allows(url):
            raise MediaRefused("the photo is not on an allowed host")
        try:
            async with self.session.get(url, allow_redirects=False, timeout=self.timeout) as response:
                if response.status != 200:
                    raise MediaRefused(f"the photo host answered {response.status}")
                if (response.content_length or 0) > max_bytes:
                    raise MediaRefused("the photo is too large")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaRefused("the photo is too large")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaRefused(f"the photo could not be fetched ({type(exc).__name__})") from exc
        return b"".join(chunks)
