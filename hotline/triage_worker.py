"""Triage's reading of texts in a helper process, off the event loop.

Why: reading a tip (language, category, urgency, place, fingerprint) costs about a
millisecond of pure Python per tip. On the event loop it queued ahead of every request and of
the intake writer's database round trips, and one core did all of it while the other waited
for work. The helper process reads the next batch of tips while the previous batch is being
written (core/group_commit.py), on the other core; matching against the duplicate index stays
in the web worker, which owns that index (core/intake_triage.py).

The helper is a child of the web worker, started on first use (`python -m
hotline.triage_worker`), talking over its stdin/stdout pipes: a frame is a 4-byte big-endian
length and a pickle (both ends are this code base). It holds nothing that is not also in the
database, so losing it loses nothing: a batch it does not answer in time (dead, hung,
restarting, not yet started) is read on the event loop as before, and the helper is started
again, at most once per `restart_after` seconds. It never logs tip texts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import struct
import sys
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

from core.intake_triage import Analysis, shared_triage

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
READY = "ready"
#: A batch's answer may take this long, plus `PER_TEXT` per text, before the helper is
#: declared hung (a tip takes about a millisecond; a 10,000-character one a few).
BASE_TIMEOUT = 2.0
PER_TEXT = 0.05
RESTART_AFTER = 10.0
#: What a dead, hung or garbled helper raises on our side of the pipes.
_BROKEN = (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError, pickle.PickleError)


class TriageWorker:
    """The web worker's side (core.intake_triage.Analyser): one request at a time."""

    def __init__(
        self,
        *,
        command: Sequence[str] = (sys.executable, "-m", "hotline.triage_worker"),
        base_timeout: float = BASE_TIMEOUT,
        per_text: float = PER_TEXT,
        restart_after: float = RESTART_AFTER,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.command = tuple(command)
        self.base_timeout = base_timeout
        self.per_text = per_text
        self.restart_after = restart_after
        self._monotonic = monotonic
        self._proc: asyncio.subprocess.Process | None = None
        self._ready = False
        self._waiting: asyncio.Task[None] | None = None
        self._started_at: float | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        #: Batches read by the helper, and batches it could not read (then read in-process).
        self.answered = 0
        self.missed = 0

    @property
    def ready(self) -> bool:
        return self._ready

    async def start(self) -> None:
        """Start the helper unless it runs or was started less than `restart_after` ago;
        it is ready once it has loaded the triage engine (a second or two)."""
        if self._closed or self._proc is not None:
            return
        now = self._monotonic()
        if self._started_at is not None and now - self._started_at < self.restart_after:
            return
        self._started_at = now
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            log.warning("triage helper did not start (%s); texts are read in-process", exc)
            return
        self._waiting = asyncio.create_task(self._wait_ready(self._proc), name="triage-helper-ready")

    async def analyse(
        self, texts: Sequence[str], province_code: str, hints: Sequence[str | None] | None = None
    ) -> list[Analysis] | None:
        if not self._ready:
            await self.start()
            self.missed += 1
            return None
        async with self._lock:
            proc = self._proc
            if proc is None or not self._ready:
                self.missed += 1
                return None
            assert proc.stdin is not None and proc.stdout is not None
            try:
                langs = list(hints) if hints is not None else [None] * len(texts)
                _write_frame(proc.stdin, (list(texts), province_code, langs))
                await proc.stdin.drain()
                answer = await asyncio.wait_for(
                    _read_frame(proc.stdout), self.base_timeout + self.per_text * len(texts)
                )
            except _BROKEN as exc:
                log.warning("triage helper failed (%s); restarting it", type(exc).__name__)
                await self._stop(proc, graceful=False)
                self.missed += 1
                return None
        if not isinstance(answer, list) or len(answer) != len(texts):
            # Its type and size only: an answer's reasons quote the tips.
            log.warning("triage helper could not read a batch (%s)", _shape(answer))
            self.missed += 1
            return None
        self.answered += 1
        return answer

    async def close(self) -> None:
        self._closed = True
        if self._proc is not None:
            await self._stop(self._proc, graceful=True)

    async def _wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            hello = await asyncio.wait_for(_read_frame(proc.stdout), 120)
        except _BROKEN as exc:
            log.warning("triage helper did not get ready (%s)", type(exc).__name__)
            await self._stop(proc, graceful=False)
            return
        if hello == READY and proc is self._proc:
            self._ready = True

    async def _stop(self, proc: asyncio.subprocess.Process, *, graceful: bool) -> None:
        """Forget the helper and end it: at shutdown by closing its input (it exits at the end
        of it), after a failure at once (it may be stuck in a text)."""
        if proc is self._proc:
            self._proc = None
            self._ready = False
        waiting = self._waiting
        if waiting is not None and not waiting.done() and asyncio.current_task() is not waiting:
            waiting.cancel()
        if proc.returncode is not None:
            return
        if graceful and proc.stdin is not None:
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
                return
            except TimeoutError:
                pass
        proc.kill()
        await proc.wait()


def _frame(value: object) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


def _shape(answer: object) -> str:
    if isinstance(answer, str) and answer.startswith("error: "):
        return answer  # the helper sends an exception's type only
    return f"{type(answer).__name__} of {len(answer)}" if isinstance(answer, list) else type(answer).__name__


def _write_frame(stream: asyncio.StreamWriter, value: object) -> None:
    stream.write(_frame(value))


async def _read_frame(stream: asyncio.StreamReader) -> object:
    (length,) = _LENGTH.unpack(await stream.readexactly(_LENGTH.size))
    return pickle.loads(await stream.readexactly(length))  # noqa: S301 - our own child's pipe


# ---- the helper process ---------------------------------------------------------------


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Load the engine, say ready, then answer each batch until the input ends."""
    engine = shared_triage()
    _send(stdout, READY)
    while header := stdin.read(_LENGTH.size):
        if len(header) < _LENGTH.size:
            return
        (length,) = _LENGTH.unpack(header)
        texts, province_code, hints = pickle.loads(stdin.read(length))  # noqa: S301 - our parent's pipe
        try:
            answer: object = [
                engine.analyse(text, province_code=province_code, language_hint=hint)
                for text, hint in zip(texts, hints, strict=True)
            ]
        except Exception as exc:  # the type only: a message could quote the tip
            answer = f"error: {type(exc).__name__}"
        _send(stdout, answer)


def _send(stdout: BinaryIO, value: object) -> None:
    stdout.write(_frame(value))
    stdout.flush()


def main() -> None:
    frames = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    try:
        serve(sys.stdin.buffer, frames)
    except (KeyboardInterrupt, BrokenPipeError):
        pass


if __name__ == "__main__":
    main()
