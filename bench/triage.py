"""Triage engine benchmark: throughput after warm-up, cold start, peak memory.

Baseline measured in the same run: plain `langdetect.detect` (seeded) on the same texts,
which is what the engine replaces for language alone. Texts: tests/data/triage_eval.jsonl.

    .venv/bin/python bench/triage.py [--seconds 5] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TEXTS = [json.loads(line)["text"] for line in (ROOT / "tests/data/triage_eval.jsonl").open(encoding="utf-8")]

COLD_ENGINE = """
import time
t0 = time.perf_counter()
from core.triage import Triage
engine = Triage()
engine.propose("quan karaoke o phuong ben thanh co tiep vien ban dam")
t1 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(t1 - t0, hwm)
"""
COLD_BASELINE = """
import time
t0 = time.perf_counter()
from langdetect import DetectorFactory, detect
DetectorFactory.seed = 0
detect("quan karaoke o phuong ben thanh co tiep vien ban dam")
t1 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(t1 - t0, hwm)
"""


def cold(code: str, runs: int) -> tuple[float, float, float]:
    """Median seconds to first answer (in process), median wall time of the process, peak RSS MB.

    Peak RSS is VmHWM of the fresh process (ru_maxrss would include the forking parent's).
    """
    inner, wall, rss = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        wall.append(time.perf_counter() - start)
        inner.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
    return sorted(inner)[runs // 2], sorted(wall)[runs // 2], max(rss)


def throughput(fn: object, seconds: float) -> float:
    """Texts per second over whole passes of the text set, after one warm-up pass."""
    call = fn  # a callable taking one text
    for text in TEXTS:
        call(text)  # type: ignore[operator]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in TEXTS:
            call(text)  # type: ignore[operator]
        done += len(TEXTS)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print the docs/benchmarks.md section")
    args = parser.parse_args()

    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    from core.triage import DuplicateIndex, Triage

    DetectorFactory.seed = 0

    def baseline(text: str) -> str:
        try:
            return str(detect(text))
        except LangDetectException:
            return "unknown"

    engine = Triage()
    index = DuplicateIndex()
    counter = iter(range(10**9))

    def with_index(text: str) -> None:
        # the CLI's path: every tip also checked against, then added to, an index of earlier ones
        _proposal, fp = engine.propose_and_fingerprint(text, earlier=index)
        if len(index) < 2000:
            index.add(next(counter), fp)

    base_rate = throughput(baseline, args.seconds)
    engine_rate = throughput(engine.propose, args.seconds)
    index_rate = throughput(with_index, args.seconds)
    engine_cold, engine_wall, engine_rss = cold(COLD_ENGINE, args.cold_runs)
    base_cold, base_wall, base_rss = cold(COLD_BASELINE, args.cold_runs)

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        "## Triage",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `bench/triage.py` on {os.cpu_count()} vCPU ({cpu}),"
        f" Python {platform.python_version()}, one process, one core; {len(TEXTS)} texts of"
        " `tests/data/triage_eval.jsonl` (mixed vi/unaccented vi/en/zh/other) in whole passes after one"
        " warm-up pass. Baseline in the same run: `langdetect.detect` (seeded) on the same texts.",
        "",
        "| what | triage engine | baseline: langdetect.detect | ratio | target |",
        "|---|---|---|---|---|",
        f"| throughput, full triage of a tip (no earlier tips) | {engine_rate:,.0f} tips/s |"
        f" {base_rate:,.0f} texts/s | {engine_rate / base_rate:.2f}× | ≥ 1,000 tips/s |",
        f"| throughput, with a growing duplicate index (≤ 2,000 tips) | {index_rate:,.0f} tips/s | | | |",
        f"| cold start to first answer (fresh process, median of {args.cold_runs}) | {engine_cold:.2f} s |"
        f" {base_cold:.2f} s | {engine_cold / base_cold:.1f}× | < 1.5 s |",
        f"| whole process incl. interpreter start | {engine_wall:.2f} s | {base_wall:.2f} s | | |",
        f"| peak memory (VmHWM) after first answer | {engine_rss:.0f} MB | {base_rss:.0f} MB | | |",
    ]
    print("\n".join(lines) if args.markdown else "\n".join(lines[5:]))


if __name__ == "__main__":
    main()
