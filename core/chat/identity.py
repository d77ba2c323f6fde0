"""How a chat is known without being identified: a keyed hash for lookups, and
authenticated encryption for the one case where we must reach the chat again.

The key comes from settings (`HOTLINE_SECRET_KEY`, or a generated key file): whoever
steals the database or Redis without it can neither link a hash to an account nor read an
encrypted chat id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class ChatKeys:
    """Derives separate keys for hashing and for encryption from one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the chat secret must be at least 32 bytes")
        self._hash_key = hmac.digest(secret, b"hotline chat hash v1", hashlib.sha256)
        self._aead = AESGCM(hmac.digest(secret, b"hotline chat address v1", hashlib.sha256))

    def chat_key(self, channel: str, address: str) -> str:
        """Stable, non-reversible name of a chat: the key of its state and subscription."""
        digest = hmac.digest(self._hash_key, f"{channel}:{address}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")

    def encrypt(self, channel: str, address: str) -> str:
        """AES-GCM with a fresh nonce; the channel name is bound in as associated data."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, address.encode(), channel.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, channel: str, token: str) -> str:
        """Raises `cryptography.exceptions.InvalidTag` if the token was altered or the key is wrong."""
        raw = base64.urlsafe_b64decode(token.encode())
        return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], channel.encode()).decode()
