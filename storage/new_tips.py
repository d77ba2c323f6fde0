"""A batch of new tips, their first history rows, keys, blind-index tokens and weekly counts,
written with statements compiled once whatever the batch size (PostgreSQL: one `unnest`
statement; SQLite: five over `json_each`), as the writer's time was mostly per statement."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TipKeyRow, TipRow, TipTokenRow, TransitionRow, tip_weeks

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_TIPS = cast(sa.Table, TipRow.__table__)
_HISTORY = cast(sa.Table, TransitionRow.__table__)
_KEYS = cast(sa.Table, TipKeyRow.__table__)
_TOKENS = cast(sa.Table, TipTokenRow.__table__)

#: The tips' columns intake writes (`_tip_values` in storage/repositories.py gives them).
TIP_COLUMNS = (
    "receipt_code", "text", "channel", "category", "urgent", "language", "place", "occurred_at",
    "province_code", "commune_code", "remote", "agency_code", "stage", "received_at",
    "verified_due_at", "classified_due_at", "processed_due_at", "next_due_at", "at_risk_at",
    "extensions", "policy_version", "version", "updated_at", "passphrase_hash", "triage",
    "triage_sealed",
)  # fmt: skip
#: Ciphertexts among them: hexadecimal in SQLite's JSON rows.
BLOB_COLUMNS = ("text", "place", "triage_sealed")
HISTORY_COLUMNS = ("action", "from_stage", "to_stage", "actor", "at", "reason", "to_agency", "details")
#: A history row as given: it names its tip by the tip's (unique) receipt code, as the tip's
#: new id is not known until the statement runs.
HISTORY_ROW = ("receipt_code", *HISTORY_COLUMNS)
WEEK_COLUMNS = ("week", "province_code", "agency_code", "commune_code", "category", "received")
#: Each tip's wrapped data key, and its blind-index tokens, named by receipt code too.
KEY_ROW = ("receipt_code", "key_id", "wrapped_key")
TOKEN_ROW = ("receipt_code", "token")


def _typed(table: sa.Table, columns: Sequence[str]) -> list[tuple[str, str]]:
    """Each column's type without a length: an explicit CAST to VARCHAR(n) would cut a long
    value short, where the INSERT refuses it."""
    return [(name, re.sub(r"\(\d+\)", "", table.c[name].type.compile(dialect=_DIALECT))) for name in columns]


def _unnest(columns: Sequence[tuple[str, str]], prefix: str, alias: str) -> str:
    """`unnest(CAST(:p_a AS type[]), ...) AS alias(a, ...)`: one array per column."""
    arrays = ", ".join(f"CAST(:{prefix}{name} AS {sql_type}[])" for name, sql_type in columns)
    return f"unnest({arrays}) AS {alias}({', '.join(name for name, _ in columns)})"


def _statement() -> sa.TextClause:
    tips, history = ", ".join(TIP_COLUMNS), ", ".join(HISTORY_COLUMNS)
    weeks, keys = ", ".join(WEEK_COLUMNS), ", ".join(WEEK_COLUMNS[:-1])
    # A history row finds its tip's new id by the tip's (unique) receipt code.
    code = _typed(_TIPS, ["receipt_code"])
    history_rows = [*code, *_typed(_HISTORY, HISTORY_COLUMNS)]
    return sa.text(
        f"WITH new AS (INSERT INTO tips ({tips}) SELECT {tips}"  # noqa: S608
        f" FROM {_unnest(_typed(_TIPS, TIP_COLUMNS), 't_', 't')} RETURNING id, receipt_code),"
        f" history AS (INSERT INTO tip_transitions (tip_id, {history})"
        f" SELECT new.id, {', '.join('h.' + c for c in HISTORY_COLUMNS)}"
        f" FROM new JOIN {_unnest(history_rows, 'h_', 'h')} ON h.receipt_code = new.receipt_code),"
        f" weeks AS (INSERT INTO tip_weeks ({weeks}) SELECT {weeks}"
        f" FROM {_unnest(_typed(tip_weeks, WEEK_COLUMNS), 'w_', 'w')}"
        f" ON CONFLICT ({keys}) DO UPDATE SET received = tip_weeks.received + EXCLUDED.received),"
        " keys AS (INSERT INTO tip_keys (tip_id, key_id, wrapped_key) SELECT new.id, k.key_id, k.wrapped_key"
        f" FROM new JOIN {_unnest([*code, *_typed(_KEYS, KEY_ROW[1:])], 'k_', 'k')}"
        " ON k.receipt_code = new.receipt_code),"
        # One row a tip: its tokens gathered into the GIN-indexed array (storage.token_rows).
        " tokens AS (INSERT INTO tip_token_sets (tip_id, tokens) SELECT new.id, array_agg(x.token)"
        f" FROM new JOIN {_unnest([*code, *_typed(_TOKENS, ['token'])], 'x_', 'x')}"
        " ON x.receipt_code = new.receipt_code GROUP BY new.id)"
        " SELECT id, receipt_code FROM new"
    )


STATEMENT = _statement()


# ---- SQLite ------------------------------------------------------------------------------


def _from_json(columns: Sequence[str], source: str = "value", first: int = 0) -> str:
    """`json_extract(value, '$[0]'), ...`: the columns of one JSON row, in order, from the
    row's item `first` on."""
    return ", ".join(f"json_extract({source}, '$[{first + i}]')" for i in range(len(columns)))


def _sqlite_values(columns: Sequence[str], blobs: Sequence[str] = BLOB_COLUMNS) -> str:
    """`_from_json`, with the ciphertext columns turned back from hexadecimal."""
    return ", ".join(
        f"hotline_unhex(json_extract(value, '$[{i}]'))" if name in blobs else f"json_extract(value, '$[{i}]')"
        for i, name in enumerate(columns)
    )


def _sqlite_statements() -> tuple[sa.TextClause, sa.TextClause, sa.TextClause, sa.TextClause, sa.TextClause]:
    tips, history = ", ".join(TIP_COLUMNS), ", ".join(HISTORY_COLUMNS)
    weeks, keys = ", ".join(WEEK_COLUMNS), ", ".join(WEEK_COLUMNS[:-1])
    # A history row is HISTORY_ROW: its tip's new id is found by code (item 0).
    history_values = _from_json(HISTORY_COLUMNS, "h.value", first=1)
    return (
        sa.text(
            f"INSERT INTO tips ({tips}) SELECT {_sqlite_values(TIP_COLUMNS)}"  # noqa: S608
            " FROM json_each(:rows) ORDER BY key RETURNING id, receipt_code"
        ),
        sa.text(
            f"INSERT INTO tip_transitions (tip_id, {history}) SELECT t.id, {history_values}"  # noqa: S608
            " FROM json_each(:rows) AS h JOIN tips AS t ON t.receipt_code = json_extract(h.value, '$[0]')"
            " ORDER BY h.key"
        ),
        # `WHERE true`: SQLite's grammar needs it between a SELECT and ON CONFLICT.
        sa.text(
            f"INSERT INTO tip_weeks ({weeks}) SELECT {_from_json(WEEK_COLUMNS)}"  # noqa: S608
            f" FROM json_each(:rows) WHERE true ON CONFLICT ({keys})"
            " DO UPDATE SET received = tip_weeks.received + excluded.received"
        ),
        sa.text(
            "INSERT INTO tip_keys (tip_id, key_id, wrapped_key)"
            " SELECT t.id, json_extract(k.value, '$[1]'), hotline_unhex(json_extract(k.value, '$[2]'))"
            " FROM json_each(:rows) AS k JOIN tips AS t ON t.receipt_code = json_extract(k.value, '$[0]')"
        ),
        sa.text(
            "INSERT INTO tip_tokens (token, tip_id) SELECT json_extract(x.value, '$[1]'), t.id"
            " FROM json_each(:rows) AS x JOIN tips AS t ON t.receipt_code = json_extract(x.value, '$[0]')"
        ),
    )


SQLITE_TIPS, SQLITE_HISTORY, SQLITE_WEEKS, SQLITE_KEYS, SQLITE_TOKENS = _sqlite_statements()


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy stores for an aware datetime in a `UTCDateTime` column on SQLite
    (UTC, microseconds always written), so stored dates compare and sort as one format."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], json_columns: Sequence[str]) -> str:
    """The rows as one JSON array of arrays: dates as SQLite's text, JSON columns as their
    text (stored as SQLAlchemy's JSON type writes it), the rest as JSON scalars."""
    packed = []
    for row in rows:
        values = []
        for name in columns:
            value = row[name]
            if name in json_columns:
                value = _json(value)
            elif isinstance(value, datetime):
                value = sqlite_datetime(value)
            elif isinstance(value, bytes):
                value = value.hex()
            elif isinstance(value, str) and "\x00" in value:
                # json_extract would cut the text there; intake refuses NUL before this
                raise ValueError(f"a NUL character in {name}")
            values.append(value)
        packed.append(values)
    return json.dumps(packed, ensure_ascii=False)


async def _insert_sqlite(
    session: AsyncSession,
    tips: Sequence[dict[str, Any]],
    history: Sequence[dict[str, Any]],
    weeks: Sequence[dict[str, Any]],
    keys: Sequence[dict[str, Any]],
    tokens: Sequence[dict[str, Any]],
) -> dict[str, int]:
    result = await session.execute(SQLITE_TIPS, {"rows": _sqlite_rows(tips, TIP_COLUMNS, ("triage",))})
    by_code = {code: int(tip_id) for tip_id, code in result.all()}
    await session.execute(SQLITE_HISTORY, {"rows": _sqlite_rows(history, HISTORY_ROW, ("details",))})
    if weeks:
        await session.execute(SQLITE_WEEKS, {"rows": _sqlite_rows(weeks, WEEK_COLUMNS, ())})
    await session.execute(SQLITE_KEYS, {"rows": _sqlite_rows(keys, KEY_ROW, ())})
    if tokens:
        await session.execute(SQLITE_TOKENS, {"rows": _sqlite_rows(tokens, TOKEN_ROW, ())})
    return by_code


# ---- either --------------------------------------------------------------------------------


def _json(value: Any) -> str:
    """As SQLAlchemy's JSON type writes it (None too is the JSON `null`)."""
    return json.dumps(value)


async def insert_new_tips(
    session: AsyncSession,
    tips: Sequence[dict[str, Any]],
    history: Sequence[dict[str, Any]],
    weeks: Sequence[dict[str, Any]],
    keys: Sequence[dict[str, Any]],
    tokens: Sequence[dict[str, Any]],
) -> dict[str, int]:
    """Insert the tips' rows, one history row and one wrapped key per tip and the tips'
    blind-index tokens (each names its tip by `receipt_code`), and add the weekly counts
    (one row per distinct key); the new ids come back by receipt code."""
    if session.get_bind().dialect.name == "sqlite":
        return await _insert_sqlite(session, tips, history, weeks, keys, tokens)
    result = await session.execute(STATEMENT, unnest_params(tips, history, weeks, keys, tokens))
    return {code: int(tip_id) for tip_id, code in result.all()}


def unnest_params(
    tips: Sequence[dict[str, Any]],
    history: Sequence[dict[str, Any]],
    weeks: Sequence[dict[str, Any]],
    keys: Sequence[dict[str, Any]],
    tokens: Sequence[dict[str, Any]],
) -> dict[str, list[Any]]:
    """STATEMENT's parameters: one array per column, named by its part's prefix."""
    params: dict[str, list[Any]] = {}
    for prefix, rows, columns in (
        ("t_", tips, TIP_COLUMNS),
        ("h_", history, HISTORY_ROW),
        ("w_", weeks, WEEK_COLUMNS),
        ("k_", keys, KEY_ROW),
        ("x_", tokens, TOKEN_ROW),
    ):
        for name in columns:
            params[prefix + name] = [row[name] for row in rows]
    params["t_triage"] = [_json(value) for value in params["t_triage"]]
    params["h_details"] = [_json(value) for value in params["h_details"]]
    return params
