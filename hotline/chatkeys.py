"""The key behind chat hashes and encrypted chat ids: `HOTLINE_SECRET_KEY`, or one
generated into the data directory on first start (the embedded default)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.chat.identity import ChatKeys
from hotline.settings import Settings

KEY_FILE = "chat.key"


def chat_secret(settings: Settings) -> bytes:
    """Never a constant shipped in the code: a deployment without a configured key gets a
    random one, written once with mode 0600 (several workers race safely on O_EXCL)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def chat_keys(settings: Settings) -> ChatKeys:
    return ChatKeys(chat_secret(settings))
