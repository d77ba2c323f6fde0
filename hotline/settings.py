"""The one settings object, read from `HOTLINE_*` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import InvalidInput


class SettingsError(Exception):
    """A bad setting, explained in words an operator can act on."""


class Settings(BaseSettings):
    """Built once at start and passed to whatever needs it; frozen so nobody changes it."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", frozen=True, extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str | None = Field(default=None, min_length=32)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    province: str = "79"
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: str | None = None
    telegram_mode: Literal["webhook", "polling"] = "webhook"
    # The bot's @username, for the links printed as QR codes on posters (`hotline qr`).
    telegram_bot_username: str | None = None
    # Broadcast engine: messages/s for the whole bot (raise it for a paid-broadcast
    # bot), the lease of a row being sent, and how often an idle worker looks for work.
    telegram_rate: float = Field(default=30.0, gt=0, le=10_000)
    broadcast_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    broadcast_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Zalo Bot Platform: the bot's token (Zalo Bot Creator), the API server root (tests
    # point it at a fake), the webhook's secret header (8-256 characters, as the platform
    # requires).
    zalo_token: str | None = None
    zalo_api_url: str = "https://bot-api.zaloplatforms.com"
    zalo_webhook_secret: str | None = Field(default=None, min_length=8, max_length=256)
    # Messages/s for the whole Zalo bot, shared through Redis by every worker. The platform
    # publishes no figure and answers 429 past its quota: start far below Telegram's 30/s
    # and raise it once the bot has been seen to sustain more.
    zalo_rate: float = Field(default=5.0, gt=0, le=1000)
    # Hosts photos may be downloaded from (https, subdomains included); an entry written
    # as http://host:port allows plain http for exactly that host (tests, a local mirror).
    zalo_media_hosts: Annotated[tuple[str, ...], NoDecode] = ("zdn.vn", "zadn.vn", "zalo.me", "zaloapp.com")
    # The bot's public Zalo link (https://zalo.me/...), printed on posters by `hotline qr`.
    zalo_bot_url: str | None = None
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Web intake: attachments, abuse control, passphrase hashing.
    attachments_dir: Path | None = None  # default: data_dir / "attachments"
    max_files: int = Field(default=5, ge=0, le=20)
    max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=10_000)
    # Bytes one picture may decode to (width x height x bytes per pixel, 16-bit samples
    # counted double), checked from its header before decoding: 40 MP of 8-bit RGBA.
    max_image_decoded_bytes: int = Field(default=160 * 1024 * 1024, ge=1024 * 1024)
    # Decoded bytes of all pictures being cleaned at once in one worker: a burst waits its
    # turn rather than taking the machine's memory.
    image_decode_budget_bytes: int = Field(default=384 * 1024 * 1024, ge=16 * 1024 * 1024)
    # Abuse control per source (a keyed hash of the client address, never stored) under a
    # global ceiling well above one source's share: one client cannot spend everyone's budget.
    # Submissions per minute per form (tip, question, message), all sources together.
    submissions_per_minute: int = Field(default=600, ge=1)
    # Submissions per minute per form from one source: a person reports a handful at most.
    submissions_per_source_per_minute: int = Field(default=10, ge=1)
    # Urgent tips per minute one source may still file past its limit ("someone is in
    # danger now" is never refused for a busy shared address, yet is no way to flood).
    urgent_over_limit_per_source_per_minute: int = Field(default=20, ge=0)
    failed_checks_per_receipt: int = Field(default=5, ge=1)
    failed_checks_window_seconds: int = Field(default=900, ge=1)
    # Seconds between the attempts still let through on a receipt past its failure limit:
    # a guesser slows the real informant down but cannot lock them out.
    receipt_pace_seconds: int = Field(default=60, ge=1, le=3600)
    # Failed receipt checks per minute, all sources together / from one source.
    failed_checks_per_minute: int = Field(default=300, ge=1)
    failed_checks_per_source_per_minute: int = Field(default=20, ge=1)
    # Knowledge-base look-ups (POST /api/v1/answers) per minute, all askers together / one source.
    answers_per_minute: int = Field(default=600, ge=1)
    answers_per_source_per_minute: int = Field(default=60, ge=1)
    # Reverse proxies (IP addresses or CIDR networks, comma-separated) whose X-Forwarded-For
    # and X-Forwarded-Proto are believed; from any other peer they are ignored (spoofable).
    trusted_proxies: str = ""
    # Hours a source-hash key lives before a new one is drawn (at most a day: sources must
    # not be linkable across days).
    source_key_hours: int = Field(default=24, ge=1, le=24)
    # Triage reads new tips' texts in a helper process (hotline/triage_worker.py); off, on
    # the event loop.
    triage_worker: bool = True
    passphrase_argon2_time_cost: int = Field(default=1, ge=1, le=10)
    passphrase_argon2_memory_kib: int = Field(default=1024, ge=256, le=1024 * 1024)
    # Staff workspace: session lifetimes and sign-in lockout.
    staff_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    staff_session_hours: int = Field(default=12, ge=1, le=7 * 24)
    staff_max_failed_logins: int = Field(default=5, ge=1, le=100)
    staff_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Failed sign-ins of all accounts together per 5 minutes before every sign-in waits.
    staff_failed_logins_per_5_minutes: int = Field(default=200, ge=1)
    # Failed sign-ins from one source per 5 minutes before that source waits (only it).
    staff_failed_logins_per_source_per_5_minutes: int = Field(default=10, ge=1)
    # Live queue (SSE): how often each stream asks the database; streams kept per session
    # in a worker (a newer one ends the oldest).
    staff_events_poll_seconds: float = Field(default=3.0, gt=0, le=60)
    staff_events_per_session: int = Field(default=3, ge=1, le=20)
    # The site's public address as readers type it: canonical links, feeds, QR codes and the
    # sitemap of the prevention pages (empty: taken from each request's Host), and the web
    # form's address told to people whose chat messages the bot cannot read (protected and
    # children's accounts on Zalo). Then, for the prevention pages: how long browsers and
    # proxies may reuse a page (seconds), how long a worker reuses its last look at which
    # items are published before asking the database again (seconds; 0: every request),
    # and how often counted views are written (seconds).
    public_url: str = ""
    learn_max_age_seconds: int = Field(default=300, ge=0, le=86_400)
    learn_stamp_seconds: float = Field(default=2.0, ge=0, le=300)
    learn_views_flush_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Seconds `hotline serve` gives requests in flight after SIGTERM (it has stopped
    # accepting), before the intake writer is flushed and it exits; systemd's
    # TimeoutStopSec (deploy/hotline@.service) must exceed it.
    shutdown_grace_seconds: float = Field(default=20.0, ge=1, le=300)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The days the government moves each year (bridge days off, Saturdays worked), as a CSV
    # `date,kind,name`, on top of the statutory holidays that working-day deadlines skip.
    holidays_file: Path | None = None
    # Master key of the envelope encryption of named informants' identities (64 hex
    # characters), or a file holding it; neither set: a key file is created once outside the
    # data directory (hotline/masterkey.py says where). Never stored in the database.
    master_key: str | None = Field(default=None, repr=False)
    master_key_file: Path | None = None
    # During a master-key rotation only (docs/security.md): the new key, or a file holding
    # it. Set, new records are wrapped under it and records under either key are read.
    new_master_key: str | None = Field(default=None, repr=False)
    new_master_key_file: Path | None = None

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
