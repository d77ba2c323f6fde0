"""Top-1 accuracy of the answers on a labelled file of questions (docs/knowledge.md).

Each line: `{"text": ..., "expected": "<entry id>" or null}`; null means the base has no
answer and the right outcome is "no good match" (the question goes to a counsellor).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.knowledge.service import AnswerService


@dataclass
class Evaluation:
    total: int = 0
    correct: int = 0
    answerable: int = 0
    answerable_correct: int = 0
    wrong_answer: int = 0
    missed: int = 0  # answerable, but "no good match"
    unanswerable: int = 0
    false_answer: int = 0  # not answerable, yet an answer was offered
    in_top3: int = 0
    errors: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "top1_accuracy": round(self.accuracy, 3),
            "answerable": self.answerable,
            "answerable_top1": _share(self.answerable_correct, self.answerable),
            "answerable_in_top3": _share(self.in_top3, self.answerable),
            "wrong_answer": self.wrong_answer,
            "no_match_on_answerable": self.missed,
            "unanswerable": self.unanswerable,
            "answer_offered_on_unanswerable": self.false_answer,
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def read_rows(lines: Iterable[str]) -> list[tuple[str, str | None]]:
    rows = []
    for line in lines:
        if line.strip():
            raw = json.loads(line)
            rows.append((str(raw["text"]), raw.get("expected")))
    return rows


def evaluate(service: AnswerService, rows: Iterable[tuple[str, str | None]]) -> Evaluation:
    """Top-1 is right when the best good match is the expected entry, or when there is no
    good match and none was expected."""
    result = Evaluation()
    for text, expected in rows:
        matches = service.suggest(text, limit=3)
        got = matches[0].entry.id if matches else None
        result.total += 1
        if expected is None:
            result.unanswerable += 1
            result.false_answer += got is not None
        else:
            result.answerable += 1
            result.missed += got is None
            result.wrong_answer += got is not None and got != expected
            result.in_top3 += any(m.entry.id == expected for m in matches)
            result.answerable_correct += got == expected
        if got == expected:
            result.correct += 1
        else:
            result.errors.append((text, expected, got))
    return result
