"""Attachment bytes in a directory, named by random id (never by what the uploader sent),
and encrypted before they reach the disk.

A stored file is `HTF1`, the id of the master key that wrapped its data key (16 ASCII
characters), the wrapped key's length (2 bytes) and the wrapped key, then the ciphertext
(core.envelope): a data key per file, the key and the bytes bound to the file's storage
key, so a file renamed to another attachment's name does not open.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from core.envelope import Envelope, EnvelopeError, Place
from core.errors import NotFound

_KEY = re.compile(r"^[0-9a-f]{32}$")
MAGIC = b"HTF1"
_KEY_ID = 16


def seal_file(env: Envelope, key: str, data: bytes) -> bytes:
    data_key = env.new_data_key()
    wrapped = env.wrap(data_key, Place("attachments", key, "data_key"))
    header = MAGIC + env.key_id.encode("ascii") + len(wrapped).to_bytes(2, "big") + wrapped
    return header + env.encrypt_bytes(data_key, data, Place("attachments", key, "bytes"))


def _split(blob: bytes) -> tuple[str, bytes, bytes]:
    if blob[:4] != MAGIC or len(blob) < 4 + _KEY_ID + 2:
        raise EnvelopeError("not an encrypted attachment")
    key_id = blob[4 : 4 + _KEY_ID].decode("ascii", "replace")
    size = int.from_bytes(blob[4 + _KEY_ID : 6 + _KEY_ID], "big")
    start = 6 + _KEY_ID
    return key_id, blob[start : start + size], blob[start + size :]


def file_key_id(blob: bytes) -> str:
    """The id of the master key that wrapped this stored file's data key."""
    return _split(blob)[0]


def open_file(env: Envelope, key: str, blob: bytes) -> bytes:
    key_id, wrapped, body = _split(blob)
    data_key = env.unwrap(wrapped, Place("attachments", key, "data_key"), key_id)
    return env.decrypt_bytes(data_key, body, Place("attachments", key, "bytes"))


def rewrap_file(env: Envelope, key: str, blob: bytes) -> bytes:
    """The same ciphertext with its data key wrapped again under the current master key."""
    key_id, wrapped, body = _split(blob)
    place = Place("attachments", key, "data_key")
    rewrapped = env.wrap(env.unwrap(wrapped, place, key_id), place)
    return MAGIC + env.key_id.encode("ascii") + len(rewrapped).to_bytes(2, "big") + rewrapped + body


class DirectoryStore:
    """One file per attachment under `root/ab/abcdef...`, readable by the service user only,
    encrypted under the master key `keys` gives (read on first use).

    An object store can implement the same three methods later (core.ports.AttachmentStore).
    """

    def __init__(self, root: Path, keys: Callable[[], Envelope]) -> None:
        self.root = root
        self._keys = keys

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys are ours; anything else is a bug or an attack
            raise NotFound("no such attachment")
        return self.root / key[:2] / key

    async def put(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        sealed = seal_file(self._keys(), key, data)
        await asyncio.to_thread(self._write, self._path(key), sealed)
        return key

    async def get(self, key: str) -> bytes:
        try:
            blob = await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise NotFound("no such attachment") from None
        return open_file(self._keys(), key, blob)

    def paths(self) -> list[tuple[str, Path]]:
        """(key, path) of every stored file (not the unfinished `.tmp` ones)."""
        return [(key, path) for key, path in self.stored_before(float("inf")) if _KEY.match(key)]

    def replace(self, key: str, blob: bytes) -> None:
        """Write a stored file again (a rotation's rewrapped header), atomically."""
        self._write_over(self._path(key), blob)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    def stored_before(self, cutoff: float) -> list[tuple[str, Path]]:
        """(key, path) of every stored file, and every unfinished `.tmp`, last written
        before `cutoff` (a POSIX time). Keys of `.tmp` files are returned with the suffix."""
        found: list[tuple[str, Path]] = []
        if not self.root.is_dir():
            return found
        for shard in self.root.iterdir():
            if not (shard.is_dir() and re.fullmatch(r"[0-9a-f]{2}", shard.name)):
                continue
            for path in shard.iterdir():
                key = path.name.removesuffix(".tmp")
                if _KEY.match(key) and key.startswith(shard.name) and path.stat().st_mtime < cutoff:
                    found.append((path.name, path))
        return found

    @staticmethod
    def _write(path: Path, data: bytes, *, excl: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if excl else os.O_TRUNC)
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def _write_over(cls, path: Path, data: bytes) -> None:
        cls._write(path, data, excl=False)
