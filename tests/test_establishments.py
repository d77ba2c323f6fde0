"""The establishments register: import (all or nothing, idempotent), matching as people type,
inspections, tips linked (proposals, "needs inspection"), the hotspot lifecycle with a
return, and each indicator's arithmetic against a plain-Python definition, on both databases."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.categories import Channel
from core.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from core.establishment_service import ListQuery, venue_names
from core.establishments import (
    EstablishmentDraft,
    HotspotDraft,
    HotspotKind,
    HotspotState,
    InspectionDraft,
    Kind,
    Outcome,
    Scope,
    Status,
    kind_of,
    match_key,
    needs_inspection,
    scope_of,
)
from core.establishments_csv import parse
from core.indicators import Direction, Ratio, Spec, evaluate
from core.jurisdiction import EVERYTHING
from core.kpi import Period
from core.tips import TipDraft
from hotline.bootstrap import Services
from hotline.cli import main
from storage.db import create_engine, session_factory
from storage.establishment_tables import EstablishmentRow, HotspotEventRow, HotspotRow, InspectionRow
from storage.models import AuditRow
from tests.conftest import COMMUNE, OTHER_PROVINCE_COMMUNE, PROVINCE, FakeClock

OTHER_COMMUNE = "26740"  # Phường Sài Gòn (same province)
ACTOR = "officer:test"
PROVINCE_SCOPE = Scope(province_code=PROVINCE)
GOOD_CSV = (
    "name,kind,address,commune_code,licence,status,commitment_date\n"
    f"Karaoke Hoa Hồng,karaoke,12 Lê Lợi,{COMMUNE},GP-01,listed,2026-01-15\n"
    f"KS Sao Mai,khách sạn,3 Nguyễn Trãi,{COMMUNE},,managed,\n"
    f'"Nhà nghỉ Ánh Dương, cơ sở 2",nn,"45 Hai Bà Trưng",{OTHER_COMMUNE},,,\n'
)


# --- rules --------------------------------------------------------------------------------


def test_names_match_as_people_type_them() -> None:
    assert match_key("KS Hoa Hồng") == match_key("khách sạn hoa hong") == "khach san hoa hong"
    assert match_key("NN  Ánh-Dương") == "nha nghi anh duong"
    assert kind_of("Nhà Nghỉ") is Kind.GUESTHOUSE and kind_of("nn") is Kind.GUESTHOUSE
    assert kind_of("ks") is Kind.HOTEL and kind_of("boarding_house") is Kind.BOARDING_HOUSE
    with pytest.raises(InvalidInput):
        kind_of("casino")
    assert "hoa hong" in venue_names("Quán karaoke Hoa Hồng trên đường Lê Lợi có gái")


def test_scope_never_widens() -> None:
    commune = scope_of(admin=False, area_code=COMMUNE)
    assert commune.allows(COMMUNE, PROVINCE) and not commune.allows(OTHER_COMMUNE, PROVINCE)
    assert commune.narrowed(COMMUNE) == commune
    assert not commune.narrowed(OTHER_COMMUNE).allows(OTHER_COMMUNE, PROVINCE)
    assert not commune.narrowed(OTHER_COMMUNE).allows(COMMUNE, PROVINCE)
    province = scope_of(admin=False, area_code=PROVINCE)
    assert province.allows(OTHER_COMMUNE, PROVINCE) and not province.allows(OTHER_PROVINCE_COMMUNE, "01")
    assert not province.narrowed(OTHER_PROVINCE_COMMUNE).allows(OTHER_PROVINCE_COMMUNE, "01")
    assert scope_of(admin=True, area_code=PROVINCE).allows(OTHER_PROVINCE_COMMUNE, "01")


def test_needs_inspection_rule() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    assert needs_inspection([now - timedelta(days=1), now - timedelta(days=89)], now)
    assert not needs_inspection([now - timedelta(days=1), now - timedelta(days=91)], now)
    assert not needs_inspection([now], now)


def test_csv_rows_carry_their_line_numbers() -> None:
    rows = parse(GOOD_CSV)
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[1].draft.kind is Kind.HOTEL and rows[1].draft.status is Status.MANAGED
    assert rows[0].draft.commitment_date == date(2026, 1, 15)
    bad = GOOD_CSV + f"Quán X,casino,1 A,{COMMUNE},,,\n"
    with pytest.raises(InvalidInput, match="line 5: unknown kind"):
        parse(bad)
    with pytest.raises(InvalidInput, match="line 3: the name is empty"):
        parse(f"name,kind,address,commune_code\nA,bar,x,{COMMUNE}\n ,bar,x,{COMMUNE}\n")
    with pytest.raises(InvalidInput, match="line 1"):
        parse("name,kind\nA,bar\n")
    with pytest.raises(InvalidInput, match="line 2: 3 cells"):
        parse("name,kind,address,commune_code\nA,bar,x\n")
    with pytest.raises(InvalidInput, match="line 2: bad date"):
        parse(f"name,kind,address,commune_code,commitment_date\nA,bar,x,{COMMUNE},32/13/2026\n")
    # Excel drops leading zeros of a code; they are put back.
    assert parse("name,kind,address,commune_code\nA,bar,x,4\n")[0].draft.commune_code == "00004"


def test_indicator_status() -> None:
    at_least = Spec("x", "x", Direction.AT_LEAST, 0.95)
    assert evaluate(at_least, Ratio(19, 20), 0.95).status.value == "met"
    assert evaluate(at_least, Ratio(18, 20), 0.95).status.value == "not_met"
    assert evaluate(at_least, Ratio(0, 0), 0.95).status.value == "no_data"
    at_most = Spec("y", "y", Direction.AT_MOST, 0.0)
    assert evaluate(at_most, Ratio(0, 5), 0.0).status.value == "met"
    assert evaluate(at_most, Ratio(1, 5), 0.0).status.value == "not_met"


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", PROVINCE)
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def count(url: str, table: Any) -> int:
    async def fetch() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(fetch())


def test_import_is_idempotent_and_all_or_nothing(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    code, out, err = run(capsys, "establishments", "import", str(good))
    assert (code, out.strip()) == (0, "3 establishments added, 0 already on the register"), err
    code, out, _ = run(capsys, "establishments", "import", str(good))
    assert (code, out.strip()) == (0, "0 establishments added, 3 already on the register")
    # The same places typed differently are the same places.
    retyped = tmp_path / "retyped.csv"
    retyped.write_text(f"name,kind,address,commune_code\nkaraoke hoa hong,karaoke,12 LE LOI,{COMMUNE}\n")
    assert run(capsys, "establishments", "import", str(retyped))[1].startswith("0 establishments added")
    assert count(env, EstablishmentRow) == 3

    # One bad row anywhere: nothing written, the line named.
    for bad_row, why in [
        (f"Quán Y,casino,1 A,{COMMUNE}", "line 3: unknown kind"),
        ("Quán Y,bar,1 A,99999", "line 3: unknown commune"),
        (f",bar,1 A,{COMMUNE}", "line 3: the name is empty"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text(
            f"name,kind,address,commune_code\nQuán Mới,bar,9 B,{COMMUNE}\n{bad_row}\nQuán Z,bar,1,{COMMUNE}\n"
        )
        code, out, err = run(capsys, "establishments", "import", str(bad))
        assert code == 1 and why in err, err
        assert count(env, EstablishmentRow) == 3
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(b"name,kind,address,commune_code\n\xff\xfe,bar,x,26743\n")
    code, _, err = run(capsys, "establishments", "import", str(hostile))
    assert code == 1 and "UTF-8" in err
    formula = tmp_path / "formula.csv"
    formula.write_text(f"name,kind,address,commune_code\n=HYPERLINK(1),bar,x,{COMMUNE}\n")
    assert run(capsys, "establishments", "import", str(formula))[0] == 0

    code, out, _ = run(capsys, "establishments", "export", "--format", "csv")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("id,name,kind") and len(lines) == 5
    assert "'=HYPERLINK(1)" in out and "Karaoke Hoa Hồng" in out
    # The export imports again as is, adding nothing.
    exported = tmp_path / "exported.csv"
    exported.write_text(out.replace("'=HYPERLINK(1)", "=HYPERLINK(1)"), encoding="utf-8")
    assert run(capsys, "establishments", "import", str(exported))[1].startswith("0 establishments added")
    xlsx = tmp_path / "register.xlsx"
    assert run(capsys, "establishments", "export", "--format", "xlsx", "--out", str(xlsx))[0] == 0
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert sheet is not None and sheet.max_row == 5 and sheet.cell(1, 2).value == "name"
    assert count(env, AuditRow) == 7  # every import (5) and export (2) is audited


def test_indicators_command_and_targets(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    run(capsys, "establishments", "import", str(good))
    code, out, err = run(
        capsys, "indicators", "--from", "2020-01-01", "--to", "2030-12-31", "--format", "json"
    )
    assert code == 0, err
    body = json.loads(out)["indicators"]
    assert set(body) == {
        "establishments_listed",
        "establishments_inspected",
        "establishments_committed",
        "hotspots_eliminated",
        "hotspots_returned",
        # support's sources share the registry
        "support_received",
        "staff_trained_province",
        "staff_trained_commune",
        "communes_with_outreach",
        # the tips' on-time handling per stage and the reach per audience
        "tips_received_on_time",
        "tips_verified_on_time",
        "tips_classified_on_time",
        "tips_processed_on_time",
        "reach_student",
        "reach_worker",
        "reach_service_worker",
    }
    assert body["establishments_listed"] | {} == {
        "name": "establishments_listed",
        "value": round(1 / 3, 4),
        "numerator": 1,
        "denominator": 3,
        "target": 1.0,
        "direction": "at_least",
        "status": "not_met",
    }
    assert body["establishments_committed"]["numerator"] == 1
    assert body["hotspots_eliminated"]["status"] == "no_data"
    code, out, _ = run(capsys, "indicators", "targets", "set", "establishments_listed", "30%")
    assert code == 0
    code, out, _ = run(
        capsys, "indicators", "--from", "2020-01-01", "--to", "2030-12-31", "--commune", COMMUNE
    )
    assert code == 0 and "establishments_listed" in out and " met" in out
    assert run(capsys, "indicators", "targets", "set", "nonsense", "0.5")[0] == 1
    assert run(capsys, "indicators", "targets", "set", "establishments_listed", "150%")[0] == 1
    assert run(capsys, "indicators", "targets", "set", "establishments_listed", "abc")[0] == 1
    assert run(capsys, "indicators", "--from", "2026-02-01", "--to", "2026-01-01")[0] == 1
    assert (
        run(capsys, "indicators", "--from", "2026-01-01", "--to", "2026-02-01", "--commune", "99999")[0] == 1
    )
    assert run(capsys, "indicators", "--to", "2026-02-01")[0] == 1
    assert run(capsys, "indicators", "--from", "0001-01-01", "--to", "0001-01-01")[0] == 1
    code, out, _ = run(capsys, "indicators", "targets", "list")
    assert "30.0%" in out and "95.0%" in out


# --- the service on both databases --------------------------------------------------------


async def tip_in(services: Services, text: str, commune: str = COMMUNE) -> int:
    receipt = await services.intake.submit(TipDraft(text=text, channel=Channel.WEB, commune_code=commune))
    return receipt.tip_id


async def test_link_tips_needs_inspection_and_proposals(services: Services, clock: FakeClock) -> None:
    est = services.establishments
    hoa = await est.add(
        EstablishmentDraft("Karaoke Hoa Hồng", Kind.KARAOKE, "12 Lê Lợi", COMMUNE),
        PROVINCE_SCOPE,
        actor=ACTOR,
    )
    await est.add(
        EstablishmentDraft("KS Hoa Hồng", Kind.HOTEL, "1 Pasteur", OTHER_COMMUNE), PROVINCE_SCOPE, actor=ACTOR
    )
    await est.add(
        EstablishmentDraft("Sao Mai", Kind.BAR, "2 Lý Tự Trọng", COMMUNE), PROVINCE_SCOPE, actor=ACTOR
    )
    with pytest.raises(InvalidInput, match="already"):
        await est.add(
            EstablishmentDraft("karaoke hoa hong", Kind.KARAOKE, "12 LE LOI", COMMUNE),
            PROVINCE_SCOPE,
            actor=ACTOR,
        )
    first = await tip_in(services, "Quán karaoke Hoa Hồng trên đường Lê Lợi có nhân viên bán dâm.")
    tip = (await services.tips.view(first, ACTOR, EVERYTHING))[0]
    linked, proposed = await est.proposals(tip, PROVINCE_SCOPE)
    assert linked == [] and proposed[0].id == hoa  # the tip's commune first
    assert {e.name for e in proposed} == {"Karaoke Hoa Hồng", "KS Hoa Hồng"}
    assert await est.link(first, hoa, PROVINCE_SCOPE, EVERYTHING, actor=ACTOR)
    assert not await est.link(first, hoa, PROVINCE_SCOPE, EVERYTHING, actor=ACTOR)  # once only
    assert await est.needing_inspection(PROVINCE_SCOPE, actor=ACTOR) == []
    clock.advance(days=80)
    second = await tip_in(services, "karaoke hoa hong van hoat dong")
    await est.link(second, hoa, PROVINCE_SCOPE, EVERYTHING, actor=ACTOR)
    due = await est.needing_inspection(PROVINCE_SCOPE, actor=ACTOR)
    assert [(e.id, n) for e, n in due] == [(hoa, 2)]
    assert await est.needing_inspection(Scope(commune_code=OTHER_COMMUNE), actor=ACTOR) == []
    clock.advance(days=11)  # the first tip is now 91 days old
    assert await est.needing_inspection(PROVINCE_SCOPE, actor=ACTOR) == []
    # Creating the establishment from a tip links it at once.
    third = await tip_in(services, "Massage Thiên Đường mời khách")
    made = await est.create_from_tip(
        third,
        EstablishmentDraft("Massage Thiên Đường", Kind.MASSAGE, "", COMMUNE),
        PROVINCE_SCOPE,
        EVERYTHING,
        actor=ACTOR,
    )
    page = await est.get(made, PROVINCE_SCOPE, actor=ACTOR)
    assert [t.tip_id for t in page.tips] == [third]
    assert [h[2] for h in page.history] == ["created", "tip_linked"]
    # Search the way people type.
    found = await est.find(PROVINCE_SCOPE, ListQuery(q="ks hoa hong"), actor=ACTOR)
    assert [e.name for e in found] == ["KS Hoa Hồng"]
    found = await est.find(PROVINCE_SCOPE, ListQuery(q="HOA HONG", kind="karaoke"), actor=ACTOR)
    assert [e.id for e in found] == [hoa]


async def test_another_communes_establishment_is_not_found(services: Services) -> None:
    est = services.establishments
    mine = Scope(commune_code=COMMUNE)
    theirs = await est.add(
        EstablishmentDraft("Bar Moonlight", Kind.BAR, "5 Đồng Khởi", OTHER_COMMUNE),
        PROVINCE_SCOPE,
        actor=ACTOR,
    )
    with pytest.raises(NotFound):
        await est.get(theirs, mine, actor=ACTOR)
    with pytest.raises(NotFound):
        await est.inspect(theirs, InspectionDraft(date(2026, 3, 1), Outcome.NO_VIOLATION), mine, actor=ACTOR)
    tip = await tip_in(services, "Bar Moonlight")
    with pytest.raises(NotFound):
        await est.link(tip, theirs, mine, EVERYTHING, actor=ACTOR)
    with pytest.raises(InvalidInput):  # a commune officer cannot add to another commune
        await est.add(EstablishmentDraft("X", Kind.BAR, "", OTHER_COMMUNE), mine, actor=ACTOR)
    assert await est.find(mine, ListQuery(commune_code=OTHER_COMMUNE), actor=ACTOR) == []


async def test_inspections_and_due(services: Services, clock: FakeClock) -> None:
    est = services.establishments
    a = await est.add(EstablishmentDraft("A", Kind.BAR, "1", COMMUNE), PROVINCE_SCOPE, actor=ACTOR)
    b = await est.add(EstablishmentDraft("B", Kind.BAR, "2", COMMUNE), PROVINCE_SCOPE, actor=ACTOR)
    c = await est.add(EstablishmentDraft("C", Kind.BAR, "3", COMMUNE), PROVINCE_SCOPE, actor=ACTOR)
    today = clock.now.date()
    await est.inspect(
        a,
        InspectionDraft(today - timedelta(days=30), Outcome.NO_VIOLATION, team="CA phường"),
        PROVINCE_SCOPE,
        actor=ACTOR,
    )
    await est.inspect(
        b,
        InspectionDraft(
            today - timedelta(days=400), Outcome.VIOLATION, violation="không đăng ký", fine_vnd=5_000_000
        ),
        PROVINCE_SCOPE,
        actor=ACTOR,
    )
    await est.inspect(
        c, InspectionDraft(today - timedelta(days=2), Outcome.CLOSED), PROVINCE_SCOPE, actor=ACTOR
    )
    due = await est.find(PROVINCE_SCOPE, ListQuery(due=True), actor=ACTOR)
    assert [e.id for e in due] == [b]  # a inspected lately, c closed
    assert (await est.get(c, PROVINCE_SCOPE, actor=ACTOR)).establishment.status is Status.CLOSED
    with pytest.raises(InvalidInput):
        await est.inspect(
            a, InspectionDraft(today + timedelta(days=1), Outcome.NO_VIOLATION), PROVINCE_SCOPE, actor=ACTOR
        )
    with pytest.raises(InvalidInput):
        await est.inspect(
            a, InspectionDraft(today, Outcome.NO_VIOLATION, fine_vnd=1), PROVINCE_SCOPE, actor=ACTOR
        )


async def test_hotspot_lifecycle_with_a_return(services: Services, clock: FakeClock) -> None:
    est = services.establishments
    venue = await est.add(
        EstablishmentDraft("Nhà nghỉ Bông Sen", Kind.GUESTHOUSE, "7 Lê Lai", COMMUNE),
        PROVINCE_SCOPE,
        actor=ACTOR,
    )
    spot = await est.add_hotspot(
        HotspotDraft("Nhà nghỉ Bông Sen", HotspotKind.ESTABLISHMENT, COMMUNE, establishment_id=venue),
        PROVINCE_SCOPE,
        actor=ACTOR,
    )
    street = await est.add_hotspot(
        HotspotDraft("Công viên 23/9", HotspotKind.PARK, COMMUNE), PROVINCE_SCOPE, actor=ACTOR
    )
    with pytest.raises(IllegalTransition):
        await est.move_hotspot(spot, "eliminate", PROVINCE_SCOPE, actor=ACTOR)
    await est.move_hotspot(spot, "deal", PROVINCE_SCOPE, actor=ACTOR)
    done = await est.move_hotspot(spot, "eliminate", PROVINCE_SCOPE, actor=ACTOR)
    assert done.state is HotspotState.ELIMINATED and done.shown_state(clock.now) == "watched"
    clock.advance(days=100)
    tip = await tip_in(services, "Nhà nghỉ Bông Sen lại có gái")
    await est.link(tip, venue, PROVINCE_SCOPE, EVERYTHING, actor=ACTOR)
    back, events = await est.hotspot(spot, PROVINCE_SCOPE)
    assert back.state is HotspotState.RETURNED and back.returns == 1
    assert [e.to_state for e in events] == ["detected", "dealing", "eliminated", "returned"]
    assert events[-1].tip_id == tip
    # A tip about the park (not eliminated) is noted without a move; after elimination it returns.
    other = await tip_in(services, "công viên 23/9 có người mời chào")
    assert (await est.tip_about_hotspot(street, other, PROVINCE_SCOPE, EVERYTHING, actor=ACTOR)).state is (
        HotspotState.DETECTED
    )
    spots, counts = await est.hotspots(PROVINCE_SCOPE, actor=ACTOR)
    assert spots[0].id == spot  # the one that came back first
    assert [(c.commune_code, c.open, c.returned) for c in counts] == [(COMMUNE, 2, 1)]
    with pytest.raises(NotFound):
        await est.move_hotspot(spot, "deal", Scope(commune_code=OTHER_COMMUNE), actor=ACTOR)
    # Two officers moving at once: one wins, the other is told to reload.
    results = await asyncio.gather(
        *(est.move_hotspot(spot, "deal", PROVINCE_SCOPE, actor=ACTOR) for _ in range(3)),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(isinstance(r, Conflict | IllegalTransition) for r in results if isinstance(r, Exception))
    # Watched for twelve months, then shown as eliminated.
    await est.move_hotspot(spot, "eliminate", PROVINCE_SCOPE, actor=ACTOR)
    clock.advance(days=366)
    assert (await est.hotspot(spot, PROVINCE_SCOPE))[0].shown_state(clock.now) == "eliminated"


# --- indicators against a plain-Python definition -----------------------------------------


async def _random_register(services: Services, clock: FakeClock, rng: random.Random) -> None:
    """A register built through the service over two years: establishments in two communes,
    inspections, commitments, closures, hotspots moved through their lifecycle."""
    est = services.establishments
    start = clock.now
    ids = []
    for i in range(40):
        clock.now = start + timedelta(days=rng.randint(0, 500))
        commune = rng.choice([COMMUNE, OTHER_COMMUNE])
        status = rng.choice([Status.LISTED, Status.MANAGED, Status.MANAGED])
        commitment = (start + timedelta(days=rng.randint(-30, 600))).date() if rng.random() < 0.5 else None
        ids.append(
            await est.add(
                EstablishmentDraft(
                    f"Cơ sở {i}",
                    rng.choice(list(Kind)),
                    f"{i} Lê Lợi",
                    commune,
                    status=status,
                    commitment_date=commitment,
                ),
                PROVINCE_SCOPE,
                actor=ACTOR,
            )
        )
    clock.now = start + timedelta(days=700)
    for _ in range(70):
        on = (start + timedelta(days=rng.randint(0, 699))).date()
        outcome = rng.choice([Outcome.NO_VIOLATION, Outcome.NO_VIOLATION, Outcome.VIOLATION, Outcome.CLOSED])
        await est.inspect(rng.choice(ids), InspectionDraft(on, outcome), PROVINCE_SCOPE, actor=ACTOR)
    clock.now = start
    spots = []
    for i in range(15):
        clock.now = start + timedelta(days=rng.randint(0, 300))
        spots.append(
            await est.add_hotspot(
                HotspotDraft(f"Điểm {i}", HotspotKind.STREET, rng.choice([COMMUNE, OTHER_COMMUNE])),
                PROVINCE_SCOPE,
                actor=ACTOR,
            )
        )
    for spot in spots:
        for move in ("deal", "eliminate", "return", "deal", "eliminate"):
            if rng.random() < 0.25:
                break
            clock.advance(days=rng.randint(1, 60))
            await est.move_hotspot(spot, move, PROVINCE_SCOPE, actor=ACTOR)
    clock.now = start + timedelta(days=800)


async def _plain_python(
    services: Services, period: Period, commune: str | None
) -> dict[str, tuple[int, int]]:
    """The indicators' definitions, computed from every row in Python."""
    engine = services.engine
    async with session_factory(engine)() as session:
        establishments = list(await session.scalars(sa.select(EstablishmentRow)))
        inspections = list(await session.scalars(sa.select(InspectionRow)))
        hotspots = list(await session.scalars(sa.select(HotspotRow)))
        events = list(await session.scalars(sa.select(HotspotEventRow)))
    lo, hi = period.bounds()
    mine = [e for e in establishments if commune is None or e.commune_code == commune]
    open_now = [e for e in mine if e.created_at < hi and e.status != "closed"]
    population = [
        e for e in mine if e.created_at < hi and (e.status != "closed" or e.closed_on >= period.start)
    ]
    inspected = {i.establishment_id for i in inspections if period.start <= i.inspected_on <= period.end}
    spots = [h for h in hotspots if commune is None or h.commune_code == commune]
    eliminated_by = {ev.hotspot_id for ev in events if ev.to_state == "eliminated" and ev.at < hi}
    returned_in = {ev.hotspot_id for ev in events if ev.to_state == "returned" and lo <= ev.at < hi}
    detected = [h for h in spots if lo <= h.detected_at < hi]
    was_eliminated = [h for h in spots if h.id in eliminated_by]
    return {
        "establishments_listed": (sum(e.status == "managed" for e in open_now), len(open_now)),
        "establishments_inspected": (sum(e.id in inspected for e in population), len(population)),
        "establishments_committed": (
            sum(e.commitment_date is not None and e.commitment_date <= period.end for e in population),
            len(population),
        ),
        "hotspots_eliminated": (sum(h.id in eliminated_by for h in detected), len(detected)),
        "hotspots_returned": (sum(h.id in returned_in for h in was_eliminated), len(was_eliminated)),
    }


async def test_each_indicator_matches_its_plain_definition(services: Services, clock: FakeClock) -> None:
    await _random_register(services, clock, random.Random(7))
    start = datetime(2026, 3, 2, tzinfo=UTC).date()
    periods = [Period(start, start + timedelta(days=d)) for d in (90, 365, 700)]
    periods.append(Period(start + timedelta(days=200), start + timedelta(days=400)))
    nonzero = set()
    for period in periods:
        for commune in (None, COMMUNE):
            got = {i.name: i for i in await services.establishments.indicators(period, commune)}
            want = await _plain_python(services, period, commune)
            for name, (numerator, denominator) in want.items():
                assert (got[name].numerator, got[name].denominator) == (numerator, denominator), (
                    name,
                    period,
                )
                if denominator:
                    assert got[name].value == pytest.approx(numerator / denominator)
                    nonzero.add(name)
    assert nonzero == set(want)  # every indicator was exercised with real counts
