"""Staff accounts: password hashing and checking (argon2id)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verifying against this when the username is unknown keeps the timing the same.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


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
    stored = officer.password_hash if officer is not None else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return officer is not None and officer.active
