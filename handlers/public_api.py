"""Public JSON API of the anonymous intake: tips, status, follow-up messages, questions."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from core.categories import Channel
from core.intake import Receipt
from core.receipts import display
from core.reporters import ReporterView
from core.tips import TipDraft
from handlers.clients import source_of
from handlers.forms import Submitted, is_multipart, read_multipart
from handlers.keys import METRICS, SERVICES, SETTINGS
from handlers.openapi import ApiRoutes
from handlers.parsing import read_json
from handlers.schemas import (
    AnswerOut,
    AnswersIn,
    AnswersOut,
    EmergencyNumbers,
    MessageIn,
    MessageOut,
    QuestionIn,
    ReceiptIn,
    ReceiptOut,
    StatusOut,
    TipIn,
)

M = TypeVar("M", bound=BaseModel)
EMERGENCY = {"police": "113", "child_protection_and_trafficking": "111"}
NO_STORE = {"Cache-Control": "no-store"}

api = ApiRoutes(title="Hotline public API", version="1")
routes = api.table


async def read_body(request: web.Request, model: type[M]) -> tuple[M, list[bytes]]:
    """JSON (strict types), or multipart/form-data (text parts, coerced) with files."""
    if not is_multipart(request):
        return await read_json(request, model), []
    settings = request.app[SETTINGS]
    submitted: Submitted = await read_multipart(
        request, request.app[SERVICES].intake.attachment_policy, settings.max_body_bytes
    )
    return model.model_validate(submitted.fields, strict=False), submitted.files


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    body = ReceiptOut(
        receipt_code=display(receipt.receipt_code),
        passphrase=receipt.passphrase,
        stage=receipt.stage.value,
        received_at=receipt.received_at,
        urgent=receipt.urgent,
        emergency_numbers=EmergencyNumbers(**EMERGENCY) if receipt.urgent else None,
        accepted_over_limit=receipt.over_limit,
    )
    return body.model_dump(mode="json")


def status_json(view: ReporterView) -> dict[str, Any]:
    return StatusOut(
        stage=view.stage,
        received_at=view.received_at,
        messages=[MessageOut(author=m.author.value, text=m.text, at=m.at) for m in view.messages],
        attachments=view.attachments,
    ).model_dump(mode="json")


@api.post(
    "/api/v1/tips",
    summary="Report a tip; answers with a receipt code and passphrase, shown once",
    body=TipIn,
    multipart=True,
    responses={201: ("Stored; keep the receipt code and passphrase", ReceiptOut)},
)
async def submit_tip(request: web.Request) -> web.Response:
    """Store the tip (and its cleaned files), then answer 201: the commit comes first."""
    body, files = await read_body(request, TipIn)
    receipt = await request.app[SERVICES].reporters.report(
        TipDraft(
            text=body.text,
            channel=Channel.WEB,
            category=body.category,
            urgent=body.urgent,
            commune_code=body.commune_code,
            place=body.place,
            occurred_at=body.occurred_at,
        ),
        files,
        source=await source_of(request),
    )
    request.app[METRICS].tips_received.labels(Channel.WEB.value).inc()
    return web.json_response(receipt_json(receipt), status=201, headers=NO_STORE)


@api.post(
    "/api/v1/tips/status",
    summary="Stage and conversation of a tip, for the holder of its receipt",
    body=ReceiptIn,
    responses={200: ("The stage in plain terms and the conversation", StatusOut)},
    extra_errors=(404,),
)
async def tip_status(request: web.Request) -> web.Response:
    """404 for an unknown code and a wrong passphrase alike."""
    body = await read_json(request, ReceiptIn)
    view = await request.app[SERVICES].reporters.status(
        body.receipt_code, body.passphrase, source=await source_of(request)
    )
    return web.json_response(status_json(view), headers=NO_STORE)


@api.post(
    "/api/v1/tips/messages",
    summary="Add details (text, optionally files) to your tip",
    body=MessageIn,
    multipart=True,
    responses={201: ("Added", MessageOut)},
    extra_errors=(404,),
)
async def add_message(request: web.Request) -> web.Response:
    """The reporter's follow-up; the same receipt check as the status."""
    body, files = await read_body(request, MessageIn)
    message = await request.app[SERVICES].reporters.add_message(
        body.receipt_code, body.passphrase, body.text, files, source=await source_of(request)
    )
    out = MessageOut(author=message.author.value, text=message.text, at=message.at)
    return web.json_response(out.model_dump(mode="json"), status=201, headers=NO_STORE)


@api.post(
    "/api/v1/questions",
    summary="Ask a question; answered by a counsellor (filed as an info_request)",
    body=QuestionIn,
    responses={201: ("Filed; keep the receipt code and passphrase to read the answer", ReceiptOut)},
)
async def ask_question(request: web.Request) -> web.Response:
    body = await read_json(request, QuestionIn)
    receipt = await request.app[SERVICES].reporters.ask(body.text, source=await source_of(request))
    request.app[METRICS].tips_received.labels(Channel.WEB.value).inc()
    return web.json_response(receipt_json(receipt), status=201, headers=NO_STORE)


@api.post(
    "/api/v1/answers",
    summary="Answers from the knowledge base to a question; nothing is stored",
    body=AnswersIn,
    responses={200: ("Best answers first; empty when none fits (then ask a counsellor)", AnswersOut)},
)
async def answers(request: web.Request) -> web.Response:
    """The knowledge base's good matches, no receipt and no record of the question; 429
    past the answers rate limit (`HOTLINE_ANSWERS_PER_MINUTE`)."""
    body = await read_json(request, AnswersIn)
    matches = await request.app[SERVICES].answers.answer(
        body.text, hint=body.language or "vi", limit=body.limit, source=await source_of(request)
    )
    out = AnswersOut(
        answers=[
            AnswerOut(
                entry_id=m.entry.id,
                language="en" if m.language == "en" else "vi",
                question=m.entry.question(m.language),
                answer=m.answer,
                coverage=round(m.coverage, 3),
            )
            for m in matches
        ]
    )
    return web.json_response(out.model_dump(mode="json"))


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The document generated from the declarations above."""
    del request
    return web.json_response(api.document())
