"""Near-duplicate tips: same phone number or link, same named venue, or nearly the same text.

Fingerprints are computed once per tip; an index of the open tips of the last 90 days finds
candidates by shared keys and only then compares texts (rapidfuzz), so the cost per new tip
stays flat as the queue grows.
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from rapidfuzz import fuzz

from core.text import fold

from .normalise import Normalised

#: Only open tips received within this window are compared.
WINDOW = timedelta(days=90)
NEAR_JACCARD = 0.6
NEAR_RATIO = 90.0
_MIN_WORDS = 5
#: Word trigrams found in more open tips than this are not used to find candidates.
COMMON_SHINGLE = 50

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
_DIGIT = re.compile(r"\d")
_TLD = re.compile(r"\.(?:com|vn|net|me|org|io|co)", re.I)  # what `_URL` cannot match without
_URL = re.compile(r"(?:https?://)?(?:www\.)?((?:[\w-]+\.)+(?:com|vn|net|me|org|io|co)(?:/[^\s,;)]*)?)", re.I)
# scripts without spaces between words (Thai, Lao, Khmer, Japanese, Chinese, Korean blocks)
_CJK = re.compile(r"[\u0e00-\u0eff\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_CAPITAL = re.compile(r"(?<=[^\W\d_])[,;]?\s+([^\W\d_]+)")
_COMMON_CAPITALS = frozenset("facebook zalo telegram tiktok instagram vip i tôi toi em anh chi".split())
_HANDLE = re.compile(r"(?<![\w.])@([A-Za-z0-9_.]{3,})")
_VENUE_TYPES = (
    ("karaoke",),
    ("massage",),
    ("nha", "nghi"),
    ("khach", "san"),
    ("spa",),
    ("bar",),
    ("hotel",),
    ("guesthouse",),
    ("cafe",),
    ("ca", "phe"),
    ("nha", "hang"),
    ("motel",),
    ("salon",),
    ("homestay",),
    ("tiem",),
    ("quan",),
    ("bia", "om"),
    ("nha", "tro"),
)
_ENGLISH_VENUE = re.compile(
    r"((?:[A-ZÀ-Ỹ][\w'&-]*\s){1,3})((?i:karaoke|massage|spa|bar|hotel|guesthouse|motel))\b"
)
_ENGLISH_VENUE_WORD = re.compile(r"(?i:karaoke|massage|spa|bar|hotel|guesthouse|motel)")  # needed by it
_VENUE_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _kind in _VENUE_TYPES:
    _VENUE_BY_FIRST.setdefault(_kind[0], []).append(_kind)
_VENUE_FIRSTS = frozenset(_VENUE_BY_FIRST)

_NAME_STOP = frozenset(
    """o tai tren duong so co gan la cua phuong xa quan huyen pho va voi nay do kia
    om gian cho khi luc dem toi ngay nhieu moi dang van lai bi ben canh doi dien sau truoc hem
    ngo kiet near on in at is has the a an and with of by to that which where on street road
    em anh chi toi minh khong nua rat lam nhe hang""".split()
)


@dataclass(frozen=True)
class Fingerprint:
    phones: frozenset[str]
    links: frozenset[str]
    venues: frozenset[str]
    shingles: frozenset[int]
    names: frozenset[str]  # capitalised words inside sentences: people, venues, streets
    words: str  # folded words, for a final fuzzy comparison


@dataclass(frozen=True)
class DuplicateMatch:
    key: Hashable
    reason: str
    score: float


def fingerprint(norm: Normalised, stop: frozenset[str] = frozenset()) -> Fingerprint:
    """What identifies the venue or person a tip is about."""
    # Each pattern runs only on a text holding what it cannot match without (a cheap scan).
    text = norm.text
    phones = (
        frozenset(_phone(m.group(0)) for m in _PHONE.finditer(text)) if _DIGIT.search(text) else frozenset()
    )
    links = (
        frozenset(m.group(1).lower().rstrip("/.") for m in _URL.finditer(text))
        if _TLD.search(text)
        else frozenset()
    )
    if "@" in text:
        links |= frozenset("@" + m.group(1).lower() for m in _HANDLE.finditer(text))
    tokens = norm.tokens[:400]
    if _CJK.search(norm.folded):
        # Chinese has no spaces between words: character trigrams instead of word trigrams
        chars = "".join(norm.folded.split())[:1200]
        shingles = frozenset(_stable_hash(chars[i : i + 3]) for i in range(len(chars) - 2))
    else:
        triples = zip(tokens, tokens[1:], tokens[2:], strict=False)  # each word with the next two
        # _stable_hash inlined: a call per shingle was a tenth of the fingerprint's time
        shingles = frozenset([zlib.crc32(f"{a} {b} {c}".encode()) for a, b, c in triples])
    stop = _with_name_stop(stop)
    names = _names(norm.text, stop)
    venues = frozenset(_venue_key(kind, name, names) for kind, name in _venues(norm, stop)) - {""}
    return Fingerprint(phones, links, venues, shingles, names, " ".join(tokens))


def _stable_hash(shingle: str) -> int:
    """The same number in every process: fingerprints are made in the triage helper and in
    each web worker and compared across them (`hash` of a str differs per process)."""
    return zlib.crc32(shingle.encode())


@lru_cache(maxsize=8)
def _with_name_stop(stop: frozenset[str]) -> frozenset[str]:
    """The union is built once per stop list, not on every tip (it has hundreds of words)."""
    return _NAME_STOP | stop


def _venue_key(kind: tuple[str, ...], name: tuple[str, ...], names: frozenset[str]) -> str:
    """`nha nghi thanh binh`: the type and the capitalised words of the name that follow it.

    Only a capitalised name makes a key (`Karaoke Hoa Hồng`); `chủ quán sắp xếp` is prose.
    """
    kept = []
    for word in name:
        if word not in names:
            break
        kept.append(word)
    if not kept or all(w.isdigit() for w in kept):
        return ""
    return " ".join((*kind, *kept))


def _names(text: str, stop: frozenset[str]) -> frozenset[str]:
    """Capitalised words that do not start a sentence (`Tùng`, `Hoa Hồng`, `Lê Lợi`)."""
    found = set()
    for match in _CAPITAL.finditer(text[:5000]):
        if not match.group(1)[0].isupper():
            continue
        word = fold(match.group(1))
        if word not in stop and word not in _COMMON_CAPITALS:
            found.add(word)
    return frozenset(found)


def _phone(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    return "0" + digits[2:] if digits.startswith("84") else digits


def _venues(norm: Normalised, stop: frozenset[str]) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    """`karaoke hoa hong` from `Karaoke Hoa Hồng ở đường...`; English `Golden Star karaoke` too."""
    tokens = norm.words[:2000]  # not expanded: `Hồng` is a name, not `hong` (= không)
    found: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    present = _VENUE_FIRSTS.intersection(tokens)
    for i in [i for i, tok in enumerate(tokens) if tok in present] if present else ():
        for kind in _VENUE_BY_FIRST[tokens[i]]:
            if tokens[i : i + len(kind)] != kind or (kind == ("quan",) and i and tokens[i - 1] == "co"):
                continue  # `cơ quan` is an authority, not a shop
            j = i + len(kind)
            name: list[str] = []
            while j < len(tokens) and len(name) < 3 and tokens[j] not in stop:
                name.append(tokens[j])
                j += 1
            numbered = bool(name) and any(ch.isdigit() for ch in name[0])
            if kind == ("quan",) and numbered:
                continue  # quận 1 is a district, not a shop
            if len(name) >= 2 or numbered:
                found.add((kind, tuple(name)))
    english = norm.text[:5000]
    for match in _ENGLISH_VENUE.finditer(english) if _ENGLISH_VENUE_WORD.search(english) else ():
        words = match.group(1).split()
        if all(w[:1].isupper() for w in words) and fold(words[0]) not in stop:
            found.add(((fold(match.group(2)),), tuple(fold(match.group(1)).split())))
    return found


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Jaccard of word trigrams; rapidfuzz's token-set ratio (0-1) rescues reworded copies."""
    jac = _jaccard(a, b)
    if jac >= NEAR_JACCARD or jac <= 0.1 or min(a.words.count(" "), b.words.count(" ")) + 1 < _MIN_WORDS:
        return jac
    ratio = fuzz.token_set_ratio(a.words, b.words) / 100
    return ratio if ratio >= NEAR_RATIO / 100 else jac


class DuplicateIndex:
    """Fingerprints of open tips; `find` proposes the one a new tip repeats."""

    def __init__(self) -> None:
        self._prints: dict[Hashable, Fingerprint] = {}
        self._order: dict[Hashable, int] = {}
        self._keys: dict[str, list[Hashable]] = defaultdict(list)
        self._shingles: dict[int, list[Hashable]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._prints)

    def __contains__(self, key: object) -> bool:
        return key in self._prints

    def add(
        self,
        key: Hashable,
        fp: Fingerprint,
        *,
        received_at: datetime | None = None,
        now: datetime | None = None,
    ) -> None:
        """Index a tip; tips older than the window are ignored."""
        if received_at is not None and now is not None and now - received_at > WINDOW:
            return
        self._order[key] = len(self._order)
        self._prints[key] = fp
        for k in _exact_keys(fp):
            self._keys[k].append(key)
        for s in fp.shingles:
            self._shingles[s].append(key)

    def discard(self, key: Hashable) -> None:
        """Forget a tip that was closed or aged out, so a later open one can match."""
        fp = self._prints.pop(key, None)
        self._order.pop(key, None)
        if fp is None:
            return
        for k in _exact_keys(fp):
            if key in self._keys.get(k, ()):
                self._keys[k].remove(key)
        for s in fp.shingles:
            if key in self._shingles.get(s, ()):
                self._shingles[s].remove(key)

    def find(self, fp: Fingerprint) -> DuplicateMatch | None:
        """The best earlier tip this one repeats, or None. Exact keys beat similar text."""
        best: DuplicateMatch | None = None
        for k in _exact_keys(fp):
            matches = self._keys.get(k)
            if not matches:
                continue
            # Every exact match scores 1.0 and the earliest wins, so only the first is
            # looked at: a flood of one venue's reports costs O(1) per report, not O(n).
            kind, _, value = k.partition(":")
            shown = f"…{value[-3:]}" if kind == "phone" else value  # reasons are shown to staff
            best = self._better(best, DuplicateMatch(matches[0], f"duplicate: same {kind} {shown}", 1.0))
        if best is not None:
            return best
        counts: dict[Hashable, int] = defaultdict(int)
        for s in fp.shingles:
            keys = self._shingles.get(s, ())
            if len(keys) > COMMON_SHINGLE:
                continue  # a phrase in many tips (`có tiếp viên`) says nothing about which one
            for key in keys:
                counts[key] += 1
        for key, shared in sorted(counts.items(), key=lambda kv: -kv[1])[:20]:
            if shared < 2:
                break
            if _different_subject(fp, self._prints[key]):
                continue
            score = similarity(fp, self._prints[key])
            if score >= NEAR_JACCARD:
                best = self._better(
                    best, DuplicateMatch(key, f"duplicate: similar text ({score:.2f})", score)
                )
        return best

    def _better(self, a: DuplicateMatch | None, b: DuplicateMatch) -> DuplicateMatch:
        if a is None or b.score > a.score or (b.score == a.score and self._order[b.key] < self._order[a.key]):
            return b
        return a


def _different_subject(a: Fingerprint, b: Fingerprint) -> bool:
    """Similar words about a different named venue, phone or link are a different tip."""
    pairs = ((a.venues, b.venues), (a.phones, b.phones), (a.links, b.links), (a.names, b.names))
    return any(x and y and not (x & y) for x, y in pairs)


def _jaccard(a: Fingerprint, b: Fingerprint) -> float:
    return len(a.shingles & b.shingles) / len(a.shingles | b.shingles) if a.shingles and b.shingles else 0.0


def _exact_keys(fp: Fingerprint) -> list[str]:
    """Sorted within each kind: the reason names the first shared key, and a set's order
    differs between processes (string hashing is salted), so the same tip would otherwise
    get a different reason in each web worker."""
    return [
        *(f"phone:{p}" for p in sorted(fp.phones)),
        *(f"link:{u}" for u in sorted(fp.links)),
        *(f"venue:{v}" for v in sorted(fp.venues)),
    ]
