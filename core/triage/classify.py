"""Category and urgency: a learned model beside the lexicon, then the rules the law sets.

The model (model.py) reads the whole text; the lexicon names the terms an officer can check
and adds its weight; then the law's rules decide: anyone under 18 in sexual exploitation →
`minor` and urgent, whatever the medium; coercion (debt, confinement, confiscated papers,
force) → `trafficking` and urgent; a question stays `info_request` even when it names a
crime; `spam` only when the text alleges nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.categories import URGENT_BY_NATURE, Category

from .lexicon import Hit, Lexicon
from .model import Model, Prediction
from .normalise import Normalised

#: In the rule-only engine (`model=None`), these categories decide the tip once they reach
#: this score, whatever else it mentions: a karaoke bar with a 15-year-old is `minor`.
OVERRIDING = (Category.MINOR, Category.TRAFFICKING, Category.OFFICIAL_MISCONDUCT, Category.COMPLAINT)
OVERRIDE_AT = 2.5
#: Below this best score there is nothing to act on: a question, or spam.
MIN_SCORE = 1.0
#: How much a lexicon score (capped at 4, scaled to 0-1) adds to the model's probability
#: (0.15, 0.3, 0.5 tried on the former evaluation set held out from a model trained without it:
#: macro F1 0.812, 0.814, 0.825).
LEXICON_WEIGHT = 0.5
#: A question is read as one when the model gives `info_request` at least this probability.
QUESTION_AT = 0.15
#: The model alone makes a tip urgent from this probability (the rules make most urgent).
URGENT_AT = 0.5
#: Below this combined score the model is unsure (a language or wording it has not seen):
#: the lexicon decides as in the rule-only engine, and the law's rules still apply.
UNSURE_BELOW = 0.4
#: Categories that allege something: a text with any of their signs is not spam.
ALLEGING = frozenset(Category) - {Category.SPAM, Category.INFO_REQUEST}
_NOT_URGENT = frozenset({Category.SPAM, Category.INFO_REQUEST})

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
    #: Why, for the officer: (code, arguments) pairs that `explain.render` puts into words.
    explanations: tuple[tuple[str, dict[str, object]], ...] = ()


class Classifier:
    """Loaded once; `classify` is a few dictionary look-ups per word and one small matrix sum.

    `model=None` gives the rule-only engine (the lexicon and the law's rules), for comparison."""

    def __init__(self, model: Model | str | None = "shipped") -> None:
        self.lexicon = Lexicon.from_file("lexicon.tsv")
        self.cues = Lexicon.from_file("urgent.tsv", weighted=False)
        self.law = Lexicon.from_file("law.tsv", weighted=False)
        self.model: Model | None = Model.load() if model == "shipped" else model  # type: ignore[assignment]

    def classify(self, norm: Normalised, *, accented_text: bool) -> Classification:
        hits = self.lexicon.match(norm, accented_text=accented_text)
        scores: dict[str, float] = {c.value: 0.0 for c in Category}
        terms: dict[str, list[str]] = {c.value: [] for c in Category}
        words: dict[str, list[str]] = {c.value: [] for c in Category}
        for hit in hits:
            scores[hit.label] += hit.term.weight
            terms[hit.label].append(f"{hit.term.text} ({hit.term.weight:g})")
            words[hit.label].append(hit.term.text)
        minor_age = self._minor_age(norm.folded)
        if minor_age is not None:
            scores[Category.MINOR] += 3.0
            terms[Category.MINOR].append(f"age {minor_age} (3)")
        asks = bool(_QUESTION.search(norm.text))
        if asks:
            scores[Category.INFO_REQUEST] += 1.0
            terms[Category.INFO_REQUEST].append("question mark (1)")
        if _LINK_HINT.search(norm.text) and _LINK.search(norm.text):
            scores[Category.ONLINE] += 0.8
            terms[Category.ONLINE].append("link (0.8)")
        law: dict[str, list[str]] = {}
        for hit in self.law.match(norm, accented_text=accented_text):
            law.setdefault(hit.label, []).append(hit.term.text)
        cues = self._cues(norm, accented_text=accented_text)
        prediction = self.model.predict(norm.tokens) if self.model is not None and norm.tokens else None
        if prediction is None:
            category, why = self._decide(scores)
            combined = scores
        else:
            category, why, combined = self._decide_with_model(
                prediction, scores, law, minor=minor_age is not None, asks=asks or "question" in law
            )
        urgent_because: list[str] = []
        if category not in _NOT_URGENT:
            if category in URGENT_BY_NATURE:
                urgent_because.append(f"category {category.value}")
            urgent_because += [f"{h.label} '{h.term.text}'" for h in cues[:4]]
            if prediction is not None and prediction.urgent >= URGENT_AT and not urgent_because:
                urgent_because.append(f"model {prediction.urgent:.2f}")
        urgent = bool(urgent_because)
        reasons = [f"category {category.value} {combined[category]:.1f}: {why}"]
        if terms[category]:
            reasons.append("terms: " + ", ".join(terms[category][:8]))
        runner = max((c for c in Category if c is not category), key=lambda c: combined[c])
        if combined[runner] > 0:
            reasons.append(f"next: {runner.value} {combined[runner]:.1f}")
        if urgent:
            reasons.append("urgent: " + ", ".join(urgent_because))
        explanations = self._explain(
            category, why, words[category], minor_age, law, prediction, cues, urgent=urgent
        )
        return Classification(
            category,
            urgent,
            {k: round(v, 2) for k, v in combined.items() if v},
            tuple(reasons),
            explanations,
        )

    def _decide_with_model(
        self,
        prediction: Prediction,
        scores: dict[str, float],
        law: dict[str, list[str]],
        *,
        minor: bool,
        asks: bool,
    ) -> tuple[Category, str, dict[str, float]]:
        """The model's probabilities plus the lexicon's weight, then the law's rules."""
        combined = {
            c: prediction.probabilities.get(c, 0.0) + LEXICON_WEIGHT * min(scores[c], 4.0) / 4.0
            for c in scores
        }
        best = Category(max(combined, key=combined.__getitem__))
        unsure = combined[best] < UNSURE_BELOW
        if unsure:
            best = self._decide(scores)[0]
        plea = "plea" in law
        if asks and not plea and prediction.probabilities.get(Category.INFO_REQUEST, 0.0) >= QUESTION_AT:
            return Category.INFO_REQUEST, "a question", combined
        exploited = "sexual" in law or best in ALLEGING - {Category.COMPLAINT}
        # children who could see obscene material are its audience, not its victims: an age
        # must be given for such a tip to be about a child's exploitation
        audience = best is Category.OBSCENE_MATERIAL and not minor
        if (minor or "child" in law) and exploited and not audience:
            return Category.MINOR, "a person under 18 in sexual exploitation", combined
        if "coercion" in law and (exploited or best is Category.TRAFFICKING):
            return Category.TRAFFICKING, "coercion", combined
        if best is Category.SPAM:
            alleging = max(ALLEGING, key=lambda c: (scores[c], combined[c]))
            # a link counts when nothing in the text says spam ("these pages are still up")
            linked = scores[alleging] > scores[Category.SPAM] and scores[alleging] >= 0.8
            if scores[alleging] >= MIN_SCORE or linked or "sexual" in law or plea:
                return alleging, "an allegation, so not spam", combined
        if best is Category.INFO_REQUEST and not asks and scores[Category.INFO_REQUEST] == 0:
            alleging = max(ALLEGING, key=lambda c: (scores[c], combined[c]))
            if scores[alleging] >= MIN_SCORE:
                return alleging, "an allegation, not a question", combined
        return best, ("lexicon, the model unsure" if unsure else "model and terms"), combined

    @staticmethod
    def _explain(
        category: Category,
        why: str,
        words: list[str],
        minor_age: int | None,
        law: dict[str, list[str]],
        prediction: Prediction | None,
        cues: list[Hit],
        *,
        urgent: bool,
    ) -> tuple[tuple[str, dict[str, object]], ...]:
        rule = {
            "a question": "question",
            "a person under 18 in sexual exploitation": "minor_exploited",
            "coercion": "coercion",
            "an allegation, so not spam": "allegation",
            "an allegation, not a question": "allegation",
            "overrides other categories": "overrides",
            "a question with no tip content": "question",
            "no tip content": "no_content",
        }.get(why, "model" if prediction is not None else "terms")
        out: list[tuple[str, dict[str, object]]] = [("category", {"category": category.value, "rule": rule})]
        shown = list(dict.fromkeys(words))[:6]
        if category is Category.MINOR:
            shown = list(dict.fromkeys([*law.get("child", []), *law.get("sexual", []), *shown]))[:6]
        elif category is Category.TRAFFICKING and rule == "coercion":
            shown = list(dict.fromkeys([*law.get("coercion", []), *shown]))[:6]
        elif not shown and prediction is not None:
            shown = list(prediction.top_words)
        if shown:
            out.append(("terms", {"terms": shown}))
        if minor_age is not None:
            out.append(("age", {"age": minor_age}))
        if urgent:
            kinds = [category.value] if category in URGENT_BY_NATURE else []
            kinds += list(dict.fromkeys(h.label for h in cues))
            out.append(("urgent", {"because": kinds or ["model"]}))
        return tuple(out)

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
