"""An OpenAPI 3.1 document generated from the routes and the pydantic models they use.

Each public API route is declared once with `ApiRoutes.post(...)`: the same declaration
registers the aiohttp handler and its entry in the document, so the two cannot drift.
pydantic writes every schema (JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from handlers.errors import Handler
from handlers.schemas import ErrorOut
from hotline.settings import Settings

REF = "#/components/schemas/{model}"
ERRORS: dict[int, str] = {
    400: "The body is not valid JSON or multipart, or not UTF-8",
    413: "The body, a file or the files together are too large",
    415: "Send application/json (or multipart/form-data where files are allowed)",
    422: "A field is missing or invalid; `fields` lists them",
    429: "Too many attempts; retry after `Retry-After` seconds",
    503: "The database is unavailable: nothing was saved, please retry",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel]
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    multipart: bool = False
    extra_errors: tuple[int, ...] = ()


@dataclass
class ApiRoutes:
    """A RouteTableDef that also remembers what each route accepts and answers."""

    title: str
    version: str
    table: web.RouteTableDef = field(default_factory=web.RouteTableDef)
    operations: list[Operation] = field(default_factory=list)
    #: More of the document, added by other route tables (the staff API: handlers/staff_openapi.py).
    extensions: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)

    def post(
        self,
        path: str,
        *,
        summary: str,
        body: type[BaseModel],
        responses: dict[int, tuple[str, type[BaseModel] | None]],
        multipart: bool = False,
        extra_errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(Operation("post", path, summary, body, responses, multipart, extra_errors))
            self.table.post(path)(handler)
            return handler

        return register

    def document(self) -> dict[str, Any]:
        models: list[type[BaseModel]] = [ErrorOut]
        for op in self.operations:
            models.append(op.body)
            models.extend(m for _, m in op.responses.values() if m is not None)
        unique = list(dict.fromkeys(models))
        keys, defs = models_json_schema([(m, "validation") for m in unique], ref_template=REF)
        schemas: dict[str, Any] = dict(defs.get("$defs", {}))
        refs = {m: keys[(m, "validation")] for m in unique}
        paths: dict[str, Any] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method] = self._operation(op, refs, schemas)
        doc: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {"schemas": schemas},
        }
        for extend in self.extensions:
            extend(doc)
        return doc

    @staticmethod
    def _operation(
        op: Operation, refs: dict[type[BaseModel], dict[str, Any]], schemas: dict[str, Any]
    ) -> dict[str, Any]:
        content: dict[str, Any] = {"application/json": {"schema": refs[op.body]}}
        if op.multipart:
            name = f"{op.body.__name__}Multipart"
            base = op.body.model_json_schema(ref_template=REF)
            base.pop("$defs", None)
            # A form part cannot be null: an optional field is left out instead.
            base["properties"] = {
                **{k: _not_null(v) for k, v in base["properties"].items()},
                "files": {
                    "type": "array",
                    "items": {"type": "string", "format": "binary"},
                    "maxItems": Settings.model_fields["max_files"].default,
                    "description": "Photos or PDFs; at most HOTLINE_MAX_FILES (5 by default)",
                },
            }
            base["title"] = name
            schemas[name] = base
            content["multipart/form-data"] = {"schema": {"$ref": REF.format(model=name)}}
        responses: dict[str, Any] = {}
        for status, (description, model) in op.responses.items():
            entry: dict[str, Any] = {"description": description}
            if model is not None:
                entry["content"] = {"application/json": {"schema": refs[model]}}
            responses[str(status)] = entry
        error = {"application/json": {"schema": refs[ErrorOut]}}
        for status in sorted({*ERRORS, *op.extra_errors}):
            description = ERRORS.get(status, "No tip matches this receipt code and passphrase")
            responses[str(status)] = {"description": description, "content": error}
        return {
            "summary": op.summary,
            "operationId": op.path.removeprefix("/api/v1/").replace("/", "_"),
            "requestBody": {"required": True, "content": content},
            "responses": responses,
        }


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not options:
        return schema
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) != 1:
        return schema
    merged = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**merged, **rest[0]}
