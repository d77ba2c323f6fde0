"""Staff use cases that are not about one tip: accounts and sign-in."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import InvalidInput
from core.officers import Officer, Role, hash_password, password_matches
from core.ports import UnitOfWork


class StaffService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self._uow = uow_factory

    async def add_officer(
        self, *, username: str, password: str, agency_code: str, area_code: str, role: Role
    ) -> Officer:
        try:
            password_hash = hash_password(password)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        async with self._uow() as uow:
            if not await uow.agencies.exists(agency_code):
                raise InvalidInput(f"unknown agency {agency_code}")
            if await uow.areas.get(area_code) is None:
                raise InvalidInput(f"unknown area {area_code}")
            officer = await uow.officers.add(
                username=username,
                password_hash=password_hash,
                agency_code=agency_code,
                area_code=area_code,
                role=role,
            )
            await uow.commit()
        return officer

    async def authenticate(self, username: str, password: str) -> Officer | None:
        async with self._uow() as uow:
            officer = await uow.officers.by_username(username)
        return officer if password_matches(officer, password) else None
