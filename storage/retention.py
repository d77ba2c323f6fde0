"""Forgetting closed tips' personal data on schedule (the rules in `retention_rules`).

One function per kind of data does the forgetting (`forget_content`, `forget_chats`,
`forget_informants`); everything else here finds the tips the rules select. A batch is
claimed by the write that forgets it (`... WHERE forgotten_at IS NULL`), so two runs at
once never forget a tip twice nor fail, and a run stopped half-way resumes where it was.
Files are deleted after the commit; a crash between leaves orphans `hotline files sweep`
removes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.calendar import VN_TZ
from core.retention import ANY, Data, RetentionRule, RuleOutcome, Selector, selectors
from storage import token_rows
from storage.files import DirectoryStore
from storage.models import (
    AttachmentRow,
    AuditRow,
    ChatNoticeRow,
    RetentionRuleRow,
    TipInformantRow,
    TipKeyRow,
    TipMessageRow,
    TipNoteRow,
    TipRegistrationRow,
    TipRow,
    TransitionRow,
)

ACTOR = "retention"
#: What a forgotten tip's triage proposal keeps: codes, none of the text's words or place
#: (its sealed part, `triage_sealed`, is dropped with the data key that opened it).
TRIAGE_KEPT = ("language", "category", "urgent")


class SqlRetentionRules:
    """The rules table: read them all, set one (insert or replace)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def all(self) -> list[RetentionRule]:
        async with self._sessions() as session:
            rows = await session.scalars(
                sa.select(RetentionRuleRow).order_by(
                    RetentionRuleRow.data, RetentionRuleRow.outcome, RetentionRuleRow.category
                )
            )
            return [RetentionRule(Data(r.data), r.outcome, r.category, r.days) for r in rows]

    async def set(self, rule: RetentionRule, *, actor: str, at: datetime) -> None:
        """Insert or replace the rule for its (data, outcome, category); audited."""
        async with self._sessions() as session, session.begin():
            found = await session.scalar(
                sa.select(RetentionRuleRow).where(
                    RetentionRuleRow.data == rule.data.value,
                    RetentionRuleRow.outcome == rule.outcome,
                    RetentionRuleRow.category == rule.category,
                )
            )
            if found is None:
                session.add(
                    RetentionRuleRow(
                        data=rule.data.value,
                        outcome=rule.outcome,
                        category=rule.category,
                        days=rule.days,
                        updated_at=at,
                        updated_by=actor,
                    )
                )
            else:
                found.days, found.updated_at, found.updated_by = rule.days, at, actor
            days = "mặc định" if rule.days is None else f"{rule.days} ngày"
            detail = f"{rule.key} · {days}"
            session.add(AuditRow(actor=actor, action="retention_rule", tip_id=None, at=at, detail=detail))


# ---- the one place per kind of data that forgets --------------------------------------------


async def forget_content(
    session: AsyncSession, tip_ids: Sequence[int], now: datetime
) -> tuple[list[tuple[int, str]], list[str]]:
    """Forget everything a person wrote or is named in, for the tips of `tip_ids` not yet
    forgotten: text, place, time of the event, search text, triage's words, the thread,
    notes, free-text reasons, attachment rows, the blind index's words, the tip's data key,
    chat links and a named informant. Returns
    the (id, receipt code) forgotten and the attachment keys whose files the caller deletes
    after the commit. Stage times, category, commune, channel and transitions stay."""
    if not tip_ids:
        return [], []
    claimed = (
        await session.execute(
            sa.update(TipRow)
            .where(TipRow.id.in_(tip_ids), TipRow.forgotten_at.is_(None))
            .values(
                forgotten_at=now,
                text=b"",
                place=None,
                triage_sealed=None,
                occurred_at=None,
                version=TipRow.version + 1,
            )
            .returning(TipRow.id, TipRow.receipt_code, TipRow.triage)
        )
    ).all()
    if not claimed:
        return [], []
    ids = [row.id for row in claimed]
    for row in claimed:
        if row.triage:
            kept = {k: row.triage[k] for k in TRIAGE_KEPT if k in row.triage}
            await session.execute(sa.update(TipRow).where(TipRow.id == row.id).values(triage=kept))
    # Deleted: SQLite's secure_delete zeroes the freed space; on PostgreSQL VACUUM reclaims
    # the old row versions (docs/security.md, "Retention").
    for table in (TipMessageRow, TipNoteRow):
        await session.execute(sa.delete(table).where(table.tip_id.in_(ids)))
    await session.execute(
        sa.update(TransitionRow)
        .where(TransitionRow.tip_id.in_(ids), TransitionRow.reason != "")
        .values(reason="")
    )
    await session.execute(
        sa.update(TipRegistrationRow).where(TipRegistrationRow.tip_id.in_(ids)).values(late_reason=None)
    )
    keys = list(
        (
            await session.scalars(sa.select(AttachmentRow.storage_key).where(AttachmentRow.tip_id.in_(ids)))
        ).all()
    )
    await session.execute(sa.delete(AttachmentRow).where(AttachmentRow.tip_id.in_(ids)))
    # The blind index's words, then the tip's data key: whatever ciphertext of this tip a
    # backup or an old row version still holds can no longer be opened (crypto-shredding).
    await token_rows.delete(session, ids)
    await session.execute(sa.delete(TipKeyRow).where(TipKeyRow.tip_id.in_(ids)))
    await forget_chats(session, ids)
    await forget_informants(session, ids)
    return [(row.id, row.receipt_code) for row in claimed], keys


async def forget_chats(session: AsyncSession, tip_ids: Sequence[int]) -> list[int]:
    """Delete the reply-notice consents (chat hash and encrypted chat id) of these tips:
    the only rows that tie a chat to a tip. Returns the tips that had one."""
    if not tip_ids:
        return []
    gone = await session.execute(
        sa.delete(ChatNoticeRow).where(ChatNoticeRow.tip_id.in_(tip_ids)).returning(ChatNoticeRow.tip_id)
    )
    return sorted(set(gone.scalars()))


async def forget_informants(session: AsyncSession, tip_ids: Sequence[int]) -> list[int]:
    """Delete named informants' sealed identities (ciphertexts and their wrapped data key:
    a copy of the ciphertexts elsewhere can no longer be opened). Returns the tips."""
    if not tip_ids:
        return []
    gone = await session.execute(
        sa.delete(TipInformantRow)
        .where(TipInformantRow.tip_id.in_(tip_ids))
        .returning(TipInformantRow.tip_id)
    )
    return sorted(set(gone.scalars()))


# ---- finding what the rules select ----------------------------------------------------------


def _closed_at() -> Any:
    """When the tip reached its closing stage (its newest move into it)."""
    return (
        sa.select(sa.func.max(TransitionRow.at))
        .where(TransitionRow.tip_id == TipRow.id, TransitionRow.to_stage == TipRow.stage)
        .scalar_subquery()
    )


def _selected(selector: Selector, data: Data) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [TipRow.stage == selector.outcome, _closed_at() <= selector.cutoff]
    if selector.category is not None:
        where.append(TipRow.category == selector.category)
    elif selector.excluded:
        where.append(sa.or_(TipRow.category.is_(None), TipRow.category.not_in(selector.excluded)))
    if data is Data.CONTENT:
        where.append(TipRow.forgotten_at.is_(None))
    # Chat links and informants are few: the query starts from their table, not from
    # every closed tip.
    elif data is Data.CHATS:
        where.append(TipRow.id.in_(sa.select(ChatNoticeRow.tip_id)))
    else:
        where.append(TipRow.id.in_(sa.select(TipInformantRow.tip_id)))
    return where


async def _candidates(
    sessions: async_sessionmaker[AsyncSession], selector: Selector, data: Data, after: int, limit: int
) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(
            sa.select(TipRow.id, TipRow.receipt_code)
            .where(TipRow.id > after, *_selected(selector, data))
            .order_by(TipRow.id)
            .limit(limit)
        )
        return [(r.id, r.receipt_code) for r in rows]


@dataclass
class RunReport:
    as_of: datetime
    dry_run: bool
    outcomes: list[RuleOutcome]

    @property
    def total(self) -> int:
        return sum(len(o.tips) for o in self.outcomes)


async def run_retention(
    engine: AsyncEngine,
    store: DirectoryStore,
    rules: Sequence[RetentionRule],
    *,
    now: datetime,
    processed_days: int,
    batch: int = 500,
    dry_run: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> RunReport:
    """Apply every rule as of `now` (content first: it also drops chats and informants).
    Each rule that forgot something is audited with its key and count, never a tip's
    content; the run itself is audited too. A dry run reads and changes nothing."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    outcomes: list[RuleOutcome] = []
    for data in (Data.CONTENT, Data.CHATS, Data.INFORMANT):
        for selector in selectors(rules, data, now, processed_days):
            found = await _apply(sessions, store, selector, data, now, batch, dry_run)
            if found:
                outcomes.append(RuleOutcome(selector.rule, tuple(found)))
    merged = _merge(outcomes)
    if not dry_run:
        at = (clock or (lambda: now))()
        async with sessions() as session, session.begin():
            for outcome in merged:
                detail = f"{outcome.rule.audit_detail(processed_days)} · {len(outcome.tips)} tin báo"
                session.add(
                    AuditRow(actor=ACTOR, action="retention_forget", tip_id=None, at=at, detail=detail)
                )
            total = sum(len(o.tips) for o in merged)
            session.add(
                AuditRow(
                    actor=ACTOR,
                    action="retention_run",
                    tip_id=None,
                    at=at,
                    detail=f"tính đến {now.astimezone(VN_TZ):%d/%m/%Y %H:%M} · {total} tin báo",
                )
            )
        if engine.dialect.name == "sqlite":
            async with engine.connect() as conn:  # old pages out of the WAL file too
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return RunReport(now, dry_run, merged)


def _merge(outcomes: list[RuleOutcome]) -> list[RuleOutcome]:
    """One outcome per rule (a rule may be queried once per outcome or category)."""
    by_rule: dict[str, RuleOutcome] = {}
    for o in outcomes:
        prior = by_rule.get(o.rule.key)
        by_rule[o.rule.key] = o if prior is None else RuleOutcome(o.rule, prior.tips + o.tips)
    return list(by_rule.values())


async def _apply(
    sessions: async_sessionmaker[AsyncSession],
    store: DirectoryStore,
    selector: Selector,
    data: Data,
    now: datetime,
    batch: int,
    dry_run: bool,
) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    after = 0
    while True:
        # Read in a transaction of its own: the write below then starts its transaction
        # (SQLite takes the write lock waiting its turn, never failing on a stale snapshot).
        candidates = await _candidates(sessions, selector, data, after, batch)
        if not candidates:
            return found
        after = candidates[-1][0]
        if dry_run:
            found.extend(candidates)
            continue
        codes = dict(candidates)
        ids = list(codes)
        keys: list[str] = []
        async with sessions() as session, session.begin():
            if data is Data.CONTENT:
                done, keys = await forget_content(session, ids, now)
                found.extend(done)
            elif data is Data.CHATS:
                found.extend((i, codes[i]) for i in await forget_chats(session, ids))
            else:
                found.extend((i, codes[i]) for i in await forget_informants(session, ids))
        for key in keys:
            await store.delete(key)
        await asyncio.sleep(0)


def describe_rules(rules: Sequence[RetentionRule], processed_days: int) -> list[list[str]]:
    """Rows for `hotline retention rules`."""
    return [
        [
            r.data.value,
            r.outcome if r.outcome != ANY else "* (any)",
            r.category if r.category != ANY else "* (any)",
            f"{processed_days} (default)" if r.days is None else str(r.days),
        ]
        for r in rules
    ]
