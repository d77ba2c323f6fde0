"""Logging that never carries an informant's address or client details."""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class PrivacyAccessLogger(AbstractAccessLogger):
    """Method, route, status and time: no IP address, user agent, referrer or query."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)


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


def configure(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
