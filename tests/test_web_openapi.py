"""The OpenAPI document matches the routes and models (tests/test_web_api_fuzz.py fuzzes it)."""

from __future__ import annotations

from typing import Any

from handlers.schemas import AnswersIn, MessageIn, QuestionIn, ReceiptIn, TipIn


async def test_document_matches_the_routes(client: Any) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    # The staff operations are in the same document: tests/test_staff_openapi.py checks them.
    documented = {
        (m.upper(), path) for path, ops in doc["paths"].items() for m in ops if "/staff/" not in path
    }
    served = {
        (r.method, r.resource.canonical)
        for r in client.server.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/v1/")
        and "/staff/" not in r.resource.canonical
        and r.method not in ("HEAD", "GET")
    }
    assert documented == served
    bodies = {
        "/api/v1/tips": TipIn,
        "/api/v1/tips/status": ReceiptIn,
        "/api/v1/tips/messages": MessageIn,
        "/api/v1/questions": QuestionIn,
        "/api/v1/answers": AnswersIn,
    }
    for path, model in bodies.items():
        ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[-1]
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        assert doc["components"]["schemas"][name] == schema
    assert "multipart/form-data" in doc["paths"]["/api/v1/tips"]["post"]["requestBody"]["content"]
