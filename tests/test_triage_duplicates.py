"""Duplicates: same phone or link, same named venue, near-duplicate text; 90-day window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.intake_triage import shared_triage
from core.triage import EarlierTip, Triage


@pytest.fixture(scope="module")
def triage() -> Triage:
    return shared_triage()


ORIGINAL = "Quán karaoke Hoa Hồng trên đường Lê Lợi có tiếp viên bán dâm, khách vào phòng VIP trên lầu."


def test_near_duplicate_text(triage: Triage) -> None:
    earlier = [EarlierTip(7, "Tối qua tôi thấy ở công viên có người đứng đường"), EarlierTip(8, ORIGINAL)]
    again = (
        "Báo lại: quan karaoke hoa hong tren duong le loi co tiep vien ban dam, khach vao phong vip tren lau"
    )
    p = triage.propose(again, earlier=earlier)
    assert p.duplicate_of == 8
    assert any(r.startswith("duplicate: similar text") for r in p.reasons)


def test_same_phone(triage: Triage) -> None:
    earlier = [EarlierTip("a", "Nhóm Zalo rao gái gọi, liên hệ 0912 345 678")]
    p = triage.propose("Gọi số +84912345678 trên Zalo là được giới thiệu gái gọi", earlier=earlier)
    assert p.duplicate_of == "a"
    assert any("same phone …678" in r for r in p.reasons)


def test_same_link(triage: Triage) -> None:
    earlier = [EarlierTip(1, "Trang https://gaigoi-vip.net/sg đăng ảnh các cô gái")]
    p = triage.propose("website gaigoi-vip.net/sg is advertising call girls", earlier=earlier)
    assert p.duplicate_of == 1


def test_the_reason_names_the_same_shared_key_in_every_process(triage: Triage) -> None:
    """A tip sharing several links with an earlier one names the first in sorted order, not
    the first a set happens to yield: that order changes with each process's string hashing,
    and the proposal is made in whichever web worker took the tip."""
    links = [f"https://site{n}.vn/p" for n in (7, 3, 9, 1, 8, 5, 2, 6)]
    earlier = [EarlierTip(1, "Các trang này rao gái gọi: " + " ".join(links))]
    p = triage.propose("Báo lại các trang " + " , ".join(reversed(links)) + " vẫn hoạt động", earlier=earlier)
    assert p.duplicate_of == 1
    assert [r for r in p.reasons if r.startswith("duplicate:")] == ["duplicate: same link site1.vn/p"]


def test_same_named_venue(triage: Triage) -> None:
    earlier = [EarlierTip(3, "Nhà nghỉ Thanh Bình ở xã Tân Thành cho gái vào phòng khách")]
    p = triage.propose("Chủ Nhà nghỉ Thanh Bình gọi gái cho khách qua điện thoại mỗi tối", earlier=earlier)
    assert p.duplicate_of == 3
    assert any("same venue" in r for r in p.reasons)


def test_different_venue_with_similar_words_is_not_a_duplicate(triage: Triage) -> None:
    earlier = [EarlierTip(1, ORIGINAL)]
    other = ORIGINAL.replace("Hoa Hồng", "Sao Mai")
    assert triage.propose(other, earlier=earlier).duplicate_of is None


def test_window_of_ninety_days(triage: Triage) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = [EarlierTip(1, ORIGINAL, received_at=now - timedelta(days=91))]
    recent = [EarlierTip(2, ORIGINAL, received_at=now - timedelta(days=89))]
    assert triage.propose(ORIGINAL, earlier=old, now=now).duplicate_of is None
    assert triage.propose(ORIGINAL, earlier=recent, now=now).duplicate_of == 2


def test_questions_and_spam_are_never_duplicates(triage: Triage) -> None:
    question = "Cho em hỏi mua dâm bị phạt bao nhiêu ạ?"
    assert triage.propose(question, earlier=[EarlierTip(1, question)]).duplicate_of is None


def test_index_reused_across_calls(triage: Triage) -> None:
    index = triage.index(
        [
            EarlierTip(i, f"Tip number {i} about the {name} karaoke bar")
            for i, name in enumerate(["Ruby", "Venus", "Galaxy"])
        ]
    )
    assert len(index) == 3
    p = triage.propose("Reporting again about the Venus karaoke bar, hostesses inside", earlier=index)
    assert p.duplicate_of == 1


def test_unrelated_tips_are_not_duplicates(triage: Triage) -> None:
    earlier = [EarlierTip(1, ORIGINAL), EarlierTip(2, "Nhóm Telegram chia sẻ clip sex")]
    p = triage.propose("Có người tuyển lao động nữ đi Campuchia, lương cao, giữ hộ chiếu", earlier=earlier)
    assert p.duplicate_of is None


def test_chinese_near_duplicate(triage: Triage) -> None:
    text = "这家酒店的前台会给客人介绍小姐，提供色情服务。"
    assert triage.propose(text + "！！", earlier=[EarlierTip(5, text)]).duplicate_of == 5
