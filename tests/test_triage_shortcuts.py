"""Triage skips work a text cannot need: a pattern runs only when the text holds what the
pattern cannot match without, a loop over words only visits words that can start a match.
These shortcuts must never change an answer; each is checked here against the long way on
seeded random texts built from the pieces the patterns look for."""

from __future__ import annotations

import random
import re

import pytest

from core.triage import classify, duplicates, language
from core.triage.normalise import _GLUED, _expand_each, expand, tokenize

#: Words and marks the patterns react to, mixed with plain prose.
PIECES = (
    "q1 p5 Q1 q12 q123 p e a E A ko k dc ns 0912345678 +84 912 84912345678 0912.345.678 "
    "http://x.vn https://Gai-Goi.COM/abc www.site.net WWW.X.ORG abc.co xyz.company a@b.com @handle_1 "
    "@ab #tag 15 tuoi 16yo aged 14 lop 9 15t 17 tuổi 14岁 phuong ward commune quan 1 huyen thi xa "
    "Golden Star karaoke Hoa Hồng Karaoke KARAOKE massage Spa BAR hotel guesthouse motel nha nghi "
    "Thanh Binh khach san ca phe KTV 卡拉OK ไทย Đồng Hới Lê Lợi Sài Gòn ? , ; . ! - _ ' & "
    "quán có nhiều cô gái trẻ bán dâm ở đường gần chợ every night girls near the street"
).split()
SEPARATORS = (" ", " ", " ", ", ", ". ", "\n", "", "@", ".", "-", ":", "/")


def tricky_texts(count: int) -> list[str]:
    rng = random.Random(11)
    texts = []
    for _ in range(count):
        words = [rng.choice(PIECES) for _ in range(rng.randint(0, 30))]
        texts.append("".join(word + rng.choice(SEPARATORS) for word in words))
    return texts


TEXTS = tricky_texts(4000)

#: (a pattern, what a text must hold for it to match anywhere)
GUARDED = [
    (duplicates._PHONE, duplicates._DIGIT),
    (duplicates._URL, duplicates._TLD),
    (duplicates._HANDLE, re.compile("@")),
    (duplicates._ENGLISH_VENUE, duplicates._ENGLISH_VENUE_WORD),
    (classify._AGE, classify._DIGIT),
    (classify._LINK, classify._LINK_HINT),
]


@pytest.mark.parametrize(("pattern", "needed"), GUARDED, ids=lambda p: getattr(p, "pattern", "")[:24])
def test_a_pattern_is_skipped_only_where_it_cannot_match(
    pattern: re.Pattern[str], needed: re.Pattern[str]
) -> None:
    matched = 0
    for text in TEXTS:
        for variant in (text, text.lower()):
            if pattern.search(variant):
                matched += 1
                assert needed.search(variant), variant
    assert matched > 100  # the texts do exercise the pattern


def test_stripping_without_an_at_sign_is_the_same_stripping() -> None:
    for text in TEXTS:
        if "@" not in text:
            assert language._STRIP_NO_AT.sub(" ", text) == language._STRIP.sub(" ", text), text


def test_expand_takes_the_short_way_only_when_no_word_would_change() -> None:
    changed = 0
    for text in TEXTS:
        words = tokenize(text.lower())
        long_way = _expand_each(words)
        changed += long_way != tuple(words)
        assert expand(words) == long_way, words
        assert expand(words, vietnamese=False) == tuple(words)
    assert changed > 100


def test_a_glued_word_is_found_in_the_joined_words() -> None:
    from core.triage.normalise import _GLUED_WORD

    for text in TEXTS:
        words = tokenize(text.lower())
        assert bool(_GLUED_WORD.search(" ".join(words))) == any(_GLUED.fullmatch(w) for w in words), words
