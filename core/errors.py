"""Named domain errors; the edges (HTTP, bot, CLI) map them to a status or a reply."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a rule of the domain refused the request."""

    code = "domain_error"


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it exists."""

    code = "not_found"


class IllegalTransition(DomainError):
    """The lifecycle does not allow this move from the tip's current stage."""

    code = "illegal_transition"


class Conflict(DomainError):
    """Someone else changed the tip first; the caller should reload and decide again."""

    code = "conflict"


class ExtensionRefused(DomainError):
    """A deadline extension that the policy does not allow (limit reached, wrong stage)."""

    code = "extension_refused"


class InvalidInput(DomainError):
    """Input that passed the edge's type checks but breaks a domain rule."""

    code = "invalid_input"


class Unstorable(InvalidInput):
    """A value the rules let through but the database refused (a gap in validation, such
    as a NUL character once was). Only the record carrying it is refused: the others
    written in the same transaction are written again without it (core/group_commit.py)."""


class DuplicateKey(DomainError):
    """A unique value (such as a receipt code) is taken; the caller may draw another."""

    code = "duplicate_key"


class NotSignedIn(DomainError):
    """No valid staff session: never signed in, signed out, or timed out."""

    code = "not_signed_in"


class SignInRefused(DomainError):
    """Wrong username, password or one-time code; which one is not said."""

    code = "sign_in_refused"


class AccountLocked(SignInRefused):
    """Too many failed sign-ins in a row; the account waits `retry_after` seconds."""

    code = "locked"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Forbidden(DomainError):
    """The officer's role does not allow this (e.g. reading the audit log)."""

    code = "forbidden"


class EnrolmentRequired(DomainError):
    """First sign-in of an officer without a second factor: the password was right, a TOTP
    secret has just been drawn for them, and they must add it to an authenticator app and
    sign in again with its code. Shown once."""

    code = "totp_enrolment"

    def __init__(self, message: str, secret: str, uri: str) -> None:
        super().__init__(message)
        self.secret = secret
        self.uri = uri


class CsrfRefused(DomainError):
    """A staff write without the session's CSRF token."""

    code = "csrf"
