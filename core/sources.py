"""Who is asking, as far as fairness needs to know and no further.

Rate limits are kept per *source* so that one client cannot spend everybody's budget. A
source is a keyed hash (HMAC-SHA-256) of the client's address: the key is random, lives only
in memory or in Redis (with an expiry), and is replaced every rotation period, so a stored
source could not be tied back to an address even by someone holding the database and the
code, and yesterday's sources cannot be linked to today's. The address itself and its hash
are never written to the database or the logs. IPv6 clients count per /64 (one customer's
whole allocation), IPv4-mapped addresses as the IPv4 address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable
from typing import Protocol

KEY_BYTES = 32


class SourceKeys(Protocol):
    """The key of a rotation period: the same in every worker that shares it."""

    async def key(self, period: int) -> bytes: ...


class MemorySourceKeys:
    """Keys drawn in this process (one worker, or Redis unreachable); only the current and
    the previous period's are kept."""

    def __init__(self) -> None:
        self._keys: dict[int, bytes] = {}

    async def key(self, period: int) -> bytes:
        found = self._keys.get(period)
        if found is None:
            found = self._keys[period] = secrets.token_bytes(KEY_BYTES)
            for old in [p for p in self._keys if p < period - 1]:
                del self._keys[old]
        return found


def normalise_address(address: str) -> str:
    """The part of an address that names one client: IPv4 as is, IPv6 as its /64."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64]  # not an IP (a unix socket): one source for all of it
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class SourceHasher:
    """Turns a client address into the opaque source its rate limits are counted under."""

    def __init__(
        self,
        keys: SourceKeys,
        *,
        rotate_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._rotate = rotate_seconds
        self._clock = clock

    async def source(self, address: str) -> str:
        period = int(self._clock() // self._rotate)
        key = await self._keys.key(period)
        digest = hmac.digest(key, normalise_address(address).encode(), hashlib.sha256)
        return digest[:12].hex()
