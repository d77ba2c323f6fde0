"""Every setting says why it exists and in what unit, and `hotline config` shows them all."""

from __future__ import annotations

import re

import pytest

from hotline.cli import main
from hotline.settings import Settings

UNIT = re.compile(
    r"; (?:(?:count|messages) per (?:second|minute|5 minutes)|seconds|minutes|hours|days|years|bytes|KiB|"
    r"pixels|pages|count|(?:at least )?\d+(?:-\d+)? (?:hex )?characters|"
    r"(?:a |comma-separated )?[\w ,/]*no unit)$"
)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_says_why_and_in_what_unit(name: str) -> None:
    description = Settings.model_fields[name].description or ""
    assert len(description) > 20, f"{name}: say in one line why it exists"
    assert UNIT.search(description), f"{name}: end the description with '; <unit>' or '; no unit'"
    assert "\n" not in description


def test_config_lists_every_setting_with_its_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name, field in Settings.model_fields.items():
        variable = f"HOTLINE_{name.upper()}"
        line = next((line for line in lines if line[2:].split(" ", 1)[0] == variable), None)
        assert line is not None, f"{variable} missing from `hotline config`"
        assert line.endswith(f"# {field.description}")


def test_the_readme_names_every_setting_once_and_no_other() -> None:
    """The README's table is what deployers read first; `hotline config` is generated from
    the fields, the table is written by hand, so it is checked against them."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `HOTLINE_")]
    named = [name for row in rows for name in re.findall(r"`(HOTLINE_[A-Z0-9_]+)`", row)]
    fields = {f"HOTLINE_{name.upper()}" for name in Settings.model_fields}
    repeated = {name for name in named if named.count(name) > 1}
    assert not repeated
    assert set(named) - fields == set()
    assert fields - set(named) == set()
