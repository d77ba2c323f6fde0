"""The register as a CSV file: what an import file must look like, read row by row with
the line number of each, and the columns an export writes.

Header `name,kind,address,commune_code`, optionally `licence`, `status` and
`commitment_date` (YYYY-MM-DD or DD/MM/YYYY). Any other column, or a bad value, is refused
with its line number: an import is all or nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime

from core.errors import InvalidInput
from core.establishment_service import ImportRow
from core.establishments import Establishment, EstablishmentDraft, kind_of, status_of

REQUIRED = ("name", "kind", "address", "commune_code")
OPTIONAL = ("licence", "status", "commitment_date")
#: Columns an export adds, skipped on import, so an exported file imports again as is.
IGNORED = ("id", "last_inspected")
EXPORT_COLUMNS = (
    "id",
    "name",
    "kind",
    "address",
    "commune_code",
    "licence",
    "status",
    "commitment_date",
    "last_inspected",
)
#: A register file larger than this is refused before it is parsed (a province has thousands).
MAX_ROWS = 200_000
MAX_FIELD = 1000


def _date(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 and raw[4] == "-" else _dmy(raw)
    except ValueError:
        raise InvalidInput(f"bad date {raw!r} (use YYYY-MM-DD)") from None


def _dmy(raw: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(raw)


def _commune(raw: str) -> str:
    """`4` as a spreadsheet shows `00004`: leading zeros put back on a number."""
    raw = raw.strip()
    return raw.zfill(5) if raw.isascii() and raw.isdigit() and len(raw) < 5 else raw


def parse(text: str) -> list[ImportRow]:
    """Every row of the file, or InvalidInput naming the first bad line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput("line 1: the file is empty") from None
    except csv.Error as exc:
        raise InvalidInput(f"line 1: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL + IGNORED]
    if missing or unknown or len(set(header)) != len(header):
        raise InvalidInput(
            f"line 1: the header must be {','.join(REQUIRED)} plus optional {','.join(OPTIONAL)}"
            + (f"; missing {','.join(missing)}" if missing else "")
            + (f"; unknown {','.join(unknown)}" if unknown else "")
        )
    rows: list[ImportRow] = []
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"line {line}: more than {MAX_ROWS} rows; split the file")
            if len(cells) != len(header):
                raise InvalidInput(f"line {line}: {len(cells)} cells, the header has {len(header)}")
            if any(len(c) > MAX_FIELD for c in cells):
                raise InvalidInput(f"line {line}: a cell is longer than {MAX_FIELD} characters")
            field = dict(zip(header, cells, strict=True))
            try:
                draft = EstablishmentDraft(
                    name=field["name"],
                    kind=kind_of(field["kind"]),
                    address=field["address"],
                    commune_code=_commune(field["commune_code"]),
                    licence=field.get("licence") or None,
                    status=status_of(field.get("status", "")),
                    commitment_date=_date(field.get("commitment_date", "")),
                ).checked()
            except InvalidInput as exc:
                raise InvalidInput(f"line {line}: {exc}") from None
            rows.append(ImportRow(line, draft))
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: {exc}") from None
    return rows


def export_row(e: Establishment) -> list[object]:
    return [
        e.id,
        e.name,
        e.kind.value,
        e.address,
        e.commune_code,
        e.licence or "",
        e.status.value,
        e.commitment_date.isoformat() if e.commitment_date else "",
        e.last_inspected.isoformat() if e.last_inspected else "",
    ]


def safe_cell(value: object) -> object:
    """Text a spreadsheet would run as a formula is kept as text (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: Sequence[Establishment]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for e in rows:
        writer.writerow([safe_cell(v) for v in export_row(e)])
    return out.getvalue()
