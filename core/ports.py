"""What the service layer needs from storage. `storage/` implements these protocols."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from core.areas import Area
from core.categories import Category
from core.jurisdiction import Jurisdiction
from core.kpi import KpiReport, KpiScope, Period
from core.messages import AttachmentMeta, Credentials, Message
from core.officers import Officer, Role
from core.queue import QueueFilter, QueuePage
from core.routing import AgencyKind, RoutingPolicy
from core.sessions import StaffSession
from core.sla import DeadlinePolicy
from core.tips import NewTip, StaffNote, Tip, TipChange, TransitionRecord, TriageDecision
from core.triage_feedback import Correction, CorrectionShare

if TYPE_CHECKING:
    from core.notifications import NotificationRepository


class TipRepository(Protocol):
    async def add_many(self, tips: Sequence[NewTip]) -> list[int]:
        """Insert new tips with the first line of their history (`creation_record`) and count
        them into the weekly rollup, in as few statements as the database allows; the ids
        come back in the order given. Raise DuplicateKey if a receipt code is taken."""
        ...

    async def open_among(self, ids: Collection[int], *, received_since: datetime) -> set[int]:
        """Those of `ids` that are still open and were received since `received_since`: the
        earlier tips that new ones may still be proposed as duplicates of."""
        ...

    async def open_since(self, *, after_id: int, received_since: datetime, limit: int) -> Sequence[int]:
        """Ids of open tips with a larger id, oldest first: what the duplicate index may not
        have seen yet."""
        ...

    async def texts(self, ids: Collection[int]) -> dict[int, tuple[str, datetime]]:
        """The text and reception time of these tips, by id."""
        ...

    async def record_decisions(
        self, tip_id: int, decisions: Sequence[TriageDecision], *, actor: str, at: datetime
    ) -> None:
        """Keep what an officer decided against what triage proposed."""
        ...

    async def correction_shares(
        self, start: datetime, end: datetime, within: Jurisdiction | None = None
    ) -> list[CorrectionShare]:
        """Per proposed category, the category decisions made in [start, end) and how many
        of them changed the proposal (tips within the jurisdiction)."""
        ...

    async def corrections(self, start: datetime, end: datetime) -> list[Correction]:
        """The tips officers classified in [start, end), with their texts and decisions."""
        ...

    async def get(self, tip_id: int, within: Jurisdiction | None = None) -> Tip:
        """Raise NotFound when absent or outside `within` (None: the system itself)."""
        ...

    async def queue(self, within: Jurisdiction, query: QueueFilter, now: datetime) -> QueuePage:
        """One page of the queue, urgent first then nearest deadline, after `query.after`."""
        ...

    async def apply_change(self, tip: Tip, change: TipChange) -> None:
        """Write `change` only if the tip is still at `tip.version`; else raise Conflict."""
        ...

    async def add_history(self, record: TransitionRecord) -> None: ...

    async def history(self, tip_id: int) -> Sequence[TransitionRecord]: ...

    async def add_note(self, tip_id: int, note: StaffNote) -> None: ...

    async def notes(self, tip_id: int) -> Sequence[StaffNote]: ...

    async def kpi(
        self,
        period: Period,
        scope: KpiScope,
        now: datetime,
        at_risk_fraction: float,
        within: Jurisdiction | None = None,
    ) -> KpiReport: ...


class AreaRepository(Protocol):
    async def get(self, code: str) -> Area | None: ...

    async def names(self) -> dict[str, str]:
        """Every area's name by its code (provinces, communes and wards)."""
        ...

    async def communes(self, province_code: str) -> Sequence[Area]:
        """The province's communes, wards and special zones, in name order."""
        ...


class PolicyRepository(Protocol):
    async def current(self) -> DeadlinePolicy: ...

    async def version(self, version: int) -> DeadlinePolicy: ...


class RoutingRepository(Protocol):
    async def current(self) -> RoutingPolicy:
        """The routing table in force (defaults for any category without a row)."""
        ...

    async def set(self, category: Category, kind: AgencyKind, *, actor: str, at: datetime) -> None: ...


class AgencyRepository(Protocol):
    async def exists(self, code: str) -> bool: ...

    async def names(self) -> dict[str, str]:
        """Every agency's name by its code, for pages that show names instead of codes."""
        ...


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    tip_id: int | None
    detail: str


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries to list: `since` <= at < `until`, one of `actors`, one action,
    one tip. Empty means no condition."""

    since: datetime | None = None
    until: datetime | None = None
    actors: tuple[str, ...] = ()
    action: str | None = None
    tip_id: int | None = None

    def describe(self) -> str:
        """The filter in words, for the audit entry of an export."""
        parts = [
            f"from={self.since.isoformat()}" if self.since else "",
            f"to={self.until.isoformat()}" if self.until else "",
            f"actor={self.actors[0]}" if self.actors else "",
            f"action={self.action}" if self.action else "",
            f"tip={self.tip_id}" if self.tip_id is not None else "",
        ]
        return " ".join(p for p in parts if p)


class AuditLog(Protocol):
    async def record(
        self, *, actor: str, action: str, tip_id: int | None, at: datetime, detail: str = ""
    ) -> None: ...

    async def recent(
        self, *, before_id: int | None, limit: int, where: AuditFilter | None = None
    ) -> Sequence[AuditEntry]:
        """Newest first, entries with an id below `before_id` (keyset paging)."""
        ...


class OfficerRepository(Protocol):
    async def by_username(self, username: str) -> Officer | None: ...

    async def get(self, officer_id: int) -> Officer | None: ...

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
        """Raise DuplicateKey if the username is taken."""
        ...

    async def count_failure(self, officer_id: int) -> int:
        """Add one failed sign-in atomically; return the new count."""
        ...

    async def lock(self, officer_id: int, until: datetime) -> None:
        """Refuse sign-ins until `until`, and start counting failures afresh."""
        ...

    async def reset_totp(self, officer_id: int) -> None:
        """Forget the second factor and any lockout: the officer enrols again."""
        ...

    async def enrol_totp(self, officer_id: int, secret: str) -> bool:
        """Set the TOTP secret if the officer has none yet; False if one appeared first."""
        ...

    async def signed_in(self, officer_id: int, totp_step: int) -> bool:
        """Reset failures and remember the TOTP step; False if that step (or a later one)
        was already used, which makes a replayed code fail even under a race."""
        ...

    async def all(self) -> Sequence[Officer]:
        """Every officer, by username."""
        ...

    async def set_active(self, officer_id: int, active: bool) -> bool:
        """Activate or deactivate; False if the officer already was so."""
        ...

    async def set_password(self, officer_id: int, password_hash: str) -> None:
        """A new password, and any lockout lifted (the old failures were against the old one)."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: StaffSession) -> None: ...

    async def get(self, token_hash: str) -> StaffSession | None: ...

    async def touch(self, token_hash: str, at: datetime) -> None: ...

    async def delete(self, token_hash: str) -> None: ...

    async def delete_for(self, officer_id: int) -> int:
        """End every session of one officer ("log out everywhere"); return how many."""
        ...

    async def purge(self, *, idle_since: datetime, created_before: datetime) -> int:
        """Remove sessions unused since `idle_since` or created before `created_before`."""
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

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def routing(self) -> RoutingRepository: ...

    @property
    def notifications(self) -> NotificationRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
