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
