"""Write core/data/legacy_places.json: the district-era names (old districts and their wards)
and the 2025 wards that replaced them, from the data `vietnamadminunits` maintains (MIT,
core/data/LICENSE.vietnamadminunits), so the app needs neither the package nor its numpy,
shapely and geopy. Run it again when a new release of the package corrects the data:

    pip install vietnamadminunits && python tools/gen_legacy_places.py
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "core" / "data" / "legacy_places.json"


def main() -> None:
    # find_spec, not import: importing the package pulls in numpy, shapely and geopy.
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install vietnamadminunits first (pip install vietnamadminunits)")
    base = Path(next(iter(spec.submodule_search_locations))) / "data"
    legacy = json.loads(base.joinpath("parser_legacy.json").read_text(encoding="utf-8"))
    converter = json.loads(base.joinpath("converter_2025.json").read_text(encoding="utf-8"))
    current = json.loads(base.joinpath("parser_from_2025.json").read_text(encoding="utf-8"))

    new_codes: dict[tuple[str, str], str] = {}
    for table in ("DICT_PROVINCE_WARD_NO_ACCENTED", "DICT_PROVINCE_WARD_ACCENTED"):
        for province, wards in current.get(table, {}).items():
            for key, info in wards.items():
                new_codes[(province, key)] = str(info.get("wardCode"))
    # old "province_district_ward" key → the 2025 ward codes that replaced it
    old_to_new: dict[str, set[str]] = defaultdict(set)
    for province, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_key, old_keys in wards.items():
            code = new_codes.get((province, new_key))
            if code is not None:
                for old_key in old_keys:
                    old_to_new[old_key].add(code)
    for province, divided in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, targets in divided.items():
            for target in targets:
                code = new_codes.get((province, target["newWardKey"]))
                if code is not None:
                    old_to_new[old_key].add(code)

    districts = []
    for old_province, table in legacy["DICT_PROVINCE_DISTRICT"].items():
        for district_key, info in table.items():
            ward_table = legacy["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"].get(old_province, {})
            wards = []
            for ward_key, ward in ward_table.get(district_key, {}).items():
                targets = old_to_new.get(f"{old_province}_{district_key}_{ward_key}", set())
                name = ward.get("wardShort")
                if targets and isinstance(name, str):
                    wards.append([name, sorted(targets)])
            districts.append([old_province, district_key, str(info["district"]), wards])

    version = importlib.metadata.version("vietnamadminunits")
    doc = {"source": f"vietnamadminunits {version} (MIT), tools/gen_legacy_places.py", "districts": districts}
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(districts)} old districts, {sum(len(d[3]) for d in districts)} old wards")


if __name__ == "__main__":
    main()
