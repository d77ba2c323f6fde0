"""Staff accounts: password hashing and checking (argon2id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
#: Verified against when the username is unknown, so that costs what a known one does;
#: made on first need (a quarter of a second), not when the module is imported.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash("not-a-real-password")
    return _DUMMY_HASH


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Officer:
    id: int
    username: str
    agency_code: str
    area_code: str
    role: Role
    password_hash: str
    active: bool = True
    #: Base32 TOTP secret (RFC 6238): the second factor every staff sign-in needs.
    totp_secret: str | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    #: The last TOTP time step accepted, so an observed code cannot be replayed.
    totp_last_step: int | None = None

    @property
    def actor(self) -> str:
        """How the officer appears in histories and the audit log."""
        return f"officer:{self.username}"


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise ValueError("a password needs at least 12 characters")
    return _HASHER.hash(password)


def password_matches(officer: Officer | None, password: str) -> bool:
    """True only for an active officer with this password; constant work either way."""
    stored = officer.password_hash if officer is not None else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return officer is not None and officer.active
