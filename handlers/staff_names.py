"""Names instead of codes on the staff pages: communes, wards, provinces and agencies.

Each worker keeps the names by code and reads them again after `TTL_SECONDS` (areas and
agencies change rarely: a gazetteer update, a new agency). Pages call `place(code)` and
`agency(code)`; the code stays in a tooltip and in the API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import web

from handlers.keys import SERVICES

TTL_SECONDS = 60.0


@dataclass
class Names:
    areas: dict[str, str] = field(default_factory=dict)
    agencies: dict[str, str] = field(default_factory=dict)
    read_at: float = float("-inf")

    def place(self, code: str | None) -> str:
        """A commune's, ward's or province's name; the code itself if it is unknown."""
        return "–" if not code else self.areas.get(code, code)

    def agency(self, code: str | None) -> str:
        return "–" if not code else self.agencies.get(code, code)

    def agency_choices(self) -> list[tuple[str, str]]:
        """(code, name) of every agency, by name, for the referral picker."""
        from core.collation import vietnamese_key

        return sorted(self.agencies.items(), key=lambda item: vietnamese_key(item[1]))


NAMES = web.AppKey("staff_names", Names)
NAMES_KEY: web.RequestKey[Names] = web.RequestKey("staff_names", Names)


def setup(app: web.Application) -> None:
    app[NAMES] = Names()


async def names(request: web.Request) -> Names:
    """This worker's names, read again from the database when they are older than the TTL."""
    cache = request.app[NAMES]
    if time.monotonic() - cache.read_at > TTL_SECONDS:
        cache.areas, cache.agencies = await request.app[SERVICES].staff.directory()
        cache.read_at = time.monotonic()
    request[NAMES_KEY] = cache
    return cache
