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
        self._cache: dict[str, tuple[int, ...]] = {}

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

    def _token_ids(self, token: str) -> tuple[int, ...]:
        """Vocabulary rows of a word and its character n-grams, remembered per word."""
        ids = self._cache.get(token)
        if ids is None:
            index = self._index
            grams = (f"w:{token}", *_char_grams(token))
            ids = tuple(index[f] for f in grams if f in index)
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[token] = ids
        return ids

    def predict(self, tokens: tuple[str, ...] | list[str]) -> Prediction:
        """The same scores as `features` + the trained models, computed word by word."""
        tokens = list(tokens[:400])
        index = self._index
        found: set[int] = set()
        unique = set(tokens)
        for t in unique:
            found.update(self._token_ids(t))
        phrases = [index[f] for f in (f"w:{t}" for t in unique) if f in index]
        for pair in {f"b:{a} {b}" for a, b in pairwise(tokens)}:
            i = index.get(pair)
            if i is not None:
                found.add(i)
                phrases.append(i)
        k = len(self.classes)
        # sorted: the same sum in the same order in every process (string hashing varies)
        phrases.sort()
        if found:
            logits = self._intercepts + self._weights[sorted(found)].sum(axis=0) / math.sqrt(len(found))
        else:
            logits = self._intercepts.copy()
        cat = logits[:k]
        exp = np.exp(cat - cat.max())
        probs = exp / exp.sum()
        probabilities = {c: float(p) for c, p in zip(self.classes, probs, strict=True)}
        u = float(logits[k])
        urgent = 1.0 / (1.0 + math.exp(-u)) if u > -50 else 0.0
        best = int(cat.argmax())
        top: tuple[str, ...] = ()
        if phrases:
            weights = self._weights[phrases, best]
            order = np.argsort(-weights, kind="stable")[:4]
            names = self._names()
            top = tuple(names[phrases[i]][2:] for i in order if weights[i] > 0)
        return Prediction(probabilities, urgent, top)

    def _names(self) -> list[str]:
        names = getattr(self, "_names_list", None)
        if names is None:
            names = [""] * len(self._index)
            for f, i in self._index.items():
                names[i] = f
            self._names_list = names
        return names
