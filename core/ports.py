"""What the service layer needs from storage. `storage/` implements these protocols."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from core.areas import Area
from core.kpi import KpiReport, KpiScope, Period
from core.messages import AttachmentMeta, Credentials, Message
from core.officers import Officer, Role
from core.sla import DeadlinePolicy
from core.stages import Stage
from core.tips import Tip, TipChange, TipDraft, TransitionRecord, TriageDecision


class TipRepository(Protocol):
    async def add(
        self,
        draft: TipDraft,
        *,
        receipt_code: str,
        province_code: str,
        remote: bool,
        agency_code: str,
        received_at: datetime,
        due: dict[Stage, datetime],
        next_due_at: datetime | None,
        at_risk_at: datetime | None,
        policy_version: int,
        passphrase_hash: str | None = None,
        triage: dict[str, Any] | None = None,
    ) -> Tip:
        """Insert; raise DuplicateKey if the receipt code is taken."""
        ...

    async def open_texts_since(
        self, *, after_id: int, received_since: datetime, limit: int
    ) -> Sequence[tuple[int, str, datetime]]:
        """(id, text, received_at) of open tips with a larger id, oldest first: what the
        duplicate index has not seen yet."""
        ...

    async def record_decisions(
        self, tip_id: int, decisions: Sequence[TriageDecision], *, actor: str, at: datetime
    ) -> None:
        """Keep what an officer decided against what triage proposed."""
        ...

    async def get(self, tip_id: int) -> Tip:
        """Raise NotFound when absent."""
        ...

    async def apply_change(self, tip: Tip, change: TipChange) -> None:
        """Write `change` only if the tip is still at `tip.version`; else raise Conflict."""
        ...

    async def add_history(self, record: TransitionRecord) -> None: ...

    async def history(self, tip_id: int) -> Sequence[TransitionRecord]: ...

    async def kpi(
        self, period: Period, scope: KpiScope, now: datetime, at_risk_fraction: float
    ) -> KpiReport: ...


class AreaRepository(Protocol):
    async def get(self, code: str) -> Area | None: ...

    async def communes(self, province_code: str) -> Sequence[Area]:
        """The province's communes, wards and special zones, in name order."""
        ...


class PolicyRepository(Protocol):
    async def current(self) -> DeadlinePolicy: ...

    async def version(self, version: int) -> DeadlinePolicy: ...


class AgencyRepository(Protocol):
    async def exists(self, code: str) -> bool: ...


class AuditLog(Protocol):
    async def record(
        self, *, actor: str, action: str, tip_id: int | None, at: datetime, detail: str = ""
    ) -> None: ...


class OfficerRepository(Protocol):
    async def by_username(self, username: str) -> Officer | None: ...

    async def add(
        self, *, username: str, password_hash: str, agency_code: str, area_code: str, role: Role
    ) -> Officer:
        """Raise DuplicateKey if the username is taken."""
        ...


class ConversationRepository(Protocol):
    """The reporter's thread of a tip, and its attachments' metadata."""

    async def credentials(self, receipt_code: str) -> Credentials | None: ...

    async def add_message(self, tip_id: int, message: Message, *, actor: str) -> None: ...

    async def messages(self, tip_id: int) -> Sequence[Message]: ...

    async def add_attachment(self, tip_id: int, meta: AttachmentMeta) -> None: ...

    async def attachments(self, tip_id: int) -> Sequence[AttachmentMeta]: ...


class AttachmentStore(Protocol):
    """Where attachment bytes live, outside the database, under keys we draw at random."""

    async def put(self, data: bytes) -> str:
        """Store `data` under a fresh random key and return the key."""
        ...

    async def get(self, key: str) -> bytes:
        """Raise NotFound for an unknown key."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the bytes; a missing key is not an error."""
        ...


class UnitOfWork(Protocol):
    """One transaction: nothing is written unless `commit` is called."""

    @property
    def tips(self) -> TipRepository: ...

    @property
    def areas(self) -> AreaRepository: ...

    @property
    def policies(self) -> PolicyRepository: ...

    @property
    def agencies(self) -> AgencyRepository: ...

    @property
    def officers(self) -> OfficerRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def conversation(self) -> ConversationRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
