"""Communes and wards matched from what a reporter types, in any spelling."""

from __future__ import annotations

from core.chat.ports import Place
from core.triage.normalise import normalise
from core.triage.places import Gazetteer

MAX_BUTTONS = 6


class GazetteerPlaces:
    """The triage gazetteer, narrowed to the deployment's province."""

    def __init__(self, gazetteer: Gazetteer, province_code: str) -> None:
        self.gazetteer = gazetteer
        self.province_code = province_code

    def candidates(self, typed: str) -> list[Place]:
        norm = normalise(typed)
        match = self.gazetteer.find(norm.tokens, norm.text, self.province_code)
        if not match.candidates:
            # People often type the bare name (`ben thanh`); the gazetteer wants a type word
            for kind in ("phuong", "xa"):
                retry = normalise(f"{kind} {typed}")
                match = self.gazetteer.find(retry.tokens, retry.text, self.province_code)
                if match.candidates:
                    break
        units = self.gazetteer.units
        return [Place(code, units[code].name) for code in match.candidates[:MAX_BUTTONS] if code in units]
