"""`hotline serve` freezes the objects loaded at start-up out of the garbage collector's walk."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from handlers.app import create_app
from hotline.runtime import freeze_after_startup
from hotline.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test run keeps collecting everything


async def test_startup_objects_are_frozen_once_the_app_has_started(
    settings: Settings, aiohttp_client: Any, unfrozen: None
) -> None:
    assert gc.get_freeze_count() == 0
    client = await aiohttp_client(freeze_after_startup(create_app(settings)))
    frozen = gc.get_freeze_count()
    assert frozen > 50_000  # the triage engine and the knowledge base, loaded by start-up
    resp = await client.post("/api/v1/tips", json={"text": "Quán karaoke trên đường Lê Lợi có gái bán dâm"})
    assert resp.status == 201  # the app works as before
    assert gc.get_freeze_count() <= frozen  # nothing made later is frozen (frozen ones may die)
