"""Public JSON API: a reporter submits a tip and gets a receipt."""

from __future__ import annotations

from aiohttp import web

from core.categories import Channel
from core.receipts import display
from core.tips import TipDraft
from handlers.keys import METRICS, SERVICES
from handlers.parsing import read_json
from handlers.schemas import TipIn

routes = web.RouteTableDef()


@routes.post("/api/v1/tips")
async def submit_tip(request: web.Request) -> web.Response:
    """Store the tip, then answer 201 with the receipt: the commit comes first."""
    body = await read_json(request, TipIn)
    receipt = await request.app[SERVICES].tips.submit(
        TipDraft(
            text=body.text,
            channel=Channel.WEB,
            category=body.category,
            urgent=body.urgent,
            commune_code=body.commune_code,
            place=body.place,
            occurred_at=body.occurred_at,
        )
    )
    request.app[METRICS].tips_received.labels(Channel.WEB.value).inc()
    return web.json_response(
        {
            "receipt_code": display(receipt.receipt_code),
            "stage": receipt.stage.value,
            "received_at": receipt.received_at.isoformat(),
            "urgent": receipt.urgent,
            "emergency_numbers": {"police": "113", "child_protection_and_trafficking": "111"}
            if receipt.urgent
            else None,
        },
        status=201,
        headers={"Cache-Control": "no-store"},
    )
