"""Envelope encryption of single database values (AES-256-GCM, `cryptography`).

Each record gets its own random data key; the data key is stored only wrapped (encrypted)
under the master key, which lives outside the database. Every value is bound to where it
is stored (table, record id, column) as associated data, so a ciphertext copied to another
row or column fails to decrypt instead of showing one person's data as another's. Losing
the wrapped key forgets the record's values for good (crypto-shredding).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
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


def _seal(key: bytes | AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    aead = key if isinstance(key, AESGCM) else AESGCM(key)
    return VERSION + nonce + aead.encrypt(nonce, plaintext, aad)


def _open(key: bytes | AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise EnvelopeError("not an encrypted value of this version")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    aead = key if isinstance(key, AESGCM) else AESGCM(key)
    try:
        return aead.decrypt(nonce, body, aad)
    except InvalidTag:
        raise EnvelopeError("the value does not decrypt here (wrong key, altered or moved)") from None


def key_id_of(master_key: bytes) -> str:
    """Names a master key (not secret): stored with each wrapped key, so a rotation knows
    which records are still under the old key."""
    return hashlib.sha256(b"hotline master key id\x00" + master_key).hexdigest()[:16]


def _index_key(master_key: bytes) -> bytes:
    """The blind index's HMAC key, derived from (never equal to) the master key."""
    return hmac.new(master_key, b"hotline blind index v1", hashlib.sha256).digest()


class Envelope:
    """The master key in memory, and the operations that need it. Never logged or printed.

    During a rotation it also holds the previous master key(s): new keys are wrapped under
    the current one, and a wrapped key opens under any of them (current first)."""

    def __init__(self, master_key: bytes, previous: Sequence[bytes] = ()) -> None:
        for key in (master_key, *previous):
            if len(key) != KEY_BYTES:
                raise ValueError(f"the master key must be {KEY_BYTES} bytes")
        #: (key id, AES-GCM object) of the current key, then of the previous ones; the
        #: objects are built once, so a wrap or unwrap costs one AES-GCM call.
        self._keys = [(key_id_of(k), AESGCM(k)) for k in dict.fromkeys((master_key, *previous))]
        self.key_id = self._keys[0][0]
        self.key_ids = tuple(key_id for key_id, _ in self._keys)
        self._index_keys = tuple(_index_key(k) for k in dict.fromkeys((master_key, *previous)))

    def __repr__(self) -> str:
        return f"Envelope(key_id={self.key_id})"

    def new_data_key(self) -> bytes:
        return secrets.token_bytes(KEY_BYTES)

    def wrap(self, data_key: bytes, place: Place) -> bytes:
        """The data key encrypted under the (current) master key, bound to its record."""
        return _seal(self._keys[0][1], data_key, b"wrapped-key\x1f" + place.aad())

    def unwrap(self, wrapped: bytes, place: Place, key_id: str | None = None) -> bytes:
        """The data key; `key_id`, when known, says which master key to try first."""
        order = sorted(self._keys, key=lambda item: item[0] != key_id) if key_id else self._keys
        for _, aead in order[:-1]:
            try:
                return _open(aead, wrapped, b"wrapped-key\x1f" + place.aad())
            except EnvelopeError:
                continue
        return _open(order[-1][1], wrapped, b"wrapped-key\x1f" + place.aad())

    def is_current(self, wrapped: bytes, place: Place) -> bool:
        """Whether a wrapped key opens under the current master key (a rotation's test)."""
        try:
            _open(self._keys[0][1], wrapped, b"wrapped-key\x1f" + place.aad())
        except EnvelopeError:
            return False
        return True

    def index_keys(self) -> tuple[bytes, ...]:
        """HMAC keys of the blind index: the current one first (new records are indexed
        with it), then the previous ones (a search during a rotation asks both)."""
        return self._index_keys

    @staticmethod
    def encrypt_bytes(data_key: bytes, data: bytes, place: Place) -> bytes:
        return _seal(data_key, data, place.aad())

    @staticmethod
    def decrypt_bytes(data_key: bytes, blob: bytes, place: Place) -> bytes:
        return _open(data_key, blob, place.aad())

    @staticmethod
    def encrypt(data_key: bytes, text: str, place: Place) -> bytes:
        return _seal(data_key, text.encode(), place.aad())

    @staticmethod
    def decrypt(data_key: bytes, blob: bytes, place: Place) -> str:
        return _open(data_key, blob, place.aad()).decode()
