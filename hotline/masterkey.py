"""The master key of the envelope encryption (core/envelope.py), read when first needed.

`HOTLINE_MASTER_KEY` (64 hex characters) or `HOTLINE_MASTER_KEY_FILE` (a file holding
them). With neither, the embedded default creates a key file once, mode 0600, in the
user's configuration directory (`$XDG_CONFIG_HOME/hotline/master.key`, by default
`~/.config/hotline/master.key`): never inside the data directory, so a copy of the data
directory or a database backup does not carry the key that opens it. During a rotation
`HOTLINE_NEW_MASTER_KEY` (or `..._FILE`) names the key new records are wrapped under.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from core.envelope import Envelope, new_master_key_hex, parse_master_key
from hotline.settings import Settings, SettingsError

KEY_NAME = "master.key"


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hotline" / KEY_NAME


def _read(path: Path) -> bytes:
    try:
        return parse_master_key(path.read_text(encoding="ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SettingsError(f"HOTLINE_MASTER_KEY_FILE {path}: {exc}") from None


def _create(path: Path) -> bytes:
    """A fresh key, written once with O_EXCL (several workers race safely)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new_master_key_hex() + "\n")
    return _read(path)


def explicit_key_missing(settings: Settings) -> str | None:
    """Why a PostgreSQL server must not start on the embedded default key, or None: a key
    file created on one worker's machine would differ from the next worker's, and would
    sit with no one knowing it must be kept (and backed up apart from the database)."""
    if settings.master_key or settings.master_key_file is not None:
        return None
    if not settings.effective_database_url.startswith("sqlite"):
        return (
            "PostgreSQL needs an explicit master key: set HOTLINE_MASTER_KEY (64 hexadecimal"
            " characters) or HOTLINE_MASTER_KEY_FILE (a file holding them, outside the data"
            " directory). Tip texts, messages, notes and files are encrypted under it; every"
            " worker must use the same key, and it must be kept apart from database backups."
        )
    return None


def load_new_master_key(settings: Settings) -> bytes | None:
    """The key a rotation wraps under (HOTLINE_NEW_MASTER_KEY or its file), if given."""
    if settings.new_master_key:
        return parse_master_key(settings.new_master_key)
    if settings.new_master_key_file is not None:
        if not settings.new_master_key_file.exists():
            raise SettingsError(f"HOTLINE_NEW_MASTER_KEY_FILE {settings.new_master_key_file} does not exist")
        try:
            return parse_master_key(settings.new_master_key_file.read_text(encoding="ascii"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"HOTLINE_NEW_MASTER_KEY_FILE {settings.new_master_key_file}: {exc}"
            ) from None
    return None


def load_envelope(settings: Settings) -> Envelope:
    """The master key; during a rotation the new key first, the old one still readable."""
    current = load_master_key(settings)
    new = load_new_master_key(settings)
    return Envelope(current) if new is None else Envelope(new, previous=[current])


def load_master_key(settings: Settings) -> bytes:
    """The configured key, the configured file's, or the default file's (created once)."""
    if settings.master_key:
        return parse_master_key(settings.master_key)
    if settings.master_key_file is not None:
        path = settings.master_key_file
        if not path.exists():
            raise SettingsError(f"HOTLINE_MASTER_KEY_FILE {path} does not exist")
        return _read(path)
    path = default_key_file()
    data_dir = settings.data_dir.resolve()
    if path.resolve().is_relative_to(data_dir):
        raise SettingsError("the master key file must not lie inside the data directory")
    return _read(path) if path.exists() else _create(path)


class MasterKeySource:
    """An `Envelope` built on first use: a server that never meets a named informant
    never reads (or creates) a key."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._envelope: Envelope | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Envelope:
        with self._lock:
            if self._envelope is None:
                self._envelope = load_envelope(self._settings)
            return self._envelope
