"""Triage engine benchmark: accuracy on the evaluation set, throughput per core, cold start,
peak memory; the engine beside the rule-only engine and raw langdetect, in the same run.

Accuracy: `hotline triage-eval --compare` on the blind set (tests/data/triage_blind/) when it
is there, else on the former evaluation set. Throughput is CPU time of one process (one
core), so other load on a shared machine slows it less than wall time would.

    .venv/bin/python bench/triage.py [--seconds 5] [--markdown] [--no-accuracy]
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
BLIND = ROOT / "tests/data/triage_blind/blind_tips.jsonl"
SOURCE = BLIND if BLIND.is_file() else ROOT / "tests/data/triage_eval.jsonl"
TEXTS = [json.loads(line)["text"] for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]

COLD_ENGINE = """
import time
t0, c0 = time.perf_counter(), time.process_time()
from core.triage import Triage
engine = Triage()
engine.propose("quan karaoke o phuong ben thanh co tiep vien ban dam")
t1 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(t1 - t0, hwm, time.process_time() - c0)
"""
COLD_RULES = """
import time
t0, c0 = time.perf_counter(), time.process_time()
from core.triage import Triage
engine = Triage(model=None)
engine.propose("quan karaoke o phuong ben thanh co tiep vien ban dam")
t1 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(t1 - t0, hwm, time.process_time() - c0)
"""
COLD_HELPER = """
import time
t0, c0 = time.perf_counter(), time.process_time()
from core.intake_triage import shared_triage
engine = shared_triage()  # what the triage helper process loads before it says ready
engine.analyse("quan karaoke o phuong ben thanh co tiep vien ban dam", province_code="79")
t1 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(t1 - t0, hwm, time.process_time() - c0)
"""
COLD_BASELINE = """
import time
t0, c0 = time.perf_counter(), time.process_time()
from langdetect import DetectorFactory, detect
DetectorFactory.seed = 0
detect("quan karaoke o phuong ben thanh co tiep vien ban dam")
t1 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(t1 - t0, hwm, time.process_time() - c0)
"""


def cold(code: str, runs: int) -> tuple[float, float, float, float]:
    """Median seconds to first answer (in process), median wall time of the process, peak RSS
    MB, and median CPU seconds to first answer (less sensitive to a loaded machine).

    Peak RSS is VmHWM of the fresh process (ru_maxrss would include the forking parent's).
    """
    inner, wall, rss, cpu = [], [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        wall.append(time.perf_counter() - start)
        inner.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
        cpu.append(float(out[2]))
    return sorted(inner)[runs // 2], sorted(wall)[runs // 2], max(rss), sorted(cpu)[runs // 2]


def throughput(fn: object, seconds: float) -> float:
    """Texts per CPU second of this process over whole passes of the text set, after one
    warm-up pass."""
    call = fn  # a callable taking one text
    for text in TEXTS:
        call(text)  # type: ignore[operator]
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for text in TEXTS:
            call(text)  # type: ignore[operator]
        done += len(TEXTS)
    return done / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print the docs/benchmarks.md section")
    parser.add_argument("--no-accuracy", action="store_true", help="speed and memory only")
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
    rules = Triage(model=None)
    index = DuplicateIndex()
    counter = iter(range(10**9))

    def with_index(text: str) -> None:
        # the CLI's path: every tip also checked against, then added to, an index of earlier ones
        _proposal, fp = engine.propose_and_fingerprint(text, earlier=index)
        if len(index) < 2000:
            index.add(next(counter), fp)

    from core.triage.language import LanguageDetector
    from core.triage.normalise import normalise

    detector = LanguageDetector()
    long_text = "quán karaoke có gái bán dâm " * 4000  # 100 KB: read from a bounded prefix

    def long_read() -> float:
        start = time.perf_counter()
        detector.detect(long_text)
        normalise(long_text)
        return time.perf_counter() - start

    long_seconds = sorted(long_read() for _ in range(5))[2]
    base_rate = throughput(baseline, args.seconds)
    engine_rate = throughput(engine.propose, args.seconds)
    rules_rate = throughput(rules.propose, args.seconds)
    helper_rate = throughput(lambda t: engine.analyse(t, province_code="79"), args.seconds)
    index_rate = throughput(with_index, args.seconds)
    engine_cold, engine_wall, engine_rss, engine_cpu = cold(COLD_ENGINE, args.cold_runs)
    base_cold, base_wall, base_rss, base_cpu = cold(COLD_BASELINE, args.cold_runs)
    rules_cold, rules_wall, rules_rss, rules_cpu = cold(COLD_RULES, args.cold_runs)
    helper_cold, _helper_wall, helper_rss, helper_cpu = cold(COLD_HELPER, args.cold_runs)

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
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/triage.py` on {os.cpu_count()} vCPU"
        f" ({cpu}), Python {platform.python_version()}; {len(TEXTS)} texts of `{SOURCE.relative_to(ROOT)}`"
        " in whole passes after one warm-up pass, CPU time of one process (one core).",
        "",
        "| what | engine (model + rules) | rule-only engine | raw langdetect | target |",
        "|---|---|---|---|---|",
        f"| throughput per core, full triage (`propose`) | {engine_rate:,.0f} tips/s"
        f" | {rules_rate:,.0f} tips/s | {base_rate:,.0f} texts/s (language only) | ≥ 1,000 tips/s |",
        f"| throughput per core, the helper's reading (`analyse`) | {helper_rate:,.0f} tips/s | | | |",
        f"| throughput, with a growing duplicate index (≤ 2,000 tips) | {index_rate:,.0f} tips/s | | | |",
        f"| cold start to first answer, wall (fresh process, median of {args.cold_runs})"
        f" | {engine_cold:.2f} s | {rules_cold:.2f} s | {base_cold:.2f} s | ≤ 1.5 s |",
        f"| cold start to first answer, CPU | {engine_cpu:.2f} s | {rules_cpu:.2f} s | {base_cpu:.2f} s | |",
        f"| cold start of the triage helper (with old place names, first `analyse`), wall / CPU"
        f" | {helper_cold:.2f} s / {helper_cpu:.2f} s | | | ≤ 1.5 s |",
        f"| whole process incl. interpreter start | {engine_wall:.2f} s | {rules_wall:.2f} s"
        f" | {base_wall:.2f} s | |",
        f"| language and normalising of a 100 KB text, wall (median of 5) | {long_seconds:.3f} s"
        " | | | ≤ 0.5 s |",
        f"| peak memory per process (VmHWM) after first answer"
        f" | {engine_rss:.0f} MB (helper {helper_rss:.0f} MB) | {rules_rss:.0f} MB | {base_rss:.0f} MB | |",
    ]
    if not args.no_accuracy:
        from hotline.triage_cli import compare, comparison_table

        short = SOURCE.parent / "short_inputs.jsonl"
        if not short.is_file():
            short = ROOT / "tests/data/triage_short_dev.jsonl"
        lines += [
            "",
            f"Accuracy on `{SOURCE.relative_to(ROOT)}`, short inputs `{short.relative_to(ROOT)}`:",
            "",
            comparison_table(compare(SOURCE, short)),
        ]
    print("\n".join(lines) if args.markdown else "\n".join(lines[5:]))


if __name__ == "__main__":
    main()
