"""Retention rules: how long a closed tip's personal data is kept, as data an administrator
can change. A rule names what it forgets, the tips' outcome and category ('*' for any),
and the days after closing; `None` days means the deployment's processed-records period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.categories import Category
from core.errors import InvalidInput
from core.stages import TERMINAL, Stage

ANY = "*"
#: The longest period a rule may name (a century): beyond it a typo, not a policy.
MAX_DAYS = 36_500


class Data(StrEnum):
    """What a rule forgets."""

    #: Text, place, files, the reporter's thread, officers' notes, free-text reasons, the
    #: named informant: everything a person wrote or is named in.
    CONTENT = "content"
    #: Reply-notice consents: the only rows that link a chat to a tip.
    CHATS = "chats"
    #: An officer-registered informant's sealed identity.
    INFORMANT = "informant"


@dataclass(frozen=True)
class RetentionRule:
    data: Data
    outcome: str  # a closed stage, or ANY
    category: str  # a category code, or ANY
    days: int | None  # None: the deployment's processed period

    @property
    def key(self) -> str:
        return f"{self.data.value}:{self.outcome}:{self.category}"

    def period(self, processed_days: int) -> timedelta:
        return timedelta(days=processed_days if self.days is None else self.days)

    def audit_detail(self, processed_days: int) -> str:
        """The rule as the activity log shows it (Vietnamese words around the codes)."""
        days = f"{processed_days} ngày (thời hạn của hệ thống)" if self.days is None else f"{self.days} ngày"
        return f"{self.key} · {days}"

    def describe(self, processed_days: int) -> str:
        days = f"{processed_days} days (deployment period)" if self.days is None else f"{self.days} days"
        return f"{self.key} after {days}"


#: The rules a new database starts with (the migration seeds them).
DEFAULT_RULES: tuple[RetentionRule, ...] = (
    RetentionRule(Data.CONTENT, Stage.SPAM.value, ANY, 90),
    RetentionRule(Data.CONTENT, Stage.UNFOUNDED.value, ANY, 90),
    RetentionRule(Data.CONTENT, Stage.PROCESSED.value, ANY, None),
    RetentionRule(Data.CONTENT, Stage.DUPLICATE.value, ANY, None),
    RetentionRule(Data.CHATS, ANY, ANY, 0),
    RetentionRule(Data.INFORMANT, ANY, ANY, None),
)

CLOSED_OUTCOMES: tuple[str, ...] = tuple(sorted(s.value for s in TERMINAL))


def parse_rule(data: str, outcome: str, category: str, days: str) -> RetentionRule:
    """A rule from command-line words, or InvalidInput saying what is wrong."""
    try:
        kind = Data(data.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown data {data!r}; one of: {', '.join(d.value for d in Data)}") from None
    outcome = outcome.strip().lower()
    if outcome not in (*CLOSED_OUTCOMES, ANY):
        raise InvalidInput(f"unknown outcome {outcome!r}; one of: {', '.join(CLOSED_OUTCOMES)} or *")
    category = category.strip().lower()
    if category != ANY and category not in {c.value for c in Category}:
        known = ", ".join(c.value for c in Category)
        raise InvalidInput(f"unknown category {category!r}; one of: {known} or *")
    text = days.strip().lower()
    if text == "default":
        amount: int | None = None
    else:
        if not text.isdigit():
            raise InvalidInput(f"days must be a whole number from 0 to {MAX_DAYS}, or 'default'")
        amount = int(text)
        if amount > MAX_DAYS:
            raise InvalidInput(f"days must be a whole number from 0 to {MAX_DAYS}, or 'default'")
    return RetentionRule(kind, outcome, category, amount)


def _specificity(rule: RetentionRule) -> int:
    return (rule.outcome != ANY) * 2 + (rule.category != ANY)


def rule_for(
    rules: Iterable[RetentionRule], data: Data, outcome: str, category: str | None
) -> RetentionRule | None:
    """The most specific rule for a tip's outcome and category (exact beats '*'; the
    outcome counts more than the category), or None: kept."""
    found = [
        r
        for r in rules
        if r.data is data and r.outcome in (outcome, ANY) and r.category in (category or "", ANY)
    ]
    return max(found, key=_specificity, default=None)


@dataclass(frozen=True)
class Selector:
    """One query the retention run makes: tips of `outcome` (and `category`, or all but
    the `excluded` categories that have rules of their own) closed before `cutoff`."""

    rule: RetentionRule
    outcome: str
    category: str | None  # None: any category but `excluded`
    excluded: tuple[str, ...]
    cutoff: datetime


def selectors(
    rules: Sequence[RetentionRule], data: Data, now: datetime, processed_days: int
) -> list[Selector]:
    """Split the rules of one kind into disjoint queries, so that each tip is judged by the
    most specific rule that applies to it and by no other."""
    mine = [r for r in rules if r.data is data]
    specific = sorted({r.category for r in mine if r.category != ANY})
    found: list[Selector] = []
    for outcome in CLOSED_OUTCOMES:
        for category in specific:
            rule = rule_for(mine, data, outcome, category)
            if rule is not None:
                found.append(Selector(rule, outcome, category, (), now - rule.period(processed_days)))
        rule = rule_for(mine, data, outcome, None)
        if rule is not None:
            found.append(Selector(rule, outcome, None, tuple(specific), now - rule.period(processed_days)))
    return found


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule forgot (or would): tip ids and receipt codes, never content."""

    rule: RetentionRule
    tips: tuple[tuple[int, str], ...]
