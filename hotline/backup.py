"""`hotline backup --out FILE` and `hotline restore --from FILE`: one encrypted archive of
the database and the attachment files (core/archive.py), under a key kept apart from the
backups: HOTLINE_BACKUP_KEY, or one derived from the master key. A restore goes only into
an empty data directory or database and trusts nothing it has not authenticated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from core.archive import (
    SOURCE_BACKUP_KEY,
    SOURCE_MASTER,
    ArchiveError,
    DecryptingReader,
    EncryptingWriter,
    read_header,
)
from core.envelope import parse_master_key
from hotline.masterkey import default_key_file, load_master_key
from hotline.settings import Settings, SettingsError
from storage.db import create_engine

DB_SQLITE = "database.sqlite"
DB_PGDUMP = "database.pgdump"
FILES = "attachments"
MANIFEST = "manifest.json"
#: Created (exclusively) in the data directory while a restore runs: a second one waits out.
LOCK = ".restore.lock"


class BackupError(Exception):
    """A backup or restore that cannot go on, said in words an operator can act on."""


def register(sub: Any) -> None:
    backup = sub.add_parser("backup", help="write one encrypted archive of the database and the files")
    backup.add_argument("--out", type=Path, required=True, help="the archive to write")
    backup.set_defaults(run=cmd_backup)
    restore = sub.add_parser("restore", help="restore an archive into an empty data directory or database")
    restore.add_argument("--from", dest="source", type=Path, required=True, help="the archive to read")
    restore.set_defaults(run=cmd_restore)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    return _report("backup", lambda: write_backup(settings, args.out))


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    return _report("restore", lambda: restore_backup(settings, args.source), "; nothing was restored")


def _report(verb: str, act: Callable[[], str], after_failure: str = "") -> int:
    """Run a backup or restore: its summary on stdout and 0, or why it failed and 1."""
    try:
        summary = act()
    except (BackupError, ArchiveError, SettingsError) as exc:
        print(f"hotline: {verb} failed: {exc}{after_failure}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"hotline: {verb} failed: {exc.strerror} ({exc.filename})", file=sys.stderr)
        return 1
    print(summary)
    return 0


# ---- keys ------------------------------------------------------------------------------------


def backup_secret(settings: Settings, *, restoring: bool = False) -> tuple[int, bytes]:
    """HOTLINE_BACKUP_KEY when set, else the master key. A restore never creates a master
    key (a new one could not open an old archive anyway): it asks for the right one."""
    if settings.backup_key:
        return SOURCE_BACKUP_KEY, parse_master_key(settings.backup_key)
    if restoring and not (settings.master_key or settings.master_key_file or default_key_file().exists()):
        raise BackupError(
            "no key: set HOTLINE_BACKUP_KEY, or HOTLINE_MASTER_KEY / HOTLINE_MASTER_KEY_FILE, to the key "
            "the archive was made with"
        )
    return SOURCE_MASTER, load_master_key(settings)


# ---- where things are ------------------------------------------------------------------------


def _url(settings: Settings) -> URL:
    return make_url(settings.effective_database_url)


def _is_sqlite(settings: Settings) -> bool:
    return _url(settings).get_backend_name() == "sqlite"


def _sqlite_path(settings: Settings) -> Path:
    database = _url(settings).database
    if not database or database == ":memory:":
        raise BackupError("the configured SQLite database is not a file")
    return Path(database)


def _pg_command(settings: Settings, tool: str) -> tuple[list[str], dict[str, str]]:
    """The libpq arguments of the configured database; the password goes in the
    environment, never on a command line others can read."""
    path = shutil.which(tool)
    if path is None:
        raise BackupError(
            f"{tool} was not found on PATH: install the PostgreSQL client tools of the server's major "
            "version (Debian: apt install postgresql-client)"
        )
    url = _url(settings)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = [path, "--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args, env


@contextlib.contextmanager
def _scratch(near: Path) -> Iterator[Path]:
    """A private working directory beside `near` (same file system, mode 0700), removed
    on the way out whatever happened."""
    near.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".hotline-", dir=near))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ---- backup ----------------------------------------------------------------------------------


def write_backup(settings: Settings, out: Path) -> str:
    """Snapshot the database (SQLite's online backup, or pg_dump -Fc), then add the
    attachment files, all streamed through the encrypting writer into `out` (written
    beside it and renamed at the end, so a half-written archive never bears its name)."""
    source, secret = backup_secret(settings)
    files_root = settings.attachments_path
    with _scratch(settings.data_dir) as scratch:
        if _is_sqlite(settings):
            db_path = _sqlite_path(settings)
            if not db_path.exists():
                raise BackupError(f"there is no database at {db_path}")
            snapshot, name = scratch / DB_SQLITE, DB_SQLITE
            src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            dst = sqlite3.connect(snapshot)
            try:
                src.backup(dst, pages=4096)
            finally:
                dst.close()
                src.close()
        else:
            snapshot, name = scratch / DB_PGDUMP, DB_PGDUMP
            args, env = _pg_command(settings, "pg_dump")
            done = subprocess.run(  # noqa: S603 (our own arguments, no shell)
                [*args, "--format", "custom", "--no-owner", "--file", str(snapshot)],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.{os.getpid()}.{os.urandom(4).hex()}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        files = 0
        try:
            with os.fdopen(fd, "wb") as raw:
                writer = EncryptingWriter(raw, secret, source)
                with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                    manifest = {
                        "format": 1,
                        "database": "sqlite" if name == DB_SQLITE else "postgresql",
                        "created_at": datetime.now(UTC).isoformat(),
                    }
                    _add_bytes(tar, MANIFEST, json.dumps(manifest).encode())
                    tar.add(snapshot, arcname=name)
                    for path in sorted(files_root.rglob("*")) if files_root.is_dir() else []:
                        if path.is_file() and not path.name.endswith(".tmp"):
                            tar.add(path, arcname=f"{FILES}/{path.relative_to(files_root).as_posix()}")
                            files += 1
                writer.close()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return f"backup written to {out}: database and {files} attachment files, encrypted"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


# ---- restore ---------------------------------------------------------------------------------


def _not_empty(path: Path) -> bool:
    """Anything in it but our own restore lock."""
    return path.exists() and (not path.is_dir() or any(p.name != LOCK for p in path.iterdir()))


async def _pg_has_tables(settings: Settings) -> bool:
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')"
                    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg_toast%'"
                )
            )
    finally:
        await engine.dispose()
    return bool(count)


def restore_backup(settings: Settings, archive: Path) -> str:
    """Check the target is empty, open and authenticate the whole archive into a scratch
    directory, and only then move the database and files into place (SQLite) or load the
    dump in one transaction (pg_restore --single-transaction)."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = data_dir / LOCK
    try:
        os.close(os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(
            f"another restore into {data_dir} is running (or was killed: remove {lock})"
        ) from None
    try:
        return _restore(settings, archive)
    finally:
        lock.unlink(missing_ok=True)


def _restore(settings: Settings, archive: Path) -> str:
    sqlite = _is_sqlite(settings)
    data_dir = settings.data_dir
    files_root = settings.attachments_path
    if sqlite:
        db_path = _sqlite_path(settings)
        if db_path.exists() or _not_empty(data_dir):
            raise BackupError(f"the data directory {data_dir} is not empty: restore only into an empty one")
    elif asyncio.run(_pg_has_tables(settings)):
        raise BackupError(
            "the configured PostgreSQL database is not empty: create an empty one to restore into"
        )
    if _not_empty(files_root):
        raise BackupError(f"the attachment directory {files_root} is not empty")
    try:
        raw = archive.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {archive}: {exc.strerror}") from None
    with raw, _scratch(data_dir) as scratch:
        header, source = read_header(raw)
        if source == SOURCE_BACKUP_KEY and not settings.backup_key:
            raise BackupError("this archive was made with HOTLINE_BACKUP_KEY: set it to that key")
        if source == SOURCE_MASTER and settings.backup_key:
            raise BackupError("this archive was made with the master key: unset HOTLINE_BACKUP_KEY")
        _, secret = backup_secret(settings, restoring=True)
        reader = DecryptingReader(raw, secret, header)
        staged = scratch / "staged"
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                tar.extractall(staged, filter="data")
        except tarfile.TarError as exc:
            raise ArchiveError(f"the archive's contents are not readable ({exc})") from None
        reader.finish()
        try:
            manifest = json.loads((staged / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ArchiveError("the archive has no readable manifest") from None
        kind = manifest.get("database")
        if kind != ("sqlite" if sqlite else "postgresql"):
            want = "SQLite" if sqlite else "PostgreSQL"
            raise BackupError(f"the archive holds a {kind} database; the configured database is {want}")
        if not sqlite:
            args, env = _pg_command(settings, "pg_restore")
            done = subprocess.run(  # noqa: S603 (our own arguments, no shell)
                [*args, "--no-owner", "--single-transaction", "--exit-on-error", str(staged / DB_PGDUMP)],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()[-500:]}")
        files = 0
        if (staged / FILES).is_dir():
            files = sum(1 for p in (staged / FILES).rglob("*") if p.is_file())
            files_root.parent.mkdir(parents=True, exist_ok=True)
            if files_root.exists():
                files_root.rmdir()  # checked empty above
            os.replace(staged / FILES, files_root)
        if sqlite:  # last: a database in place is what makes a data directory look restored
            db_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / DB_SQLITE, db_path)
    where = db_path if sqlite else "the configured PostgreSQL database"
    return f"restored the database into {where} and {files} attachment files into {files_root}"
