"""Reading request bodies into validated models, with the right error for each failure."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


#: Deepest nesting of arrays and objects a body may have: ours are one or two levels deep,
#: and Python's parser recurses (20,000 levels end in a RecursionError, a 500).
MAX_JSON_DEPTH = 16
#: Longest integer literal: ours fit in 64 bits; 5,000 digits exceed Python's conversion
#: limit (a ValueError, a 500) and cost quadratic time below it.
MAX_INT_DIGITS = 40


class JsonRefused(ValueError):
    """A body that is not JSON we will read; the message says why, in plain words."""


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonRefused(f"a number in the body is longer than {MAX_INT_DIGITS} digits")
    return int(literal)


def _check_depth(value: Any) -> None:
    """Walk the containers without recursion; refuse past MAX_JSON_DEPTH."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise JsonRefused(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def parse_json(raw: bytes | str) -> Any:
    """Parse a request body, refusing (JsonRefused) what is not JSON, is nested deeper than
    MAX_JSON_DEPTH or carries an integer longer than MAX_INT_DIGITS. Shared by every JSON
    entry point (the APIs and the chat webhooks), so none of them answers such a body 500."""
    try:
        parsed = json.loads(raw, parse_int=_bounded_int)
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused(f"the body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError is a ValueError
        raise JsonRefused("the body is not valid JSON") from None
    _check_depth(parsed)
    return parsed


async def read_json(request: web.Request, model: type[M]) -> M:
    """400 for a body that is not a JSON object (or too deep, or with a huge number), 413
    past the size limit, 422 for fields."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    raw = await request.read()  # raises 413 past client_max_size
    try:
        parsed = parse_json(raw)
    except JsonRefused as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
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
