"""Logging follows the process's current stderr, so a handler never outlives its stream."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from hotline.logs import configure


def test_a_record_after_stderr_was_swapped_and_closed_goes_to_the_new_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure("INFO")
    logging.getLogger("hotline.test").info("first")
    assert "first" in first.getvalue()
    first.close()  # what a test runner does with its captured stream
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("hotline.test").info("second")
    assert "second" in second.getvalue()
    assert "Logging error" not in second.getvalue()
