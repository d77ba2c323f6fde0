"""Administrative units as the domain needs them (the 2025 two-level system)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str  # "province" or "commune" (communes, wards and special zones alike)
    division_type: str
    province_code: str | None
    remote: bool = False
