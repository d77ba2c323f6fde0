"""Deadline policies, areas and the routing policy, cached in each worker.

They are read on every intake but change rarely: a policy version never changes once
written (a new policy is a new version), areas change when the gazetteer is updated or an
administrator marks a commune remote, and the routing policy when an administrator changes
which agency kind owns a category. The current policy, areas and routing are re-read after
`ttl` seconds, so such a change reaches every worker within a minute (the worker where the
routing was changed forgets it at once), and intake saves three or four database round trips
per tip.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.areas import Area
from core.ports import UnitOfWork
from core.routing import RoutingPolicy
from core.sla import DeadlinePolicy

DEFAULT_TTL = 60.0


class ReferenceCache:
    def __init__(self, ttl: float = DEFAULT_TTL, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._now = monotonic
        self._versions: dict[int, DeadlinePolicy] = {}
        self._current: tuple[float, DeadlinePolicy] | None = None
        self._areas: dict[str, tuple[float, Area | None]] = {}
        self._routing: tuple[float, RoutingPolicy] | None = None

    async def current_policy(self, uow: UnitOfWork) -> DeadlinePolicy:
        if self._current is not None and self._fresh(self._current[0]):
            return self._current[1]
        policy = await uow.policies.current()
        self._versions[policy.version] = policy
        self._current = (self._now(), policy)
        return policy

    async def policy(self, uow: UnitOfWork, version: int) -> DeadlinePolicy:
        """A pinned version: immutable, so cached for good."""
        cached = self._versions.get(version)
        if cached is None:
            cached = self._versions[version] = await uow.policies.version(version)
        return cached

    async def area(self, uow: UnitOfWork, code: str) -> Area | None:
        hit = self._areas.get(code)
        if hit is not None and self._fresh(hit[0]):
            return hit[1]
        area = await uow.areas.get(code)
        self._areas[code] = (self._now(), area)
        return area

    async def routing(self, uow: UnitOfWork) -> RoutingPolicy:
        if self._routing is not None and self._fresh(self._routing[0]):
            return self._routing[1]
        routing = await uow.routing.current()
        self._routing = (self._now(), routing)
        return routing

    def forget_routing(self) -> None:
        """The routing policy was just changed here: the next intake reads it again."""
        self._routing = None

    def _fresh(self, read_at: float) -> bool:
        """Read less than `ttl` seconds ago: a change elsewhere may not be seen yet, at most that long."""
        return self._now() - read_at < self.ttl
