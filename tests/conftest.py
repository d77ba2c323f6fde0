"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

A migrated template database is built once per session for each backend; each test gets a
fresh copy (a file copy for SQLite, `CREATE DATABASE ... TEMPLATE` for PostgreSQL), so
tests are isolated and fast. PostgreSQL tests need HOTLINE_TEST_DATABASE_URL (CI sets it);
without it they are skipped with a reason.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# The application is imported where a fixture needs it, not here: with `-n auto` the
# process that hands out tests loads this file too, and it runs none of them.
if TYPE_CHECKING:
    from core.officers import Role
    from hotline.bootstrap import Services
    from hotline.settings import Settings

# Tests read new tips on the event loop, as the app does with HOTLINE_TRIAGE_WORKER=false
# (Settings reads it when built): a helper process per app would cost every test a second.
# tests/test_triage_worker.py turns the helper on where it is under test.
os.environ.setdefault("HOTLINE_TRIAGE_WORKER", "false")
# Tip contents are encrypted under the master key; the embedded default creates its key
# file in the user's configuration directory: a private one for the test run, not ~/.config.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="hotline-test-config-")

PROVINCE = "79"  # Ho Chi Minh City: has wards, communes and a special zone (Côn Đảo)
COMMUNE = "26743"  # Phường Bến Thành
REMOTE_COMMUNE = "26732"  # Đặc khu Côn Đảo
OTHER_PROVINCE_COMMUNE = "00004"  # Phường Ba Đình, Hà Nội
ADMIN_PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

_counter = itertools.count()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        from datetime import timedelta

        self.now += timedelta(**kw)
        return self.now


def pg_admin_url() -> str | None:
    url = os.environ.get("HOTLINE_TEST_DATABASE_URL")
    return url or None


def _asyncpg_dsn(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


async def _pg_exec(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url, "postgres"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


#: Tests that each took a second or more in a quiet `make test-fast` on the project's
#: two-core machine (2026-12-02): large volumes, subprocess servers and helpers, the demo
#: data, the whole migration chain, LibreOffice's conversions, reports read back against
#: every indicator, and campaigns that wait out a platform's 429s. `make test` still runs
#: them. Parametrised runs are matched by name.
SLOW_TESTS = frozenset(
    {
        "tests/test_abuse.py::test_a_flood_of_junk_tips_does_not_stop_another_reporter",
        "tests/test_abuse.py::test_a_flood_of_sign_ins_does_not_lock_the_officers_out",
        "tests/test_bot_resilience.py::test_a_failing_send_loses_neither_the_report_nor_privacy",
        "tests/test_broadcast.py::test_paused_and_cancelled_campaigns_send_nothing_more",
        "tests/test_cli.py::test_kpi_on_demo_data_matches_a_hand_count",
        "tests/test_establishments.py::test_each_indicator_matches_its_plain_definition",
        "tests/test_establishments_web.py::test_hotspot_pages_and_return",
        "tests/test_establishments_web.py::test_pages_link_a_tip_and_show_indicators",
        "tests/test_hardening.py::test_street_to_commune_keeps_tips_without_a_commune_storable",
        "tests/test_kpi.py::test_sql_kpi_agrees_with_the_reference_on_random_data",
        "tests/test_learn.py::test_pages_of_an_audience",
        "tests/test_migrations.py::test_0019_encrypts_existing_tips_in_place_and_will_not_go_back",
        "tests/test_migrations.py::test_0021_seals_existing_triage_reasons_and_support_messages",
        "tests/test_migrations.py::test_0022_moves_the_blind_index_into_arrays_and_back",
        "tests/test_migrations.py::test_empty_to_head_down_to_base_and_up_again",
        "tests/test_migrations.py::test_upgrade_with_reference_data_is_idempotent",
        "tests/test_report_files.py::test_concurrent_downloads_each_get_their_report",
        "tests/test_report_files.py::test_the_kpi_page_form_and_the_download_match_hotline_indicators",
        "tests/test_report_files.py::test_the_pdf_is_made_by_libreoffice_and_page_one_is_rendered",
        "tests/test_report_files.py::test_two_pdf_conversions_at_once_do_not_clash",
        "tests/test_retention.py::test_a_year_on_spam_is_forgotten_processed_is_kept_and_the_figures_do_not_move",
        "tests/test_runtime.py::test_startup_objects_are_frozen_once_the_app_has_started",
        "tests/test_shutdown.py::test_a_malformed_request_gets_a_plain_400_with_the_security_headers",
        "tests/test_shutdown.py::test_a_request_on_a_kept_alive_connection_after_sigterm_is_answered",
        "tests/test_shutdown.py::test_sigterm_under_load_answers_or_refuses_every_request",
        "tests/test_staff_audit_page.py::test_audit_is_for_admins_only",
        "tests/test_staff_audit_page.py::test_audit_page_filters_and_pages",
        "tests/test_staff_dashboard.py::test_dashboard_charts_add_up",
        "tests/test_staff_dashboard.py::test_fast_kpi_equals_the_plain_sql_for_every_period_and_jurisdiction",
        "tests/test_staff_dashboard.py::test_rollups_kept_in_step_equal_a_rebuild",
        "tests/test_staff_events.py::test_a_stream_closed_by_the_browser_is_quiet",
        "tests/test_staff_events.py::test_streams_need_a_session_are_limited_and_end_at_sign_out",
        "tests/test_staff_exports.py::test_kpi_csv_is_scoped_and_audited",
        "tests/test_staff_exports.py::test_only_admins_read_the_audit_log",
        "tests/test_staff_outreach.py::test_content_review_publish_and_campaign",
        "tests/test_staff_outreach.py::test_every_form_wants_the_session_csrf_token",
        "tests/test_staff_outreach.py::test_reach_page_populations_and_kpi_section",
        "tests/test_staff_queue.py::test_keyset_pages_cover_the_queue_exactly_once",
        "tests/test_staff_routing_notices.py::test_a_complaint_goes_to_the_supervisors_of_the_agency_complained_about",
        "tests/test_staff_scoping.py::test_each_role_sees_its_jurisdiction_and_sql_agrees_with_the_rule",
        "tests/test_staff_scoping.py::test_misconduct_never_reaches_the_unit_it_names",
        "tests/test_staff_session.py::test_lockout_after_repeated_failures",
        "tests/test_staff_session.py::test_wrong_password_wrong_code_unknown_user_and_replay_are_refused",
        "tests/test_staff_signin_abuse.py::test_a_global_budget_stops_spraying_one_password_over_many_names",
        "tests/test_staff_signin_abuse.py::test_unknown_usernames_answer_like_known_ones",
        "tests/test_student_journey.py::test_a_student_subscribes_receives_a_scheduled_campaign_asks_and_leaves",
        "tests/test_support.py::test_cli_records_providers_training_staff_and_activities",
        "tests/test_support.py::test_the_report_read_back_matches_the_indicators",
        "tests/test_support_web.py::test_police_and_another_area_get_404",
        "tests/test_support_web.py::test_the_directory_is_edited_in_the_workspace",
        "tests/test_tips_import.py::test_a_bad_row_stops_the_import_with_its_number_and_writes_nothing",
        "tests/test_tips_import.py::test_importing_twice_adds_nothing_and_a_dry_run_writes_nothing",
        "tests/test_triage_classify.py::test_core_triage_imports_no_framework",
        "tests/test_triage_cli.py::test_eval_printout",
        "tests/test_triage_model.py::test_training_again_gives_the_same_predictions",
        "tests/test_triage_worker.py::test_a_helper_that_dies_is_replaced_and_its_batch_read_here",
        "tests/test_triage_worker.py::test_the_helper_reads_texts_as_the_event_loop_does",
        "tests/test_triage_worker.py::test_tips_through_the_app_are_triaged_by_the_helper",
        "tests/test_upload_memory.py::test_a_burst_is_cleaned_within_the_shared_budget",
        "tests/test_zalo_outreach.py::test_one_campaign_reaches_telegram_and_zalo_subscribers_once_each",
    }
)


#: Modules whose every test is slow, and whose collection alone is: schemathesis draws its
#: examples while collecting (about ten seconds). `-m "not slow"` does not even import them.
SLOW_MODULES = frozenset({"tests/test_staff_api_fuzz.py", "tests/test_web_api_fuzz.py"})


def _module_id(path: Path, config: pytest.Config) -> str:
    return path.relative_to(config.rootpath).as_posix()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave SLOW_MODULES and the browser tests (every one of them is slow, and importing
    Playwright costs each process a third of a second) out before they are imported when
    the run excludes slow tests."""
    if config.getoption("markexpr") == "not slow" and collection_path.is_file():
        module = _module_id(collection_path, config)
        if module in SLOW_MODULES or module.endswith("_browser.py"):
            return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` what `make test-fast` leaves out: PostgreSQL and Redis runs, browsers,
    and the long tests of SLOW_TESTS and SLOW_MODULES."""
    for item in items:
        if item.nodeid.split("[", 1)[0] in SLOW_TESTS or item.nodeid.split("::", 1)[0] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
            continue
        callspec = getattr(item, "callspec", None)
        params = list(callspec.params.values()) if callspec is not None else []
        module = getattr(item, "module", None)
        uses_redis = "redis" in params or "redis_url" in getattr(item, "fixturenames", ())
        if uses_redis:
            # The Redis tests flush the one database the run was given: `make test` runs
            # them in one process after the others, which run one process per core.
            item.add_marker(pytest.mark.redis)
        if (
            "postgresql" in params
            or uses_redis
            or (module is not None and (hasattr(module, "CHROMIUM") or "browser" in module.__name__))
        ):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Take what importing and collecting built (some 200,000 objects: modules, classes,
    the gazetteer) out of the garbage collector's rounds, as `hotline serve` does once
    started: each full round then walks only what the tests made since."""
    del session
    _hash_staff_passwords_cheaply()
    gc.collect()
    gc.freeze()
    # Each test builds and drops an app, its services and engines: tens of thousands of
    # objects. Rounds every 10,000 new objects instead of 700 (the default) spend less time
    # walking what is about to be dropped anyway.
    gc.set_threshold(10_000, 20, 20)


def _hash_staff_passwords_cheaply() -> None:
    """Staff passwords are hashed with argon2's strong defaults (64 MiB, three passes: a
    quarter of a second per sign-in on two slow cores), and the tests sign in hundreds of
    times: they hash with the lightest parameters instead. What the tests check (a right or
    wrong password, an unknown name costing one verification like a known one) does not
    depend on the cost."""
    from argon2 import PasswordHasher

    import core.officers

    core.officers._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    core.officers._DUMMY_HASH = None


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A worker of `-n auto` has sent every report to the main process by now: it ends here
    instead of tearing its 2,500 modules down one by one (a second and more at the end of
    every run, waited for by the main process)."""
    if hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@pytest.fixture(autouse=True)
def _forget_finished_apps() -> Iterator[None]:
    """aiohttp keeps the middleware chain it built for each app in a module-wide cache of
    1,024 entries, so every app a test starts (with its services, engines and compiled
    statements) would stay alive for the rest of the run and every garbage collection
    would walk it. One app lives for a whole process in production; here each test's goes
    with it. The cache is private to aiohttp, hence the `getattr`."""
    yield
    import aiohttp.web_app

    cached = getattr(aiohttp.web_app, "_cached_build_middleware", None)
    if cached is not None:
        cached.cache_clear()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from storage.maintenance import upgrade_database

    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(upgrade_database(f"sqlite:///{path}", PROVINCE))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    from sqlalchemy.engine import make_url

    from storage.maintenance import upgrade_database

    url = pg_admin_url()
    if url is None:
        pytest.skip("HOTLINE_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    base = make_url(url).database or "hotline_test"
    template = f"{base}_tpl_{os.getpid()}"
    asyncio.run(_pg_exec(url, f'DROP DATABASE IF EXISTS "{template}"', f'CREATE DATABASE "{template}"'))
    asyncio.run(upgrade_database(_asyncpg_dsn(url, template), PROVINCE))
    yield template
    asyncio.run(_pg_exec(url, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database with reference data, private to this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "hotline.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    admin = pg_admin_url()
    assert admin is not None
    name = f"{template_name}_{next(_counter)}"
    asyncio.run(_pg_exec(admin, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    yield _asyncpg_dsn(admin, name)
    asyncio.run(_pg_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema), for migration tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = pg_admin_url()
    if admin is None:
        pytest.skip("HOTLINE_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    name = f"hotline_empty_{os.getpid()}_{next(_counter)}"
    asyncio.run(_pg_exec(admin, f'CREATE DATABASE "{name}"'))
    yield _asyncpg_dsn(admin, name)
    asyncio.run(_pg_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> FakeClock:
    # Monday 2 March 2026, 09:00 in Viet Nam.
    return FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    from hotline.settings import Settings

    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE)


@pytest.fixture
async def services(settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    from hotline.bootstrap import open_services

    async with open_services(settings, clock) as opened:
        yield opened


async def staff_headers(services: Services, username: str, password: str = ADMIN_PASSWORD) -> dict[str, str]:
    """Sign in through the service (password + the current TOTP code) and return the
    headers a browser would send: the session cookie and the CSRF token for writes."""
    signed = await services.staff.sign_in(username, password, totp_code(services))
    return {"Cookie": f"hotline_staff={signed.token}", "X-CSRF-Token": signed.csrf_token}


def totp_code(services: Services, secret: str = TOTP_SECRET) -> str:
    import pyotp

    return pyotp.TOTP(secret).at(services.staff.clock())


async def add_staff(
    services: Services, username: str, agency: str, area: str, role: Role | str = "officer"
) -> dict[str, str]:
    """An officer with the shared test TOTP secret, signed in."""
    from core.officers import Role

    await services.staff.add_officer(
        username=username,
        password=ADMIN_PASSWORD,
        agency_code=agency,
        area_code=area,
        role=Role(role),
        totp_secret=TOTP_SECRET,
    )
    return await staff_headers(services, username)


@pytest.fixture
async def admin(services: Services) -> dict[str, str]:
    """A signed-in admin officer; returns the headers for the staff API."""
    return await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, "admin")


@pytest.fixture
async def client(settings: Settings, clock: FakeClock, aiohttp_client: Any) -> Any:
    from handlers.app import create_app

    return await aiohttp_client(create_app(settings, clock=clock))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database for rate-limit tests, flushed before and after; skipped when unset."""
    url = os.environ.get("HOTLINE_TEST_REDIS_URL")
    if not url:
        pytest.skip("HOTLINE_TEST_REDIS_URL not set: Redis tests skipped")

    async def flush() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()

    asyncio.run(flush())
    yield url
    asyncio.run(flush())
