"""Staff sign-in rules: TOTP checking, lockout and session lifetimes.

Session tokens are random and only their SHA-256 is stored, so a copy of the database
does not hand out live sessions; each session carries its own CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

TOTP_PERIOD = 30


@dataclass(frozen=True)
class SessionPolicy:
    """The numbers come from `hotline.settings`, built only by `hotline.bootstrap.session_policy`."""

    idle: timedelta
    absolute: timedelta
    max_failures: int
    lockout: timedelta


@dataclass(frozen=True)
class StaffSession:
    token_hash: str
    officer_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime

    def expired(self, now: datetime, policy: SessionPolicy) -> bool:
        return now - self.last_seen_at >= policy.idle or now - self.created_at >= policy.absolute


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def valid_totp_secret(secret: str) -> bool:
    """Base32 of at least 128 bits (RFC 4226 asks for that much)."""
    try:
        raw = pyotp.TOTP(secret).byte_secret()
    except (ValueError, TypeError):
        return False
    return len(raw) >= 16


def totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (this one or a neighbour, for clock drift), or None
    when it is wrong or was already used at or before `last_step` (no replays)."""
    code = code.strip()
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    current = int(now.timestamp()) // TOTP_PERIOD
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return None if last_step is not None and step <= last_step else step
    return None


def provisioning_uri(secret: str, username: str) -> str:
    """otpauth:// URI an authenticator app reads (as a QR code, or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="Hotline")
