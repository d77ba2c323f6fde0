"""`hotline triage --jsonl` on any file, and `hotline triage-eval`'s printout. Evaluation figures are
measured (bench/triage.py, docs/triage.md), not made a test gate: a floor invites fitting the set."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hotline import cli
from hotline.triage_cli import run_triage_eval, run_triage_jsonl

DATA = Path(__file__).parent / "data"


def _run(tmp_path: Path, content: bytes) -> list[dict[str, object]]:
    path = tmp_path / "tips.jsonl"
    path.write_bytes(content)
    out = io.StringIO()
    assert run_triage_jsonl(path, out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_line_per_input_in_order_with_garbage(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"text": "Quán karaoke Hoa Hồng ở phường Bến Thành có tiếp viên bán dâm"}, ensure_ascii=False
        ),
        "not json at all",
        json.dumps({"text": 5}),
        "[1, 2, 3]",
        "",
        json.dumps({"text": "quan karaoke Hoa Hong o phuong Ben Thanh co tiep vien ban dam, bao lai"}),
        json.dumps({"text": "😀" * 50}),
        json.dumps({"text": "\ud800 lone surrogate"}),
        json.dumps({"text": "x" * 100_000}),
        '{"text": "unterminated',
    ]
    content = "\n".join(lines).encode() + b"\n\xff\xfe\x00 bytes that are not UTF-8\n"
    rows = _run(tmp_path, content)
    assert [r["line"] for r in rows] == list(range(11))
    first = rows[0]
    assert first["language"] == "vi" and first["category"] == "venue" and first["urgent"] is False
    assert first["commune_code"] == "26743" and first["duplicate_of"] is None
    assert isinstance(first["reasons"], list) and first["reasons"]
    for bad in (1, 2, 3, 4, 9, 10):
        assert "error" in rows[bad] and rows[bad]["category"] is None
    assert rows[5]["duplicate_of"] == 0
    for ok in (6, 7, 8):
        assert "error" not in rows[ok] and rows[ok]["language"] in {"vi", "en", "zh", "other"}


def test_duplicate_points_at_the_first_report(tmp_path: Path) -> None:
    text = "Nhà nghỉ Thanh Bình ở đường Lê Lợi gọi gái cho khách qua số 0912345678"
    rows = _run(
        tmp_path,
        "\n".join(json.dumps({"text": t}) for t in [text, text + " Báo lại.", text + " !!"]).encode(),
    )
    assert [r["duplicate_of"] for r in rows] == [None, 0, 0]


def test_cli_subcommands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "Cho em hỏi mua dâm bị phạt bao nhiêu ạ?"}\nbroken\n', encoding="utf-8")
    assert cli.main(["triage", "--jsonl", str(path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["category"] == "info_request" and "error" in out[1]
    assert cli.main(["triage-eval", "--file", str(DATA / "triage_dev.jsonl")]) == 0
    assert "category macro F1" in capsys.readouterr().out


def test_eval_set_shape() -> None:
    rows = [
        json.loads(line) for line in (DATA / "triage_eval.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    n = len(rows)
    accented = sum(1 for r in rows if r["language"] == "vi" and not r.get("unaccented"))
    unaccented = sum(1 for r in rows if r.get("unaccented"))
    assert 0.4 * n <= accented <= 0.6 * n and 0.2 * n <= unaccented <= 0.3 * n
    assert {r["category"] for r in rows} >= {"info_request", "spam", "venue", "minor", "trafficking"}
    assert sum(1 for r in rows if r.get("duplicate_of") is not None) >= 20
    dev = {
        json.loads(line)["text"]
        for line in (DATA / "triage_dev.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert len(dev) >= 200


def test_eval_printout() -> None:
    out = io.StringIO()
    assert run_triage_eval(DATA / "triage_dev.jsonl", out) == 0
    text = out.getvalue()
    for label in (
        "language accuracy",
        "unaccented Vietnamese",
        "macro F1",
        "urgent recall",
        "duplicate pairs",
    ):
        assert label in text


def test_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    assert run_triage_jsonl(tmp_path / "missing.jsonl", io.StringIO()) == 2


def test_the_blind_set_is_frozen() -> None:
    """The blind evaluation set is kept exactly as its writer delivered it (docs/triage.md)."""
    import hashlib

    frozen = {
        "blind_tips.jsonl": "e004ed9b53ffb73d16c3ba394fabe4133f90ad6da9fba2395816aeafe712a067",
        "short_inputs.jsonl": "6d537e4fdf7b7a320e822908b5b1d8e6327f87e87247c1b1b65b0093faa409fb",
        "public_text.jsonl": "9f4f0c2075ddeaf132c741fdbc333f511d8b7e4173d310046be0a46484a6483e",
    }
    for name, digest in frozen.items():
        assert hashlib.sha256((DATA / "triage_blind" / name).read_bytes()).hexdigest() == digest, name
