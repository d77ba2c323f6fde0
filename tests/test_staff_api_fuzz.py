"""A bounded fuzz of the staff operations the OpenAPI document describes, signed in as an
administrator: no 5xx, and only documented statuses, content types and bodies. Schemathesis
draws examples while collecting, so this module is left out of `make test-fast` whole."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import negated_parameters
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.officers import Role
from handlers.app import create_app
from handlers.public_api import api
from handlers.staff_openapi import add_staff_paths
from hotline.bootstrap import open_services
from hotline.settings import Settings
from storage.maintenance import upgrade_database
from tests.builders import submit
from tests.conftest import ADMIN_PASSWORD, PROVINCE, TOTP_SECRET
from tests.live_server import serve_in_thread


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The real app on SQLite in a thread, an administrator signed in, a few tips."""
    root: Path = tmp_path_factory.mktemp("staff-fuzz")
    conf = Settings(
        database_url=f"sqlite:///{root / 'fuzz.db'}",
        data_dir=root,
        province=PROVINCE,
        staff_failed_logins_per_5_minutes=100_000,
        master_key="3c" * 32,  # registered tips may name an informant
        staff_failed_logins_per_source_per_5_minutes=100_000,
    )

    async def prepare() -> dict[str, str]:
        await upgrade_database(conf.effective_database_url, PROVINCE)
        async with open_services(conf) as services:
            for _ in range(3):
                await submit(services.intake, urgent=True)
            await services.staff.add_officer(
                username="admin",
                password=ADMIN_PASSWORD,
                agency_code=f"police:{PROVINCE}",
                area_code=PROVINCE,
                role=Role.ADMIN,
                totp_secret=TOTP_SECRET,
            )
            signed = await services.staff.sign_in("admin", ADMIN_PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
        return {"Cookie": f"hotline_staff={signed.token}", "X-CSRF-Token": signed.csrf_token}

    headers = asyncio.run(prepare())
    with serve_in_thread(create_app(conf)) as url:
        yield url, headers


def _staff_document() -> dict[str, Any]:
    doc = api.document()
    add_staff_paths(doc)
    return doc


schema = (
    schemathesis.openapi.from_dict(_staff_document())
    .include(path_regex="^/api/v1/staff/")
    # Signing out would end the fuzzing session; the event stream never ends by design.
    .exclude(method="DELETE", path="/api/v1/staff/session")
    .exclude(path="/api/v1/staff/events")
)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "15")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_fuzz_staff_api_signed_in(case: Any, staff_server: tuple[str, dict[str, str]]) -> None:
    """Signed in as an administrator with the CSRF token: no 5xx, every answer as
    documented. (Valid data may still be refused: an illegal move, an unknown agency.)"""
    base, auth = staff_server
    # A case that tests a missing credential (negative data) goes without that one.
    missing = {name.lower() for name, _ in negated_parameters(case.meta)}
    headers = {}
    if "hotline_staff" not in missing:
        headers["Cookie"] = auth["Cookie"]
    if "x-csrf-token" not in missing:
        headers["X-CSRF-Token"] = auth["X-CSRF-Token"]
    case.call_and_validate(base_url=base, headers=headers, excluded_checks=[positive_data_acceptance])
