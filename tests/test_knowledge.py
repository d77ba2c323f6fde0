"""The knowledge base and its matcher: data checks, matching with and without diacritics
in both languages, the no-match threshold, feedback counters, and the held-out evaluation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.errors import NotFound
from core.knowledge import AnswerService, KnowledgeBase, MemoryFeedbackStore, load_knowledge
from core.knowledge.evaluation import evaluate, read_rows
from core.knowledge.matcher import Matcher, shared_matcher, words
from core.text import fold
from hotline.bootstrap import Services

EVAL_FILE = Path(__file__).parent / "data" / "knowledge_eval.jsonl"
DEV_FILE = Path(__file__).parent / "data" / "knowledge_dev.jsonl"


@pytest.fixture(scope="module")
def answers() -> AnswerService:
    return AnswerService(shared_matcher(), MemoryFeedbackStore())


def best_id(service: AnswerService, text: str, hint: str = "vi") -> str | None:
    found = service.suggest(text, hint=hint, limit=1)
    return found[0].entry.id if found else None


def test_the_shipped_base_has_thirty_pairs_in_each_language_on_the_required_topics() -> None:
    base = load_knowledge()
    assert len(base.entries) >= 30
    for entry in base.entries:
        for lang in ("vi", "en"):
            assert entry.answers[lang].strip() and len(entry.questions[lang]) >= 2, (entry.id, lang)
    topics = {e.topic for e in base.entries}
    assert {"hotlines", "health", "law", "support", "trafficking", "reports", "privacy"} <= topics
    ids = {e.id for e in base.entries}
    assert {"legal-aid", "hiv-test-where", "vocational-training", "leave-sex-work", "hotline-which-number",
            "fake-job-abroad", "report-what-happens", "report-anonymous", "receipt-check"} <= ids
    # 111 is child protection and trafficking, 113 the police
    which = base.get("hotline-which-number")
    assert which is not None and "111" in which.answers["vi"] and "113" in which.answers["en"]


def test_answers_name_no_phone_number_but_the_national_hotlines_and_no_address() -> None:
    for entry in load_knowledge().entries:
        for lang in ("vi", "en"):
            numbers = set(re.findall(r"\d{3,}", entry.answers[lang]))
            assert numbers <= {"111", "113", "115", "112", "329", "327", "328"}, (entry.id, numbers)
            assert "số nhà" not in entry.answers[lang].lower()


def test_a_broken_base_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks"):
        KnowledgeBase.from_dict({"entries": [{"id": "x", "vi": {"questions": ["a"], "answer": "b"}}]})
    twice = {"id": "x", "vi": {"questions": ["a"], "answer": "b"}, "en": {"questions": ["a"], "answer": "b"}}
    with pytest.raises(ValueError, match="unique"):
        KnowledgeBase.from_dict({"entries": [twice, twice]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Xét nghiệm HIV miễn phí ở đâu?", "hiv-test-where"),
        ("xet nghiem hiv mien phi o dau", "hiv-test-where"),
        ("XET NGHIEM HIV O DAU", "hiv-test-where"),
        ("Tôi muốn bỏ nghề bán dâm, ai giúp tôi?", "leave-sex-work"),
        ("toi muon bo nghe ban dam ai giup toi", "leave-sex-work"),
        ("Trợ giúp pháp lý miễn phí ở đâu?", "legal-aid"),
        ("tro giup phap ly mien phi o dau", "legal-aid"),
        ("ko biet goi so nao de bao mua ban nguoi", "hotline-which-number"),  # teen code: ko
        ("Học nghề miễn phí", "vocational-training"),
    ],
)
def test_vietnamese_matches_with_and_without_diacritics(answers: AnswerService, text: str, expected: str) -> None:
    assert best_id(answers, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where can I get an HIV test for free?", "hiv-test-where"),
        ("where can i get a free hiv test", "hiv-test-where"),
        ("I want to leave sex work", "leave-sex-work"),
        ("free legal aid", "legal-aid"),
        ("Is my report anonymous, will the police know my identity?", "report-anonymous"),
        ("Is my reprot anonymus, will the polise know my identity?", "report-anonymous"),  # typos
        ("anonymous?", "report-anonymous"),  # one word: under the absolute floor, over the relative one
        ("will the cops know my name", "report-anonymous"),  # synonym: cops → police
        ("is a pimp punished by law", "law-venues"),  # pimp → broker
        ("my neighbor abused a kid", "child-abuse"),  # US spelling, abused/abuse, kid → child
    ],
)
def test_english_matches(answers: AnswerService, text: str, expected: str) -> None:
    assert best_id(answers, text, hint="vi") == expected


def test_the_answer_comes_in_the_language_of_the_question(answers: AnswerService) -> None:
    [vi] = answers.suggest("xét nghiệm HIV ở đâu", hint="en", limit=1)
    [en] = answers.suggest("where can I get an HIV test", hint="vi", limit=1)
    assert vi.language == "vi" and "Trung tâm" in vi.answer
    assert en.language == "en" and "Centre" in en.answer


@pytest.mark.parametrize(
    "text",
    ["Giá vàng hôm nay?", "thoi tiet ngay mai", "How do I cook rice?", "recommend a laptop", "ok", "???", ""],
)
def test_below_the_threshold_there_is_no_match(answers: AnswerService, text: str) -> None:
    assert answers.suggest(text) == []


def test_the_threshold_is_what_decides() -> None:
    matcher = shared_matcher()
    ranked = matcher.rank("Luật quy định thế nào?", "vi")  # vague: shares words, says little
    assert ranked and not ranked[0].good
    assert matcher.best("Luật quy định thế nào?", lang="vi") == []


def test_folding_and_words() -> None:
    assert words("Xét nghiệm HIV ở đâu?", "vi") == words("xet nghiem hiv o dau", "vi") == ["xet", "nghiem", "hiv", "dau"]
    assert words("Testing clinics", "en") == ["test", "clinic"]
    assert words("abuse abused abusing", "en") == ["abus"] * 3
    assert words("cops pics overseas", "en") == ["polic", "photo", "abroad"]


def test_vietnamese_stopwords_are_judged_before_folding_when_typed_with_diacritics() -> None:
    # bán (sell), tù (prison), ảnh (photo), chủ (owner) fold onto bạn, từ, anh, chứ: kept
    assert words("Bán dâm có bị đi tù không?", "vi") == ["ban", "dam", "tu"]
    assert words("Chủ giữ ảnh", "vi") == ["chu", "giu", "anh"]
    assert words("bạn tôi từ đó", "vi") == [] == words("ban toi tu do", "vi")
    assert words("ko biet", "vi") == []  # teen code expanded (ko → khong), then a stopword


def test_a_lower_scored_entry_is_not_offered_when_the_best_fails(answers: AnswerService) -> None:
    matcher = answers.matcher
    text = "how do i test my internet speed"
    ranked = matcher.rank(text, "en")
    assert ranked and not ranked[0].good
    assert matcher.best(text, lang="en") == []
    assert fold("Đường dây nóng") == "duong day nong"


def test_a_small_base_is_matched_by_its_own_phrasings() -> None:
    base = KnowledgeBase.from_dict(
        {
            "entries": [
                {
                    "id": "a",
                    "vi": {"questions": ["Xét nghiệm HIV ở đâu"], "answer": "Ở trung tâm y tế."},
                    "en": {"questions": ["Where to test for HIV"], "answer": "At a health centre."},
                },
                {
                    "id": "b",
                    "vi": {"questions": ["Học nghề miễn phí"], "answer": "Trung tâm dịch vụ việc làm."},
                    "en": {"questions": ["Free vocational training"], "answer": "The job centre."},
                },
            ]
        }
    )
    matcher = Matcher(base)
    assert [m.entry.id for m in matcher.rank("xet nghiem hiv", "vi")] == ["a"]
    assert [m.entry.id for m in matcher.rank("vocational training", "en")] == ["b"]
    assert matcher.rank("reprot", "en") == [] and matcher.rank("vocatonal", "en")[0].entry.id == "b"


async def test_feedback_is_counted_per_entry_and_language_only() -> None:
    store = MemoryFeedbackStore()
    service = AnswerService(shared_matcher(), store)
    await service.feedback("legal-aid", "vi", True)
    await service.feedback("legal-aid", "vi", False)
    await service.feedback("legal-aid", "vi", True)
    await service.feedback("legal-aid", "en", False)
    counts = {(c.entry_id, c.language): (c.helped, c.not_helped) for c in await service.counts()}
    assert counts == {("legal-aid", "vi"): (2, 1), ("legal-aid", "en"): (0, 1)}
    with pytest.raises(NotFound):
        await service.feedback("no-such-entry", "vi", True)
    with pytest.raises(NotFound):
        await service.feedback("legal-aid", "fr", True)


async def test_feedback_counters_in_the_database(services: Services) -> None:
    for helped in (True, True, False):
        await services.answers.feedback("hiv-test-where", "vi", helped)
    await services.answers.feedback("hiv-test-where", "en", True)
    counts = {(c.entry_id, c.language): (c.helped, c.not_helped) for c in await services.answers.counts()}
    assert counts == {("hiv-test-where", "en"): (1, 0), ("hiv-test-where", "vi"): (2, 1)}


def test_development_set() -> None:
    """The development set (docs/knowledge.md) is what the synonyms, phrasings and thresholds
    were tuned on: its figures are optimistic, and only guard against regressions."""
    rows = read_rows(DEV_FILE.read_text(encoding="utf-8").splitlines())
    assert len(rows) >= 120 and sum(1 for _, e in rows if e is None) >= 10
    base = load_knowledge()
    assert {e for _, e in rows if e is not None} <= {e.id for e in base.entries}
    phrasings = {fold(q).strip(" ?!.") for e in base.entries for qs in e.questions.values() for q in qs}
    assert not [t for t, _ in rows if fold(t).strip(" ?!.") in phrasings]  # not copied into the base
    result = evaluate(AnswerService(shared_matcher(), MemoryFeedbackStore()), rows)
    data = result.to_dict()
    assert data["top1_accuracy"] >= 0.85, data  # measured 0.890
    assert result.false_answer <= 2 and result.wrong_answer <= 5, data  # measured 2 and 3


def test_held_out_evaluation() -> None:
    """The held-out questions were written apart from the base's phrasings and never used to
    tune it; the figures are recorded in docs/knowledge.md. This guards against regressions."""
    rows = read_rows(EVAL_FILE.read_text(encoding="utf-8").splitlines())
    assert len(rows) >= 100 and sum(1 for _, e in rows if e is None) >= 10
    base_ids = {e.id for e in load_knowledge().entries}
    assert {e for _, e in rows if e is not None} <= base_ids
    phrasings = {fold(q) for e in load_knowledge().entries for qs in e.questions.values() for q in qs}
    assert not [t for t, _ in rows if fold(t) in phrasings]  # no held-out question is in the base
    result = evaluate(AnswerService(shared_matcher(), MemoryFeedbackStore()), rows)
    data = result.to_dict()
    assert data["top1_accuracy"] >= 0.83, data  # measured 0.850 (docs/knowledge.md)
    assert data["answer_offered_on_unanswerable"] <= 1, data  # measured 0
    assert result.wrong_answer <= 7, json.dumps(data)  # measured 6
