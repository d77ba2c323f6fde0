"""Envelope encryption of single database values (AES-256-GCM, `cryptography`).

Each record gets its own random data key; the data key is stored only wrapped (encrypted)
under the master key, which lives outside the database. Every value is bound to where it
is stored (table, record id, column) as associated data, so a ciphertext copied to another
row or column fails to decrypt instead of showing one person's data as another's. Losing
the wrapped key forgets the record's values for good (crypto-shredding).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: Format byte in front of every blob, so a later scheme can be told apart.
VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32


class EnvelopeError(Exception):
    """A blob that does not decrypt: wrong master key, altered, or moved to another place."""


@dataclass(frozen=True)
class Place:
    """Where a value is stored: its associated data."""

    table: str
    record_id: int | str
    column: str

    def aad(self) -> bytes:
        return f"{self.table}\x1f{self.record_id}\x1f{self.column}".encode()


def parse_master_key(text: str) -> bytes:
    """64 hexadecimal characters (32 bytes); anything else is refused with a reason."""
    cleaned = text.strip()
    if len(cleaned) != 2 * KEY_BYTES:
        raise ValueError(f"the master key must be {2 * KEY_BYTES} hexadecimal characters")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError("the master key must be hexadecimal (0-9, a-f)") from None


def new_master_key_hex() -> str:
    return secrets.token_hex(KEY_BYTES)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise EnvelopeError("not an encrypted value of this version")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise EnvelopeError("the value does not decrypt here (wrong key, altered or moved)") from None


class Envelope:
    """The master key in memory, and the operations that need it. Never logged or printed."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes")
        self._master = master_key
        #: Names the master key (not secret): stored with wrapped keys for a later rotation.
        self.key_id = hashlib.sha256(b"hotline master key id\x00" + master_key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Envelope(key_id={self.key_id})"

    def new_data_key(self) -> bytes:
        return secrets.token_bytes(KEY_BYTES)

    def wrap(self, data_key: bytes, place: Place) -> bytes:
        """The data key encrypted under the master key, bound to its record."""
        return _seal(self._master, data_key, b"wrapped-key\x1f" + place.aad())

    def unwrap(self, wrapped: bytes, place: Place) -> bytes:
        return _open(self._master, wrapped, b"wrapped-key\x1f" + place.aad())

    @staticmethod
    def encrypt(data_key: bytes, text: str, place: Place) -> bytes:
        return _seal(data_key, text.encode(), place.aad())

    @staticmethod
    def decrypt(data_key: bytes, blob: bytes, place: Place) -> str:
        return _open(data_key, blob, place.aad()).decode()
