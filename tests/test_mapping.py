"""The one row-to-object mapping (storage/mapping.py): same-named attributes, enums from
their stored values, renamed or composite fields given by the caller, defaults kept."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace

import pytest

from storage.mapping import from_row


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Thing:
    id: int
    colour: Colour
    shade: Colour | None
    label: str
    count: int = 0


def test_fields_come_from_same_named_attributes_and_enums_from_their_values() -> None:
    row = SimpleNamespace(id=7, colour="red", shade=None, label="a", count=3)
    assert from_row(Thing, row) == Thing(7, Colour.RED, None, "a", 3)
    row = SimpleNamespace(id=7, colour=Colour.BLUE, shade="blue", label="a", count=3)
    assert from_row(Thing, row) == Thing(7, Colour.BLUE, Colour.BLUE, "a", 3)


def test_given_values_win_and_a_missing_attribute_keeps_its_default() -> None:
    row = SimpleNamespace(id=1, colour="blue", shade="red", name="renamed column")
    assert from_row(Thing, row, label=row.name) == Thing(1, Colour.BLUE, Colour.RED, "renamed column")


def test_a_missing_attribute_without_a_default_is_an_error() -> None:
    with pytest.raises(AttributeError):
        from_row(Thing, SimpleNamespace(id=1, colour="red", shade=None))
    with pytest.raises(ValueError):
        from_row(Thing, SimpleNamespace(id=1, colour="green", shade=None, label="x"))
