"""Categories with their reasons, and urgency."""

from __future__ import annotations

import pytest

from core.categories import Category
from core.intake_triage import shared_triage
from core.triage import Proposal, Triage


@pytest.fixture(scope="module")
def triage() -> Triage:
    return shared_triage()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Quán karaoke ôm Hoa Hồng có tiếp viên, phòng VIP, khách trả tiền là đi khách", Category.VENUE),
        ("quan bia om hoa hong co tiep vien di khach", Category.VENUE),
        ("Spa Lotus near the market is a brothel with a back room", Category.VENUE),
        ("Nhóm Zalo đăng ảnh gái gọi kèm giá, inbox để hẹn", Category.ONLINE),
        ("A Facebook group posts photos of women with prices", Category.ONLINE),
        ("Chị tôi bị lừa đi làm việc nhẹ lương cao bên Trung Quốc, bị giữ hộ chiếu", Category.TRAFFICKING),
        ("chi toi bi lua di lam viec nhe luong cao ben trung quoc, bi giu ho chieu", Category.TRAFFICKING),
        ("My cousin was trafficked across the border, they took her passport", Category.TRAFFICKING),
        ("Quán karaoke có mấy em khoảng 15 tuổi ngồi tiếp khách", Category.MINOR),
        ("quan karaoke co may em 15 tuoi ngoi tiep khach", Category.MINOR),
        ("Underage girls work at the massage parlor", Category.MINOR),
        ("Tối nào công viên cũng có gái đứng đường chèo kéo khách", Category.STREET),
        ("Công an phường nhận phong bì bảo kê cho quán massage", Category.OFFICIAL_MISCONDUCT),
        (
            "The owner is always tipped off before inspections, police are paid off",
            Category.OFFICIAL_MISCONDUCT,
        ),
        (
            "Tôi đã báo từ tháng trước, mã tiếp nhận ABC123, nhưng chưa xử lý, tôi khiếu nại",
            Category.COMPLAINT,
        ),
        ("Nhóm Telegram chia sẻ phim sex và clip nóng", Category.OBSCENE_MATERIAL),
        ("Cho em hỏi mua dâm bị phạt bao nhiêu ạ?", Category.INFO_REQUEST),
        ("What is the penalty for buying sex?", Category.INFO_REQUEST),
        ("Vay tiền nhanh, giải ngân trong ngày, lãi suất thấp", Category.SPAM),
        ("asdfgh", Category.SPAM),
        ("", Category.SPAM),
        ("我的表妹被骗到中国，护照被拿走了", Category.TRAFFICKING),
    ],
)
def test_category(triage: Triage, text: str, category: Category) -> None:
    proposal = triage.propose(text)
    assert proposal.category is category, proposal.reasons


def test_reasons_name_the_terms_and_scores(triage: Triage) -> None:
    p = triage.propose("Quán karaoke ôm Hoa Hồng có tiếp viên ngồi cùng khách")
    assert p.category is Category.VENUE
    assert p.reasons[0].startswith("language: vi")
    assert any(r.startswith("category venue") for r in p.reasons)
    terms = next(r for r in p.reasons if r.startswith("terms:"))
    assert "karaoke ôm (1.5)" in terms and "tiếp viên (1)" in terms
    assert max(p.scores, key=p.scores.__getitem__) == "venue"


def test_minor_overrides_venue(triage: Triage) -> None:
    p = triage.propose("Karaoke massage phòng VIP tiếp viên nhân viên nữ, có một em học sinh lớp 8")
    assert p.category is Category.MINOR and p.urgent
    assert any("under 18" in r for r in p.reasons)


def test_accented_text_does_not_match_look_alike_words(triage: Triage) -> None:
    # `gặp` folds to `gap` like `gấp` (urgent) would; with diacritics typed, they differ
    p = triage.propose("Tôi gặp một nhóm trên Facebook đăng ảnh gái gọi kèm giá")
    assert not p.urgent


@pytest.mark.parametrize(
    "text",
    [
        "Có cô gái bị nhốt trong nhà nghỉ, không cho về",
        "co co gai bi nhot trong nha nghi ko cho ve",
        "Chủ quán đánh đập nhân viên nữ, dọa giết nếu bỏ trốn",
        "A woman is locked in the back room of the karaoke and cannot leave",
        "They are moving girls to the border tonight",
        "Bé gái 14 tuổi ngồi tiếp khách ở quán bia",
        "Girls who look about 15 years old serve customers",
    ],
)
def test_urgent(triage: Triage, text: str) -> None:
    p = triage.propose(text)
    assert p.urgent, p.reasons
    assert any(r.startswith("urgent:") for r in p.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "Quán karaoke Hoa Hồng có tiếp viên ngồi cùng khách",
        "Cho em hỏi mua dâm bị phạt bao nhiêu?",
        "Khuyến mãi giảm giá 50%, bấm vào link",
        "Có người 25 tuổi đứng đường ở công viên",
    ],
)
def test_not_urgent(triage: Triage, text: str) -> None:
    assert not triage.propose(text).urgent


def test_proposal_is_frozen_and_serialisable(triage: Triage) -> None:
    import dataclasses
    import json

    p = triage.propose("quan karaoke co gai ban dam")
    assert isinstance(p, Proposal)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.urgent = True  # type: ignore[misc]
    data = json.loads(json.dumps(p.to_dict()))
    assert set(data) >= {"language", "category", "urgent", "commune_code", "duplicate_of", "reasons"}


def test_core_triage_imports_no_framework() -> None:
    """The domain core stays plain Python (STYLE 5): no web, bot, ORM or storage imports."""
    import subprocess
    import sys

    code = (
        "import sys, core.triage; core.triage.Triage().propose('quan karaoke o quan 1');"
        "bad = {m.split('.')[0] for m in sys.modules} & {'aiohttp', 'telegram', 'sqlalchemy', 'storage'};"
        "print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
