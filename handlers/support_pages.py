"""The public support path (`/support`): a person asks for help for themselves, without a
name; kinds of help and wording come from reviewed content data (core/data/support.json).
The receipt code and passphrase read answers and continue the conversation, rate-limited
like a tip's (failed checks per code and per source)."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError

from core.errors import DomainError, NotFound
from core.receipts import display
from core.receipts import normalise as normalise_code
from handlers.clients import source_of
from handlers.i18n import language
from handlers.keys import SERVICES
from handlers.pages import FormRefused, communes, read_form, refusal, render

routes = web.RouteTableDef()
MAX_FIELD = 5000


def _context(request: web.Request) -> dict[str, Any]:
    support = request.app[SERVICES].support
    lang = language(request)
    return {
        "words": {k: support.content.text(k, lang) for k in support.content.wording["vi"]},
        "kinds": [(k.code, k.vi if lang == "vi" else k.en) for k in support.content.kinds],
    }


def _kinds(request_fields: Any) -> list[str]:
    return [v for k, v in request_fields if k == "kind" and isinstance(v, str)][:20]


@routes.get("/support")
async def support_form(request: web.Request) -> web.Response:
    return render(
        request, "support.html", form={}, chosen=[], communes=await communes(request), **_context(request)
    )


@routes.post("/support")
async def support_submit(request: web.Request) -> web.Response:
    """Open the case, then show the receipt: the commit comes before the page."""
    fields: dict[str, str] = {}
    chosen: list[str] = []
    services = request.app[SERVICES]
    try:
        if request.content_type != "application/x-www-form-urlencoded":
            raise web.HTTPUnsupportedMediaType(text="send the form as a browser does")
        fields = (await read_form(request)).fields
        chosen = _kinds((await request.post()).items())  # the repeated "kind" boxes
        if any(len(v) > MAX_FIELD for v in fields.values()):
            raise FormRefused("text", 413)
        await services.reporters.throttle.submission("support", await source_of(request))
        receipt = await services.support.ask(
            kinds=chosen,
            commune=fields.get("commune") or None,
            contact=fields.get("contact") or None,
            message=fields.get("message", ""),
        )
    except (FormRefused, DomainError, web.HTTPClientError, DBAPIError) as exc:
        refused = refusal(exc)
        return render(
            request,
            "support.html",
            status=refused.status,
            no_store=True,
            form=fields,
            chosen=chosen,
            problem=refused.problem,
            reason=refused.reason,
            communes=await communes(request),
            **_context(request),
        )
    return render(
        request,
        "support_receipt.html",
        status=201,
        no_store=True,
        code=display(receipt.code),
        passphrase=receipt.passphrase,
        **_context(request),
    )


async def _checked(request: web.Request, code: str, passphrase: str) -> Any:
    """The case page for the pair, counting failures per code like a tip's status check."""
    services = request.app[SERVICES]
    throttle = services.reporters.throttle
    canonical = normalise_code(code)
    key = "support:" + (canonical or hashlib.sha256(code.strip().upper().encode()).hexdigest()[:20])
    source = await source_of(request)
    await throttle.check_allowed(key, source)
    try:
        return await services.support.read(code, passphrase)
    except NotFound:
        await throttle.check_failed(key, source)
        raise


@routes.get("/support/status")
async def support_status_form(request: web.Request) -> web.Response:
    return render(request, "support_status.html", no_store=True, view=None, **_context(request))


@routes.post("/support/status")
async def support_status(request: web.Request) -> web.Response:
    fields: dict[str, str] = {}
    try:
        fields = (await read_form(request)).fields
        code, phrase = fields.get("receipt_code", "")[:64], fields.get("passphrase", "")[:200]
        if fields.get("text", "").strip():
            await _checked(request, code, phrase)
            await request.app[SERVICES].support.write(code, phrase, fields["text"])
        view = await _checked(request, code, phrase)
    except (FormRefused, DomainError, web.HTTPClientError, DBAPIError) as exc:
        refused = refusal(exc)
        return render(
            request,
            "support_status.html",
            status=refused.status,
            no_store=True,
            view=None,
            problem=refused.problem,
            **_context(request),
        )
    return render(
        request,
        "support_status.html",
        no_store=True,
        view=view,
        code=code,
        passphrase=phrase,
        kind_label=request.app[SERVICES].support.content.kind_label,
        **_context(request),
    )
