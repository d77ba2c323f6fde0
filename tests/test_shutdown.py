"""SIGTERM under load, on the real `hotline serve`: the server stops accepting, every
request it had read gets its answer, the intake writer is flushed before it exits, and no
client is left with a request sent on a kept-alive connection that closed unanswered."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """`hotline serve` on the embedded default in `tmp_path`, on `port`."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOTLINE_DATA_DIR": str(tmp_path),
        "HOTLINE_DATABASE_URL": "",
        "HOTLINE_REDIS_URL": "",
        "HOTLINE_PROVINCE": "79",
        "HOTLINE_PORT": str(port),
        **extra,
    }


CLI = [sys.executable, "-m", "hotline.cli"]


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [*CLI, "db", "upgrade"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, timeout=120
    )


def serve_through(
    tmp_path: Path, scenario: Callable[[int, subprocess.Popen[bytes]], Coroutine[Any, Any, T]], **extra: str
) -> T:
    """Migrate, start `hotline serve`, play `scenario` (which sends SIGTERM), and check the
    server then exits cleanly."""
    port = free_port()
    env = server_env(tmp_path, port, HOTLINE_LOG_LEVEL="WARNING", **extra)
    migrate(env)
    server = subprocess.Popen(
        [*CLI, "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        result = asyncio.run(scenario(port, server))
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    return result


def stored_tips(tmp_path: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    with engine.connect() as conn:
        count = int(conn.scalar(sa.text("SELECT count(*) FROM tips")) or 0)
    engine.dispose()
    return count


async def load_then_sigterm(port: int, server: subprocess.Popen[bytes]) -> Counter[Any]:
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(url + "/health"):
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    answered = asyncio.Event()

    async def one(session: aiohttp.ClientSession, i: int) -> Any:
        try:
            async with session.post(url + "/api/v1/tips", json={"text": f"tin {i}"}) as resp:
                await resp.read()
                answered.set()
                return resp.status
        except aiohttp.ClientError as exc:
            return type(exc).__name__

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:
        requests = [asyncio.create_task(one(session, i)) for i in range(200)]
        await answered.wait()
        server.send_signal(signal.SIGTERM)
        return Counter(await asyncio.gather(*requests))


def test_sigterm_under_load_answers_or_refuses_every_request(tmp_path: Path) -> None:
    outcomes = serve_through(
        tmp_path,
        load_then_sigterm,
        HOTLINE_SUBMISSIONS_PER_MINUTE="1000000",
        HOTLINE_SUBMISSIONS_PER_SOURCE_PER_MINUTE="1000000",
    )
    # Answered, or refused before anything was sent: never dropped once sent.
    assert set(outcomes) <= {201, "ClientConnectorError"}, outcomes
    assert stored_tips(tmp_path) == outcomes[201] >= 1


def test_a_malformed_request_gets_a_plain_400_with_the_security_headers(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(tmp_path, port, HOTLINE_TRIAGE_WORKER="false")
    migrate(env)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([*CLI, "serve"], env=env, cwd=ROOT, stdout=out, stderr=out)
        try:
            answer = asyncio.run(malformed(port))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    assert b"X-Content-Type-Options: nosniff" in head and b"Content-Security-Policy:" in head
    assert body == b"400 Bad Request\n"
    logged = log.read_text(errors="replace")
    assert "refused a request it could not handle" in logged
    for secret in ("127.0.0.1 ", "Hoa", "phone", "203.0.113.77"):
        assert secret not in logged


async def connect_when_up(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the server once it listens (it is starting in another process)."""
    for _ in range(600):
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError("the server did not start listening")


async def malformed(port: int) -> bytes:
    reader, writer = await connect_when_up(port)
    writer.write(
        b"GET /report HTTP/1.1\r\nHost: x\r\nUser-Agent: Hoa's\x01phone\r\nX-Forwarded-For: 203.0.113.77\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read(65536)
    writer.close()
    return answer


def test_a_request_on_a_kept_alive_connection_after_sigterm_is_answered(tmp_path: Path) -> None:
    """The listener is closed, but a client that writes its request on a connection it already
    holds still gets its answer, told to close the connection, and the tip is stored."""
    first, second = serve_through(
        tmp_path, two_tips_around_sigterm, HOTLINE_TRIAGE_WORKER="false", HOTLINE_SHUTDOWN_DRAIN_SECONDS="30"
    )
    assert first.startswith(b"HTTP/1.1 201 ") and b"Connection: close" not in first
    assert second.startswith(b"HTTP/1.1 201 ") and b"Connection: close" in second
    assert stored_tips(tmp_path) == 2


def raw_tip(text: str) -> bytes:
    body = json.dumps({"text": text}).encode()
    head = b"POST /api/v1/tips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Length:")).split(b":")[1])
    return head + await reader.readexactly(length)


async def two_tips_around_sigterm(port: int, server: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    reader, writer = await connect_when_up(port)
    writer.write(raw_tip("tin trước khi dừng"))
    first = await read_answer(reader)
    server.send_signal(signal.SIGTERM)
    while True:  # until the listener is closed: the server is draining
        try:
            _, probe = await asyncio.open_connection("127.0.0.1", port)
            probe.close()
            await asyncio.sleep(0.05)
        except OSError:
            break
    writer.write(raw_tip("tin ngay khi dừng"))
    second = await read_answer(reader)
    writer.close()
    return first, second
