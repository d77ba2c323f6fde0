"""The triage engine (SPEC 5, issue 6): language, category, urgency, commune/ward and
duplicate-of proposed for a tip, each with its reasons. Plain Python: no web, bot or ORM.

    triage = Triage()                       # once per process: loads lexicons and profiles
    index = triage.index(open_tips, now=now)  # open tips of the last 90 days
    proposal = triage.propose(text, province_code="79", earlier=index)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from core.categories import Category

from .classify import Classifier
from .duplicates import DuplicateIndex, DuplicateMatch, Fingerprint, fingerprint
from .language import LanguageDetector
from .normalise import Normalised, normalise
from .places import Gazetteer, Unit, package_province_names

#: A question or spam is not a report about a venue or person, so it duplicates nothing:
#: two people asking the same question each deserve an answer.
NOT_DUPLICATED = frozenset({Category.INFO_REQUEST, Category.SPAM})

__all__ = ["DuplicateIndex", "EarlierTip", "Fingerprint", "Proposal", "Triage", "Unit"]


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

    def __init__(self, units: Iterable[Unit] | None = None, *, legacy_places: bool = True) -> None:
        self.language = LanguageDetector()
        self.classifier = Classifier()
        self.gazetteer = Gazetteer(units, legacy=legacy_places)
        self.gazetteer.add_province_names(package_province_names())
        # single-word lexicon terms (karaoke, massage...) never start a venue's own name
        self._venue_stop = frozenset(t[0] for t in self.classifier.lexicon.vocabulary() if len(t) == 1)

    def warm_up(self) -> None:
        """Load what is otherwise loaded on first need (old place names), e.g. at app start."""
        self.gazetteer.load_legacy()

    def normalise(self, text: str) -> tuple[Normalised, str, str]:
        """Normalised text, language code and the language reason."""
        guess = self.language.detect(text)
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
    ) -> Proposal:
        """The proposal for one tip; never raises on odd text."""
        return self._propose(text, province_code, earlier, now, need_fingerprint=False)[0]

    def analyse(self, text: str, *, province_code: str | None = None) -> tuple[Proposal, Fingerprint]:
        """The proposal for `text` as if no other tip existed, and its fingerprint: all the
        reading of the text, which needs nothing else and so can run in another process
        (hotline/triage_worker.py). `match` then adds the duplicate against live tips."""
        proposal, fp = self._propose(text, province_code, DuplicateIndex(), None, need_fingerprint=True)
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
        return replace(proposal, duplicate_of=found.key, reasons=(*proposal.reasons, found.reason))

    def propose_and_fingerprint(
        self,
        text: str,
        *,
        province_code: str | None = None,
        earlier: DuplicateIndex | Iterable[EarlierTip] = (),
        now: datetime | None = None,
    ) -> tuple[Proposal, Fingerprint]:
        """The proposal and the tip's fingerprint, to add it to a live index without a second pass."""
        proposal, fp = self._propose(text, province_code, earlier, now, need_fingerprint=True)
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
    ) -> tuple[Proposal, Fingerprint | None]:
        norm, language, language_reason = self.normalise(text)
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
        if match is not None:
            reasons.append(match.reason)
        proposal = Proposal(
            language=language,
            category=result.category,
            urgent=result.urgent,
            commune_code=place.commune_code,
            commune_candidates=place.candidates,
            duplicate_of=match.key if match else None,
            reasons=tuple(reasons),
            scores=result.scores,
        )
        return proposal, fp
