"""Reading request bodies into validated models, with the right error for each failure."""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


async def read_json(request: web.Request, model: type[M]) -> M:
    """400 for a body that is not a JSON object, 413 past the size limit, 422 for fields."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    raw = await request.read()  # raises 413 past client_max_size
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise web.HTTPBadRequest(text="the body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return model.model_validate_json(raw)


def path_number(request: web.Request, name: str, what: str, *, digits: int = 18) -> int:
    """A positive id from the URL path, or 404 "no such `what`": ASCII digits only (`²` is a
    digit to `str.isdigit` but not to `int`), and never more than the database's 64-bit
    integers hold, so an odd URL cannot end in a 500."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > digits:
        raise web.HTTPNotFound(text=f"no such {what}")
    return int(raw)
