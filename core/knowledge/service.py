"""The use cases around the knowledge base: suggest answers, and count "did this help?".

Feedback is two counters per entry and language, nothing else: no chat, no question text,
no time of day, so content owners learn which answers fall short without anyone being
traceable through it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from core.errors import NotFound
from core.knowledge.base import LANGUAGES, KnowledgeBase
from core.knowledge.matcher import Match, Matcher
from core.ratelimits import RateLimited, Throttle
from core.triage.language import LanguageDetector

#: Matching reads at most this much of a question: the cost stays bounded, the meaning is there.
MAX_QUESTION = 2_000


@dataclass(frozen=True)
class FeedbackCount:
    entry_id: str
    language: str
    helped: int
    not_helped: int


class FeedbackStore(Protocol):
    async def record(self, entry_id: str, language: str, helped: bool) -> None:
        """Add one to the entry's "helped" or "did not help" counter."""
        ...

    async def counts(self) -> Sequence[FeedbackCount]: ...


class MemoryFeedbackStore:
    """In-process counters, for tests and for channels without a database."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, bool]] = Counter()

    async def record(self, entry_id: str, language: str, helped: bool) -> None:
        self._counts[(entry_id, language, helped)] += 1

    async def counts(self) -> Sequence[FeedbackCount]:
        keys = sorted({(e, lang) for e, lang, _ in self._counts})
        return [
            FeedbackCount(e, lang, self._counts[(e, lang, True)], self._counts[(e, lang, False)])
            for e, lang in keys
        ]


@cache
def _detector() -> LanguageDetector:
    return LanguageDetector()


def question_language(text: str) -> str | None:
    """vi or en when the triage engine's detector is sure enough, else None (try both)."""
    code = _detector().detect(text).code
    return code if code in LANGUAGES else None


class AnswerService:
    def __init__(self, matcher: Matcher, feedback: FeedbackStore, throttle: Throttle | None = None) -> None:
        self.matcher = matcher
        self.feedback_store = feedback
        #: Limits `answer` (the public JSON API); None where nothing needs limiting (the CLI).
        self.throttle = throttle

    @property
    def base(self) -> KnowledgeBase:
        return self.matcher.base

    def suggest(self, text: str, hint: str = "vi", limit: int = 3) -> list[Match]:
        """The good answers to `text`, best first; empty when nothing fits well enough."""
        cut = text.strip()[:MAX_QUESTION]
        if not cut:
            return []
        return self.matcher.best(cut, lang=question_language(cut), hint=hint, limit=limit)

    async def answer(
        self, text: str, hint: str = "vi", limit: int = 3, *, source: str | None = None
    ) -> list[Match]:
        """`suggest` under the answers rate limits of `source` and of everyone (RateLimited
        past them). A blank question matches nothing and costs nothing: not counted."""
        if not text.strip():
            return []
        if self.throttle is not None:
            await self.throttle.answers(source)
        return self.suggest(text, hint=hint, limit=limit)

    async def answer_if_allowed(
        self, text: str, hint: str = "vi", limit: int = 3, *, source: str | None = None
    ) -> list[Match]:
        """`answer`, or no answers past the answers limit: the ask page and the bot then file
        the question for a counsellor as when nothing fits (filing has its own limit), so a
        flood through them cannot spend the matcher's time beyond the API's budget."""
        try:
            return await self.answer(text, hint=hint, limit=limit, source=source)
        except RateLimited:
            return []

    async def feedback(self, entry_id: str, language: str, helped: bool) -> None:
        """Count one "did this help?" answer for a known entry and language."""
        if self.base.get(entry_id) is None or language not in LANGUAGES:
            raise NotFound("no such knowledge-base entry")
        await self.feedback_store.record(entry_id, language, helped)

    async def counts(self) -> Sequence[FeedbackCount]:
        return await self.feedback_store.counts()
