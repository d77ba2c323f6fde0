"""One way to turn a database row into a domain object: each field of the domain dataclass
is read from the row's attribute of the same name (an enum field converted from its stored
value); the caller names only what differs (a renamed column, a value made of several)."""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


Fields = tuple[tuple[str, type[Enum] | None, bool], ...]
_FIELDS: dict[type[Any], Fields] = {}


def _fields(cls: type[Any]) -> Fields:
    """(name, the enum the field holds or None, whether it has a default), per init field;
    worked out once per class."""
    known = _FIELDS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    out = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        out.append((field.name, _enum_of(hints[field.name]), _has_default(field)))
    _FIELDS[cls] = tuple(out)
    return _FIELDS[cls]


def _enum_of(hint: Any) -> type[Enum] | None:
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        enums = [a for a in typing.get_args(hint) if isinstance(a, type) and issubclass(a, Enum)]
        return enums[0] if len(enums) == 1 else None
    return None


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def from_row(cls: type[T], row: Any, **given: Any) -> T:
    """The dataclass `cls` built from `row` (an ORM row or any object with attributes):
    `given` values first, then the row's same-named attributes; a field with a default that
    the row does not have keeps its default."""
    values: dict[str, Any] = {}
    for name, enum, has_default in _fields(cls):
        if name in given:
            values[name] = given[name]
            continue
        if has_default and not hasattr(row, name):
            continue
        value = getattr(row, name)
        if enum is not None and value is not None and not isinstance(value, enum):
            value = enum(value)
        values[name] = value
    return cls(**values)
