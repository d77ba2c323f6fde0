"""The `hotline` command line, run in-process as a person would run it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.calendar import VN_TZ
from core.kpi import KpiScope, Period
from core.stages import CLOSING_EXITS, Stage
from hotline.cli import main
from storage.db import create_engine


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", "79")
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def load_tips(url: str) -> list:  # type: ignore[type-arg]

    from tests.builders import stored_tips

    return asyncio.run(stored_tips(url))


def test_kpi_on_demo_data_matches_a_hand_count(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo-data")
    assert code == 0
    assert "password" in out
    # a line per stage, as each ends (loading takes a while)
    assert out.index("schema up to date") < out.index("loading") < out.index("demo tips loaded")
    code, out, _ = run(capsys, "demo-data")
    assert "already" in out and "password " not in out.replace("password unchanged", "")

    today = datetime.now(VN_TZ).date()
    start = today - timedelta(days=400)
    as_of = datetime.now(UTC).replace(microsecond=0)
    code, out, err = run(
        capsys,
        "kpi",
        "--from",
        start.isoformat(),
        "--to",
        today.isoformat(),
        "--as-of",
        as_of.isoformat(),
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    stages = {s["stage"]: s for s in data["stages"]}

    tips = load_tips(env)
    assert data["totals"]["received"] == len(tips) == 360
    for stage in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED):
        on_time = late = overdue = open_ = na = 0
        for tip in tips:
            reached = tip.reached.get(stage)
            if reached is not None:
                if reached <= tip.due[stage]:
                    on_time += 1
                else:
                    late += 1
            elif tip.stage in CLOSING_EXITS:
                na += 1
            elif tip.due[stage] < as_of:
                overdue += 1
            else:
                open_ += 1
        row = stages[stage.value]
        assert (
            row["on_time"],
            row["late"],
            row["open_within_time"],
            row["overdue"],
            row["not_applicable"],
        ) == (on_time, late, open_, overdue, na), stage
        judged = on_time + late + overdue
        assert row["on_time_share"] == pytest.approx(on_time / judged, abs=1e-4)
    closed: dict[str, int] = {}
    for tip in tips:
        if tip.is_closed:
            closed[tip.stage.value] = closed.get(tip.stage.value, 0) + 1
    assert data["totals"]["closed"] == closed

    code, out, _ = run(
        capsys, "kpi", "--from", start.isoformat(), "--to", today.isoformat(), "--format", "table"
    )
    assert code == 0
    assert "on-time share" in out and "verified" in out


def test_kpi_rejects_bad_arguments(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["kpi", "--from", "yesterday", "--to", "2026-01-01"])
    assert exc.value.code == 2
    code, _, err = run(capsys, "kpi", "--from", "2026-02-01", "--to", "2026-01-01")
    assert code == 1 and "before it starts" in err
    code, _, err = run(
        capsys, "kpi", "--from", "2026-01-01", "--to", "2026-01-02", "--as-of", "2026-01-02T00:00"
    )
    assert code == 2 and "time zone" in err


def test_areas_lists_provinces_and_searches_without_diacritics(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "areas", "--format", "json")
    assert code == 0
    assert len(json.loads(out)) == 34
    code, out, _ = run(
        capsys, "areas", "--province", "ho chi minh", "--search", "ben thanh", "--format", "json"
    )
    assert [a["code"] for a in json.loads(out)] == ["26743"]
    code, out, _ = run(capsys, "areas", "--province", "79", "--search", "con dao", "--format", "table")
    assert "Côn Đảo" in out and "yes" in out
    code, _, err = run(capsys, "areas", "--province", "atlantis")
    assert code == 1 and "no province" in err


def test_officer_add_reads_the_password_from_stdin(
    env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code, out, err = run(
        capsys,
        "officer",
        "add",
        "--username",
        "lan",
        "--agency",
        "police:26743",
        "--area",
        "26743",
        "--role",
        "officer",
        "--password-stdin",
    )
    assert code == 0, err
    assert "officer lan created" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run(
        capsys,
        "officer",
        "add",
        "--username",
        "minh",
        "--agency",
        "police:79",
        "--area",
        "79",
        "--password-stdin",
    )
    assert code == 1 and "12 characters" in err


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HOTLINE_PORT", "eighty", "HOTLINE_PORT"),
        ("HOTLINE_PORT", "70000", "HOTLINE_PORT"),
        ("HOTLINE_DATABASE_URL", "mysql://x", "HOTLINE_DATABASE_URL"),
        ("HOTLINE_PROVINCE", "Atlantis", "HOTLINE_PROVINCE"),
        ("HOTLINE_TELEGRAM_MODE", "carrier-pigeon", "HOTLINE_TELEGRAM_MODE"),
        ("HOTLINE_REDIS_URL", "http://localhost", "HOTLINE_REDIS_URL"),
    ],
)
def test_bad_settings_are_explained(
    name: str,
    value: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "areas")
    assert code == 2
    assert message in err


def test_period_bounds_are_viet_nam_days() -> None:
    lo, hi = Period(date(2026, 1, 1), date(2026, 1, 31)).bounds()
    assert lo.astimezone(UTC) == datetime(2025, 12, 31, 17, 0, tzinfo=UTC)
    assert hi - lo == timedelta(days=31)
    assert KpiScope().describe() == "province"


def test_officer_add_sets_a_totp_secret_or_leaves_enrolment_to_sign_in(
    env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    base = ["officer", "add", "--agency", "police:79", "--area", "79", "--password-stdin"]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code, out, err = run(
        capsys, *base, "--username", "an", "--totp-secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    )
    assert code == 0, err
    assert "TOTP secret" not in out  # the operator chose it; nothing to show
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code, out, err = run(capsys, *base, "--username", "binh")
    assert code == 0, err
    assert "QR code" in out  # no secret yet: the officer enrols at the first sign-in
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code, _, err = run(capsys, *base, "--username", "chi", "--totp-secret", "TOOSHORT")
    assert code == 1 and "TOTP secret" in err


def test_officer_reset_totp_forgets_the_second_factor(
    env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import sqlalchemy as sa

    from storage.models import AuditRow, OfficerRow

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    base = ["officer", "add", "--agency", "police:79", "--area", "79", "--password-stdin"]
    code, _, err = run(capsys, *base, "--username", "an", "--totp-secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert code == 0, err
    code, out, err = run(capsys, "officer", "reset-totp", "--username", "an")
    assert code == 0 and "reset" in out, err
    code, _, err = run(capsys, "officer", "reset-totp", "--username", "nobody")
    assert code == 1 and "no officer nobody" in err

    async def read() -> tuple[object, list[tuple[str, str, str]]]:
        engine = create_engine(env)
        try:
            async with engine.connect() as conn:
                secret = await conn.scalar(sa.select(OfficerRow.totp_secret))
                rows = await conn.execute(sa.select(AuditRow.actor, AuditRow.action, AuditRow.detail))
                return secret, [tuple(r) for r in rows]  # type: ignore[misc]
        finally:
            await engine.dispose()

    secret, audit = asyncio.run(read())
    assert secret is None
    assert audit == [("cli", "totp_reset", "officer:an")]


def test_config_shows_every_setting_in_force_with_secrets_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hotline.cli import main
    from hotline.settings import Settings

    monkeypatch.setenv("HOTLINE_TELEGRAM_TOKEN", "123456:SECRET-TOKEN-VALUE")
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("HOTLINE_REDIS_URL", "redis://:redis-password@127.0.0.1:6379/3")
    monkeypatch.setenv("HOTLINE_PORT", "9090")
    assert main(["config", "--format", "json"]) == 0
    out = capsys.readouterr().out
    rows = {row["variable"]: row for row in json.loads(out)}
    assert set(rows) == {f"HOTLINE_{name.upper()}" for name in Settings.model_fields}
    assert rows["HOTLINE_PORT"]["value"] == 9090 and rows["HOTLINE_PORT"]["source"] == "environment"
    assert rows["HOTLINE_HOST"]["source"] == "default"
    assert rows["HOTLINE_TELEGRAM_TOKEN"]["value"] == "********"
    assert "127.0.0.1:6379/3" in rows["HOTLINE_REDIS_URL"]["value"]
    for secret in ("SECRET-TOKEN-VALUE", "k" * 40, "redis-password"):
        assert secret not in out
    assert main(["config"]) == 0
    table = capsys.readouterr().out
    assert "HOTLINE_PORT" in table and "9090" in table and "SECRET-TOKEN-VALUE" not in table
