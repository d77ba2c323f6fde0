"""Removing attachment files that no row names.

Files are written before the transaction that records them commits, and deleted again if
it fails; a crash between the two leaves a file with no row, which nobody can reach but
which still holds a reporter's photo. `hotline files sweep` removes such files (and
half-written `.tmp` files) once they are older than a grace period, so that an upload in
progress — file written, commit a moment away — is never taken for an orphan.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.files import DirectoryStore
from storage.models import AttachmentRow

#: Keys looked up per query: well under SQLite's and asyncpg's parameter limits.
_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    checked: int
    orphans: list[str]
    removed: int


async def sweep_orphan_files(
    engine: AsyncEngine, store: DirectoryStore, *, grace_seconds: float, dry_run: bool = False
) -> SweepResult:
    """Delete stored files older than the grace period whose key no attachment row holds."""
    candidates = await asyncio.to_thread(store.stored_before, time.time() - grace_seconds)
    orphans: list[str] = []
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start : start + _BATCH]
        keys = [name for name, _ in batch if not name.endswith(".tmp")]
        async with engine.connect() as conn:
            known = set(
                (
                    await conn.execute(
                        sa.select(AttachmentRow.storage_key).where(AttachmentRow.storage_key.in_(keys))
                    )
                ).scalars()
            )
        orphans.extend(name for name, _ in batch if name not in known)
    removed = 0
    if not dry_run:
        paths = dict(candidates)
        for name in orphans:
            await asyncio.to_thread(paths[name].unlink, True)
            removed += 1
    return SweepResult(checked=len(candidates), orphans=orphans, removed=removed)
