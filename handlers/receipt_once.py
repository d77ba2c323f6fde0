"""The receipt after a POST, shown once on the page the browser is redirected to.

POST /report (or /ask) stores the tip and answers 303 to /report/received; the receipt
code and passphrase travel there in a short-lived, httponly, path-scoped cookie sealed with
AES-GCM under a key derived from the app's secret, so any stateless worker can open it and
no server-side store is needed. The GET clears the cookie: a refresh or a later visit finds
none and says the receipt was already shown, and a refresh can never post the form again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from handlers.clients import is_https
from hotline.chatkeys import chat_secret
from hotline.settings import Settings

COOKIE = "receipt_once"
#: Long enough for a slow phone to follow the redirect; short enough that a shared
#: phone picked up later shows nothing.
LIFETIME_SECONDS = 600
_KEY = web.AppKey("receipt_once_key", bytes)


@dataclass(frozen=True)
class OnceReceipt:
    code: str
    passphrase: str
    urgent: bool
    question: bool
    #: Stored although the sender's connection was over its report limit (marked urgent).
    over_limit: bool = False


def key_for(settings: Settings) -> bytes:
    """A 256-bit key used for nothing else, derived from the deployment's secret."""
    return hmac.new(chat_secret(settings), b"hotline receipt cookie v1", hashlib.sha256).digest()


def setup(app: web.Application, settings: Settings) -> None:
    app[_KEY] = key_for(settings)


def seal(key: bytes, receipt: OnceReceipt, path: str, now: datetime) -> str:
    """The receipt as an opaque cookie value bound to the page it is meant for."""
    payload = {
        "c": receipt.code,
        "p": receipt.passphrase,
        "u": receipt.urgent,
        "q": receipt.question,
        "o": receipt.over_limit,
        "t": int(now.timestamp()),
    }
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(payload).encode(), path.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(key: bytes, value: str, path: str, now: datetime) -> OnceReceipt | None:
    """The receipt if the cookie is ours, for this page and recent; otherwise None."""
    if not value or len(value) > 2048:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], path.encode())
        payload: dict[str, Any] = json.loads(plain)
    except (binascii.Error, ValueError, InvalidTag):
        return None
    age = now.timestamp() - float(payload.get("t", 0))
    if not -60 <= age <= LIFETIME_SECONDS:
        return None
    return OnceReceipt(
        code=str(payload["c"]),
        passphrase=str(payload["p"]),
        urgent=bool(payload["u"]),
        question=bool(payload["q"]),
        over_limit=bool(payload.get("o", False)),
    )


def redirect_with(request: web.Request, receipt: OnceReceipt, path: str, now: datetime) -> web.Response:
    """303 See Other to the receipt page, carrying the sealed receipt for that page only."""
    response = web.Response(status=303, headers={"Location": path, "Cache-Control": "no-store"})
    response.set_cookie(
        COOKIE,
        seal(request.app[_KEY], receipt, path, now),
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
        path=path,
    )
    return response


def opened(request: web.Request, path: str, now: datetime) -> OnceReceipt | None:
    """The receipt carried to this page, if a valid cookie came with the request."""
    return unseal(request.app[_KEY], request.cookies.get(COOKIE, ""), path, now)


def forget(request: web.Request, response: web.StreamResponse, path: str) -> None:
    """Clear the cookie: the passphrase is shown at most once."""
    if COOKIE in request.cookies:
        response.del_cookie(COOKIE, path=path)
