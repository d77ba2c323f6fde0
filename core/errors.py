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


class DuplicateKey(DomainError):
    """A unique value (such as a receipt code) is taken; the caller may draw another."""

    code = "duplicate_key"
