"""Benchmark of the memory attachments cost: a burst of small PNGs that decode to hundreds
of MB, against `hotline serve`, measuring the resident memory (RSS) of the server process
and its children (the triage helper) before, at the peak and after the burst.

Why: a 309 KB PNG of 6300 x 6300 16-bit RGBA pixels decodes to 318 MB; four requests with
five each took a server from 225 MB to a 4.2 GB peak, and it kept 3 GB afterwards. The
target: the burst stays under 1 GB for the server and its children, and memory returns
to within 100 MB of where it started.

    .venv/bin/python bench/uploads.py                       # this tree
    .venv/bin/python bench/uploads.py --tree /work/main     # another checkout, same run
    .venv/bin/python bench/uploads.py --kind rgba8          # 8-bit RGBA: accepted, decoded

Each run starts a fresh server (SQLite, temporary directory) from `--tree`, sends
`--requests` multipart tips in parallel with `--files` copies of the picture each, samples
RSS every 20 ms, and reports the answers' statuses and the memory figures in MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def png(width: int, height: int, *, sixteen_bit: bool) -> bytes:
    """A valid RGBA PNG of mostly flat pixels: tiny on disk, huge decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    depth = 16 if sixteen_bit else 8
    row = b"\x00" + bytes(width * 4 * depth // 8)
    # Run-length matching: as small as level 9 on flat rows, in half the time.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(url + "/health") as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


async def burst(url: str, picture: bytes, requests: int, files: int) -> list[int]:
    async def one(session: aiohttp.ClientSession, n: int) -> int:
        form = aiohttp.FormData()
        form.add_field("text", f"Ảnh chụp quán karaoke {n}")
        for i in range(files):
            form.add_field("files", picture, filename=f"a{i}.png", content_type="image/png")
        async with session.post(url + "/api/v1/tips", data=form) as resp:
            await resp.read()
            return resp.status

    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return list(await asyncio.gather(*(one(session, n) for n in range(requests))))


async def sample(pid: int, stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], tree_rss(pid))
        await asyncio.sleep(0.02)


async def measure(
    url: str, pid: int, picture: bytes, requests: int, files: int, settle: float
) -> dict[str, object]:
    await wait_up(url)
    await asyncio.sleep(2)  # the triage helper and start-up settle
    before = tree_rss(pid)
    peak, stop = [before], asyncio.Event()
    sampler = asyncio.create_task(sample(pid, stop, peak))
    started = time.perf_counter()
    statuses = await burst(url, picture, requests, files)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(settle)
    stop.set()
    await sampler
    after = tree_rss(pid)
    mb = 1024 * 1024
    return {
        "statuses": sorted(set(statuses)),
        "seconds": round(elapsed, 1),
        "before_mb": round(before / mb),
        "peak_mb": round(peak[0] / mb),
        "after_mb": round(after / mb),
    }


def run(tree: Path, picture: bytes, requests: int, files: int, settle: float) -> dict[str, object]:
    """A fresh server from `tree` on a temporary SQLite database, measured under the burst."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "PYTHONPATH": str(tree),
            "HOTLINE_DATA_DIR": data,
            "HOTLINE_PROVINCE": "79",
            "HOTLINE_PORT": str(port),
            "HOTLINE_LOG_LEVEL": "WARNING",
        }
        cli = [sys.executable, "-m", "hotline.cli"]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, cwd=tree, stdout=subprocess.DEVNULL)
        server = subprocess.Popen(
            [*cli, "serve"], env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            return asyncio.run(measure(url, server.pid, picture, requests, files, settle))
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to serve from (default: this one)")
    parser.add_argument("--kind", choices=["rgba16", "rgba8"], default="rgba16")
    parser.add_argument("--side", type=int, default=6300)
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the burst before 'after'")
    args = parser.parse_args()
    picture = png(args.side, args.side, sixteen_bit=args.kind == "rgba16")
    print(
        f"picture: {args.kind} {args.side}x{args.side}, {len(picture) // 1024} KB; "
        f"{args.requests} requests x {args.files} files; tree {args.tree}"
    )
    print(run(args.tree, picture, args.requests, args.files, args.settle))


if __name__ == "__main__":
    main()
