"""Importing the registers officers keep today (spreadsheets, paper books typed up), so the
KPI counts every tip a unit received, at its real dates.

All or nothing: every row is checked before anything is written, and one bad row stops the
import with its row number (all bad rows are listed). Idempotent by the register's own
reference: a row whose reference the unit already imported is skipped. Imported tips carry
the stages they reached with their real times and their outcome, so the KPI judges them
against the deadlines of the policy in force when they are imported, from their receipt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.calendar import WorkingCalendar
from core.categories import Category, Channel
from core.errors import IllegalTransition, InvalidInput
from core.intake import MAX_TEXT, TipIntake
from core.registration import (
    CLOCK_SKEW,
    EARLIEST_RECEIPT,
    MAX_FORWARDED_BY,
    MAX_PLACE,
    REGISTERED_CHANNELS,
    RegistrationUnitOfWork,
)
from core.sla import DEADLINE_STAGES, DeadlinePolicy, Rule, TipFacts, apply_rule, at_risk_moment
from core.stages import CLOSING_EXITS, PROGRESS, TERMINAL, Stage, check_transition
from core.tips import NewTip, TipDraft

MAX_REF = 64
#: Outcomes a register may record; a referral to another unit is registered there.
OUTCOMES: frozenset[Stage] = frozenset({Stage.PROCESSED, *CLOSING_EXITS})


@dataclass(frozen=True)
class ImportRow:
    """One row as read from the file; `number` is its row number in the file (the header
    is row 1), for the messages."""

    number: int
    external_ref: str
    received_at: datetime
    channel: Channel
    text: str
    place: str | None = None
    commune_code: str | None = None
    category: Category | None = None
    verified_at: datetime | None = None
    classified_at: datetime | None = None
    processed_at: datetime | None = None
    outcome: Stage | None = None
    #: When a closing outcome (duplicate, spam, unfounded) was decided.
    closed_at: datetime | None = None
    forwarded_by: str | None = None


@dataclass(frozen=True)
class RowProblem:
    number: int
    message: str

    def __str__(self) -> str:
        return f"row {self.number}: {self.message}"


class ImportRefused(InvalidInput):
    """Bad rows: nothing was written. `problems` lists every one, in row order."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more bad rows)" if len(self.problems) > 1 else ""
        super().__init__(f"nothing was imported: {first}{more}")


@dataclass(frozen=True)
class ImportedTip:
    """A checked row with everything decided: the new tip, the stage it is at, the times
    it reached each stage, and its history."""

    row: ImportRow
    tip: NewTip
    stage: Stage
    reached: dict[Stage, datetime]
    next_due_at: datetime | None
    at_risk_at: datetime | None
    #: (from, to, at) for each move the register records, in order.
    moves: tuple[tuple[Stage, Stage, datetime], ...]

    @property
    def closed(self) -> bool:
        return self.stage in TERMINAL


@dataclass(frozen=True)
class ImportPlan:
    """What an import creates, what it skips (already imported) and what it refuses."""

    create: tuple[ImportedTip, ...] = ()
    skipped: tuple[ImportRow, ...] = ()
    problems: tuple[RowProblem, ...] = ()
    created_ids: tuple[int, ...] = field(default=())


def _moves(row: ImportRow) -> tuple[Stage, dict[Stage, datetime], list[tuple[Stage, Stage, datetime]]]:
    """The stage reached and the moves there, each checked against the lifecycle."""
    reached: dict[Stage, datetime] = {Stage.RECEIVED: row.received_at}
    moves: list[tuple[Stage, Stage, datetime]] = []
    stage, last = Stage.RECEIVED, row.received_at
    for target, at in (
        (Stage.VERIFIED, row.verified_at),
        (Stage.CLASSIFIED, row.classified_at),
        (Stage.PROCESSED, row.processed_at),
    ):
        if at is None:
            continue
        if at < last:
            raise InvalidInput(f"the time of stage {target.value} lies before the stage before it")
        check_transition(stage, target, reached)
        moves.append((stage, target, at))
        reached[target], stage, last = at, target, at
    outcome = row.outcome
    if outcome is Stage.PROCESSED and stage is not Stage.PROCESSED:
        raise InvalidInput("outcome processed needs the time it was processed")
    if outcome in CLOSING_EXITS:
        if row.closed_at is None:
            raise InvalidInput(f"outcome {outcome.value} needs the time it was decided")
        if row.closed_at < last:
            raise InvalidInput("the time of the outcome lies before the last stage reached")
        check_transition(stage, outcome, reached)
        moves.append((stage, outcome, row.closed_at))
        stage = outcome
    elif row.closed_at is not None and outcome is None:
        raise InvalidInput("a closing time without an outcome")
    return stage, reached, moves


def _text(value: str | None, limit: int, what: str) -> str | None:
    cleaned = (value or "").strip()
    if len(cleaned) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if "\x00" in cleaned:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return cleaned or None


def check_row(row: ImportRow, now: datetime) -> ImportRow:
    """The row cleaned, or InvalidInput saying what is wrong with it."""
    ref = _text(row.external_ref, MAX_REF, "the reference")
    if ref is None:
        raise InvalidInput("the reference is empty")
    text = _text(row.text, MAX_TEXT, "the text")
    if text is None:
        raise InvalidInput("the text is empty")
    if row.channel not in REGISTERED_CHANNELS:
        raise InvalidInput(f"channel {row.channel.value} is not one a register records")
    if row.outcome is not None and row.outcome not in OUTCOMES:
        raise InvalidInput(f"outcome {row.outcome.value} cannot be imported")
    for name in ("received_at", "verified_at", "classified_at", "processed_at", "closed_at"):
        moment: datetime | None = getattr(row, name)
        if moment is None:
            continue
        if moment.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone")
        if moment > now + CLOCK_SKEW:
            raise InvalidInput(f"{name} lies in the future")
        if moment < EARLIEST_RECEIPT:
            raise InvalidInput(f"{name} lies before 2000")
    return ImportRow(
        number=row.number,
        external_ref=ref,
        received_at=row.received_at,
        channel=row.channel,
        text=text,
        place=_text(row.place, MAX_PLACE, "the place"),
        commune_code=row.commune_code,
        category=row.category,
        verified_at=row.verified_at,
        classified_at=row.classified_at,
        processed_at=row.processed_at,
        outcome=row.outcome,
        closed_at=row.closed_at,
        forwarded_by=_text(row.forwarded_by, MAX_FORWARDED_BY, "the forwarding body"),
    )


class Deadlines:
    """`DeadlinePolicy.deadlines` for many tips: the rule of each stage depends only on the
    category, urgency and remoteness, so it is looked up once per combination."""

    def __init__(self, policy: DeadlinePolicy, calendar: WorkingCalendar) -> None:
        self.policy = policy
        self.calendar = calendar
        self._rules: dict[tuple[Category | None, bool], dict[Stage, Rule]] = {}

    def __call__(
        self, received_at: datetime, category: Category | None, remote: bool
    ) -> dict[Stage, datetime]:
        key = (category, remote)
        rules = self._rules.get(key)
        if rules is None:
            facts = TipFacts(received_at, category, False, remote)
            rules = self._rules[key] = {s: self.policy.rule_for(s, facts) for s in DEADLINE_STAGES}
        return {stage: apply_rule(rule, received_at, self.calendar) for stage, rule in rules.items()}


def decide(
    row: ImportRow,
    *,
    intake: TipIntake,
    policy: DeadlinePolicy,
    unit: str,
    remote: bool,
    receipt_code: str,
    deadlines: Deadlines | None = None,
) -> ImportedTip:
    """The tip a checked row becomes: owned by the importing unit, deadlines from receipt."""
    stage, reached, moves = _moves(row)
    if deadlines is None:
        deadlines = Deadlines(policy, intake.calendar)
    due = deadlines(row.received_at, row.category, remote)
    next_due = None
    if stage not in TERMINAL:
        next_due = next((due[s] for s in PROGRESS if s not in reached), None)
    draft = TipDraft(
        text=row.text,
        channel=row.channel,
        category=row.category,
        commune_code=row.commune_code,
        place=row.place,
    )
    tip = NewTip(
        draft,
        receipt_code=receipt_code,
        province_code=intake.province_code,
        remote=remote,
        agency_code=unit,
        received_at=row.received_at,
        due=due,
        next_due_at=next_due,
        at_risk_at=at_risk_moment(row.received_at, next_due, policy.at_risk_fraction),
        policy_version=policy.version,
    )
    return ImportedTip(row, tip, stage, reached, next_due, tip.at_risk_at, tuple(moves))


class ImportWriter(Protocol):
    async def known_refs(self, unit: str, refs: Sequence[str]) -> set[str]: ...

    async def import_tips(
        self, tips: Sequence[ImportedTip], *, unit: str, actor: str, entered_at: datetime
    ) -> list[int]: ...


class ImportUnitOfWork(RegistrationUnitOfWork, Protocol):
    @property
    def imports(self) -> ImportWriter: ...


class ImportService:
    """Check a register's rows, then write them all in one transaction (or show the plan)."""

    def __init__(
        self, intake: TipIntake, uow_factory: Callable[[], ImportUnitOfWork], new_code: Callable[[], str]
    ) -> None:
        self.intake = intake
        self._uow = uow_factory
        self._new_code = new_code

    async def run(self, rows: Sequence[ImportRow], *, unit: str, actor: str, dry_run: bool) -> ImportPlan:
        """Every row checked first; with any problem nothing is written and ImportRefused
        lists them all (a dry run returns them in the plan instead)."""
        now = self.intake.clock()
        problems: list[RowProblem] = []
        seen: dict[str, int] = {}
        areas: dict[str, bool] = {}
        async with self._uow() as uow:
            if not await uow.agencies.exists(unit):
                raise InvalidInput(f"unknown unit {unit}")
            policy = await self.intake.reference.current_policy(uow)
        decided: list[ImportedTip] = []
        deadlines = Deadlines(policy, self.intake.calendar)
        for row in rows:
            try:
                clean = check_row(row, now)
                if clean.external_ref in seen:
                    raise InvalidInput(
                        f"reference {clean.external_ref} repeats row {seen[clean.external_ref]}"
                    )
                seen[clean.external_ref] = row.number
                if clean.commune_code is not None and clean.commune_code not in areas:
                    areas[clean.commune_code] = await self.intake.check_area(clean.commune_code)
                decided.append(
                    decide(
                        clean,
                        intake=self.intake,
                        policy=policy,
                        unit=unit,
                        remote=areas.get(clean.commune_code or "", False),
                        receipt_code=self._new_code(),
                        deadlines=deadlines,
                    )
                )
            except (InvalidInput, IllegalTransition) as exc:
                problems.append(RowProblem(row.number, str(exc)))
        async with self._uow() as uow:
            known = await uow.imports.known_refs(unit, [d.row.external_ref for d in decided])
        skipped = tuple(d.row for d in decided if d.row.external_ref in known)
        create = tuple(d for d in decided if d.row.external_ref not in known)
        plan = ImportPlan(create, skipped, tuple(problems))
        if dry_run:
            return plan
        if problems:
            raise ImportRefused(problems)
        if not create:
            return plan
        async with self._uow() as uow:
            ids = await uow.imports.import_tips(create, unit=unit, actor=actor, entered_at=now)
            await uow.audit.record(
                actor=actor, action="import", tip_id=None, at=now, detail=f"{len(ids)} tips into {unit}"
            )
            await uow.commit()
        return ImportPlan(create, skipped, (), tuple(ids))
