"""The one place that builds the engine and services; everything else receives them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.attachments import AttachmentPolicy
from core.calendar import working_calendar
from core.categories import Channel
from core.chat.identity import ChatKeys
from core.chat.state import ChatStateStore, MemoryChatStateStore, MemoryUpdateLedger, UpdateLedger
from core.establishment_service import EstablishmentService
from core.intake import TipIntake
from core.intake_triage import LiveTriage, shared_triage
from core.knowledge import AnswerService
from core.knowledge.matcher import shared_matcher
from core.learn import LearnService
from core.live import UrgentFeed
from core.notifications import NotificationService
from core.outreach.service import OutreachService
from core.passphrases import PassphraseHasher, pepper_from
from core.ports import SessionRepository
from core.ratelimits import AbusePolicy, Limit, MemoryRateLimiter, RateLimiter, Throttle
from core.reach import ReachService
from core.receipts import new_receipt_code
from core.reference_cache import ReferenceCache
from core.registration import RegistrationService
from core.reporters import ReporterService
from core.services import Clock, TipService, utc_now
from core.sessions import SessionPolicy
from core.signin_limits import LockBox, MemoryLockBox, SignInLimits, SignInThrottle
from core.sources import MemorySourceKeys, SourceHasher, SourceKeys
from core.staff import StaffService
from core.support_service import SupportService
from core.tip_import import ImportService
from hotline.channels import ChatServices, configured_channels
from hotline.chatkeys import chat_keys, chat_secret
from hotline.masterkey import MasterKeySource
from hotline.settings import Settings
from hotline.support_wiring import support_service, with_support
from hotline.triage_worker import TriageWorker
from storage.channel_kpi_query import SqlChannelKpi
from storage.charts_query import SqlCharts
from storage.chat_directory import SqlChatDirectory
from storage.db import create_engine, session_factory
from storage.establishments import establishment_store
from storage.files import DirectoryStore
from storage.learn import SqlLearnStore
from storage.live_query import SqlUrgentFeed
from storage.outreach import SqlContentRepository, SqlDeliveryQueue, outreach_service
from storage.reach import SqlFeedbackStore, SqlReachRepository, SqlSubscriberAreas
from storage.redis_chat import RedisChatStateStore, RedisUpdateLedger
from storage.redis_limits import FallbackRateLimiter, RedisRateLimiter
from storage.redis_sessions import RedisSessionCache
from storage.redis_signin import RedisLockBox
from storage.redis_sources import RedisSourceKeys
from storage.repositories import SqlUnitOfWork
from storage.support import Sessions


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    # The master key (read on first use): tip contents, files and informants are sealed by it.
    master_keys: MasterKeySource
    # A reporter's new tip, checked and written in batches (core.intake).
    intake: TipIntake
    # What officers do with a stored tip (core.services).
    tips: TipService
    staff: StaffService
    reporters: ReporterService
    limiter: RateLimiter
    notifications: NotificationService
    live: UrgentFeed
    charts: SqlCharts
    # What every chat channel (Telegram, Zalo) builds its conversations from.
    chat: ChatServices
    # Youth outreach: content library and campaigns; delivery is `hotline worker`.
    outreach: OutreachService
    # Answers from the knowledge base, reach against the plan, subscribers' areas.
    answers: AnswerService
    reach: ReachService
    subscriber_areas: SqlSubscriberAreas
    # The published library on the public site, and its per-item, per-day view counters.
    learn: LearnService
    # The establishments register, inspections, hotspots and their plan indicators.
    establishments: EstablishmentService
    # Tips officers register for someone, and named informants' sealed identities.
    registrations: RegistrationService
    # The KPI per channel (web, bots and the channels officers register).
    channel_kpi: SqlChannelKpi
    # Registers officers kept outside the system, imported (`hotline tips import`).
    imports: ImportService
    # Client addresses to rate-limit sources: keyed hashes, never stored (core.sources).
    sources: SourceHasher
    # Support for people who ask for help for themselves, training and offline outreach.
    support: SupportService


def attachment_policy(settings: Settings) -> AttachmentPolicy:
    return AttachmentPolicy(
        max_files=settings.max_files,
        max_file_bytes=settings.max_file_bytes,
        max_request_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        max_pdf_pages=settings.max_pdf_pages,
        max_decoded_bytes=settings.max_image_decoded_bytes,
        decode_budget_bytes=settings.image_decode_budget_bytes,
    )


def passphrase_hasher(settings: Settings, pepper: bytes | None) -> PassphraseHasher:
    return PassphraseHasher(
        time_cost=settings.passphrase_argon2_time_cost,
        memory_kib=settings.passphrase_argon2_memory_kib,
        pepper=pepper,
    )


def abuse_policy(settings: Settings) -> AbusePolicy:
    return AbusePolicy(
        submissions=Limit(settings.submissions_per_minute, 60),
        submissions_per_source=Limit(settings.submissions_per_source_per_minute, 60),
        urgent_over_limit_per_source=Limit(settings.urgent_over_limit_per_source_per_minute, 60),
        failed_checks_per_receipt=Limit(
            settings.failed_checks_per_receipt, settings.failed_checks_window_seconds
        ),
        receipt_pace_seconds=settings.receipt_pace_seconds,
        failed_checks_global=Limit(settings.failed_checks_per_minute, 60),
        failed_checks_per_source=Limit(settings.failed_checks_per_source_per_minute, 60),
        answers=Limit(settings.answers_per_minute, 60),
        answers_per_source=Limit(settings.answers_per_source_per_minute, 60),
    )


def reach_service(settings: Settings, sessions: Sessions, clock: Clock) -> ReachService:
    return ReachService(SqlReachRepository(sessions), province_code=settings.province_code, clock=clock)


def establishment_service(
    settings: Settings,
    sessions: Sessions,
    clock: Clock,
    support: SupportService,
    *,
    tips: TipService,
    reach: ReachService,
    keys: MasterKeySource,
) -> EstablishmentService:
    """The register, with every plan indicator in its registry: support's, the tips' on-time
    handling per stage and the reach per audience (one registry for the command line, the
    KPI page and the report)."""
    service = EstablishmentService(
        establishment_store(sessions, keys), clock=clock, province_code=settings.province_code
    )
    return with_support(service, support, tips=tips, reach=reach)


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=settings.staff_idle_minutes),
        absolute=timedelta(hours=settings.staff_session_hours),
        max_failures=settings.staff_max_failed_logins,
        lockout=timedelta(minutes=settings.staff_lockout_minutes),
    )


def chat_state(redis: Redis | None) -> tuple[ChatStateStore, UpdateLedger]:
    """Conversation state and seen update ids: shared through Redis by every worker when
    configured, in this process otherwise."""
    if redis is None:
        return MemoryChatStateStore(), MemoryUpdateLedger()
    return RedisChatStateStore(redis), RedisUpdateLedger(redis)


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The database engine (its connection pool), disposed on the way out."""
    engine = create_engine(settings.effective_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Delivery:
    """What a broadcast worker needs besides its sender: one channel's delivery queue, the
    content it sends, and the key that decrypts chat ids (not the rest of the services)."""

    queue: SqlDeliveryQueue
    content: SqlContentRepository
    decrypt: Callable[[str, str], str]


@asynccontextmanager
async def open_delivery(settings: Settings, channel: Channel) -> AsyncIterator[Delivery]:
    async with open_database(settings) as engine:
        sessions = session_factory(engine)
        yield Delivery(
            SqlDeliveryQueue(
                sessions, channel=channel.value, channels=[c.value for c in configured_channels(settings)]
            ),
            SqlContentRepository(sessions),
            chat_keys(settings).decrypt,
        )


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis | None]:
    """One Redis client (and connection pool) for everything a process shares through
    Redis, or None on the embedded default. Short timeouts: Redis speeds things up, and
    each user of it has an in-process or database fallback when it does not answer."""
    if not settings.redis_url:
        yield None
        return
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        yield redis
    finally:
        await redis.aclose()


def epoch_seconds(clock: Clock) -> Callable[[], float]:
    """The service clock as seconds since the epoch: what the limiters' windows count in,
    so every limit follows the same (injectable) clock as the rest of the app."""
    return lambda: clock().timestamp()


def rate_limiter(redis: Redis | None, clock: Clock = utc_now) -> RateLimiter:
    """Redis-backed counters shared by all workers when configured, in-process otherwise."""
    seconds = epoch_seconds(clock)
    if redis is None:
        return MemoryRateLimiter(seconds)
    return FallbackRateLimiter(RedisRateLimiter(redis, seconds), MemoryRateLimiter(seconds))


def sign_in_limits(settings: Settings) -> SignInLimits:
    return SignInLimits(
        failures_global=Limit(settings.staff_failed_logins_per_5_minutes, 300),
        failures_per_source=Limit(settings.staff_failed_logins_per_source_per_5_minutes, 300),
        max_failures=settings.staff_max_failed_logins,
        lockout=timedelta(minutes=settings.staff_lockout_minutes),
    )


def source_hasher(redis: Redis | None, settings: Settings, clock: Clock = utc_now) -> SourceHasher:
    """Client addresses to sources (core.sources), under a key shared through Redis (so
    every worker counts a client alike) or drawn in this process."""
    rotate = settings.source_key_hours * 3600
    keys: SourceKeys = MemorySourceKeys() if redis is None else RedisSourceKeys(redis, rotate_seconds=rotate)
    return SourceHasher(keys, rotate_seconds=rotate, clock=epoch_seconds(clock))


def lock_box(redis: Redis | None) -> LockBox:
    """Locks of unknown sign-in names, shared through Redis when configured."""
    return MemoryLockBox() if redis is None else RedisLockBox(redis)


def session_cache(
    redis: Redis | None, settings: Settings, clock: Clock
) -> Callable[[SessionRepository], SessionRepository] | None:
    """Staff sessions cached in Redis (written through to the database) when Redis is
    configured; None otherwise: the database alone (storage/redis_sessions.py)."""
    if redis is None:
        return None
    return RedisSessionCache(redis, policy=session_policy(settings), clock=clock).over


@asynccontextmanager
async def open_services(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Services]:
    """Open the database (and Redis) and wire the services; close them on the way out."""
    # One master-key source for the process: the key is read (and its AES objects built) once.
    master_keys = MasterKeySource(settings)
    async with AsyncExitStack() as stack:
        engine = await stack.enter_async_context(open_database(settings))
        sessions = session_factory(engine)

        def uow() -> SqlUnitOfWork:
            return SqlUnitOfWork(sessions, master_keys)

        redis = await stack.enter_async_context(open_redis(settings))
        limiter = rate_limiter(redis, clock)
        secret = chat_secret(settings)  # read once: it keys chats, sign-in names and the pepper
        keys = ChatKeys(secret)
        throttle = Throttle(limiter, abuse_policy(settings), epoch_seconds(clock))
        reference = ReferenceCache()
        analyser = TriageWorker() if settings.triage_worker else None
        if analyser is not None:
            stack.push_async_callback(analyser.close)  # after the intake writer has finished
        calendar = working_calendar(settings.holidays_file)
        attachments = DirectoryStore(settings.attachments_path, master_keys)
        intake = TipIntake(
            uow,
            province_code=settings.province_code,
            calendar=calendar,
            clock=clock,
            hasher=passphrase_hasher(settings, pepper_from(secret)),
            store=attachments,
            attachment_policy=attachment_policy(settings),
            triage=LiveTriage(shared_triage(), settings.province_code),
            analyser=analyser,
            reference=reference,
        )
        stack.push_async_callback(intake.close)  # runs before the engine is disposed
        tips = TipService(uow, calendar=calendar, clock=clock, store=attachments, reference=reference)
        support = support_service(settings, sessions, clock, secret)
        reporters = ReporterService(uow, intake=intake, throttle=throttle, clock=clock)
        answers = AnswerService(shared_matcher(), SqlFeedbackStore(sessions), throttle=throttle)
        chats = SqlChatDirectory(sessions, keys, clock)
        subscriber_areas = SqlSubscriberAreas(sessions)
        store, ledger = chat_state(redis)
        reach = reach_service(settings, sessions, clock)
        yield Services(
            settings=settings,
            engine=engine,
            master_keys=master_keys,
            intake=intake,
            tips=tips,
            staff=StaffService(
                uow,
                clock=clock,
                policy=session_policy(settings),
                throttle=SignInThrottle(
                    limiter, sign_in_limits(settings), secret, lock_box(redis), epoch_seconds(clock)
                ),
                sessions=session_cache(redis, settings, clock),
                reference=reference,
            ),
            reporters=reporters,
            limiter=limiter,
            notifications=NotificationService(uow, clock=clock),
            live=SqlUrgentFeed(sessions),
            charts=SqlCharts(sessions),
            chat=ChatServices(
                reporter=reporters,
                directory=chats,
                outbox=chats,
                keys=keys,
                attachment_policy=intake.attachment_policy,
                answers=answers,
                areas=subscriber_areas,
                support=support,
                clock=clock,
                province_code=settings.province_code,
                store=store,
                ledger=ledger,
            ),
            outreach=outreach_service(sessions, clock),
            answers=answers,
            reach=reach,
            subscriber_areas=subscriber_areas,
            learn=LearnService(
                SqlLearnStore(sessions), clock=clock, stamp_seconds=settings.learn_stamp_seconds
            ),
            establishments=establishment_service(
                settings, sessions, clock, support, tips=tips, reach=reach, keys=master_keys
            ),
            registrations=RegistrationService(intake, uow, master_keys),
            channel_kpi=SqlChannelKpi(sessions),
            imports=ImportService(intake, uow, new_receipt_code),
            sources=source_hasher(redis, settings, clock),
            support=support,
        )
