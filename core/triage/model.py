"""The learned classifier: linear models over word and character n-grams of the folded text.

Trained by `hotline triage train` (hotline/triage_train.py, scikit-learn's logistic
regression) and shipped as `core/data/triage/model.npz`; read here with numpy only, so
loading it costs tens of milliseconds and no scikit-learn import. The features are computed
by `features` in training and here alike, so the scores are the ones scikit-learn computed.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import pairwise

import numpy as np

MODEL_FILE = "model.npz"
#: Character n-gram sizes, taken inside each word with its boundaries (`<ep>`: `<ep`, `ep>`).
CHAR_SIZES = (2, 3, 4)
#: Words longer than this give no character n-grams (links, hashes, unbroken Chinese text).
MAX_WORD = 24


@lru_cache(maxsize=65_536)
def _char_grams(token: str) -> tuple[str, ...]:
    """A word's character n-grams, remembered: tips reuse a few thousand words."""
    if len(token) > MAX_WORD:
        token = token[:MAX_WORD]
    padded = f"<{token}>"
    return tuple(f"c{n}:{padded[i : i + n]}" for n in CHAR_SIZES for i in range(len(padded) - n + 1))


def features(tokens: tuple[str, ...] | list[str]) -> set[str]:
    """Binary features of a text's normalised tokens: words, word pairs, character n-grams."""
    tokens = list(tokens[:400])
    out = {f"w:{t}" for t in tokens}
    out.update(f"b:{a} {b}" for a, b in pairwise(tokens))
    for t in set(tokens):
        out.update(_char_grams(t))
    return out


@dataclass(frozen=True)
class Prediction:
    """Probabilities per category, the probability that the tip is urgent, and the features
    that weighed most for the chosen category (for the officer's reasons)."""

    probabilities: dict[str, float]
    urgent: float
    top_words: tuple[str, ...]

    @property
    def category(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)


class Model:
    """A multinomial linear model for the category and a binary one for urgency."""

    def __init__(
        self,
        classes: list[str],
        vocabulary: list[str],
        weights: np.ndarray,
        intercepts: np.ndarray,
    ) -> None:
        """`weights`: one row per feature, a column per class then one for urgency;
        `intercepts` likewise (the classes', then urgency's)."""
        self.classes = classes
        self._index = {f: i for i, f in enumerate(vocabulary)}
        self._weights = weights.astype(np.float64)
        self._intercepts = intercepts.astype(np.float64)
        self._cache: dict[str, tuple[np.ndarray, int]] = {}

    @classmethod
    def load(cls, path: str | None = None) -> Model:
        """The shipped model, or the one at `path` (as written by `hotline triage train`)."""
        if path is None:
            raw = resources.files("core").joinpath("data", "triage", MODEL_FILE).read_bytes()
        else:
            with open(path, "rb") as f:
                raw = f.read()
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            classes = str(data["classes"]).split("\n")
            vocabulary = str(data["vocabulary"]).split("\n")
            return cls(classes, vocabulary, data["weights"], data["intercepts"])

    def _token_ids(self, token: str) -> tuple[np.ndarray, int]:
        """Vocabulary rows of a word and its character n-grams, and the word's own row (-1
        if none), remembered per word: tips reuse a few thousand words."""
        known = self._cache.get(token)
        if known is None:
            index = self._index
            ids = tuple(index[f] for f in _char_grams(token) if f in index)
            word = index.get(f"w:{token}", -1)
            known = np.array((*ids, word) if word >= 0 else ids, dtype=np.int64), word
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[token] = known
        return known

    def predict(self, tokens: tuple[str, ...] | list[str]) -> Prediction:
        """The same scores as `features` + the trained models, computed word by word."""
        tokens = list(tokens[:400])
        index = self._index
        parts: list[np.ndarray] = []
        phrases: list[int] = []
        for t in set(tokens):
            ids, word = self._token_ids(t)
            parts.append(ids)
            if word >= 0:
                phrases.append(word)
        pairs = [i for i in map(index.get, {f"b:{a} {b}" for a, b in pairwise(tokens)}) if i is not None]
        if pairs:
            phrases.extend(pairs)
            parts.append(np.array(pairs, dtype=np.int64))
        k = len(self.classes)
        # sorted and unique: each feature once, summed in the same order in every process
        found = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
        if len(found):
            logits = self._intercepts + self._weights.take(found, axis=0).sum(axis=0) / math.sqrt(len(found))
        else:
            logits = self._intercepts.copy()
        values = logits.tolist()
        cat = values[:k]
        top_logit = max(cat)
        exp = [math.exp(v - top_logit) for v in cat]
        total = sum(exp)
        probabilities = {c: e / total for c, e in zip(self.classes, exp, strict=True)}
        u = values[k]
        urgent = 1.0 / (1.0 + math.exp(-u)) if u > -50 else 0.0
        best = cat.index(top_logit)
        top: tuple[str, ...] = ()
        if phrases:
            phrases.sort()
            weights = self._weights[phrases, best].tolist()
            ranked = sorted(zip(weights, phrases, strict=True), key=lambda p: (-p[0], p[1]))[:4]
            names = self._names()
            top = tuple(names[i][2:] for w, i in ranked if w > 0)
        return Prediction(probabilities, urgent, top)

    def _names(self) -> list[str]:
        names = getattr(self, "_names_list", None)
        if names is None:
            names = [""] * len(self._index)
            for f, i in self._index.items():
                names[i] = f
            self._names_list = names
        return names
