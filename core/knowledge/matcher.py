"""Ranking entries for a question: BM25 over folded words and word pairs.

Vietnamese is matched after folding (`xét nghiệm` = `xet nghiem`), teen-code abbreviations
expanded (`ko` → `khong`), and with adjacent-syllable pairs as extra terms, since most
Vietnamese words are two syllables (`viec lam`, `mai dam`); stopwords typed with diacritics
are judged before folding, so `bán` (sell) is kept where `bạn` (you) is dropped. English gets
a crude suffix stripper and a small synonym map (`cops` → `police`, `overseas` → `abroad`).
A typed word the base never uses is mapped to its nearest known word when close enough
(rapidfuzz), so one typo does not lose a match.

Every phrasing of an entry is a document, and the answer is one more at a lower weight;
an entry scores as its best document. Whether a match is good enough is a separate,
bounded figure — `coverage`: the share of the question's (IDF-weighted) words that the
entry uses at all. A question about something the base does not cover has rare words the
entry lacks and a low coverage, however high its raw score. The score floor is relative to
what the question could score at best, so a two-word question can pass.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from core.knowledge.base import LANGUAGES, Entry, KnowledgeBase
from core.text import fold, nfc
from core.triage.normalise import expand

K1 = 1.2
B = 0.75
#: An answer is a document too, but a phrasing of the question says more.
ANSWER_WEIGHT = 1.0
#: The entry as one document (every phrasing and the answer), added to its best document.
WHOLE_WEIGHT = 0.5
#: Below this share of the question's weight found in the entry, no good match.
MIN_COVERAGE = 0.45
#: ... and below this raw score either (one shared common word is not a match) ...
MIN_SCORE = 6.0
#: ... or, for a question too short to reach MIN_SCORE even when every word of it matches,
#: below this share of what it could score at best (`_Index.attainable`). The three were
#: chosen on tests/data/knowledge_dev.jsonl, leave-one-out runs over the base's own
#: phrasings and made-up off-topic questions, never on the held-out set (docs/knowledge.md).
RELATIVE_SCORE = 0.7
#: A typed word of at least this many letters may stand for a known word one edit away
#: (a letter wrong, missing, extra, or two swapped); from twice as long, two edits.
TYPO_MIN_LETTERS = 5
#: A question's first words carry it; more only cost time (a typo lookup each).
MAX_WORDS = 60
_WORD = re.compile(r"[a-z0-9]+")

_STOP = {
    "vi": frozenset(
        """a ah a oi ba bi cac cai can chi cho chu co cua cung da dang day de den di do duoc gi ha hay
        hoi khi khong la lai len ma minh mot muon nao ne neu nay nhe nhi nho nhu nhung o oi ong
        phai ra roi sao se tai thi the theo thay toi tren tu va vao vay voi vi xin
        anh em ban ho chung nguoi biet nua""".split()
    ),
    "en": frozenset(
        """a an and any are as at be been but by can could did do does for from get got had has have
        how i if in into is it its me my of on or our please should so some that the their them
        then there this to too up us was we what when where which who why will with would you your
        am im i'm need want know tell
        just really like gonna wanna cant dont doesnt didnt isnt wont ive s t ll re ve d m
        hi hey hello ok okay u ur pls plz thanks thank time thing stuff way something anything""".split()
    ),
}


#: Vietnamese function words as typed with diacritics. Folding merges words a stopword
#: list must keep apart — `bán` (sell) and `bạn` (you), `tù` (prison) and `từ` (from), `ảnh`
#: (photo) and `anh` (you), `chủ` (owner) and `chứ` — so a word typed with diacritics is a
#: stopword only when it is one of these; a word typed without is judged on its folded form.
_STOP_ACCENTED = frozenset(
    """à á ạ ả ơi bà bị các cái cần chỉ chị chứ có cô của cũng đã dạ đang đây đấy để đến đi đó do
    được gì hả hay hỏi khi không là lại lên mà mình một muốn nào nè nếu này nay nhé nhỉ nhờ như
    những nhưng ở ông phải ra rồi sao sẽ tại thì thế theo thấy tôi trên từ và vào vậy với vì xin
    anh em bạn họ chúng người biết quá lắm nữa thôi rất""".split()
)
_RAW_WORD = re.compile(r"[^\W_]+")

#: What people type for the words the base uses (US spellings, slang, plain words); both the
#: base and the question go through it (after stemming), so a pair is listed once.
_EN_SYNONYMS_RAW = {
    "cop": "police",
    "cops": "police",
    "policeman": "police",
    "std": "sti",
    "stds": "sti",
    "pic": "photo",
    "pics": "photo",
    "picture": "photo",
    "image": "photo",
    "selfie": "photo",
    "kid": "child",
    "kids": "child",
    "children": "child",
    "jail": "prison",
    "overseas": "abroad",
    "pimp": "broker",
    "pimping": "broker",
    "middleman": "broker",
    "password": "passphrase",
    "customer": "client",
    "boss": "employer",
    "depressed": "sad",
    "depression": "sad",
    "unhappy": "sad",
    "suicidal": "suicide",
    "attorney": "lawyer",
    "counselor": "counsellor",
    "counseling": "counselling",
    "neighbor": "neighbour",
    "recognize": "recognise",
    "gonorrhea": "gonorrhoea",
    "labor": "labour",
    "center": "centre",
    "trafficker": "trafficking",
    "traffickers": "trafficking",
    "safer": "safe",
    "prostitute": "prostitution",
    "prostitutes": "prostitution",
    "nudes": "nude",
    "naked": "nude",
    "blackmail": "blackmailed",
    "sextortion": "blackmailed",
    "colleague": "coworker",
    "rape": "raped",
    "anonymously": "anonymous",
}


def _stem(word: str) -> str:
    """Enough English stemming for questions: tests/testing/tested, clinics/clinic, and a
    final `e` dropped so that abuse/abused/abusing meet."""
    stem = _strip_suffix(word)
    return stem[:-1] if len(stem) > 4 and stem.endswith("e") else stem


def _strip_suffix(word: str) -> str:
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ied"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


_EN_SYNONYMS = {_stem(k): _stem(v) for k, v in _EN_SYNONYMS_RAW.items()}


def _en_word(word: str) -> str:
    stemmed = _stem(word)
    return _EN_SYNONYMS.get(stemmed, stemmed)


def words(text: str, lang: str) -> list[str]:
    """Folded content words of `text`, stopwords dropped (in order)."""
    return [term for _, term in typed_words(text, lang)]


def typed_words(text: str, lang: str) -> list[tuple[str, str]]:
    """Each content word as typed (folded) and as a term: `(testing, test)`. A typo is
    looked up among typed forms, which are closer to what people type than stems."""
    if lang == "vi":
        return [(w, w) for w in _vi_words(text)]
    return [(t, _en_word(t)) for t in _WORD.findall(fold(text)) if t not in _STOP["en"]]


def _vi_words(text: str) -> list[str]:
    """Words typed with diacritics are judged as typed (`bán` stays, `bạn` goes); the rest
    after folding and teen-code expansion."""
    tokens: list[str] = []
    accented: dict[str, str] = {}  # placeholder → folded content word; expand leaves it be
    for raw in _RAW_WORD.findall(nfc(text).lower()):
        pieces = _WORD.findall(fold(raw))
        if len(pieces) == 1 and pieces[0] != raw:
            if raw not in _STOP_ACCENTED:
                key = f"\x00{len(accented)}"
                accented[key] = pieces[0]
                tokens.append(key)
        else:
            tokens.extend(pieces)
    out = []
    for token in expand(tokens):
        if token in accented:
            out.append(accented[token])
        elif token not in _STOP["vi"]:
            out.append(token)
    return out


def terms(text: str, lang: str) -> list[str]:
    """Words plus, for Vietnamese, each pair of adjacent content words."""
    ws = words(text, lang)
    if lang != "vi":
        return ws
    return ws + _pairs(ws)


def _pairs(ws: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in itertools.pairwise(ws)]


@dataclass(frozen=True)
class Match:
    entry: Entry
    language: str
    score: float
    coverage: float
    #: The score this question needs: MIN_SCORE, or less for a question too short to reach it.
    floor: float = MIN_SCORE

    @property
    def answer(self) -> str:
        return self.entry.answer(self.language)

    @property
    def good(self) -> bool:
        return self.coverage >= MIN_COVERAGE and self.score >= self.floor


@dataclass
class _Doc:
    entry: int
    weight: float
    tf: Counter[str]
    length: int


@dataclass
class _Index:
    """BM25 statistics of one language."""

    lang: str
    entries: tuple[Entry, ...]
    docs: list[_Doc] = field(default_factory=list)
    wholes: list[_Doc] = field(default_factory=list)
    idf: dict[str, float] = field(default_factory=dict)
    entry_words: list[frozenset[str]] = field(default_factory=list)
    vocabulary: tuple[str, ...] = ()
    typed: dict[str, str] = field(default_factory=dict)
    avg_len: float = 1.0
    whole_len: float = 1.0

    @classmethod
    def build(cls, entries: tuple[Entry, ...], lang: str) -> _Index:
        index = cls(lang, entries)
        entry_terms: list[set[str]] = []
        for n, entry in enumerate(entries):
            bag: set[str] = set()
            for phrasing in entry.questions[lang]:
                index._add(n, 1.0, terms(phrasing, lang))
                bag.update(terms(phrasing, lang))
            answer_terms = terms(entry.answers[lang], lang)
            index._add(n, ANSWER_WEIGHT, answer_terms)
            bag.update(answer_terms)
            entry_terms.append(bag)
            whole = [t for p in entry.questions[lang] for t in terms(p, lang)] + answer_terms
            index.wholes.append(_Doc(n, WHOLE_WEIGHT, Counter(whole), len(whole)))
        # IDF over entries (not documents): a word every entry uses says nothing about which.
        df = Counter(t for bag in entry_terms for t in bag)
        total = len(entries)
        index.idf = {t: math.log(1 + (total - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        index.entry_words = [frozenset(bag) for bag in entry_terms]
        texts = [q for e in entries for q in e.questions[lang]] + [e.answers[lang] for e in entries]
        index.typed = {typed: term for text in texts for typed, term in typed_words(text, lang)}
        index.vocabulary = tuple(sorted(index.typed))
        index.avg_len = sum(d.length for d in index.docs) / max(1, len(index.docs))
        index.whole_len = sum(d.length for d in index.wholes) / max(1, len(index.wholes))
        return index

    def _add(self, entry: int, weight: float, doc_terms: list[str]) -> None:
        self.docs.append(_Doc(entry, weight, Counter(doc_terms), max(1, len(doc_terms))))

    @property
    def max_idf(self) -> float:
        return math.log(1 + (len(self.entries) + 0.5) / 0.5)

    def corrected(self, typed: str, term: str) -> str:
        if term in self.idf or len(typed) < TYPO_MIN_LETTERS or typed.isdigit():
            return term
        edits = 2 if len(typed) >= 2 * TYPO_MIN_LETTERS else 1
        found = process.extractOne(typed, self.vocabulary, scorer=OSA.distance, score_cutoff=edits)
        return self.typed[str(found[0])] if found else term

    def _bm25(self, query: list[str], doc: _Doc, avg_len: float) -> float:
        score = 0.0
        for term in query:
            tf = doc.tf.get(term)
            if tf:
                score += self.idf[term] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * doc.length / avg_len))
        return score * doc.weight

    def attainable(self, query: list[str]) -> float:
        """What a question scores against an entry that has each of its known terms once, in
        a phrasing and a whole entry of average length: the sum of their IDFs, times 1.5."""
        return (1 + WHOLE_WEIGHT) * sum(self.idf.get(t, 0.0) for t in set(query))

    def rank(self, text: str) -> list[Match]:
        ws = [self.corrected(typed, term) for typed, term in typed_words(text, self.lang)[:MAX_WORDS]]
        if not ws:
            return []
        query = ws + (_pairs(ws) if self.lang == "vi" else [])
        best = [0.0] * len(self.entries)
        for doc in self.docs:
            best[doc.entry] = max(best[doc.entry], self._bm25(query, doc, self.avg_len))
        for doc in self.wholes:
            best[doc.entry] += self._bm25(query, doc, self.whole_len)
        unique = set(ws)
        weight = {w: self.idf.get(w, self.max_idf) for w in unique}
        mass = sum(weight.values())
        floor = min(MIN_SCORE, RELATIVE_SCORE * self.attainable(query))
        matches = []
        for n, score in enumerate(best):
            if score <= 0:
                continue
            found = sum(weight[w] for w in unique if w in self.entry_words[n])
            matches.append(Match(self.entries[n], self.lang, score, found / mass if mass else 0.0, floor))
        matches.sort(key=lambda m: (-m.score, m.entry.id))
        return matches


class Matcher:
    """Both languages' indexes over one knowledge base; pure and thread-safe once built."""

    def __init__(self, base: KnowledgeBase) -> None:
        self.base = base
        self._indexes = {lang: _Index.build(base.entries, lang) for lang in LANGUAGES}

    def rank(self, text: str, lang: str) -> list[Match]:
        """Every entry sharing a word with `text`, best first, scored in `lang`."""
        return self._indexes[lang].rank(text)

    def best(self, text: str, *, lang: str | None = None, hint: str = "vi", limit: int = 3) -> list[Match]:
        """The good matches (possibly none), best first. `lang` is the question's language
        when known; otherwise both are tried and the better-covered one wins, `hint` (the
        person's chosen language) breaking ties. When the best-scored entry is not a good
        match, nothing is: a lower-scored entry that passes is more often the wrong one."""
        langs = [lang] if lang in LANGUAGES else sorted(LANGUAGES, key=lambda code: code != hint)
        candidates: list[list[Match]] = [self.rank(text, code) for code in langs]
        ranked = max(candidates, key=lambda ms: (ms[0].good, ms[0].coverage) if ms else (False, -1.0))
        if not ranked or not ranked[0].good:
            return []
        return [m for m in ranked if m.good][:limit]


@cache
def shared_matcher() -> Matcher:
    """One matcher per process over the shipped base (building it takes a few ms)."""
    from core.knowledge.base import load_knowledge

    return Matcher(load_knowledge())
