"""Staff JSON API: read a tip, move it through its stages, extend, and read the KPI.

Until the staff workspace brings sessions and TOTP, officers authenticate with HTTP Basic
(argon2-checked passwords) over HTTPS; every read and write is audited under their name.
"""

from __future__ import annotations

import binascii
from base64 import b64decode

from aiohttp import web

from core.kpi import KpiScope
from core.officers import Officer
from core.services import TransitionRequest
from handlers.keys import METRICS, SERVICES
from handlers.parsing import read_json
from handlers.schemas import ExtensionIn, KpiQuery, ReplyIn, TransitionIn, tip_json

routes = web.RouteTableDef()

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="hotline staff", charset="UTF-8"'}


async def require_officer(request: web.Request) -> Officer:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise web.HTTPUnauthorized(text="staff credentials required", headers=_CHALLENGE)
    try:
        username, _, password = b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise web.HTTPUnauthorized(text="malformed credentials", headers=_CHALLENGE) from None
    officer = await request.app[SERVICES].staff.authenticate(username, password)
    if officer is None:
        raise web.HTTPUnauthorized(text="wrong username or password", headers=_CHALLENGE)
    return officer


def tip_id_of(request: web.Request) -> int:
    raw = request.match_info["tip_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound(text="no such tip")
    return int(raw)


@routes.get("/api/v1/staff/tips/{tip_id}")
async def get_tip(request: web.Request) -> web.Response:
    """A tip with its history; the read is audited."""
    officer = await require_officer(request)
    tip, history = await request.app[SERVICES].tips.view(tip_id_of(request), officer.actor)
    return web.json_response(tip_json(tip, list(history)), headers={"Cache-Control": "no-store"})


@routes.post("/api/v1/staff/tips/{tip_id}/transitions")
async def transition_tip(request: web.Request) -> web.Response:
    """Move a tip; 409 when the move is illegal or someone else moved it first."""
    officer = await require_officer(request)
    body = await read_json(request, TransitionIn)
    tip = await request.app[SERVICES].tips.transition(
        tip_id_of(request),
        TransitionRequest(
            target=body.to,
            actor=officer.actor,
            reason=body.reason,
            expected_stage=body.expected_stage,
            category=body.category,
            urgent=body.urgent,
            to_agency=body.to_agency,
            duplicate_of=body.duplicate_of,
        ),
    )
    request.app[METRICS].transitions.labels(body.to.value).inc()
    return web.json_response(tip_json(tip), headers={"Cache-Control": "no-store"})


@routes.post("/api/v1/staff/tips/{tip_id}/extensions")
async def extend_tip(request: web.Request) -> web.Response:
    """Extend the decision deadline (CPC art. 147), with a reason."""
    officer = await require_officer(request)
    body = await read_json(request, ExtensionIn)
    tip = await request.app[SERVICES].tips.extend_deadline(
        tip_id_of(request), actor=officer.actor, reason=body.reason, days=body.days
    )
    return web.json_response(tip_json(tip), headers={"Cache-Control": "no-store"})


@routes.post("/api/v1/staff/tips/{tip_id}/replies")
async def reply_to_reporter(request: web.Request) -> web.Response:
    """An anonymous answer to the reporter: shown on their status page (and announced in
    the bot to reporters who agreed), never with the officer's name."""
    officer = await require_officer(request)
    body = await read_json(request, ReplyIn)
    message = await request.app[SERVICES].tips.reply(tip_id_of(request), actor=officer.actor, text=body.text)
    return web.json_response(
        {"author": message.author.value, "text": message.text, "at": message.at.isoformat()},
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@routes.get("/api/v1/staff/kpi")
async def kpi(request: web.Request) -> web.Response:
    """The KPI for `from`..`to` (dates, Viet Nam time), optionally one agency or commune."""
    await require_officer(request)
    query = KpiQuery.model_validate(dict(request.query))
    report = await request.app[SERVICES].tips.kpi(
        query.period(), KpiScope(agency_code=query.agency, commune_code=query.commune)
    )
    return web.json_response(report.to_dict())
