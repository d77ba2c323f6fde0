"""Commune/ward (2025 units) named in a tip, accented or not, and the old district-era
names people still use. Ambiguous names give candidates, never a guess."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from core.text import fold

#: More candidates than this tell an officer nothing; they are cut (codes in order).
MAX_CANDIDATES = 12

_NEW_TYPES = {"phuong": "phường", "xa": "xã", "dac khu": "đặc khu"}
_OLD_TYPES = ("quan", "huyen", "thi xa", "thanh pho")
_OLD_KIND_TOKENS: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
for _kind in _OLD_TYPES:
    _OLD_KIND_TOKENS.setdefault(_kind.split()[0], []).append((_kind, tuple(_kind.split())))
_ENGLISH_AFTER = {"ward": "phuong", "commune": "xa"}
# Province names people write without the official prefix.
_PROVINCE_ALIASES = {
    "hcm": "79",
    "tphcm": "79",
    "sai gon": "79",
    "saigon": "79",
    "sg": "79",
    "hn": "01",
    "ha noi": "01",
    "hanoi": "01",
    "da nang": "48",
    "danang": "48",
}
#: The words `find` acts on; a text without any of them is passed over in one C-level step.
_TRIGGERS = frozenset({"phuong", "xa", "dac", *_ENGLISH_AFTER, *_OLD_KIND_TOKENS})
_STREET_WORDS = frozenset("duong pho ngo hem kiet street road".split())


@dataclass(frozen=True)
class Unit:
    code: str  # five-digit ward code
    name: str  # `Phường Bến Thành`
    province_code: str  # two digits


@dataclass(frozen=True)
class PlaceMatch:
    commune_code: str | None
    candidates: tuple[str, ...]
    reasons: tuple[str, ...]


NO_PLACE = PlaceMatch(None, (), ())


def _key(name: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[^\W_]+", fold(name)))


class Gazetteer:
    """Name indexes built once from `vietnam_provinces` (and the district-era names of
    core/data/legacy_places.json)."""

    def __init__(self, units: Iterable[Unit] | None = None, *, legacy: bool = True) -> None:
        self.units: dict[str, Unit] = {u.code: u for u in (units if units is not None else _package_units())}
        # (type, folded short name tokens) → codes; type "" for bare names.
        self._by_name: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
        self._provinces: dict[tuple[str, ...], str] = {}
        for unit in self.units.values():
            folded = fold(unit.name)
            for kind in _NEW_TYPES:
                if folded.startswith(kind + " "):
                    short = _key(folded[len(kind) + 1 :])
                    self._by_name[(kind, short)].append(unit.code)
                    self._by_name[("", short)].append(unit.code)
        for alias, code in _PROVINCE_ALIASES.items():
            self._provinces[_key(alias)] = code
        self._old: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = defaultdict(list)
        self._old_wards: dict[tuple[str, str], dict[tuple[str, ...], list[str]]] = {}
        self._old_names: dict[tuple[str, str], str] = {}
        self._legacy_wanted = legacy
        self._legacy_loaded = False
        self._max_len = max((len(k[1]) for k in self._by_name), default=1)
        # Bare names by first word: the lengths to try at a token, longest first.
        lengths: dict[str, set[int]] = defaultdict(set)
        for kind, short in self._by_name:
            if kind == "" and len(short) >= 2:
                lengths[short[0]].add(len(short))
        self._bare_lengths = {first: sorted(found, reverse=True) for first, found in lengths.items()}
        self._bare_firsts = frozenset(self._bare_lengths)

    def load_legacy(self) -> bool:
        """Old district-era names, loaded on first need (0.3 s): most tips never name one."""
        if self._legacy_wanted and not self._legacy_loaded:
            self._legacy_loaded = True
            self._load_legacy()
        return self._legacy_wanted

    def add_province_names(self, names: dict[str, str]) -> None:
        """Province code → official name, for hints in the text (`Hà Nội`, `Lào Cai`)."""
        for code, name in names.items():
            bare = fold(name)
            for prefix in ("thanh pho ", "tinh "):
                bare = bare.removeprefix(prefix)
            self._provinces[_key(bare)] = code

    # --- matching -------------------------------------------------------------------------

    def _hinted_provinces(self, tokens: tuple[str, ...]) -> set[str]:
        """Provinces named in the text, to choose among homonymous wards."""
        found = set()
        for i in range(len(tokens)):
            for length in (1, 2, 3):
                code = self._provinces.get(tokens[i : i + length])
                if code:
                    found.add(code)
        return found

    def find(self, tokens: tuple[str, ...], text: str, province_code: str | None = None) -> PlaceMatch:
        """Units named in `tokens` (normalised words); `text` (NFC) separates accented homonyms."""
        lowered = text.lower()
        found: list[tuple[str, list[str]]] = []
        old_found: list[tuple[str, list[str]]] = []
        n = len(tokens)
        present = _TRIGGERS.intersection(tokens)
        for i in [i for i, tok in enumerate(tokens) if tok in present] if present else ():
            tok = tokens[i]
            if tok in ("phuong", "xa", "dac"):
                start = i + 2 if tok == "dac" and i + 1 < n and tokens[i + 1] == "khu" else i + 1
                self._match_after(tokens, start, "dac khu" if tok == "dac" else tok, lowered, found)
            if tok in _ENGLISH_AFTER:
                self._match_before(tokens, i, _ENGLISH_AFTER[tok], found)
            for old_kind, kind_tokens in _OLD_KIND_TOKENS.get(tok, ()):
                if tokens[i : i + len(kind_tokens)] == kind_tokens and self.load_legacy():
                    self._match_old(tokens, i + len(kind_tokens), old_kind, lowered, old_found)
        if not found and province_code:
            self._match_bare(tokens, found)
        if not found and not old_found:
            return NO_PLACE
        return self._decide(found, old_found, tokens, province_code)

    def _match_after(
        self, tokens: tuple[str, ...], start: int, kind: str, lowered: str, found: list[tuple[str, list[str]]]
    ) -> None:
        for length in range(min(self._max_len, len(tokens) - start), 0, -1):
            short = tokens[start : start + length]
            codes = self._by_name.get((kind, short))
            if codes:
                accented = [c for c in codes if self.units[c].name.lower() in lowered]
                found.append((f"{kind} {' '.join(short)}", accented or list(codes)))
                return

    def _match_before(
        self, tokens: tuple[str, ...], end: int, kind: str, found: list[tuple[str, list[str]]]
    ) -> None:
        for length in range(min(self._max_len, end), 0, -1):
            short = tokens[end - length : end]
            codes = self._by_name.get((kind, short))
            if codes:
                found.append((f"{' '.join(short)} {tokens[end]}", list(codes)))
                return

    def _match_bare(self, tokens: tuple[str, ...], found: list[tuple[str, list[str]]]) -> None:
        present = self._bare_firsts.intersection(tokens)
        for i in [i for i, tok in enumerate(tokens) if tok in present] if present else ():
            if i and tokens[i - 1] in _STREET_WORDS:
                continue
            for length in self._bare_lengths[tokens[i]]:
                if i + length > len(tokens):
                    continue
                codes = self._by_name.get(("", tokens[i : i + length]))
                if codes:
                    found.append((" ".join(tokens[i : i + length]), list(codes)))
                    break

    def _match_old(
        self,
        tokens: tuple[str, ...],
        start: int,
        kind: str,
        lowered: str,
        old_found: list[tuple[str, list[str]]],
    ) -> None:
        accented = _is_accented(lowered)
        for length in range(min(4, len(tokens) - start), 0, -1):
            short = tokens[start : start + length]
            for old_province, old_district in self._old.get((kind, short), []):
                label = self._old_names[(old_province, old_district)]
                if accented and kind == "quan" and "quán " + label.lower().split(" ", 1)[1] in lowered:
                    continue  # `quán Thanh Xuân` (a shop) is not `quận Thanh Xuân`
                codes = self._old_ward_codes(tokens, old_province, old_district)
                old_found.append((label, codes))
            if (kind, short) in self._old:
                return

    def _old_ward_codes(self, tokens: tuple[str, ...], old_province: str, old_district: str) -> list[str]:
        """New wards of an old district; only those of its old ward if one is named too."""
        wards = self._old_wards.get((old_province, old_district), {})
        for i, tok in enumerate(tokens):
            if tok in ("phuong", "xa", "thi"):
                start = i + 2 if tok == "thi" else i + 1
                for length in range(4, 0, -1):
                    codes = wards.get(tokens[start : start + length])
                    if codes:
                        return list(codes)
        return sorted({c for codes in wards.values() for c in codes})

    def _decide(
        self,
        found: list[tuple[str, list[str]]],
        old_found: list[tuple[str, list[str]]],
        tokens: tuple[str, ...],
        province_code: str | None,
    ) -> PlaceMatch:
        reasons: list[str] = []
        codes: list[str] = []
        for label, matched in found:
            codes.extend(c for c in matched if c not in codes)
            reasons.append(f"place: {label}")
        if old_found:
            old_codes = [c for _, matched in old_found for c in matched]
            if codes:
                narrowed = [c for c in codes if c in old_codes]
                codes = narrowed or codes
            else:
                codes = list(dict.fromkeys(old_codes))
            reasons.extend(f"place: old {label}" for label, _ in old_found)
        if province_code:
            codes = [c for c in codes if self.units[c].province_code == province_code]
        elif len(codes) > 1 and (hinted := self._hinted_provinces(tokens)):
            narrowed = [c for c in codes if self.units[c].province_code in hinted]
            codes = narrowed or codes
        if not codes:
            return NO_PLACE
        if len(codes) == 1:
            unit = self.units[codes[0]]
            return PlaceMatch(unit.code, (unit.code,), (*reasons, f"place: {unit.name} ({unit.code})"))
        return PlaceMatch(None, tuple(codes[:MAX_CANDIDATES]), (*reasons, f"place: {len(codes)} candidates"))

    # --- legacy names (core/data/legacy_places.json) ---------------------------------------

    def _load_legacy(self) -> None:
        """Old districts and wards → 2025 wards, vendored from the data `vietnamadminunits`
        maintains (tools/gen_legacy_places.py writes the file; MIT licence beside it)."""
        try:
            text = resources.files("core").joinpath("data/legacy_places.json").read_text(encoding="utf-8")
            districts = json.loads(text)["districts"]
        except (OSError, ValueError, KeyError):
            return
        for old_province, district_key, name, wards in districts:
            folded = fold(name)
            kind = next((k for k in _OLD_TYPES if folded.startswith(k + " ")), None)
            if kind is None:
                continue
            short = _key(folded[len(kind) + 1 :])
            self._old[(kind, short)].append((old_province, district_key))
            self._old_names[(old_province, district_key)] = name
            by_name: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for ward_name, codes in wards:
                known = [code for code in codes if code in self.units]
                if known:
                    by_name[_key(ward_name)].extend(known)
            self._old_wards[(old_province, district_key)] = dict(by_name)


def _package_units() -> list[Unit]:
    from vietnam_provinces import Ward

    return [Unit(f"{int(w.code):05d}", w.name, f"{int(w.province_code):02d}") for w in Ward.iter_all()]


def package_province_names() -> dict[str, str]:
    """Province code → name from `vietnam_provinces`."""
    from vietnam_provinces import Province

    return {f"{int(p.code):02d}": p.name for p in Province.iter_all()}


@lru_cache(maxsize=256)
def _is_accented(lowered: str) -> bool:
    """Whether the text carries diacritics (asked once per place word; the text is long)."""
    return fold(lowered) != " ".join(lowered.split())
