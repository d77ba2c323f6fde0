"""The staff API in the OpenAPI document: every staff route of ours is described and every
description is served, with the session cookie and (on writes) the X-CSRF-Token security
schemes. tests/test_staff_api_fuzz.py fuzzes the operations described."""

from __future__ import annotations

from typing import Any

from handlers.staff_openapi import CSRF, OPERATIONS, SESSION

OURS = {
    "handlers.staff_api",
    "handlers.staff_events",
    "handlers.staff_charts",
    "handlers.staff_register",
    "handlers.staff_establishments",
}


async def test_every_staff_route_is_described_with_its_security(client: Any) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    described = {
        (m.upper(), p) for p, ops in doc["paths"].items() for m in ops if p.startswith("/api/v1/staff/")
    }
    served = {
        (r.method, r.resource.canonical)
        for r in client.server.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/v1/staff/")
        and r.method != "HEAD"
        and r.handler.__module__ in OURS
    }
    assert served <= described and len(described) == len(OPERATIONS)
    schemes = doc["components"]["securitySchemes"]
    assert schemes[SESSION] == {**schemes[SESSION], "type": "apiKey", "in": "cookie", "name": "hotline_staff"}
    assert schemes[CSRF] == {**schemes[CSRF], "type": "apiKey", "in": "header", "name": "X-CSRF-Token"}
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/staff/"):
            assert "security" not in next(iter(ops.values()))
            continue
        for method, op in ops.items():
            if (method, path) == ("post", "/api/v1/staff/session"):
                assert op["security"] == []  # signing in needs no session
            elif method == "get":
                assert op["security"] == [{SESSION: []}], path
            else:
                assert op["security"] == [{SESSION: [], CSRF: []}], (method, path)
                assert "403" in op["responses"]
    body = doc["paths"]["/api/v1/staff/tips/{tip_id}/transitions"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(doc["components"]["schemas"][ref]["properties"]) >= {
        "to",
        "reason",
        "to_agency",
        "duplicate_of",
    }
    queue = {p["name"] for p in doc["paths"]["/api/v1/staff/tips"]["get"]["parameters"]}
    assert {"stage", "category", "urgent", "commune", "q", "next", "limit"} <= queue
