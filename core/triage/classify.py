"""Category and urgency from weighted lexicons, with the terms that decided them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.categories import URGENT_BY_NATURE, Category

from .lexicon import Hit, Lexicon
from .normalise import Normalised

#: These categories decide the tip once they reach this score, whatever else it mentions:
#: a karaoke bar with a 15-year-old is a `minor` tip, not a `venue` tip.
OVERRIDING = (Category.MINOR, Category.TRAFFICKING, Category.OFFICIAL_MISCONDUCT, Category.COMPLAINT)
OVERRIDE_AT = 2.5
#: Below this best score there is nothing to act on: a question, or spam.
MIN_SCORE = 1.0

_AGE = re.compile(
    r"(?<![\d.,])(\d{1,2})[\s-]*(?:tuoi|t\b|years?[\s-]*old|yo\b|yrs?\b|ans\b|anos\b|岁|歳|살)|"
    r"\b(?:aged|age)\s+(\d{1,2})\b|\blop\s+([1-9]|1[0-2])\b"
)
_DIGIT = re.compile(r"\d")  # every `_AGE` alternative needs one
_QUESTION = re.compile(r"[?？]")
_LINK = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|vn|net|me|org|io)\b", re.IGNORECASE)
_LINK_HINT = re.compile(r"://|www\.|\.(?:com|vn|net|me|org|io)", re.IGNORECASE)  # what `_LINK` needs


@dataclass(frozen=True)
class Classification:
    category: Category
    urgent: bool
    scores: dict[str, float]
    reasons: tuple[str, ...]


class Classifier:
    """Loaded once; `classify` is a few dictionary look-ups per word."""

    def __init__(self) -> None:
        self.lexicon = Lexicon.from_file("lexicon.tsv")
        self.cues = Lexicon.from_file("urgent.tsv", weighted=False)

    def classify(self, norm: Normalised, *, accented_text: bool) -> Classification:
        hits = self.lexicon.match(norm, accented_text=accented_text)
        scores: dict[str, float] = {c.value: 0.0 for c in Category}
        terms: dict[str, list[str]] = {c.value: [] for c in Category}
        for hit in hits:
            scores[hit.label] += hit.term.weight
            terms[hit.label].append(f"{hit.term.text} ({hit.term.weight:g})")
        minor_age = self._minor_age(norm.folded)
        if minor_age is not None:
            scores[Category.MINOR] += 3.0
            terms[Category.MINOR].append(f"age {minor_age} (3)")
        if _QUESTION.search(norm.text):
            scores[Category.INFO_REQUEST] += 1.0
            terms[Category.INFO_REQUEST].append("question mark (1)")
        if _LINK_HINT.search(norm.text) and _LINK.search(norm.text):
            scores[Category.ONLINE] += 0.8
            terms[Category.ONLINE].append("link (0.8)")
        category, why = self._decide(scores)
        cues = self._cues(norm, accented_text=accented_text)
        urgent = category in URGENT_BY_NATURE or (bool(cues) and category is not Category.SPAM)
        reasons = [f"category {category.value} {scores[category]:.1f}: {why}"]
        if terms[category]:
            reasons.append("terms: " + ", ".join(terms[category][:8]))
        runner = max((c for c in Category if c is not category), key=lambda c: scores[c])
        if scores[runner] > 0:
            reasons.append(f"next: {runner.value} {scores[runner]:.1f}")
        if urgent:
            because = [f"{h.label} '{h.term.text}'" for h in cues[:4]]
            if category in URGENT_BY_NATURE:
                because.insert(0, f"category {category.value}")
            reasons.append("urgent: " + ", ".join(because))
        return Classification(
            category, urgent, {k: round(v, 2) for k, v in scores.items() if v}, tuple(reasons)
        )

    def _decide(self, scores: dict[str, float]) -> tuple[Category, str]:
        strong = [c for c in OVERRIDING if scores[c] >= OVERRIDE_AT]
        if strong:
            best = max(strong, key=lambda c: scores[c])
            return best, "overrides other categories"
        best = max(Category, key=lambda c: scores[c])
        if scores[best] >= MIN_SCORE:
            return best, "highest score"
        if scores[Category.INFO_REQUEST] > 0:
            return Category.INFO_REQUEST, "a question with no tip content"
        return Category.SPAM, "no tip content"

    def _cues(self, norm: Normalised, *, accented_text: bool) -> list[Hit]:
        return self.cues.match(norm, accented_text=accented_text)

    @staticmethod
    def _minor_age(folded: str) -> int | None:
        """An age under 18 written in the text (`15 tuổi`, `16yo`, `aged 14`, `lớp 9`)."""
        for match in _AGE.finditer(folded) if _DIGIT.search(folded) else ():
            if match.group(3):
                return int(match.group(3)) + 6  # school grade → age
            age = int(match.group(1) or match.group(2))
            if 5 <= age < 18:
                return age
        return None
