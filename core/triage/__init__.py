"""The triage engine: language, category, urgency, commune/ward and
duplicate-of proposed for a tip, each with its reasons. Plain Python: no web, bot or ORM.

    triage = Triage()                       # once per process: lexicons, models
    index = triage.index(open_tips, now=now)  # open tips of the last 90 days
    proposal = triage.propose(text, province_code="79", earlier=index)
    triage.propose("help me", language_hint="en")  # a chat message: the conversation's language
    explain.render(proposal.to_dict(), "vi")  # the reasons in the officer's words
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from core.categories import Category

from . import explain
from .classify import Classifier
from .duplicates import DuplicateIndex, DuplicateMatch, Fingerprint, fingerprint
from .language import LanguageDetector
from .model import Model
from .normalise import Normalised, normalise
from .places import Gazetteer, Unit, package_province_names

#: A question or spam is not a report about a venue or person, so it duplicates nothing:
#: two people asking the same question each deserve an answer.
NOT_DUPLICATED = frozenset({Category.INFO_REQUEST, Category.SPAM})

__all__ = ["DuplicateIndex", "EarlierTip", "Fingerprint", "Proposal", "Triage", "Unit", "explain"]

#: An explanation: a code and its arguments, put into the officer's words by `explain.render`.
Explanation = tuple[str, dict[str, object]]


@dataclass(frozen=True)
class EarlierTip:
    """An open tip a new one may repeat; `key` is what `duplicate_of` will hold (e.g. tip id)."""

    key: Hashable
    text: str
    received_at: datetime | None = None


@dataclass(frozen=True)
class Proposal:
    """What triage proposes for one tip; an officer confirms or corrects each field."""

    language: str
    category: Category
    urgent: bool
    commune_code: str | None
    commune_candidates: tuple[str, ...]
    duplicate_of: Hashable | None
    reasons: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)
    #: The reasons as codes with arguments, for the officer in their language (`explain`).
    explanations: tuple[Explanation, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as stored with the tip and printed by `hotline triage`."""
        return {
            "language": self.language,
            "category": self.category.value,
            "urgent": self.urgent,
            "commune_code": self.commune_code,
            "commune_candidates": list(self.commune_candidates),
            "duplicate_of": self.duplicate_of,
            "reasons": list(self.reasons),
            "scores": self.scores,
            "explanations": [{"code": code, **args} for code, args in self.explanations],
        }


def _mostly_accented(norm: Normalised) -> bool:
    """Typed with diacritics (most words carry them)? Then lexicon terms must match with theirs.

    A share, not "any": `Báo lại: khieu nai ...` is an unaccented tip with an accented prefix.
    """
    words = norm.text.split()[:200]
    if not words:
        return False
    marked = sum(1 for w in words if not w.isascii())  # a non-ASCII word carries diacritics
    return marked >= 0.25 * len(words)


class Triage:
    """Everything loaded once (about a second); `propose` then takes well under a millisecond."""

    def __init__(
        self,
        units: Iterable[Unit] | None = None,
        *,
        legacy_places: bool = True,
        model: Model | str | None = "shipped",
    ) -> None:
        """`model`: the shipped learned model, another one, or None for the rule-only engine."""
        self.language = LanguageDetector()
        self.classifier = Classifier(model)
        self.gazetteer = Gazetteer(units, legacy=legacy_places)
        self.gazetteer.add_province_names(package_province_names())
        # single-word lexicon terms (karaoke, massage...) never start a venue's own name
        self._venue_stop = frozenset(t[0] for t in self.classifier.lexicon.vocabulary() if len(t) == 1)

    def warm_up(self) -> None:
        """Load what is otherwise loaded on first need (old place names), e.g. at app start."""
        self.gazetteer.load_legacy()

    def normalise(self, text: str, language_hint: str | None = None) -> tuple[Normalised, str, str]:
        """Normalised text, language code and the language reason."""
        guess = self.language.detect(text, hint=language_hint)
        norm = normalise(text, vietnamese=guess.code != "en")
        return norm, guess.code, guess.reason

    def fingerprint(self, text: str) -> Fingerprint:
        """What duplicate detection compares; cache it with the tip if the queue is large."""
        norm, _, _ = self.normalise(text)
        return fingerprint(norm, self._venue_stop)

    def index(self, earlier: Iterable[EarlierTip], *, now: datetime | None = None) -> DuplicateIndex:
        """An index of open tips; those received more than 90 days before `now` are left out."""
        idx = DuplicateIndex()
        for tip in earlier:
            idx.add(tip.key, self.fingerprint(tip.text), received_at=tip.received_at, now=now)
        return idx

    def propose(
        self,
        text: str,
        *,
        province_code: str | None = None,
        earlier: DuplicateIndex | Iterable[EarlierTip] = (),
        now: datetime | None = None,
        language_hint: str | None = None,
    ) -> Proposal:
        """The proposal for one tip; never raises on odd text. `language_hint`: the language of
        the conversation the text came in (vi, en, zh), which a short message keeps unless
        it is clearly in another."""
        return self._propose(
            text, province_code, earlier, now, need_fingerprint=False, language_hint=language_hint
        )[0]

    def analyse(
        self, text: str, *, province_code: str | None = None, language_hint: str | None = None
    ) -> tuple[Proposal, Fingerprint]:
        """The proposal for `text` as if no other tip existed, and its fingerprint: all the
        reading of the text, which needs nothing else and so can run in another process
        (hotline/triage_worker.py). `match` then adds the duplicate against live tips."""
        proposal, fp = self._propose(
            text, province_code, DuplicateIndex(), None, need_fingerprint=True, language_hint=language_hint
        )
        assert fp is not None
        return proposal, fp

    @staticmethod
    def match(proposal: Proposal, fp: Fingerprint, index: DuplicateIndex) -> Proposal:
        """`proposal` (from `analyse`) with the earlier tip of `index` it repeats, if any:
        the same answer `propose` gives with that index."""
        if proposal.category in NOT_DUPLICATED or not len(index):
            return proposal
        found = index.find(fp)
        if found is None:
            return proposal
        return replace(
            proposal,
            duplicate_of=found.key,
            reasons=(*proposal.reasons, found.reason),
            explanations=(*proposal.explanations, _duplicate_explanation(found)),
        )

    def propose_and_fingerprint(
        self,
        text: str,
        *,
        province_code: str | None = None,
        earlier: DuplicateIndex | Iterable[EarlierTip] = (),
        now: datetime | None = None,
        language_hint: str | None = None,
    ) -> tuple[Proposal, Fingerprint]:
        """The proposal and the tip's fingerprint, to add it to a live index without a second pass."""
        proposal, fp = self._propose(
            text, province_code, earlier, now, need_fingerprint=True, language_hint=language_hint
        )
        assert fp is not None
        return proposal, fp

    def _propose(
        self,
        text: str,
        province_code: str | None,
        earlier: DuplicateIndex | Iterable[EarlierTip],
        now: datetime | None,
        *,
        need_fingerprint: bool,
        language_hint: str | None = None,
    ) -> tuple[Proposal, Fingerprint | None]:
        norm, language, language_reason = self.normalise(text, language_hint)
        accented = _mostly_accented(norm)
        result = self.classifier.classify(norm, accented_text=accented)
        place = self.gazetteer.find(norm.tokens, norm.text, province_code)
        match: DuplicateMatch | None = None
        fp = fingerprint(norm, self._venue_stop) if need_fingerprint else None
        if result.category not in NOT_DUPLICATED:
            index = earlier if isinstance(earlier, DuplicateIndex) else self.index(earlier, now=now)
            if len(index):
                fp = fp or fingerprint(norm, self._venue_stop)
                match = index.find(fp)
        reasons = [language_reason, *result.reasons, *place.reasons]
        explanations: list[Explanation] = [
            ("language", {"language": language, "carried": "carried over" in language_reason}),
            *result.explanations,
        ]
        if place.commune_code is not None:
            unit = self.gazetteer.units.get(place.commune_code)
            name = unit.name if unit is not None else place.commune_code
            explanations.append(("place", {"commune_code": place.commune_code, "name": name}))
        elif place.candidates:
            explanations.append(("place_candidates", {"count": len(place.candidates)}))
        if match is not None:
            reasons.append(match.reason)
            explanations.append(_duplicate_explanation(match))
        proposal = Proposal(
            language=language,
            category=result.category,
            urgent=result.urgent,
            commune_code=place.commune_code,
            commune_candidates=place.candidates,
            duplicate_of=match.key if match else None,
            reasons=tuple(reasons),
            scores=result.scores,
            explanations=tuple(explanations),
        )
        return proposal, fp


def _duplicate_explanation(match: DuplicateMatch) -> Explanation:
    how = match.reason.removeprefix("duplicate: ").split(" ")
    kind = how[1] if how[0] == "same" and len(how) > 1 else "text"
    return ("duplicate", {"key": match.key, "how": kind})
