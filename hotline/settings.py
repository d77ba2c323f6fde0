"""The one settings object, read from `HOTLINE_*` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from core.errors import InvalidInput


class SettingsError(Exception):
    """A bad setting, explained in words an operator can act on."""


class Settings(BaseSettings):
    """Built once at start and passed to whatever needs it; frozen so nobody changes it."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", frozen=True, extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment. No `.env` file or secrets directory is
        configured, so their sources (which still walk every field) are left out."""
        del settings_cls, dotenv_settings, file_secret_settings
        return init_settings, env_settings

    data_dir: Path = Field(
        default=Path("var"),
        description="Where the embedded database, attachments and chat state live; a directory path, no unit",
    )
    database_url: str = Field(
        default="",
        description="The database (sqlite:/// or postgresql://); empty: SQLite under the data directory; "
        "a URL, no unit",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis shared by every worker (limits, sessions, chat state); unset: in-process; "
        "a URL, no unit",
    )
    secret_key: str | None = Field(
        default=None,
        min_length=32,
        description="Keys chat ids, sign-in names and the passphrase pepper; unset: a key file under the "
        "data directory; at least 32 characters",
    )
    host: str = Field(default="127.0.0.1", description="Address `hotline serve` listens on; no unit")
    port: int = Field(
        default=8080, ge=1, le=65535, description="TCP port `hotline serve` listens on; no unit"
    )
    province: str = Field(
        default="79",
        description="The province served (code or name): scopes places, receipts and the KPI; no unit",
    )
    telegram_token: str | None = Field(
        default=None, description="The Telegram bot's token; unset: no bot; no unit"
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Telegram Bot API root (tests point it at a fake); a URL, no unit",
    )
    telegram_webhook_secret: str | None = Field(
        default=None, description="Secret header Telegram sends with each webhook call; no unit"
    )
    telegram_mode: Literal["webhook", "polling"] = Field(
        default="webhook", description="How updates arrive: webhook (production) or long polling; no unit"
    )
    telegram_bot_username: str | None = Field(
        default=None, description="The bot's @username, for the poster links printed by `hotline qr`; no unit"
    )
    telegram_rate: float = Field(
        default=30.0,
        gt=0,
        le=10_000,
        description="Pace of the whole Telegram bot, replies and broadcasts (raise it for a "
        "paid-broadcast bot); messages per second",
    )
    broadcast_lease_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="How long a worker owns a broadcast row being sent before another may take it; seconds",
    )
    broadcast_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle broadcast worker looks for work; seconds"
    )
    zalo_token: str | None = Field(
        default=None, description="The Zalo bot's token (Zalo Bot Creator); unset: no Zalo bot; no unit"
    )
    zalo_api_url: str = Field(
        default="https://bot-api.zaloplatforms.com",
        description="Zalo Bot Platform API root (tests point it at a fake); a URL, no unit",
    )
    zalo_webhook_secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=256,
        description="Secret header of the Zalo webhook, as the platform requires; 8-256 characters",
    )
    zalo_rate: float = Field(
        default=5.0,
        gt=0,
        le=1000,
        description="Pace for the whole Zalo bot, shared through Redis; the platform publishes no figure "
        "and answers 429 past its quota, so start far below Telegram's; messages per second",
    )
    zalo_media_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("zdn.vn", "zadn.vn", "zalo.me", "zaloapp.com"),
        description="Hosts photos may be downloaded from (https, subdomains included; http://host:port "
        "allows plain http for that host only); comma-separated host names, no unit",
    )
    zalo_bot_url: str | None = Field(
        default=None,
        description="The bot's public Zalo link, printed on posters by `hotline qr`; a URL, no unit",
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest JSON or form body accepted (not uploads); bytes"
    )
    attachments_dir: Path | None = Field(
        default=None,
        description="Where attachments are kept; unset: data_dir/attachments; a directory path, no unit",
    )
    max_files: int = Field(default=5, ge=0, le=20, description="Attachments one tip may carry; count")
    max_file_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest single attachment accepted; bytes"
    )
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="Largest multipart request (all files together); bytes"
    )
    max_image_pixels: int = Field(
        default=40_000_000, ge=10_000, description="Largest picture accepted, width times height; pixels"
    )
    max_pdf_pages: int = Field(
        default=100, ge=1, le=10_000, description="Longest PDF accepted (each page is rewritten); pages"
    )
    max_image_decoded_bytes: int = Field(
        default=160 * 1024 * 1024,
        ge=1024 * 1024,
        description="Memory one picture may decode to (16-bit samples count double), checked from its "
        "header before decoding: 40 MP of 8-bit RGBA; bytes",
    )
    image_decode_budget_bytes: int = Field(
        default=384 * 1024 * 1024,
        ge=16 * 1024 * 1024,
        description="Decoded size of all pictures being cleaned at once in one worker, so a burst waits "
        "its turn instead of taking the machine's memory; bytes",
    )
    submissions_per_minute: int = Field(
        default=600,
        ge=1,
        description="Submissions per form (tip, question, message), all sources together, the global "
        "ceiling well above one source's share; count per minute",
    )
    submissions_per_source_per_minute: int = Field(
        default=10,
        ge=1,
        description="Submissions per form from one source (a keyed hash of the client address, never "
        "stored): a person reports a handful at most; count per minute",
    )
    urgent_over_limit_per_source_per_minute: int = Field(
        default=20,
        ge=0,
        description="Urgent tips one source may still file past its limit: someone in danger is never "
        "refused for a busy shared address, yet it is no way to flood; count per minute",
    )
    failed_checks_per_receipt: int = Field(
        default=5,
        ge=1,
        description="Wrong passphrases on one receipt within the window before it is paced; count",
    )
    failed_checks_window_seconds: int = Field(
        default=900, ge=1, description="The window of failed_checks_per_receipt; seconds"
    )
    receipt_pace_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Past its failure limit, one attempt per this interval still goes through on a "
        "receipt: a guesser slows the informant down but cannot lock them out; seconds",
    )
    failed_checks_per_minute: int = Field(
        default=300, ge=1, description="Failed receipt checks, all sources together; count per minute"
    )
    failed_checks_per_source_per_minute: int = Field(
        default=20, ge=1, description="Failed receipt checks from one source; count per minute"
    )
    answers_per_minute: int = Field(
        default=600,
        ge=1,
        description="Knowledge-base look-ups (POST /api/v1/answers), all askers together: cheap but CPU; "
        "count per minute",
    )
    answers_per_source_per_minute: int = Field(
        default=60, ge=1, description="Knowledge-base look-ups from one source; count per minute"
    )
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For/-Proto are believed (spoofable from anyone "
        "else); comma-separated IP addresses or CIDR networks, no unit",
    )
    source_key_hours: int = Field(
        default=24,
        ge=1,
        le=24,
        description="Life of the key that hashes client addresses into sources (at most a day: sources "
        "must not be linkable across days); hours",
    )
    triage_worker: bool = Field(
        default=True,
        description="Read new tips' texts in a helper process (off: on the event loop); on/off, no unit",
    )
    passphrase_argon2_time_cost: int = Field(
        default=1, ge=1, le=10, description="Argon2id passes per passphrase hash; count"
    )
    passphrase_argon2_memory_kib: int = Field(
        default=1024, ge=256, le=1024 * 1024, description="Argon2id memory per passphrase hash; KiB"
    )
    staff_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A staff session ends after this long unused; minutes"
    )
    staff_session_hours: int = Field(
        default=12,
        ge=1,
        le=7 * 24,
        description="A staff session ends this long after sign-in, used or not; hours",
    )
    staff_max_failed_logins: int = Field(
        default=5, ge=1, le=100, description="Wrong passwords in a row before an account locks; count"
    )
    staff_lockout_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="How long a locked account stays locked; minutes"
    )
    staff_failed_logins_per_5_minutes: int = Field(
        default=200,
        ge=1,
        description="Failed sign-ins of all accounts together before all sign-ins wait; count per 5 minutes",
    )
    staff_failed_logins_per_source_per_5_minutes: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins from one source before that source (only it) waits; count per 5 minutes",
    )
    staff_events_poll_seconds: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="How often each live-queue stream (SSE) asks the database; seconds",
    )
    staff_events_per_session: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Live-queue streams kept per session in a worker (a newer one ends the oldest); count",
    )
    public_url: str = Field(
        default="",
        description="The site's public address as readers type it, for canonical links, feeds, QR codes, "
        "the sitemap and the web form told to chat users; empty: each request's Host; a URL, no unit",
    )
    learn_max_age_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="How long browsers and proxies may reuse a prevention page; seconds",
    )
    learn_stamp_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="How long a worker reuses its last look at which items are published "
        "(0: ask every request); seconds",
    )
    learn_views_flush_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="How often counted page views are written; seconds"
    )
    shutdown_grace_seconds: float = Field(
        default=20.0,
        ge=1,
        le=300,
        description="Time `hotline serve` gives requests in flight after SIGTERM before the intake writer "
        "is flushed (systemd's TimeoutStopSec must exceed it); seconds",
    )
    shutdown_drain_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Part of the grace during which requests still arriving on kept-alive connections are "
        "served, each answer closing its connection; seconds",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log record written; no unit"
    )
    holidays_file: Path | None = Field(
        default=None,
        description="CSV `date,kind,name` of the days the government moves each year, on top of the "
        "statutory holidays working-day deadlines skip; a file path, no unit",
    )
    master_key: str | None = Field(
        default=None,
        repr=False,
        description="Master key of the envelope encryption of named informants' identities, never stored "
        "in the database; 64 hex characters",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="A file holding the master key; neither set: one is created outside the data "
        "directory (hotline/masterkey.py); a file path, no unit",
    )
    new_master_key: str | None = Field(
        default=None,
        repr=False,
        description="During a master-key rotation only (docs/security.md): the new key; set, new records "
        "are wrapped under it and records under either key are read; 64 hex characters",
    )
    new_master_key_file: Path | None = Field(
        default=None,
        description="During a master-key rotation only: a file holding the new key; a file path, no unit",
    )
    retention_processed_years: int = Field(
        default=20,
        ge=1,
        le=100,
        description="How long a processed (or duplicate) tip's content and a named informant's identity "
        "are kept after the tip closes, then forgotten by `hotline retention run`; the deployment's legal "
        "office must confirm it (docs/security.md, Retention); the default errs long; years",
    )
    retention_batch: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Closed tips forgotten per transaction by the retention run, so intake and officers "
        "never wait long behind it (tips per transaction); count",
    )
    backup_key: str | None = Field(
        default=None,
        repr=False,
        description="Key of the backup archives, kept apart from the backups; unset: derived from the "
        "master key; never written into an archive; 64 hex characters",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql", "postgres:")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and (not value.startswith(("https://", "http://")) or any(c in value for c in " ?#\"'<>")):
            raise ValueError("must be an http(s) address without query, like https://tinbao.example.vn")
        return value.rstrip("/")

    @field_validator("master_key", "new_master_key")
    @classmethod
    def _master_key_hex(cls, value: str | None) -> str | None:
        if value:
            from core.envelope import parse_master_key

            parse_master_key(value)  # ValueError says what is wrong, never the value
        return value or None

    @field_validator("backup_key")
    @classmethod
    def _backup_key_hex(cls, value: str | None) -> str | None:
        if value:
            from core.envelope import parse_master_key

            try:
                parse_master_key(value)
            except ValueError:
                raise ValueError("must be 64 hexadecimal characters (32 bytes)") from None
        return value or None

    @property
    def retention_processed_days(self) -> int:
        """The processed period in days (365 a year: a few days' more keeping per leap year)."""
        return 365 * self.retention_processed_years

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad entry
        return value

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """HOTLINE_TRUSTED_PROXIES parsed: the peers whose forwarding headers we believe."""
        parts = filter(None, (p.strip() for p in self.trusted_proxies.split(",")))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value or None

    @field_validator("holidays_file")
    @classmethod
    def _readable_overrides(cls, value: Path | None) -> Path | None:
        if value is not None:
            from core.calendar import parse_overrides

            try:
                parse_overrides(value.read_text(encoding="utf-8").splitlines())
            except OSError as exc:
                raise ValueError(f"cannot read {value}: {exc.strerror}") from None
        return value

    @field_validator("zalo_media_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):  # HOTLINE_ZALO_MEDIA_HOSTS=a.example,b.example (or JSON)
            return tuple(h.strip() for h in value.split(",") if h.strip())
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under `data_dir`."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'hotline.db').as_posix()}"

    @property
    def attachments_path(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    @property
    def province_code(self) -> str:
        from storage.gazetteer import resolve_province

        return resolve_province(self.province).code


def load_settings() -> Settings:
    """Read and validate the environment; raise SettingsError with every problem listed."""
    try:
        settings = Settings()
        _ = settings.province_code
    except ValidationError as exc:
        problems = "; ".join(
            f"HOTLINE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
    except InvalidInput as exc:
        raise SettingsError(f"invalid settings: HOTLINE_PROVINCE: {exc}") from None
    return settings
