"""Logging that never carries an informant's address or client details."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """Control and bidirectional characters as visible escapes: a path or message cannot
    forge a log line, colour a terminal or read reversed."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class PrivacyAccessLogger(AbstractAccessLogger):
    """Method, route, status and time: no IP address, user agent, referrer or query."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = escape_controls(request.path)
        self.logger.info(
            "%s %s %s %.1fms", escape_controls(request.method), path, response.status, time * 1000
        )


class PrivacyFilter(logging.Filter):
    """The web library's own records, made safe: one about a request it could not handle
    ("Error handling request from <address>", then the bad header line with its values) is
    reduced to the error's type; every other message has its control characters escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None or "request from" in str(record.msg):
            record.msg = "refused a request it could not handle (%s)"
            record.args = (type(exc).__name__ if exc is not None else "unknown",)
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
            return True
        record.msg = escape_controls(record.getMessage())
        record.args = ()
        return True


#: aiohttp's loggers: the server's (malformed requests), the access log and the web layer's.
WEB_LOGGERS = ("aiohttp.server", "aiohttp.access", "aiohttp.web", "aiohttp.internal")


def install_privacy_filter() -> None:
    for name in WEB_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, PrivacyFilter) for f in logger.filters):
            logger.addFilter(PrivacyFilter())


#: Libraries whose INFO/DEBUG output carries what must never be logged: python-telegram-bot
#: logs whole updates (chat ids, names) and URLs with the bot token, httpx those URLs at INFO,
#: aiosqlite and SQLAlchemy's engine log SQL parameters (the text of a tip), Pillow logs EXIF
#: tags (camera serials). Alembic only narrates. At any log level we keep their warnings.
QUIET_LIBRARIES = (
    "telegram",
    "httpx",
    "httpcore",
    "aiosqlite",
    "sqlalchemy.engine",
    "asyncpg",
    "PIL",
    "alembic",
)


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted, not the stream it saw
    when configured: a test runner that swaps and closes stderr (pytest's capture, around
    an in-process `hotline` command) never leaves a handler writing to a closed file."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass  # always the current stderr


def quiet_libraries() -> None:
    """Silence the libraries that would log chat ids, tokens or tip text (their warnings stay);
    the bots call it too, as they may be built without `configure` (tests, embedding)."""
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: str) -> None:
    handler = CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    quiet_libraries()
    install_privacy_filter()
