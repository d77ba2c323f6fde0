"""A streamed, encrypted archive file: a small header, then AES-256-GCM chunks.

The key is derived (HKDF-SHA256) from a secret kept outside the archive with a random salt
from the header, so every archive has its own key and chunk nonces can be their index.
Each chunk's associated data is the header, its index and a final flag: a reordered,
dropped, truncated or appended chunk, or an altered header, fails to open. A key check in
the header tells a wrong key apart from a damaged file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"HLBACKUP"
VERSION = 1
#: Plaintext bytes per chunk: memory use is a few of these, whatever the archive's size.
CHUNK = 1 << 20
SALT_BYTES = 16
CHECK_BYTES = 16
#: Where the secret came from, recorded so a restore can say which key it needs.
SOURCE_MASTER = 0
SOURCE_BACKUP_KEY = 1
_HEADER = struct.Struct(f">8sBB{SALT_BYTES}s{CHECK_BYTES}s")
_LENGTH = struct.Struct(">I")


class ArchiveError(Exception):
    """An archive that cannot be opened: wrong key, altered, truncated or not an archive."""


def _keys(secret: bytes, salt: bytes) -> tuple[bytes, bytes]:
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=b"hotline backup v1").derive(secret)
    return derived[:32], derived[32:]


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, int(final))


def _nonce(index: int) -> bytes:
    return b"\x00\x00\x00\x00" + struct.pack(">Q", index)


class EncryptingWriter:
    """A write-only file object: bytes written are encrypted chunk by chunk into `raw`.
    `close()` writes the final chunk; an archive without it is refused as truncated."""

    def __init__(self, raw: BinaryIO, secret: bytes, source: int) -> None:
        salt = os.urandom(SALT_BYTES)
        key, check_key = _keys(secret, salt)
        prefix = _HEADER.pack(MAGIC, VERSION, source, salt, b"\x00" * CHECK_BYTES)[:-CHECK_BYTES]
        check = hmac.new(check_key, prefix, hashlib.sha256).digest()[:CHECK_BYTES]
        self.header = prefix + check
        self._raw = raw
        self._aead = AESGCM(key)
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        raw.write(self.header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep at least one byte back: the last chunk is final
            self._emit(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, *, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index), plain, _aad(self.header, self._index, final))
        self._raw.write(_LENGTH.pack(len(sealed)))
        self._raw.write(sealed)
        self._index += 1

    def flush(self) -> None:
        return None

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._closed = True


def read_header(raw: BinaryIO) -> tuple[bytes, int]:
    """The header and the key source it names, or ArchiveError."""
    header = raw.read(_HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        raise ArchiveError("not a hotline backup archive (or cut short before its header)")
    _, version, source, _, _ = _HEADER.unpack(header)
    if version != VERSION:
        raise ArchiveError(f"archive format version {version} is not supported by this version")
    return header, source


class DecryptingReader:
    """A read-only file object over an archive: each chunk is authenticated before any of
    its bytes are handed out. `finish()` checks that the final chunk came and nothing
    followed it; a restore must call it before trusting what it read."""

    def __init__(self, raw: BinaryIO, secret: bytes, header: bytes) -> None:
        _, _, _, salt, check = _HEADER.unpack(header)
        key, check_key = _keys(secret, salt)
        expected = hmac.new(check_key, header[:-CHECK_BYTES], hashlib.sha256).digest()[:CHECK_BYTES]
        if not hmac.compare_digest(expected, check):
            raise ArchiveError("wrong key: this archive was made with another key")
        self._raw = raw
        self._header = header
        self._aead = AESGCM(key)
        self._buffer = bytearray()
        self._index = 0
        self._done = False

    def _next(self) -> None:
        head = self._raw.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            raise ArchiveError("the archive is truncated (its last part is missing)")
        (length,) = _LENGTH.unpack(head)
        if length > CHUNK + 16:
            raise ArchiveError("the archive is damaged or altered (a part has an impossible length)")
        sealed = self._raw.read(length)
        if len(sealed) < length:
            raise ArchiveError("the archive is truncated (its last part is missing)")
        nonce = _nonce(self._index)
        for final in (False, True):
            try:
                plain = self._aead.decrypt(nonce, sealed, _aad(self._header, self._index, final))
            except InvalidTag:
                continue
            self._buffer += plain
            self._index += 1
            self._done = final
            return
        raise ArchiveError(f"the archive is damaged or altered (part {self._index} does not authenticate)")

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._next()
        if size < 0 or size >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
        else:
            out = bytes(self._buffer[:size])
            del self._buffer[:size]
        return out

    def finish(self) -> None:
        """Read to the final chunk; refuse anything after it."""
        while not self._done:
            self._next()
        if self._raw.read(1):
            raise ArchiveError("the archive is altered (data follows its final part)")
