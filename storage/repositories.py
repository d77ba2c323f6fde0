"""SQLAlchemy implementations of the ports in `core.ports`."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.areas import Area
from core.categories import Category, Channel
from core.dashboard import Dashboard
from core.errors import Conflict, DuplicateKey, NotFound, Unstorable
from core.jurisdiction import Jurisdiction
from core.kpi import KpiReport, KpiScope, Period, whole_seconds
from core.messages import AttachmentMeta, Author, Credentials, Message
from core.officers import Officer, Role
from core.ports import AuditEntry, AuditFilter
from core.queue import QueueFilter, QueueItem, QueuePage
from core.routing import OWNER_BY_CATEGORY, AgencyKind, RoutingPolicy
from core.sessions import StaffSession
from core.sla import DeadlinePolicy, Rule, Unit
from core.stages import TERMINAL, Stage
from core.tips import NewTip, StaffNote, Tip, TipChange, TransitionRecord, TriageDecision, creation_record
from core.triage_feedback import Correction, CorrectionShare
from storage import token_rows, triage_feedback
from storage.dashboard_query import (
    add_closed_tip,
    count_week,
    custom_plans,
    dashboard,
    kpi_report,
    week_totals,
)
from storage.db import describe_error
from storage.kpi_query import DUE, REACHED
from storage.mapping import from_row
from storage.models import (
    AgencyRow,
    AreaRow,
    AttachmentRow,
    AuditRow,
    OfficerRow,
    PolicyRow,
    RoutingRuleRow,
    RuleRow,
    StaffSessionRow,
    TipKeyRow,
    TipMessageRow,
    TipNoteRow,
    TipRow,
    TransitionRow,
    TriageDecisionRow,
)
from storage.new_tips import insert_new_tips
from storage.notifications import SqlNotificationRepository
from storage.registrations import SqlRegistrationRepository
from storage.scoping import within_where
from storage.sealed import KeySource, SealedTip, TipCipher, open_triage
from storage.tip_import import SqlImportWriter

log = logging.getLogger(__name__)


def _refused_value(exc: DBAPIError) -> bool:
    """A statement refused for a value in it (SQLSTATE class 22, "data exception": a NUL,
    a date out of range, a string too long), not for the connection or the server."""
    return isinstance(exc, DataError) or str(getattr(exc.orig, "sqlstate", "") or "").startswith("22")


def tip_from_row(row: TipRow, text: str, place: str | None, triage: dict[str, Any] | None = None) -> Tip:
    """The tip of a row, with its text, place and triage proposal as decrypted
    (`TipCipher.open_tip`, `open_triage`); without `triage`, the proposal's clear codes."""
    reached = {Stage.RECEIVED: row.received_at}
    for stage, column in REACHED.items():
        value = getattr(row, column.key)
        if value is not None:
            reached[stage] = value
    return Tip(
        id=row.id,
        receipt_code=row.receipt_code,
        text=text,
        channel=Channel(row.channel),
        category=Category(row.category) if row.category else None,
        urgent=row.urgent,
        language=row.language,
        province_code=row.province_code,
        commune_code=row.commune_code,
        remote=row.remote,
        agency_code=row.agency_code,
        stage=Stage(row.stage),
        received_at=row.received_at,
        reached=reached,
        due={stage: getattr(row, column.key) for stage, column in DUE.items()},
        extensions=row.extensions,
        policy_version=row.policy_version,
        version=row.version,
        duplicate_of=row.duplicate_of,
        place=place,
        triage=row.triage if triage is None else triage,
        forgotten_at=row.forgotten_at,
    )


def _tip_values(tip: NewTip, sealed: SealedTip) -> dict[str, Any]:
    """The `tips` row of a new tip, as INSERT parameters: text and place as `sealed` has
    them (ciphertexts)."""
    draft = tip.draft
    return {
        "receipt_code": tip.receipt_code,
        "text": sealed.text,
        "channel": draft.channel.value,
        "category": draft.category.value if draft.category else None,
        "urgent": draft.urgent,
        "language": draft.language,
        "place": sealed.place,
        "occurred_at": draft.occurred_at,
        "province_code": tip.province_code,
        "commune_code": draft.commune_code,
        "remote": tip.remote,
        "agency_code": tip.agency_code,
        "stage": Stage.RECEIVED.value,
        "received_at": tip.received_at,
        "verified_due_at": tip.due[Stage.VERIFIED],
        "classified_due_at": tip.due[Stage.CLASSIFIED],
        "processed_due_at": tip.due[Stage.PROCESSED],
        "next_due_at": tip.next_due_at,
        "at_risk_at": tip.at_risk_at,
        "extensions": 0,
        "policy_version": tip.policy_version,
        "version": 1,
        "updated_at": tip.received_at,
        "passphrase_hash": tip.passphrase_hash,
        "triage": sealed.triage,
        "triage_sealed": sealed.triage_sealed,
    }


def _history_values(record: TransitionRecord) -> dict[str, Any]:
    return {
        "tip_id": record.tip_id,
        "action": record.action,
        "from_stage": record.from_stage.value if record.from_stage else None,
        "to_stage": record.to_stage.value,
        "actor": record.actor,
        "at": record.at,
        "reason": record.reason,
        "to_agency": record.to_agency,
        "details": dict(record.details),
    }


async def tip_keys(session: AsyncSession, cipher: TipCipher, tip_ids: Collection[int]) -> dict[int, bytes]:
    """The tips' data keys, unwrapped (tips without a key are left out)."""
    if not tip_ids:
        return {}
    rows = await session.execute(
        sa.select(TipRow.id, TipRow.receipt_code, TipKeyRow.wrapped_key, TipKeyRow.key_id)
        .join(TipKeyRow, TipKeyRow.tip_id == TipRow.id)
        .where(TipRow.id.in_(sorted(tip_ids)))
    )
    return {int(r.id): cipher.data_key(r.receipt_code, r.wrapped_key, r.key_id) for r in rows}


async def tip_key(session: AsyncSession, cipher: TipCipher, tip_id: int) -> bytes:
    keys = await tip_keys(session, cipher, [tip_id])
    if tip_id not in keys:
        raise NotFound(f"no tip {tip_id}")
    return keys[tip_id]


class SqlTipRepository:
    def __init__(self, session: AsyncSession, cipher: TipCipher) -> None:
        self.session = session
        self.cipher = cipher

    async def add_many(self, tips: Sequence[NewTip]) -> list[int]:
        """The tips, the first line of each one's history and the weekly counts, by
        statements compiled once whatever the batch size (storage/new_tips.py): one on
        PostgreSQL, three on SQLite. A batch of intake costs about what one tip did."""
        if not tips:
            return []
        sealed = [self.cipher.seal_tip(t.receipt_code, t.draft.text, t.draft.place, t.triage) for t in tips]
        rows = [_tip_values(tip, seal) for tip, seal in zip(tips, sealed, strict=True)]
        keys = [
            {"receipt_code": t.receipt_code, "key_id": seal.key_id, "wrapped_key": seal.wrapped_key}
            for t, seal in zip(tips, sealed, strict=True)
        ]
        tokens = [
            {"receipt_code": t.receipt_code, "token": token}
            for t, seal in zip(tips, sealed, strict=True)
            for token in seal.tokens
        ]
        created = [
            {**_history_values(creation_record(tip, 0)), "receipt_code": tip.receipt_code} for tip in tips
        ]
        weeks = week_totals(
            (t.received_at, t.province_code, t.agency_code, t.draft.commune_code, row["category"], 1)
            for t, row in zip(tips, rows, strict=True)
        )
        # No savepoint: a taken receipt code aborts the transaction and the service retries
        # it whole (45 random bits make that almost never happen).
        try:
            by_code = await insert_new_tips(self.session, rows, created, weeks, keys, tokens)
        except IntegrityError as exc:
            if "receipt_code" in str(exc.orig):
                raise DuplicateKey("receipt code taken") from None
            # A constraint one tip breaks (an owner that does not exist): that tip fails
            # alone, found as a refused value is, by writing the batch tip by tip.
            log.error("a batch of new tips broke a constraint (%s)", describe_error(exc))
            raise Unstorable("a value in this tip could not be stored") from None
        except (DBAPIError, ValueError, OverflowError) as exc:
            if isinstance(exc, DBAPIError) and not _refused_value(exc):
                raise  # the connection or the server: the whole batch fails and is retried
            # A value the database (or its encoding) refuses: nothing was written, and the
            # writer finds the tip carrying it by writing the batch's tips one at a time.
            # The error's type only: its text would quote the tips.
            orig = exc.orig if isinstance(exc, DBAPIError) else exc
            log.error("a batch of new tips was refused by the database (%s)", type(orig).__name__)
            raise Unstorable("a value in this tip could not be stored") from None
        return [by_code[tip.receipt_code] for tip in tips]

    async def open_among(self, ids: Collection[int], *, received_since: datetime) -> set[int]:
        if not ids:
            return set()
        rows = await self.session.execute(
            sa.select(TipRow.id).where(
                TipRow.id.in_(sorted(ids)),
                TipRow.received_at >= received_since,
                TipRow.stage.not_in([s.value for s in TERMINAL]),
            )
        )
        return {int(tip_id) for tip_id in rows.scalars()}

    async def open_since(self, *, after_id: int, received_since: datetime, limit: int) -> Sequence[int]:
        rows = await self.session.scalars(
            sa.select(TipRow.id)
            .where(
                TipRow.id > after_id,
                TipRow.received_at >= received_since,
                TipRow.stage.not_in([s.value for s in TERMINAL]),
            )
            .order_by(TipRow.id)
            .limit(limit)
        )
        return [int(tip_id) for tip_id in rows]

    async def texts(self, ids: Collection[int]) -> dict[int, tuple[str, datetime]]:
        if not ids:
            return {}
        rows = (
            await self.session.execute(
                # A tip the retention rules forgot has no text left (nor a key to open it).
                sa.select(TipRow.id, TipRow.receipt_code, TipRow.text, TipRow.received_at).where(
                    TipRow.id.in_(sorted(ids)), TipRow.forgotten_at.is_(None)
                )
            )
        ).all()
        keys = await tip_keys(self.session, self.cipher, [r.id for r in rows])
        return {
            int(r.id): (self.cipher.open_tip(keys[r.id], r.receipt_code, r.text, None)[0], r.received_at)
            for r in rows
        }

    async def record_decisions(
        self, tip_id: int, decisions: Sequence[TriageDecision], *, actor: str, at: datetime
    ) -> None:
        self.session.add_all(
            TriageDecisionRow(
                tip_id=tip_id, field=d.field, proposed=d.proposed, decided=d.decided, actor=actor, at=at
            )
            for d in decisions
        )
        await self.session.flush()

    async def correction_shares(
        self, start: datetime, end: datetime, within: Jurisdiction | None = None
    ) -> list[CorrectionShare]:
        return await triage_feedback.correction_shares(self.session, start, end, within)

    async def corrections(self, start: datetime, end: datetime) -> list[Correction]:
        return await triage_feedback.corrections(self.session, start, end, self.texts)

    async def get(self, tip_id: int, within: Jurisdiction | None = None) -> Tip:
        row = await self.session.scalar(
            sa.select(TipRow)
            .where(TipRow.id == tip_id, *within_where(within))
            .execution_options(populate_existing=True)
        )
        if row is None:
            raise NotFound(f"no tip {tip_id}")
        return await self.opened(row)

    async def opened(self, row: TipRow) -> Tip:
        """The row's tip, its text and place decrypted (empty once the retention rules forgot
        them: their data key is destroyed)."""
        if row.forgotten_at is not None:
            return tip_from_row(row, "", None)
        key = await tip_key(self.session, self.cipher, row.id)
        text, place = self.cipher.open_tip(key, row.receipt_code, row.text, row.place)
        return tip_from_row(
            row, text, place, open_triage(key, row.receipt_code, row.triage, row.triage_sealed)
        )

    async def queue(self, within: Jurisdiction, query: QueueFilter, now: datetime) -> QueuePage:
        """One page in the queue's order. The order is read in segments (see
        `queue_segments`), each one range of the queue indexes walked in index order, so a
        page costs a few index probes whatever its depth and the table's size."""
        matching = await self._matching(self.cipher.search_tokens(query.text)) if query.text else None
        where = [*within_where(within), *queue_where(query, now, matching)]
        await custom_plans(self.session)  # a search's best plan depends on its words
        rows: list[Any] = []
        for segment in queue_segments(query):
            rows += (
                await self.session.execute(
                    sa.select(*QUEUE_COLUMNS)
                    .where(*where, *segment)
                    .order_by(TipRow.urgent.desc(), TipRow.next_due_at.asc().nulls_last(), TipRow.id)
                    .limit(query.limit + 1 - len(rows))
                )
            ).all()
            if len(rows) > query.limit:
                break
        items = tuple(
            QueueItem(
                id=r.id,
                stage=Stage(r.stage),
                category=Category(r.category) if r.category else None,
                urgent=bool(r.urgent),
                commune_code=r.commune_code,
                agency_code=r.agency_code,
                received_at=r.received_at,
                next_due_at=r.next_due_at,
                at_risk_at=r.at_risk_at,
                proposed_category=_category_or_none(r.proposed_category),
                proposed_urgent=bool(r.proposed_urgent),
            )
            for r in rows[: query.limit]
        )
        more = len(rows) > query.limit
        return QueuePage(items, items[-1].cursor if more and items else None)

    async def _matching(self, search: Sequence[tuple[int, ...]]) -> list[sa.ColumnElement[bool]]:
        """The search's conditions: every word's tokens among the tip's. Each word's tips are
        read first, up to `SEARCH_IDS_CAP` (storage.token_rows says where tokens are): a word
        no tip holds answers at once, and the words fewer tips hold give complete lists,
        intersected here, so the database looks those tips up instead of walking the queue
        and probing each tip (a second for a typo at a million tips). Only the common words
        are left to the database as conditions (on PostgreSQL one, on the tip's one row)."""
        if not search:
            return [sa.false()]
        pg = token_rows.is_postgresql(self.session)
        listed: set[int] | None = None
        common: list[tuple[int, ...]] = []
        for tokens in search:
            rows = list(await self.session.scalars(token_rows.holding(tokens, pg).limit(SEARCH_IDS_CAP)))
            if len(rows) >= SEARCH_IDS_CAP:  # maybe more: left as a condition
                common.append(tokens)
                continue
            listed = set(rows) if listed is None else listed.intersection(rows)
            if not listed:
                return [sa.false()]
        where: list[sa.ColumnElement[bool]] = [] if listed is None else [TipRow.id.in_(sorted(listed))]
        if pg and common:  # one row a tip: all the common words in one probe of it
            return [*where, TipRow.id.in_(token_rows.holding_every(common))]
        return where + [TipRow.id.in_(token_rows.holding(tokens, pg)) for tokens in common]

    async def apply_change(self, tip: Tip, change: TipChange) -> None:
        values: dict[str, Any] = {
            "stage": change.stage.value,
            "category": change.category.value if change.category else None,
            "urgent": change.urgent,
            "agency_code": change.agency_code,
            "next_due_at": change.next_due_at,
            "at_risk_at": change.at_risk_at,
            "extensions": change.extensions,
            "duplicate_of": change.duplicate_of,
            "version": tip.version + 1,
            "updated_at": change.changed_at,
        }
        for stage, column in REACHED.items():
            reached = change.reached.get(stage)
            values[column.key] = reached
            values[f"{stage.value}_secs"] = (
                None if reached is None else whole_seconds(tip.received_at, reached)
            )
        for stage, column in DUE.items():
            values[column.key] = change.due[stage]
        result = await self.session.execute(
            sa.update(TipRow)
            .where(TipRow.id == tip.id, TipRow.version == tip.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("someone else changed this tip at the same moment; reload it and decide again")
        # The dashboard's rollups (storage.dashboard_query), in the same transaction.
        category = change.category.value if change.category else None
        old_category = tip.category.value if tip.category else None
        if (change.agency_code, category) != (tip.agency_code, old_category):
            for agency, kind, delta in (
                (tip.agency_code, old_category, -1),
                (change.agency_code, category, 1),
            ):
                await count_week(
                    self.session,
                    received_at=tip.received_at,
                    province_code=tip.province_code,
                    agency_code=agency,
                    commune_code=tip.commune_code,
                    category=kind,
                    delta=delta,
                )
        if change.stage in TERMINAL and tip.stage not in TERMINAL:
            await add_closed_tip(self.session, tip.id)

    async def add_history(self, record: TransitionRecord) -> None:
        self.session.add(TransitionRow(**_history_values(record)))
        await self.session.flush()

    async def history(self, tip_id: int) -> Sequence[TransitionRecord]:
        rows = await self.session.scalars(
            sa.select(TransitionRow)
            .where(TransitionRow.tip_id == tip_id)
            .order_by(TransitionRow.at, TransitionRow.id)
        )
        return [
            TransitionRecord(
                tip_id=r.tip_id,
                action=r.action,
                from_stage=Stage(r.from_stage) if r.from_stage else None,
                to_stage=Stage(r.to_stage),
                actor=r.actor,
                at=r.at,
                reason=r.reason,
                to_agency=r.to_agency,
                details=dict(r.details or {}),
            )
            for r in rows
        ]

    async def add_note(self, tip_id: int, note: StaffNote) -> None:
        key = await tip_key(self.session, self.cipher, tip_id)
        row = TipNoteRow(tip_id=tip_id, actor=note.actor, text=b"", at=note.at)
        self.session.add(row)
        await self.session.flush()  # the row's id, which its ciphertext is bound to
        row.text = self.cipher.seal_row(key, "tip_notes", row.id, note.text)
        await self.session.flush()

    async def notes(self, tip_id: int) -> Sequence[StaffNote]:
        rows = await self.session.scalars(
            sa.select(TipNoteRow).where(TipNoteRow.tip_id == tip_id).order_by(TipNoteRow.at, TipNoteRow.id)
        )
        found = list(rows)
        if not found:
            return []
        key = await tip_key(self.session, self.cipher, tip_id)
        return [StaffNote(r.actor, self.cipher.open_row(key, "tip_notes", r.id, r.text), r.at) for r in found]

    async def kpi(
        self,
        period: Period,
        scope: KpiScope,
        now: datetime,
        at_risk_fraction: float,
        within: Jurisdiction | None = None,
    ) -> KpiReport:
        """See `storage.kpi_query`. `at_risk_fraction` is already folded into the stored
        `at_risk_at`; the port takes it so a fake repository can compute the same thing."""
        del at_risk_fraction
        return await kpi_report(self.session, period, scope, now, within)

    async def dashboard(self, period: Period, now: datetime, within: Jurisdiction | None = None) -> Dashboard:
        """The KPI dashboard of `period` as of `now`, within a jurisdiction: the KPI report
        (same numbers as `kpi`) plus the charts' data: tips received per week by category
        (whole weeks overlapping the period), on-time share per stage, the cohort's open
        tips by age (`core.dashboard.AGE_BOUNDS_DAYS`) and open/at-risk/overdue tips per
        agency unit. `Dashboard.to_dict()` is JSON-ready. Fast at a million tips: see
        `storage.dashboard_query` and docs/benchmarks.md "Staff queue"."""
        return await dashboard(self.session, period, now, within)


def _category_or_none(value: str | None) -> Category | None:
    """A category triage proposed, if it is one we know (old proposals may name others)."""
    try:
        return Category(value) if value else None
    except ValueError:
        return None


QUEUE_COLUMNS = (
    TipRow.id,
    TipRow.stage,
    TipRow.category,
    TipRow.urgent,
    TipRow.commune_code,
    TipRow.agency_code,
    TipRow.received_at,
    TipRow.next_due_at,
    TipRow.at_risk_at,
    # Triage's proposal, shown as proposed until an officer classifies the tip.
    TipRow.triage["category"].as_string().label("proposed_category"),
    TipRow.triage["urgent"].as_boolean().label("proposed_urgent"),
)


#: A searched word matching fewer tips than this is looked up as a list of tip ids.
SEARCH_IDS_CAP = 1_000


def queue_where(
    query: QueueFilter, now: datetime, matching: Sequence[sa.ColumnElement[bool]] | None = None
) -> list[sa.ColumnElement[bool]]:
    """The filters (urgency and the cursor are `queue_segments`' business); `matching` is
    the text search's conditions (`SqlTipRepository._matching`)."""
    where: list[sa.ColumnElement[bool]] = []
    if query.stage is not None:
        where.append(TipRow.stage == query.stage.value)
    elif not query.include_closed:
        where.append(TipRow.next_due_at.is_not(None))
    if query.category is not None:
        where.append(TipRow.category == query.category.value)
    if query.commune_code is not None:
        where.append(TipRow.commune_code == query.commune_code)
    if query.overdue:
        where.append(TipRow.next_due_at < now)
    if query.text:
        # Whole words, folded (lower case, no diacritics), of the text and the place: a tip
        # matches when it holds every word searched for. The words are compared as keyed
        # hashes (core.blind_index), looked up in the blind index (storage.token_rows). A
        # search with no word in it (only punctuation) finds nothing.
        where += matching if matching is not None else [sa.false()]
    return where


def queue_segments(query: QueueFilter) -> list[list[sa.ColumnElement[bool]]]:
    """The queue's order, urgent first, then nearest `next_due_at` (none last), then id,
    cut into the segments that follow the cursor: (urgent, dated), (urgent, undated),
    (not urgent, dated), (not urgent, undated). Within one segment the order is exactly
    that of the indexes `ix_tips_queue_unit` / `ix_tips_queue_all` (urgent DESC,
    next_due_at, id) and the cursor is a range start on them (`next_due_at >= ...`), so
    PostgreSQL walks the index from the cursor instead of filtering from the top, which
    an OR of the whole keyset condition would make it do."""
    undated_possible = (query.stage is not None or query.include_closed) and not query.overdue
    segments: list[list[sa.ColumnElement[bool]]] = []
    for urgent in (True, False):
        if query.urgent is not None and query.urgent is not urgent:
            continue
        after = query.after
        if after is not None and after.urgent is not urgent:
            if after.urgent is False:
                continue  # an urgent group before the cursor's (non-urgent) group
            after = None  # the whole non-urgent group follows an urgent cursor
        group = TipRow.urgent == (sa.true() if urgent else sa.false())
        dated: list[sa.ColumnElement[bool]] = [group, TipRow.next_due_at.is_not(None)]
        undated: list[sa.ColumnElement[bool]] = [group, TipRow.next_due_at.is_(None)]
        if after is not None and after.next_due_at is None:
            segments.append([*undated, TipRow.id > after.id])
            continue
        if after is not None and after.next_due_at is not None:
            due = after.next_due_at
            dated += [
                TipRow.next_due_at >= due,
                sa.or_(TipRow.next_due_at > due, TipRow.id > after.id),
            ]
        segments.append(dated)
        if undated_possible:
            segments.append(undated)
    return segments


class SqlAreaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def names(self) -> dict[str, str]:
        rows = await self.session.execute(sa.select(AreaRow.code, AreaRow.name))
        return {code: " ".join(name.split()) for code, name in rows}

    async def get(self, code: str) -> Area | None:
        row = await self.session.get(AreaRow, code)
        return None if row is None else area_from_row(row)

    async def communes(self, province_code: str) -> Sequence[Area]:
        rows = await self.session.scalars(
            sa.select(AreaRow)
            .where(AreaRow.province_code == province_code, AreaRow.level == "commune")
            .order_by(AreaRow.search_name, AreaRow.code)
        )
        return [area_from_row(r) for r in rows]


def area_from_row(row: AreaRow) -> Area:
    return from_row(Area, row)


class SqlPolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self) -> DeadlinePolicy:
        version = await self.session.scalar(sa.select(sa.func.max(PolicyRow.version)))
        if version is None:
            raise NotFound("no deadline policy is loaded; run `hotline db upgrade`")
        return await self.version(version)

    async def version(self, version: int) -> DeadlinePolicy:
        rows = (await self.session.scalars(sa.select(RuleRow).where(RuleRow.policy_version == version))).all()
        if not rows:
            raise NotFound(f"no deadline policy version {version}")
        return DeadlinePolicy(version, [Rule(r.key, r.amount, Unit(r.unit), r.note) for r in rows])


class SqlRoutingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self) -> RoutingPolicy:
        rows = await self.session.execute(sa.select(RoutingRuleRow.category, RoutingRuleRow.agency_kind))
        owners = dict(OWNER_BY_CATEGORY)
        owners.update({Category(r.category): AgencyKind(r.agency_kind) for r in rows})
        return RoutingPolicy(owners)

    async def set(self, category: Category, kind: AgencyKind, *, actor: str, at: datetime) -> None:
        values = {"agency_kind": kind.value, "updated_at": at, "updated_by": actor}
        result = await self.session.execute(
            sa.update(RoutingRuleRow).where(RoutingRuleRow.category == category.value).values(**values)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            self.session.add(RoutingRuleRow(category=category.value, **values))
            await self.session.flush()


class SqlAgencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, code: str) -> bool:
        return await self.session.get(AgencyRow, code) is not None

    async def names(self) -> dict[str, str]:
        rows = await self.session.execute(sa.select(AgencyRow.code, AgencyRow.name))
        return {code: name for code, name in rows}


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, *, actor: str, action: str, tip_id: int | None, at: datetime, detail: str = ""
    ) -> None:
        self.session.add(AuditRow(actor=actor, action=action, tip_id=tip_id, at=at, detail=detail))
        await self.session.flush()

    async def recent(
        self, *, before_id: int | None, limit: int, where: AuditFilter | None = None
    ) -> Sequence[AuditEntry]:
        conditions: list[sa.ColumnElement[bool]] = []
        actors: tuple[str, ...] = ()
        if before_id is not None:
            conditions.append(AuditRow.id < before_id)
        if where is not None:
            actors = tuple(where.actors)
            if where.since is not None:
                conditions.append(AuditRow.at >= where.since)
            if where.until is not None:
                conditions.append(AuditRow.at < where.until)
            if where.action is not None:
                conditions.append(AuditRow.action == where.action)
            if where.tip_id is not None:
                conditions.append(AuditRow.tip_id == where.tip_id)
        newest_first = AuditRow.id.desc()
        if len(actors) > 1:
            # One ordered, limited walk of the (actor, id) index per spelling (`lan`,
            # `officer:lan`), merged: PostgreSQL cannot read an IN list from that index in id
            # order, and for a rare name it walked the whole log backwards instead (611 ms at
            # 2M rows; this: 0.1 ms).
            walks = [
                sa.select(AuditRow.id)
                .where(*conditions, AuditRow.actor == actor)
                .order_by(newest_first)
                .limit(limit)
                .subquery()
                for actor in actors
            ]
            ids = sa.union_all(*(sa.select(walk.c.id) for walk in walks)).subquery()
            query = sa.select(AuditRow).where(AuditRow.id.in_(sa.select(ids.c.id)))
        else:
            query = sa.select(AuditRow).where(*conditions, *(AuditRow.actor == a for a in actors))
        query = query.order_by(newest_first).limit(limit)
        rows = await self.session.scalars(query)
        return [AuditEntry(r.id, r.at, r.actor, r.action, r.tip_id, r.detail) for r in rows]


class SqlOfficerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_username(self, username: str) -> Officer | None:
        row = await self.session.scalar(sa.select(OfficerRow).where(OfficerRow.username == username))
        return None if row is None else officer_from_row(row)

    async def get(self, officer_id: int) -> Officer | None:
        row = await self.session.get(OfficerRow, officer_id)
        return None if row is None else officer_from_row(row)

    async def count_failure(self, officer_id: int) -> int:
        count = await self.session.scalar(
            sa.update(OfficerRow)
            .where(OfficerRow.id == officer_id)
            .values(failed_logins=OfficerRow.failed_logins + 1)
            .returning(OfficerRow.failed_logins)
        )
        return int(count or 0)

    async def lock(self, officer_id: int, until: datetime) -> None:
        await self.session.execute(
            sa.update(OfficerRow)
            .where(OfficerRow.id == officer_id)
            .values(locked_until=until, failed_logins=0)
        )

    async def reset_totp(self, officer_id: int) -> None:
        await self.session.execute(
            sa.update(OfficerRow)
            .where(OfficerRow.id == officer_id)
            .values(totp_secret=None, totp_last_step=None, failed_logins=0, locked_until=None)
        )

    async def enrol_totp(self, officer_id: int, secret: str) -> bool:
        result = await self.session.execute(
            sa.update(OfficerRow)
            .where(OfficerRow.id == officer_id, OfficerRow.totp_secret.is_(None))
            .values(totp_secret=secret)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def signed_in(self, officer_id: int, totp_step: int) -> bool:
        result = await self.session.execute(
            sa.update(OfficerRow)
            .where(
                OfficerRow.id == officer_id,
                sa.or_(OfficerRow.totp_last_step.is_(None), OfficerRow.totp_last_step < totp_step),
            )
            .values(failed_logins=0, locked_until=None, totp_last_step=totp_step)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def all(self) -> Sequence[Officer]:
        rows = await self.session.scalars(sa.select(OfficerRow).order_by(OfficerRow.username))
        return [officer_from_row(r) for r in rows]

    async def set_active(self, officer_id: int, active: bool) -> bool:
        result = await self.session.execute(
            sa.update(OfficerRow)
            .where(OfficerRow.id == officer_id, OfficerRow.active != active)
            .values(active=active)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def set_password(self, officer_id: int, password_hash: str) -> None:
        await self.session.execute(
            sa.update(OfficerRow)
            .where(OfficerRow.id == officer_id)
            .values(password_hash=password_hash, failed_logins=0, locked_until=None)
        )

    async def add(
        self,
        *,
        username: str,
        password_hash: str,
        agency_code: str,
        area_code: str,
        role: Role,
        totp_secret: str | None = None,
    ) -> Officer:
        row = OfficerRow(
            username=username,
            password_hash=password_hash,
            agency_code=agency_code,
            area_code=area_code,
            role=role.value,
            totp_secret=totp_secret,
            active=True,
            failed_logins=0,
            created_at=datetime.now(UTC),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            raise DuplicateKey(f"username {username} is taken") from None
        return officer_from_row(row)


def officer_from_row(row: OfficerRow) -> Officer:
    return from_row(Officer, row)


class SqlSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, session: StaffSession) -> None:
        self.session.add(
            StaffSessionRow(
                token_hash=session.token_hash,
                officer_id=session.officer_id,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
            )
        )
        await self.session.flush()

    async def get(self, token_hash: str) -> StaffSession | None:
        row = await self.session.get(StaffSessionRow, token_hash, populate_existing=True)
        if row is None:
            return None
        return StaffSession(row.token_hash, row.officer_id, row.csrf_token, row.created_at, row.last_seen_at)

    async def touch(self, token_hash: str, at: datetime) -> None:
        await self.session.execute(
            sa.update(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash).values(last_seen_at=at)
        )

    async def delete(self, token_hash: str) -> None:
        await self.session.execute(sa.delete(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash))

    async def purge(self, *, idle_since: datetime, created_before: datetime) -> int:
        result = await self.session.execute(
            sa.delete(StaffSessionRow).where(
                sa.or_(StaffSessionRow.last_seen_at < idle_since, StaffSessionRow.created_at < created_before)
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def delete_for(self, officer_id: int) -> int:
        result = await self.session.execute(
            sa.delete(StaffSessionRow).where(StaffSessionRow.officer_id == officer_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def hashes_for(self, officer_id: int) -> list[str]:
        """The officer's sessions (for a cache in front of this table to forget them)."""
        rows = await self.session.scalars(
            sa.select(StaffSessionRow.token_hash).where(StaffSessionRow.officer_id == officer_id)
        )
        return list(rows)


class SqlConversationRepository:
    def __init__(self, session: AsyncSession, cipher: TipCipher) -> None:
        self.session = session
        self.cipher = cipher

    async def credentials(self, receipt_code: str) -> Credentials | None:
        row = (
            await self.session.execute(
                sa.select(
                    TipRow.id, TipRow.passphrase_hash, TipRow.stage, TipRow.received_at, TipRow.forgotten_at
                ).where(TipRow.receipt_code == receipt_code)
            )
        ).one_or_none()
        if row is None:
            return None
        return Credentials(
            row.id, row.passphrase_hash, Stage(row.stage), row.received_at, row.forgotten_at is not None
        )

    async def add_message(self, tip_id: int, message: Message, *, actor: str) -> None:
        key = await tip_key(self.session, self.cipher, tip_id)
        row = TipMessageRow(tip_id=tip_id, author=message.author.value, actor=actor, text=b"", at=message.at)
        self.session.add(row)
        await self.session.flush()  # the row's id, which its ciphertext is bound to
        row.text = self.cipher.seal_row(key, "tip_messages", row.id, message.text)
        await self.session.flush()

    async def messages(self, tip_id: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            sa.select(TipMessageRow)
            .where(TipMessageRow.tip_id == tip_id)
            .order_by(TipMessageRow.at, TipMessageRow.id)
        )
        found = list(rows)
        if not found:
            return []
        key = await tip_key(self.session, self.cipher, tip_id)
        return [
            Message(Author(r.author), self.cipher.open_row(key, "tip_messages", r.id, r.text), r.at)
            for r in found
        ]

    async def add_attachment(self, tip_id: int, meta: AttachmentMeta) -> None:
        self.session.add(
            AttachmentRow(
                tip_id=tip_id,
                storage_key=meta.storage_key,
                media_type=meta.media_type,
                size_bytes=meta.size_bytes,
                sha256=meta.sha256,
                created_at=meta.created_at,
            )
        )
        await self.session.flush()

    async def attachments(self, tip_id: int) -> Sequence[AttachmentMeta]:
        rows = await self.session.scalars(
            sa.select(AttachmentRow).where(AttachmentRow.tip_id == tip_id).order_by(AttachmentRow.id)
        )
        return [
            AttachmentMeta(r.storage_key, r.media_type, r.size_bytes, r.sha256, r.created_at) for r in rows
        ]


class SqlUnitOfWork:
    """One session, one transaction; rolled back unless committed."""

    tips: SqlTipRepository
    areas: SqlAreaRepository
    policies: SqlPolicyRepository
    agencies: SqlAgencyRepository
    officers: SqlOfficerRepository
    audit: SqlAuditLog
    conversation: SqlConversationRepository
    sessions: SqlSessionRepository
    routing: SqlRoutingRepository
    notifications: SqlNotificationRepository
    registrations: SqlRegistrationRepository
    imports: SqlImportWriter

    def __init__(self, sessions: async_sessionmaker[AsyncSession], keys: KeySource) -> None:
        self._sessions = sessions
        self.cipher = TipCipher(keys)

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.tips = SqlTipRepository(self.session, self.cipher)
        self.areas = SqlAreaRepository(self.session)
        self.policies = SqlPolicyRepository(self.session)
        self.agencies = SqlAgencyRepository(self.session)
        self.officers = SqlOfficerRepository(self.session)
        self.audit = SqlAuditLog(self.session)
        self.conversation = SqlConversationRepository(self.session, self.cipher)
        self.sessions = SqlSessionRepository(self.session)
        self.routing = SqlRoutingRepository(self.session)
        self.notifications = SqlNotificationRepository(self.session)
        self.registrations = SqlRegistrationRepository(self.session)
        self.imports = SqlImportWriter(self.session, self.registrations, self.notifications, self.cipher)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
