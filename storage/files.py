"""Attachment bytes in a directory, named by random id (never by what the uploader sent)."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path

from core.errors import NotFound

_KEY = re.compile(r"^[0-9a-f]{32}$")


class DirectoryStore:
    """One file per attachment under `root/ab/abcdef...`, readable by the service user only.

    An object store can implement the same three methods later (core.ports.AttachmentStore).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys are ours; anything else is a bug or an attack
            raise NotFound("no such attachment")
        return self.root / key[:2] / key

    async def put(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise NotFound("no such attachment") from None

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
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
