"""Staff use cases that are not about one tip: accounts, sign-in with a second factor,
sessions and sign-out. Every sign-in and every failed one is audited."""

from __future__ import annotations

import hmac
import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.categories import Category
from core.errors import (
    AccountLocked,
    EnrolmentRequired,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSignedIn,
    SignInRefused,
)
from core.jurisdiction import Jurisdiction, jurisdiction_of
from core.officers import Officer, Role, hash_password, password_matches
from core.ports import AuditEntry, AuditFilter, SessionRepository, UnitOfWork
from core.reference_cache import ReferenceCache
from core.routing import AgencyKind, RoutingPolicy, check_route
from core.sessions import (
    SessionPolicy,
    StaffSession,
    new_token,
    new_totp_secret,
    provisioning_uri,
    token_hash,
    totp_step,
    valid_totp_secret,
)
from core.signin_limits import SignInThrottle

Clock = Callable[[], datetime]
REFUSED = "wrong username, password or one-time code"
LOCKED = "too many failed sign-ins; try again later"
#: How an attempt on an unknown account is audited: never the typed name, which is
#: sometimes a password typed into the wrong field.
UNKNOWN_ACTOR = "officer:?"


@dataclass(frozen=True)
class SignedIn:
    """A fresh session: the cookie value and the CSRF token that writes must send back."""

    officer: Officer
    token: str
    csrf_token: str


@dataclass(frozen=True)
class StaffContext:
    """Who is acting in a request, and what they may see."""

    officer: Officer
    csrf_token: str
    jurisdiction: Jurisdiction
    session_hash: str

    @property
    def actor(self) -> str:
        return self.officer.actor

    def csrf_matches(self, sent: str) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf_token, sent)


class StaffService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        clock: Clock,
        policy: SessionPolicy,
        throttle: SignInThrottle | None = None,
        sessions: Callable[[SessionRepository], SessionRepository] | None = None,
        reference: ReferenceCache | None = None,
    ) -> None:
        self._uow = uow_factory
        #: The intake's cache of the routing policy, forgotten when an admin changes it.
        self.reference = reference
        self.clock = clock
        self.policy = policy
        self.throttle = throttle
        #: Where sessions live: the database, in each unit of work's transaction, or
        #: a cache in front of it (Redis, written through; bootstrap decides).
        self.session_layer = sessions

    def _sessions(self, uow: UnitOfWork) -> SessionRepository:
        return uow.sessions if self.session_layer is None else self.session_layer(uow.sessions)

    async def add_officer(
        self,
        *,
        username: str,
        password: str,
        agency_code: str,
        area_code: str,
        role: Role,
        totp_secret: str | None = None,
    ) -> Officer:
        """Create an account. Without a TOTP secret the officer enrols at first sign-in
        (a QR code); with one (scripted set-up) sign-in needs its codes from the start."""
        try:
            password_hash = hash_password(password)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        secret = totp_secret.strip().upper() if totp_secret else None
        if secret is not None and not valid_totp_secret(secret):
            raise InvalidInput("the TOTP secret must be base32 of at least 128 bits (26+ characters)")
        async with self._uow() as uow:
            if not await uow.agencies.exists(agency_code):
                raise InvalidInput(f"unknown agency {agency_code}")
            if await uow.areas.get(area_code) is None:
                raise InvalidInput(f"unknown area {area_code}")
            officer = await uow.officers.add(
                username=username,
                password_hash=password_hash,
                agency_code=agency_code,
                area_code=area_code,
                role=role,
                totp_secret=secret,
            )
            await uow.commit()
        return officer

    async def reset_second_factor(self, username: str, *, actor: str) -> None:
        """A lost phone: forget the officer's TOTP secret and lockout, end their sessions;
        they enrol again at the next sign-in."""
        now = self.clock()
        async with self._uow() as uow:
            officer = await uow.officers.by_username(username)
            if officer is None:
                raise NotFound(f"no officer {username}")
            await uow.officers.reset_totp(officer.id)
            await self._sessions(uow).delete_for(officer.id)
            await uow.audit.record(
                actor=actor, action="totp_reset", tip_id=None, at=now, detail=officer.actor
            )
            await uow.commit()

    async def directory(self) -> tuple[dict[str, str], dict[str, str]]:
        """Names by code of every area and every agency, so that pages show names."""
        async with self._uow() as uow:
            return await uow.areas.names(), await uow.agencies.names()

    async def reset_password(self, username: str, password: str, *, actor: str) -> None:
        """A forgotten password: set a new one (at least 12 characters), lift any lockout and
        end every session of that officer, so whoever held the old password is signed out.
        Audited as `password_reset`; the second factor is kept."""
        try:
            password_hash = hash_password(password)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        now = self.clock()
        async with self._uow() as uow:
            officer = await uow.officers.by_username(username)
            if officer is None:
                raise NotFound(f"no officer {username}")
            await uow.officers.set_password(officer.id, password_hash)
            await self._sessions(uow).delete_for(officer.id)
            await uow.audit.record(
                actor=actor, action="password_reset", tip_id=None, at=now, detail=officer.actor
            )
            await uow.commit()

    async def reset_password_by(self, staff: StaffContext, username: str, password: str) -> None:
        """An administrator sets a new password for another officer (their own is changed
        through the command line, so that an open session cannot lock its owner out)."""
        _admin_only(staff, "only administrators manage accounts")
        if username == staff.officer.username:
            raise InvalidInput("you cannot reset your own password here")
        await self.reset_password(username, password, actor=staff.actor)

    async def set_active(self, username: str, active: bool, *, actor: str) -> bool:
        """Deactivate an officer (they cannot sign in — refused like wrong credentials —
        and every session of theirs ends at once) or activate them again. Audited as
        `officer_deactivated` / `officer_activated`; False if nothing changed."""
        now = self.clock()
        async with self._uow() as uow:
            officer = await uow.officers.by_username(username)
            if officer is None:
                raise NotFound(f"no officer {username}")
            changed = await uow.officers.set_active(officer.id, active)
            if not active:
                await self._sessions(uow).delete_for(officer.id)
            if changed:
                action = "officer_activated" if active else "officer_deactivated"
                await uow.audit.record(actor=actor, action=action, tip_id=None, at=now, detail=officer.actor)
            await uow.commit()
        return changed

    async def officers(self, staff: StaffContext) -> Sequence[Officer]:
        """Every account, for administrators."""
        _admin_only(staff, "only administrators manage accounts")
        async with self._uow() as uow:
            return await uow.officers.all()

    async def set_active_by(self, staff: StaffContext, username: str, active: bool) -> bool:
        """An administrator (de)activates an account; never their own (no lock-out by mistake)."""
        _admin_only(staff, "only administrators manage accounts")
        if username == staff.officer.username:
            raise InvalidInput("you cannot deactivate or activate your own account")
        return await self.set_active(username, active, actor=staff.actor)

    async def sign_in(self, username: str, password: str, otp: str, *, source: str | None = None) -> SignedIn:
        """Password and one-time code in, a new session out; failures count towards a
        lockout and are audited (committed even though the caller gets an error).
        `source` is the client's keyed address hash (core.sources), for per-source limits."""
        now = self.clock()
        async with self._uow() as uow:
            officer = await uow.officers.by_username(username)
            # argon2 runs on a dummy hash for an unknown name: the same work, the same time.
            password_ok = password_matches(officer, password)
            known = officer is not None and officer.active
            if self.throttle is not None:
                await self._throttled(uow, officer if known else None, username, now, source)
            if officer is None or not officer.active:
                await uow.audit.record(actor=UNKNOWN_ACTOR, action="login_failed", tip_id=None, at=now)
                await uow.commit()
                if self.throttle is not None:
                    await self.throttle.failed(username, now, source=source)
                raise SignInRefused(REFUSED)
            if (
                officer.locked_until is not None
                and now < officer.locked_until
                and not (self.throttle is not None and await self.throttle.lock_spares(officer.id, source))
            ):
                await self._failed(uow, officer, now, "locked", count=False)
                wait = max(1, math.ceil((officer.locked_until - now).total_seconds()))
                raise AccountLocked(LOCKED, wait)
            if password_ok and officer.totp_secret is None:
                await self._enrol(uow, officer, now)
            step = None
            if password_ok and officer.totp_secret:
                step = totp_step(officer.totp_secret, otp, now, officer.totp_last_step)
            if step is None or not await uow.officers.signed_in(officer.id, step):
                await self._failed(uow, officer, now, "otp" if password_ok else "password", source=source)
                raise SignInRefused(REFUSED)
            session = StaffSession(token_hash(token := new_token()), officer.id, new_token(), now, now)
            # Ended sessions are refused when presented; here their rows are swept away.
            await self._sessions(uow).purge(
                idle_since=now - self.policy.idle, created_before=now - self.policy.absolute
            )
            await self._sessions(uow).add(session)
            await uow.audit.record(actor=officer.actor, action="login", tip_id=None, at=now)
            await uow.commit()
        return SignedIn(officer, token, session.csrf_token)

    async def _throttled(
        self, uow: UnitOfWork, officer: Officer | None, username: str, now: datetime, source: str | None
    ) -> None:
        """Refuse (as "locked") while the global failure budget is spent, or while an
        unknown name has failed as often as would lock an account (core.signin_limits)."""
        assert self.throttle is not None
        wait = await self.throttle.budget_spent(source)
        why = "throttled"
        if wait is None and officer is None:
            wait, why = await self.throttle.unknown_name_locked(username, now), "locked"
        if wait is None:
            return
        actor = officer.actor if officer is not None else UNKNOWN_ACTOR
        await uow.audit.record(actor=actor, action="login_failed", tip_id=None, at=now, detail=why)
        await uow.commit()
        raise AccountLocked(LOCKED, wait)

    async def _enrol(self, uow: UnitOfWork, officer: Officer, now: datetime) -> None:
        """Draw the officer's TOTP secret and show it once (trust on first use: whoever
        holds the password first enrols; an admin can reset it with the CLI)."""
        secret = new_totp_secret()
        if await uow.officers.enrol_totp(officer.id, secret):
            await uow.audit.record(actor=officer.actor, action="totp_enrolled", tip_id=None, at=now)
            await uow.commit()
            raise EnrolmentRequired(
                "add this secret to your authenticator app, then sign in with its code",
                secret,
                provisioning_uri(secret, officer.username),
            )
        await self._failed(uow, officer, now, "otp")
        raise SignInRefused(REFUSED)

    async def _failed(
        self,
        uow: UnitOfWork,
        officer: Officer,
        now: datetime,
        why: str,
        *,
        count: bool = True,
        source: str | None = None,
    ) -> None:
        if count and await uow.officers.count_failure(officer.id) >= self.policy.max_failures:
            await uow.officers.lock(officer.id, now + self.policy.lockout)
            why += ",locked"
        await uow.audit.record(actor=officer.actor, action="login_failed", tip_id=None, at=now, detail=why)
        await uow.commit()
        if self.throttle is not None and count:
            await self.throttle.failed(source=source, account_id=officer.id)

    async def session(self, token: str) -> StaffContext:
        """The officer behind a session cookie; idle and absolute timeouts end it."""
        now = self.clock()
        hashed = token_hash(token)
        async with self._uow() as uow:
            found = await self._sessions(uow).get(hashed) if token else None
            if found is None:
                raise NotSignedIn("please sign in")
            officer = await uow.officers.get(found.officer_id)
            if found.expired(now, self.policy) or officer is None or not officer.active:
                await self._sessions(uow).delete(hashed)
                await uow.commit()
                raise NotSignedIn("the session has ended; please sign in again")
            area = await uow.areas.get(officer.area_code)
            await self._sessions(uow).touch(hashed, now)
            await uow.commit()
        province_wide = area is not None and area.level == "province"
        within = jurisdiction_of(officer, area_is_province=province_wide)
        return StaffContext(officer, found.csrf_token, within, hashed)

    async def still_signed_in(self, staff: StaffContext) -> bool:
        """Whether the session behind `staff` is still alive, without counting as activity:
        a live stream must not keep an unattended session open past its idle limit."""
        now = self.clock()
        async with self._uow() as uow:
            found = await self._sessions(uow).get(staff.session_hash)
            if found is None or found.expired(now, self.policy):
                return False
            officer = await uow.officers.get(found.officer_id)
            return officer is not None and officer.active

    async def audit_log(
        self,
        staff: StaffContext,
        *,
        before_id: int | None = None,
        limit: int = 100,
        where: AuditFilter | None = None,
    ) -> Sequence[AuditEntry]:
        """The audit log, newest first, for admins only; reading it is itself recorded."""
        _admin_only(staff, "only administrators read the audit log")
        async with self._uow() as uow:
            entries = await uow.audit.recent(before_id=before_id, limit=limit, where=where)
            await uow.audit.record(actor=staff.actor, action="audit_read", tip_id=None, at=self.clock())
            await uow.commit()
        return entries

    async def export_audit(
        self, staff: StaffContext, where: AuditFilter, *, page: int = 1000
    ) -> AsyncIterator[Sequence[AuditEntry]]:
        """The matching entries for a download, newest first, page by page (each page its
        own short transaction, keyset on the id). Admins only; the export is recorded
        first, so it appears in its own file when it matches the filter."""
        _admin_only(staff, "only administrators export the audit log")
        async with self._uow() as uow:
            detail = " ".join(p for p in ("audit", where.describe()) if p)
            await uow.audit.record(
                actor=staff.actor, action="export", tip_id=None, at=self.clock(), detail=detail
            )
            first = await uow.audit.recent(before_id=None, limit=page, where=where)
            await uow.commit()
        return self._audit_pages(first, where, page)

    async def _audit_pages(
        self, batch: Sequence[AuditEntry], where: AuditFilter, page: int
    ) -> AsyncIterator[Sequence[AuditEntry]]:
        while batch:
            yield batch
            if len(batch) < page:
                return
            async with self._uow() as uow:
                batch = await uow.audit.recent(before_id=batch[-1].id, limit=page, where=where)

    async def routing(self) -> RoutingPolicy:
        async with self._uow() as uow:
            return await uow.routing.current()

    async def set_route(self, staff: StaffContext, category: Category, kind: AgencyKind) -> RoutingPolicy:
        """Change which agency kind owns new tips of a category (admins; audited). Tips
        already filed keep their owner: moving them is a referral."""
        if staff.officer.role is not Role.ADMIN:
            raise Forbidden("only administrators change the routing policy")
        check_route(category, kind)
        now = self.clock()
        async with self._uow() as uow:
            await uow.routing.set(category, kind, actor=staff.actor, at=now)
            detail = f"{category.value}={kind.value}"
            await uow.audit.record(actor=staff.actor, action="routing", tip_id=None, at=now, detail=detail)
            await uow.commit()
            if self.reference is not None:
                self.reference.forget_routing()
            return await uow.routing.current()

    async def sign_out(self, staff: StaffContext, *, everywhere: bool = False) -> None:
        """End this session, or every session of the officer (a lost or shared PC)."""
        now = self.clock()
        async with self._uow() as uow:
            if everywhere:
                await self._sessions(uow).delete_for(staff.officer.id)
            else:
                await self._sessions(uow).delete(staff.session_hash)
            action = "logout_everywhere" if everywhere else "logout"
            await uow.audit.record(actor=staff.actor, action=action, tip_id=None, at=now)
            await uow.commit()


def _admin_only(staff: StaffContext, why: str) -> None:
    if staff.officer.role is not Role.ADMIN:
        raise Forbidden(why)
