"""Engine construction for the two supported databases."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async drivers."""
    parsed = make_url(url)
    driver = {
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Deleted and overwritten content is zeroed on its page, not left in free space: what
    # the retention rules forget is gone from the file (the WAL is checkpointed after).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
    # Blobs (ciphertexts) reach the batch INSERTs as hexadecimal inside JSON rows; this
    # SQLite (3.40) has no unhex() of its own.
    dbapi_conn.create_function("hotline_unhex", 1, _unhex, deterministic=True)


def _unhex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


#: A pooled PostgreSQL connection idle longer than this (seconds) is pinged before use.
PING_AFTER_IDLE = 10.0


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """Ping a connection before use only if it sat idle in the pool for `after` seconds;
    a dead one is replaced by a fresh connection before anyone sees it.

    Why not SQLAlchemy's `pool_pre_ping`: on asyncpg it pings inside its own transaction
    (BEGIN, `;`, ROLLBACK), three round trips on every checkout: three of the eight a batch
    of intake cost, each waiting for its turn on a busy event loop. The connections it
    protects against are the ones that sat idle through a database restart or a firewall's
    idle cut; a connection back in use within seconds was just proven alive. If the database
    dies while connections are in use, the first failing statement is reported (as "not
    saved, please retry" for a tip) and SQLAlchemy replaces the whole pool."""

    @sa.event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < after:
            return  # new, or back in use within seconds
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool drops it and hands out a fresh connection
            raise sa.exc.DisconnectionError("the idle connection was closed") from exc


def create_engine(url: str, *, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE) -> AsyncEngine:
    """Parameters are never rendered into errors (`hide_parameters`): they are tips' texts,
    receipt codes, passphrase hashes and notes, and an error's text reaches the log.
    SQLite gets one connection (its single writer would otherwise queue behind locks,
    see docs/benchmarks.md); PostgreSQL a small pool per worker, its idle connections
    checked before use (`_ping_when_idle`)."""
    url = async_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60, hide_parameters=True
        )
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=5, hide_parameters=True)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def describe_error(exc: BaseException) -> str:
    """What a log may say of a database error: its driver-level type and SQLSTATE, never its
    message (drivers quote the offending row's values in it)."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate is None and type(orig).__module__.startswith("sqlite3"):
        sqlstate = getattr(orig, "sqlite_errorname", None)
    return f"{type(orig).__name__}, SQLSTATE {sqlstate or 'unknown'}"
