"""JSON errors everywhere; a traceback never reaches the client."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientConnectionResetError, web
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from core.attachments import AttachmentRefused
from core.errors import (
    AccountLocked,
    Conflict,
    CsrfRefused,
    DomainError,
    DuplicateKey,
    EnrolmentRequired,
    ExtensionRefused,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    NotSignedIn,
    SignInRefused,
)
from core.ratelimits import RateLimited
from handlers.keys import METRICS
from storage.db import describe_error

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    IllegalTransition: 409,
    Conflict: 409,
    ExtensionRefused: 409,
    DuplicateKey: 409,
    InvalidInput: 422,
    NotSignedIn: 401,
    SignInRefused: 401,
    CsrfRefused: 403,
    Forbidden: 403,
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store", **(headers or {})})


def domain_status(exc: DomainError) -> int:
    """The HTTP status of a domain error, by its nearest mapped class."""
    for cls in type(exc).__mro__:
        if cls in _DOMAIN_STATUS:
            return _DOMAIN_STATUS[cls]
    return 400


def domain_response(exc: DomainError) -> web.Response:
    if isinstance(exc, RateLimited):
        return error_response(
            429, exc.code, str(exc), {"Retry-After": str(exc.retry_after)}, retry_after=exc.retry_after
        )
    if isinstance(exc, EnrolmentRequired):
        return error_response(403, exc.code, str(exc), totp_secret=exc.secret, otpauth_uri=exc.uri)
    if isinstance(exc, AccountLocked):
        return error_response(
            429, exc.code, str(exc), {"Retry-After": str(exc.retry_after)}, retry_after=exc.retry_after
        )
    if isinstance(exc, AttachmentRefused):
        return error_response(422, exc.code, str(exc), reason=exc.reason)
    return error_response(domain_status(exc), exc.code, str(exc))


def validation_response(exc: ValidationError) -> web.Response:
    fields = [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    return error_response(422, "invalid_fields", "some fields are invalid", fields=fields)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else "unmatched"
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        response = error_response(exc.status, code, message)
        for name in ("WWW-Authenticate", "Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
    except ValidationError as exc:
        response = validation_response(exc)
    except DomainError as exc:
        response = domain_response(exc)
    except (ConnectionResetError, ClientConnectionResetError):
        # The client went away mid-request (an aborted upload): nothing to answer, no error.
        log.info("a client closed its connection during %s %s", request.method, route_name)
        response = error_response(400, "bad_request", "the request was not received in full")
    except DBAPIError as exc:
        # The type and SQLSTATE only: the message and traceback quote the statement's values.
        log.error("database error on %s %s (%s)", request.method, route_name, describe_error(exc))
        response = error_response(
            503, "not_saved", "the database is unavailable; nothing was saved, please retry"
        )
    except Exception:
        # Logged without the request body or headers: they may identify an informant.
        log.exception("unhandled error on %s %s", request.method, route_name)
        response = error_response(500, "internal_error", "something went wrong on our side")
    metrics = request.app[METRICS]
    metrics.requests.labels(request.method, route_name, str(response.status)).inc()
    metrics.latency.labels(route_name).observe(time.perf_counter() - started)
    return response
