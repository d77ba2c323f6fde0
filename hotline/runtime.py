"""Process tuning for a long-running server (`hotline serve`).

Why: the triage engine, the gazetteer, the knowledge base and the language profiles are
some 140,000 long-lived Python objects, loaded at start and never freed. Every full
garbage collection walked them all (86 ms on our 2-core machines), pausing every request in
flight; under a burst of reports that happened every few seconds and set the slowest
percentile of intake. `gc.freeze()` after start-up moves what exists then out of the
collector's sight (CPython's documented remedy); objects made later are collected as usual.
"""

from __future__ import annotations

import gc

from aiohttp import web


async def _freeze_startup_objects(app: web.Application) -> None:
    del app
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()


def freeze_after_startup(app: web.Application) -> web.Application:
    """Freeze once the app has started (its services opened, the engines loaded)."""
    app.on_startup.append(_freeze_startup_objects)
    return app
