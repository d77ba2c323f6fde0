"""Commune/ward from the text: accented or not, old district-era names, ambiguity."""

from __future__ import annotations

import pytest

from core.intake_triage import shared_triage
from core.triage import Triage, Unit
from core.triage.normalise import normalise
from core.triage.places import Gazetteer


@pytest.fixture(scope="module")
def triage() -> Triage:
    return shared_triage()


@pytest.mark.parametrize(
    "text",
    [
        "Quán karaoke ở phường Bến Thành có tiếp viên",
        "quan karaoke o phuong ben thanh co tiep vien",
        "quan karaoke o p. ben thanh",
        "The karaoke bar in Ben Thanh ward",
    ],
)
def test_ward_accented_or_not(triage: Triage, text: str) -> None:
    p = triage.propose(text)
    assert p.commune_code == "26743", p.reasons
    assert any("Bến Thành" in r for r in p.reasons)


def test_ambiguous_name_gives_candidates(triage: Triage) -> None:
    p = triage.propose("Có quán massage ở phường Tân An")
    assert p.commune_code is None
    assert len(p.commune_candidates) >= 2
    assert any("candidates" in r for r in p.reasons)


def test_province_code_restricts(triage: Triage) -> None:
    everywhere = triage.propose("nhà nghỉ ở xã Tân Thành")
    assert everywhere.commune_code is None and len(everywhere.commune_candidates) > 1
    province = triage.gazetteer.units[everywhere.commune_candidates[0]].province_code
    restricted = triage.propose("nhà nghỉ ở xã Tân Thành", province_code=province)
    assert restricted.commune_candidates
    assert {triage.gazetteer.units[c].province_code for c in restricted.commune_candidates} == {province}


def test_province_named_in_text_narrows(triage: Triage) -> None:
    p = triage.propose("Đà Nẵng, phường Hải Châu, quán karaoke có tiếp viên")
    assert p.commune_code == "20242"


def test_old_district_names(triage: Triage) -> None:
    district = triage.propose("quán bia ôm ở quận 1 tp hcm")
    assert district.commune_code is None
    assert "26743" in district.commune_candidates
    assert any("old Quận 1" in r for r in district.reasons)
    ward = triage.propose("p. Phạm Ngũ Lão q1 có gái đứng đường")
    assert ward.commune_code == "26743"


def test_shop_is_not_a_district(triage: Triage) -> None:
    # `quán Thanh Xuân` (a shop) with diacritics is not `quận Thanh Xuân`
    p = triage.propose("Quán Thanh Xuân có tiếp viên ngồi cùng khách")
    assert not any("old" in r for r in p.reasons)


def test_street_name_is_not_a_ward(triage: Triage) -> None:
    p = triage.propose("karaoke trên đường Trần Phú", province_code="79")
    assert not any("tran phu" in r for r in p.reasons)


def test_area_list_can_be_given() -> None:
    units = [
        Unit("00001", "Phường Một", "01"),
        Unit("00002", "Xã Hai Bên", "02"),
        Unit("00003", "Xã Hai Bên", "03"),
    ]
    g = Gazetteer(units, legacy=False)
    norm = normalise("o xa hai ben co quan bia om")
    assert g.find(norm.tokens, norm.text).candidates == ("00002", "00003")
    assert g.find(norm.tokens, norm.text, "03").commune_code == "00003"
    assert g.find(normalise("nothing").tokens, "nothing").candidates == ()
