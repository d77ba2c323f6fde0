"""Memory of attachment cleaning: pictures are measured by decoded size from the header
(16-bit samples counted double), and all cleaning in a process shares one budget weighted by
decoded bytes. bench/uploads.py measures the resident memory of a real burst."""

from __future__ import annotations

import asyncio
import io
from functools import cache
from typing import Any

import pytest
from PIL import Image

import core.attachments as attachments
from bench.uploads import png
from core.attachments import AttachmentPolicy, AttachmentRefused, DecodeBudget, decode_cost, sanitise
from tests.builders import attachments as limits
from tests.test_web_api import multipart, nothing_stored

MB = 1024 * 1024


@cache
def attack_png() -> bytes:
    """0.3 MB on disk, 318 MB of 16-bit RGBA samples: made when a test needs it (two seconds
    of compression), not when the module is collected."""
    return png(6300, 6300, sixteen_bit=True)


def test_the_attack_png_is_refused_by_its_decoded_size_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = limits()
    assert 6300 * 6300 <= policy.max_pixels  # under the pixel cap: the old check let it in
    attack = attack_png()
    assert len(attack) < 400 * 1024
    loads: list[int] = []
    real_load = Image.Image.load

    def counting_load(self: Image.Image) -> Any:
        loads.append(1)
        return real_load(self)

    monkeypatch.setattr(Image.Image, "load", counting_load)
    for check in (decode_cost, sanitise):
        with pytest.raises(AttachmentRefused) as refused:
            check(attack, policy)
        assert refused.value.reason == "too_many_pixels"
    assert not loads  # refused from the header: no pixel decoded


def test_decoded_size_counts_bytes_per_pixel() -> None:
    policy = limits(max_decoded_bytes=20 * MB)
    eight = png(2000, 2000, sixteen_bit=False)  # 16 MB as 8-bit RGBA
    sixteen = png(2000, 2000, sixteen_bit=True)  # 32 MB as 16-bit
    assert decode_cost(eight, policy) >= 2000 * 2000 * 4
    with pytest.raises(AttachmentRefused):
        decode_cost(sixteen, policy)
    gray = io.BytesIO()
    Image.new("L", (2000, 2000)).save(gray, format="PNG")
    assert decode_cost(gray.getvalue(), policy) < decode_cost(eight, policy)


async def test_the_budget_holds_concurrent_work_to_its_capacity() -> None:
    budget = DecodeBudget(100)
    running: list[int] = []
    peak = [0]

    async def work(cost: int, release: asyncio.Event) -> None:
        held = await budget.acquire(cost)
        running.append(held)
        peak[0] = max(peak[0], sum(running))
        await release.wait()
        running.remove(held)
        budget.release(held)

    gates = [asyncio.Event() for _ in range(4)]
    tasks = [asyncio.create_task(work(60, gate)) for gate in gates]
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(running) == 1  # 60 + 60 > 100: one at a time
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert peak[0] <= 100 and budget.used == 0
    huge = await budget.acquire(10_000)  # more than the capacity: held alone, as the capacity
    assert huge == 100
    budget.release(huge)


async def test_a_burst_is_cleaned_within_the_shared_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five pictures of 9 MB decoded in parallel requests, under a 40 MB budget: never
    more than the budget's worth of pictures is being decoded at once."""
    picture = png(1500, 1500, sixteen_bit=False)
    policy = limits(decode_budget_bytes=40 * MB)
    active = [0]
    peak = [0]
    real = attachments.sanitise

    def watched(data: bytes, pol: AttachmentPolicy) -> Any:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        try:
            return real(data, pol)
        finally:
            active[0] -= 1

    monkeypatch.setattr(attachments, "sanitise", watched)
    cleaned = await asyncio.gather(*(attachments.clean_files([picture], policy) for _ in range(5)))
    assert all(c[0].media_type == "image/png" for c in cleaned)
    cost = decode_cost(picture, policy)
    assert peak[0] <= max(1, policy.decode_budget_bytes // cost)


async def test_the_attack_gets_422_through_the_api_and_stores_nothing(client: Any) -> None:
    from tests.test_web_api import app_services

    resp = await client.post("/api/v1/tips", data=multipart({"text": "ảnh"}, [attack_png()] * 5))
    assert resp.status == 422
    assert (await resp.json())["error"]["reason"] == "too_many_pixels"
    assert await nothing_stored(app_services(client))
