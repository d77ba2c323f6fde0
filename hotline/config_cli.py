"""`hotline config`: every setting in force, where it came from, secrets masked.

An operator asking "what is this worker running with?" gets one answer: each variable, its
value (from the environment or the default), the default, and what it is for.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any

from sqlalchemy.engine import make_url

from hotline.settings import Settings

#: Settings whose value is a secret: only whether it is set is shown.
SECRET_NAME = re.compile(r"token|secret|password|(^|_)key$")
MASK = "********"


def register(sub: Any) -> None:
    """Add `hotline config` to the `hotline` parser's subcommands."""
    config = sub.add_parser("config", help="every setting in force, secrets masked")
    config.add_argument("--format", choices=["table", "json"], default="table")
    config.set_defaults(run=cmd_config)


def shown(name: str, value: Any) -> Any:
    """The value as it may be printed: secrets masked, passwords in URLs masked."""
    if value is None:
        return None
    if SECRET_NAME.search(name):
        return MASK
    if isinstance(value, str) and "://" in value:
        return masked_url(value)
    return str(value) if not isinstance(value, bool | int | float) else value


def masked_url(url: str) -> str:
    """A database or Redis URL with its password replaced."""
    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: show only its scheme
        return url.split("://", 1)[0] + "://" + MASK
    return parsed.render_as_string(hide_password=True)


def settings_in_force(settings: Settings) -> list[dict[str, Any]]:
    """One row per setting: variable, value, default, source and description."""
    rows = []
    for name, field in type(settings).model_fields.items():
        variable = f"HOTLINE_{name.upper()}"
        rows.append(
            {
                "variable": variable,
                "value": shown(name, getattr(settings, name)),
                "default": shown(name, field.get_default(call_default_factory=True)),
                "source": "environment" if variable in os.environ else "default",
                "description": field.description or "",
            }
        )
    return rows


def cmd_config(settings: Settings, args: argparse.Namespace) -> int:
    rows = settings_in_force(settings)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    width = max(len(row["variable"]) for row in rows)
    for row in rows:
        value = "(not set)" if row["value"] is None else row["value"]
        marker = "*" if row["source"] == "environment" else " "
        line = f"{marker} {row['variable']:<{width}}  {value}"
        print(f"{line}    # {row['description']}" if row["description"] else line)
    print("\n* set in the environment; the others are defaults.")
    return 0
