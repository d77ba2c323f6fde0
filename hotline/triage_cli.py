"""`hotline triage` and `hotline triage-eval`: the triage engine on a JSON-lines file."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from core.intake_triage import shared_triage
from core.triage import DuplicateIndex, Proposal, Triage

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
#: The blind evaluation set: written apart from the project, frozen (docs/triage.md).
BLIND = DATA / "triage_blind"
#: Without the blind set (a packaged install), the development data's former evaluation set.
DEFAULT_EVAL = (
    BLIND / "blind_tips.jsonl" if (BLIND / "blind_tips.jsonl").is_file() else DATA / "triage_eval.jsonl"
)


def _lines(path: Path) -> Iterator[str]:
    # errors="replace": a stray byte must not stop the file, only that line's text
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            yield line.rstrip("\r\n")


def _text_of(line: str) -> str:
    """The tip text of a line, or ValueError explaining why there is none."""
    data = json.loads(line)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError('expected an object with a string "text"')
    text: str = data["text"]
    return text


class FileTriage:
    """Triage of the lines of one file, in order; `duplicate_of` is an earlier line's index."""

    def __init__(self, triage: Triage | None = None) -> None:
        self.triage = triage or shared_triage()
        self.index = DuplicateIndex()
        self._root: dict[int, int] = {}

    def propose(self, number: int, text: str) -> Proposal:
        proposal, fp = self.triage.propose_and_fingerprint(text, earlier=self.index)
        dup = proposal.duplicate_of
        if isinstance(dup, int):
            # point at the first report of the subject, not at another repeat of it
            root = self._root.get(dup, dup)
            self._root[number] = root
            if root != dup:
                proposal = _with_duplicate(proposal, root)
        self.index.add(number, fp)
        return proposal


def _with_duplicate(p: Proposal, key: Hashable) -> Proposal:
    from dataclasses import replace

    return replace(p, duplicate_of=key)


def run_triage_jsonl(path: str | Path, out: TextIO) -> int:
    """Print one JSON line per input line, in order; bad lines give an "error" line. Exit code."""
    source = Path(path)
    if not source.is_file():
        print(f"hotline: cannot read {source}", file=sys.stderr)
        return 2
    files = FileTriage()
    for number, line in enumerate(_lines(source)):
        try:
            # lone surrogates (valid JSON escapes, invalid text) would break the output line
            text = _text_of(line).encode("utf-8", "replace").decode("utf-8")
            row: dict[str, Any] = {"line": number, **files.propose(number, text).to_dict()}
        except Exception as exc:
            row = {
                "line": number,
                "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                "language": None,
                "category": None,
                "urgent": None,
                "commune_code": None,
                "duplicate_of": None,
                "reasons": [],
            }
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    out.flush()
    return 0


# --- evaluation ------------------------------------------------------------------------------


@dataclass
class Evaluation:
    n: int = 0
    language_ok: int = 0
    unaccented: int = 0
    unaccented_ok: int = 0
    urgent_tp: int = 0
    urgent_fp: int = 0
    urgent_fn: int = 0
    place_labelled: int = 0
    place_ok: int = 0
    place_candidates: int = 0
    dup_pairs: int = 0
    dup_found: int = 0
    dup_false: int = 0
    seconds: float = 0.0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    language_errors: list[str] = field(default_factory=list)

    def per_category(self) -> dict[str, dict[str, float]]:
        labels = sorted({g for g, _ in self.confusion} | {p for _, p in self.confusion})
        table = {}
        for c in labels:
            tp = self.confusion[(c, c)]
            fp = sum(v for (g, p), v in self.confusion.items() if p == c and g != c)
            fn = sum(v for (g, p), v in self.confusion.items() if g == c and p != c)
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            table[c] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
        return table

    def figures(self) -> dict[str, Any]:
        cats = self.per_category()
        supported = [v["f1"] for v in cats.values() if v["support"]]
        up = self.urgent_tp + self.urgent_fp
        ur = self.urgent_tp + self.urgent_fn
        return {
            "tips": self.n,
            "language_accuracy": self.language_ok / self.n if self.n else 0.0,
            "unaccented_vi_accuracy": self.unaccented_ok / self.unaccented if self.unaccented else 0.0,
            "unaccented_vi_tips": self.unaccented,
            "category_macro_f1": sum(supported) / len(supported) if supported else 0.0,
            "category_accuracy": sum(v for (g, p), v in self.confusion.items() if g == p) / self.n
            if self.n
            else 0.0,
            "categories": cats,
            "urgent_precision": self.urgent_tp / up if up else 0.0,
            "urgent_recall": self.urgent_tp / ur if ur else 0.0,
            "commune_labelled": self.place_labelled,
            "commune_accuracy": self.place_ok / self.place_labelled if self.place_labelled else 0.0,
            "commune_in_candidates": self.place_candidates / self.place_labelled
            if self.place_labelled
            else 0.0,
            "duplicate_pairs": self.dup_pairs,
            "duplicate_pairs_found": self.dup_found,
            "duplicate_false_alarms": self.dup_false,
            "tips_per_second": self.n / self.seconds if self.seconds else 0.0,
        }


def evaluate(path: str | Path, triage: Triage | None = None) -> Evaluation:
    """Run the engine on a labelled file (text, language, category, urgent, commune_code, duplicate_of)."""
    rows = [json.loads(line) for line in _lines(Path(path)) if line.strip()]
    files = FileTriage(triage)
    ev = Evaluation()
    cluster = {i: (r["duplicate_of"] if r.get("duplicate_of") is not None else i) for i, r in enumerate(rows)}
    start = time.perf_counter()
    proposals = [files.propose(i, r["text"]) for i, r in enumerate(rows)]
    ev.seconds = time.perf_counter() - start
    for i, (row, p) in enumerate(zip(rows, proposals, strict=True)):
        ev.n += 1
        ok = p.language == row["language"]
        ev.language_ok += ok
        if not ok:
            ev.language_errors.append(f"{row['language']}→{p.language}: {row['text'][:70]}")
        if row.get("unaccented") or (
            row["language"] == "vi" and "unaccented" not in row and row["text"].isascii()
        ):
            ev.unaccented += 1
            ev.unaccented_ok += ok
        ev.confusion[(row["category"], p.category.value)] += 1
        gold, guess = bool(row["urgent"]), p.urgent
        ev.urgent_tp += gold and guess
        ev.urgent_fp += guess and not gold
        ev.urgent_fn += gold and not guess
        if row.get("commune_code"):
            ev.place_labelled += 1
            ev.place_ok += p.commune_code == row["commune_code"]
            ev.place_candidates += row["commune_code"] in p.commune_candidates
        if row.get("duplicate_of") is not None:
            ev.dup_pairs += 1
            ev.dup_found += isinstance(p.duplicate_of, int) and cluster[p.duplicate_of] == cluster[i]
        elif p.duplicate_of is not None:
            ev.dup_false += 1
    return ev


@dataclass
class ShortInputs:
    """Language on short messages: accuracy per kind (English, unaccented Vietnamese...)."""

    right: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)

    def accuracy(self, kind: str) -> float | None:
        return self.right[kind] / self.total[kind] if self.total[kind] else None


def short_kind(row: dict[str, Any]) -> str:
    """`en`, `vi_unaccented`, `vi_accented`, `zh` or `other`, from the row's gold language."""
    language = str(row.get("language"))
    if language == "vi":
        text = str(row["text"])
        return "vi_unaccented" if row.get("unaccented") or text.isascii() else "vi_accented"
    return language if language in ("en", "zh") else "other"


def evaluate_short(path: str | Path, detect: Callable[[str], str]) -> ShortInputs:
    """Language accuracy of `detect` on labelled short inputs ({"text", "language"} lines)."""
    result = ShortInputs()
    for line in _lines(Path(path)):
        if not line.strip():
            continue
        row = json.loads(line)
        kind = short_kind(row)
        result.total[kind] += 1
        result.right[kind] += detect(str(row["text"])) == row["language"]
    return result


def langdetect_language() -> Callable[[str], str]:
    """Raw langdetect (seeded) mapped to vi/en/zh/other: the old base, for comparison."""
    from langdetect import DetectorFactory
    from langdetect.detector_factory import PROFILES_DIRECTORY
    from langdetect.lang_detect_exception import LangDetectException

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    DetectorFactory.seed = 0

    def detect(text: str) -> str:
        detector = factory.create()
        try:
            detector.append(text)
            code = str(detector.detect())
        except LangDetectException:
            return "other"
        return code if code in ("vi", "en") else "zh" if code.startswith("zh") else "other"

    return detect


def evaluate_language(path: str | Path, detect: Callable[[str], str]) -> float:
    rows = [json.loads(line) for line in _lines(Path(path)) if line.strip()]
    return sum(detect(r["text"]) == r["language"] for r in rows) / len(rows) if rows else 0.0


def compare(path: str | Path, short: str | Path | None) -> list[tuple[str, dict[str, Any]]]:
    """The figures of the rule-only engine, raw langdetect and the engine, side by side."""
    rules = Triage(model=None)
    engine = shared_triage()
    table: list[tuple[str, dict[str, Any]]] = []
    for name, triage in (("rules only", rules), ("engine", engine)):
        figures = evaluate(path, triage).figures()
        if short is not None:
            s = evaluate_short(short, _detector(triage))
            figures["short"] = {k: s.accuracy(k) for k in sorted(s.total)}
        table.append((name, figures))
    try:
        ld = langdetect_language()
    except ImportError:  # the old baseline is a model-work extra (`.[train]`), not served
        return table
    raw: dict[str, Any] = {"language_accuracy": evaluate_language(path, ld)}
    if short is not None:
        s = evaluate_short(short, ld)
        raw["short"] = {k: s.accuracy(k) for k in sorted(s.total)}
    table.insert(1, ("raw langdetect", raw))
    return table


def _detector(triage: Triage) -> Callable[[str], str]:
    def detect(text: str) -> str:
        return triage.language.detect(text).code

    return detect


#: The comparison's rows: a label and the key path in an engine's figures.
ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("urgent recall", ("urgent_recall",)),
    ("urgent precision", ("urgent_precision",)),
    ("category macro F1", ("category_macro_f1",)),
    ("language accuracy", ("language_accuracy",)),
    ("two-word English", ("short", "en")),
    ("two-word unaccented Vietnamese", ("short", "vi_unaccented")),
    ("short accented Vietnamese", ("short", "vi_accented")),
)


def _get(figures: dict[str, Any], keys: tuple[str, ...]) -> object:
    value: object = figures
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "–"


def comparison_table(table: list[tuple[str, dict[str, Any]]]) -> str:
    """A Markdown table: one column per engine."""
    head = "| figure | " + " | ".join(name for name, _ in table) + " |"
    lines = [head, "|---|" + "---|" * len(table)]
    for label, keys in ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(_get(f, keys)) for _, f in table) + " |")
    return "\n".join(lines)


def run_triage_eval(
    path: str | Path | None,
    out: TextIO,
    *,
    compare_engines: bool = False,
    short: str | Path | None = None,
) -> int:
    """Print the evaluation figures for a labelled file (default: the blind set, if present)."""
    source = Path(path or DEFAULT_EVAL)
    if not source.is_file():
        print(f"hotline: cannot read {source}", file=sys.stderr)
        return 2
    if compare_engines:
        inputs = Path(short) if short else source.parent / "short_inputs.jsonl"
        out.write(f"triage on {source}, short inputs {inputs if inputs.is_file() else 'none'}\n")
        out.write(comparison_table(compare(source, inputs if inputs.is_file() else None)) + "\n")
        return 0
    ev = evaluate(source)
    path = source
    f = ev.figures()
    w = out.write
    w(f"triage evaluation on {path or DEFAULT_EVAL} ({f['tips']} tips)\n")
    w(f"language accuracy        {f['language_accuracy']:.3f}\n")
    w(f"  unaccented Vietnamese  {f['unaccented_vi_accuracy']:.3f} ({f['unaccented_vi_tips']} tips)\n")
    w(f"category macro F1        {f['category_macro_f1']:.3f} (accuracy {f['category_accuracy']:.3f})\n")
    for name, c in f["categories"].items():
        w(f"  {name:<20} P {c['precision']:.2f}  R {c['recall']:.2f}  F1 {c['f1']:.2f}  n={c['support']}\n")
    w(f"urgent recall            {f['urgent_recall']:.3f}  precision {f['urgent_precision']:.3f}\n")
    w(
        f"commune exact            {f['commune_accuracy']:.3f}"
        f" (in candidates {f['commune_in_candidates']:.3f}, {f['commune_labelled']} labelled)\n"
    )
    w(
        f"duplicate pairs found    {f['duplicate_pairs_found']}/{f['duplicate_pairs']}"
        f" (false alarms {f['duplicate_false_alarms']})\n"
    )
    w(f"one pass, with warm-up    {f['tips_per_second']:.0f} tips/s (see bench/triage.py for throughput)\n")
    return 0
