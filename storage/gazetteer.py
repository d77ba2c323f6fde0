"""Areas from the `vietnam-provinces` package: 34 provinces and their 3,321 communes,
wards and special zones after the 2025 reorganisation."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from vietnam_provinces import Province, Ward

from core.areas import Area
from core.errors import InvalidInput
from core.text import fold

#: Island special zones: far from any provincial office, so the 48-hour hand-off applies.
REMOTE_DIVISION_TYPES = frozenset({"đặc khu"})


def province_code(code: int) -> str:
    return f"{code:02d}"


def ward_code(code: int) -> str:
    return f"{code:05d}"


def iter_areas() -> Iterator[Area]:
    """Every province, then every commune-level unit, in the package's order."""
    yield from _provinces()
    for w in Ward.iter_all():
        yield Area(
            code=ward_code(int(w.code)),
            name=w.name,
            level="commune",
            division_type=w.division_type.value,
            province_code=province_code(int(w.province_code)),
            remote=w.division_type.value in REMOTE_DIVISION_TYPES,
        )


@cache
def _provinces() -> tuple[Area, ...]:
    return tuple(
        Area(
            code=province_code(int(p.code)),
            name=p.name,
            level="province",
            division_type=p.division_type.value,
            province_code=None,
        )
        for p in Province.iter_all()
    )


def provinces() -> list[Area]:
    """The 34 provinces, read from the package once per process (every settings object
    resolves its province by name)."""
    return list(_provinces())


def resolve_province(name_or_code: str) -> Area:
    """A province from its code (`79`, `7`) or its name in any spelling (`ho chi minh`)."""
    wanted = name_or_code.strip()
    all_provinces = provinces()
    if wanted.isdigit():
        for area in all_provinces:
            if int(area.code) == int(wanted):
                return area
        raise InvalidInput(f"no province with code {wanted}")
    folded = fold(wanted)
    exact = [a for a in all_provinces if _bare_name(a.name) == folded or fold(a.name) == folded]
    matches = exact or [a for a in all_provinces if folded in fold(a.name)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InvalidInput(f"no province matches {name_or_code!r}")
    names = ", ".join(a.name for a in matches)
    raise InvalidInput(f"{name_or_code!r} matches several provinces: {names}")


def _bare_name(name: str) -> str:
    """`Thành phố Hồ Chí Minh` → `ho chi minh`, `Tỉnh Lào Cai` → `lao cai`."""
    folded = fold(name)
    for prefix in ("thanh pho ", "tinh "):
        if folded.startswith(prefix):
            return folded[len(prefix) :]
    return folded
