"""`hotline keys check` and `hotline keys rotate`: every sealed value opened, or every data
key wrapped again under a new master key, a batch (one short transaction) at a time.

What is sealed under the master key: tips' data keys (`tip_keys`, which open the text,
place, messages, notes and triage's reasons, and whose words the blind index hashes), named
informants (`tip_informants`), support cases' contacts and messages (each with its own data
key), and attachment files. A rotation wraps each
data key again (the ciphertexts do not change) and re-hashes each tip's words under the new
index key; servers given both keys meanwhile read either (core.envelope.Envelope).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core import blind_index
from core.envelope import Envelope, EnvelopeError, Place
from core.registration import SealedInformant, open_informant, seal_informant
from storage import token_rows
from storage.db import session_factory
from storage.files import DirectoryStore, file_key_id, open_file, rewrap_file
from storage.models import TipInformantRow, TipKeyRow, TipMessageRow, TipNoteRow, TipRow
from storage.sealed import (
    TipCipher,
    key_place,
    open_standalone,
    open_triage,
    rewrap_standalone,
    support_message_place,
    support_place,
)
from storage.support_tables import SupportCaseRow
from storage.support_tables import SupportMessageRow as M

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class KeyReport:
    """How many sealed values were looked at, and how many failed, by kind."""

    checked: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    #: (kind, record) of the first failures, for the operator (ids, never contents).
    examples: list[str] = field(default_factory=list)

    def count(self, kind: str, ok: bool, record: object) -> None:
        self.checked[kind] = self.checked.get(kind, 0) + 1
        if not ok:
            self.failed[kind] = self.failed.get(kind, 0) + 1
            if len(self.examples) < 20:
                self.examples.append(f"{kind} {record}")

    @property
    def failures(self) -> int:
        return sum(self.failed.values())


def _opens(fn: Callable[..., object], *args: object) -> bool:
    try:
        fn(*args)
    except (EnvelopeError, UnicodeDecodeError, ValueError):
        return False
    return True


async def check(engine: AsyncEngine, envelope: Envelope, store: DirectoryStore) -> KeyReport:
    """Open every sealed value; a value that does not open is counted, never shown."""
    report = KeyReport()
    cipher = TipCipher(lambda: envelope)
    sessions = session_factory(engine)
    last = 0
    while True:
        async with sessions() as session:
            rows = (
                await session.execute(
                    sa.select(
                        TipRow.id,
                        TipRow.receipt_code,
                        TipRow.text,
                        TipRow.place,
                        TipRow.triage_sealed,
                        TipKeyRow.wrapped_key,
                    )
                    .outerjoin(TipKeyRow, TipKeyRow.tip_id == TipRow.id)
                    # A tip the retention rules forgot has nothing sealed left (its key is gone).
                    .where(TipRow.id > last, TipRow.forgotten_at.is_(None))
                    .order_by(TipRow.id)
                    .limit(BATCH)
                )
            ).all()
            if not rows:
                break
            last = rows[-1].id
            keys: dict[int, bytes] = {}
            for r in rows:
                try:
                    if r.wrapped_key is None:
                        raise EnvelopeError("no data key")
                    keys[r.id] = cipher.data_key(r.receipt_code, r.wrapped_key)
                    cipher.open_tip(keys[r.id], r.receipt_code, r.text, r.place)
                    report.count("tip", True, r.id)
                except (EnvelopeError, UnicodeDecodeError):
                    report.count("tip", False, r.id)
                if r.triage_sealed is not None:
                    key = keys.get(r.id)
                    ok = key is not None and _opens(open_triage, key, r.receipt_code, None, r.triage_sealed)
                    report.count("tip_triage", ok, r.id)
            for table, row_type in (("tip_messages", TipMessageRow), ("tip_notes", TipNoteRow)):
                found = await session.execute(
                    sa.select(row_type.id, row_type.tip_id, row_type.text).where(
                        row_type.tip_id.in_([r.id for r in rows])
                    )
                )
                for item in found:
                    key = keys.get(item.tip_id)
                    ok = key is not None and _opens(cipher.open_row, key, table, item.id, item.text)
                    report.count(table, ok, item.id)
    async with sessions() as session:
        for row in await session.scalars(sa.select(TipInformantRow)):
            sealed = SealedInformant(row.key_id, row.wrapped_key, row.name, row.phone, row.address)
            report.count("tip_informants", _opens(open_informant, envelope, row.tip_id, sealed), row.tip_id)
        cases = await session.execute(
            sa.select(SupportCaseRow.id, SupportCaseRow.contact_sealed).where(
                SupportCaseRow.contact_sealed.is_not(None)
            )
        )
        for case_id, sealed_contact in cases:
            report.count(
                "support_contacts", _opens(_open_contact, envelope, case_id, sealed_contact), case_id
            )
        last = 0
        while True:
            messages = (
                await session.execute(
                    sa.select(M.id, M.case_id, M.body_sealed)
                    .where(M.id > last, M.body_sealed.is_not(None))
                    .order_by(M.id)
                    .limit(BATCH)
                )
            ).all()
            if not messages:
                break
            last = messages[-1].id
            for m in messages:
                place = support_message_place(m.case_id, m.id)
                report.count(
                    "support_messages", _opens(open_standalone, envelope, place, m.body_sealed), m.id
                )
    for name, path in store.paths():
        report.count("attachments", _opens(open_file, envelope, name, path.read_bytes()), name)
    return report


def _contact_place(case_id: int) -> Place:
    # As hotline/support_wiring.py's EnvelopeSealer binds it.
    return support_place(f"support_case:{case_id}")


def _open_contact(envelope: Envelope, case_id: int, sealed: bytes) -> str:
    return open_standalone(envelope, _contact_place(case_id), sealed)


def _rewrap_contact(envelope: Envelope, case_id: int, sealed: bytes) -> bytes | None:
    """The contact with its key wrapped under the current key; None if it already is."""
    return rewrap_standalone(envelope, _contact_place(case_id), sealed)


@dataclass
class RotationReport:
    tips: int = 0
    informants: int = 0
    contacts: int = 0
    support_messages: int = 0
    files: int = 0


async def rotate(
    engine: AsyncEngine,
    envelope: Envelope,
    store: DirectoryStore,
    *,
    batch: int = BATCH,
    progress: Callable[[str], None] = lambda _: None,
) -> RotationReport:
    """Wrap every data key not yet under `envelope`'s current key again under it, and
    re-hash those tips' words under its index key: `batch` tips per transaction, so the
    service keeps running (its readers hold both keys). Safe to stop and run again."""
    report = RotationReport()
    cipher = TipCipher(lambda: envelope)
    index_key = envelope.index_keys()[0]
    sessions = session_factory(engine)
    last = 0  # keyset on the primary key: each batch starts where the last one ended
    while True:
        async with sessions() as session:
            rows = (
                await session.execute(
                    sa.select(
                        TipRow.id, TipRow.receipt_code, TipRow.text, TipRow.place, TipKeyRow.wrapped_key
                    )
                    .join(TipKeyRow, TipKeyRow.tip_id == TipRow.id)
                    .where(TipKeyRow.key_id != envelope.key_id, TipKeyRow.tip_id > last)
                    .order_by(TipKeyRow.tip_id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                break
            tokens: list[tuple[int, list[int]]] = []
            for r in rows:
                data_key = cipher.data_key(r.receipt_code, r.wrapped_key)
                text, place = cipher.open_tip(data_key, r.receipt_code, r.text, r.place)
                await session.execute(
                    sa.update(TipKeyRow)
                    .where(TipKeyRow.tip_id == r.id)
                    .values(
                        key_id=envelope.key_id, wrapped_key=envelope.wrap(data_key, key_place(r.receipt_code))
                    )
                )
                tokens.append((r.id, blind_index.tokens(index_key, text, place)))
            ids = [r.id for r in rows]
            last = ids[-1]
            await token_rows.delete(session, ids)
            await token_rows.insert(session, tokens)
            await session.commit()
            report.tips += len(rows)
            progress(f"{report.tips} tips")
    async with sessions() as session:
        informants = list(
            await session.scalars(sa.select(TipInformantRow).where(TipInformantRow.key_id != envelope.key_id))
        )
        for row in informants:
            sealed = SealedInformant(row.key_id, row.wrapped_key, row.name, row.phone, row.address)
            again = seal_informant(envelope, row.tip_id, open_informant(envelope, row.tip_id, sealed))
            row.key_id, row.wrapped_key = again.key_id, again.wrapped_key
            row.name, row.phone, row.address = again.name, again.phone, again.address
            report.informants += 1
        cases = (
            await session.execute(
                sa.select(SupportCaseRow.id, SupportCaseRow.contact_sealed).where(
                    SupportCaseRow.contact_sealed.is_not(None)
                )
            )
        ).all()
        for case_id, sealed_contact in cases:
            again_contact = _rewrap_contact(envelope, case_id, sealed_contact)
            if again_contact is not None:
                await session.execute(
                    sa.update(SupportCaseRow)
                    .where(SupportCaseRow.id == case_id)
                    .values(contact_sealed=again_contact)
                )
                report.contacts += 1
        await session.commit()
    last = 0
    while True:
        async with sessions() as session:
            messages = (
                await session.execute(
                    sa.select(M.id, M.case_id, M.body_sealed)
                    .where(M.id > last, M.body_sealed.is_not(None))
                    .order_by(M.id)
                    .limit(batch)
                )
            ).all()
            if not messages:
                break
            last = messages[-1].id
            for m in messages:
                again_body = rewrap_standalone(
                    envelope, support_message_place(m.case_id, m.id), m.body_sealed
                )
                if again_body is not None:
                    await session.execute(sa.update(M).where(M.id == m.id).values(body_sealed=again_body))
                    report.support_messages += 1
            await session.commit()
    for name, path in store.paths():
        blob = path.read_bytes()
        if file_key_id(blob) != envelope.key_id:
            store.replace(name, rewrap_file(envelope, name, blob))
            report.files += 1
    progress(f"{report.files} files")
    return report
