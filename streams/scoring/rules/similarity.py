"""The similar-sentence model shared by the `similar` and `repetition` operators."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from models.text import pinyin_syllables

from .matching import _chars


def _similarity_features(text: str) -> list[str]:
    """Character and toneless-pinyin 1-2-grams: 投诉 and its homophone 头诉 share the pinyin."""
    chars = _chars(text)
    syllables = pinyin_syllables(text)
    features = [f"c:{c}" for c in chars]
    features += [f"c:{chars[i : i + 2]}" for i in range(len(chars) - 1)]
    features += [f"p:{s}" for s in syllables]
    features += [f"p:{syllables[i]} {syllables[i + 1]}" for i in range(len(syllables) - 1)]
    return features


class SimilarityModel:
    """TF-IDF over character and toneless pinyin 1-2-grams; cosine similarity.

    A scikit-learn `TfidfVectorizer` (sublinear tf, l2) is fitted on the rule set's reference
    sentences. A sentence is weighted with the fitted IDF, and its n-grams that no reference
    has keep the weight of an unseen term instead of being dropped (as `transform` would),
    so words a reference lacks lower the similarity rather than vanish. Vectors are sparse
    dicts, cached per text: one live segment costs tens of microseconds, not a sklearn call.
    """

    CACHE = 50000

    def __init__(self, references: Iterable[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        corpus = sorted({r for r in references if _chars(r)})
        self.vectorizer = None
        self.idf: dict[str, float] = {}
        # sklearn's smooth idf for a term in no document: ln((1 + n) / 1) + 1
        self.unseen_idf = math.log(1 + len(corpus)) + 1
        if corpus:
            self.vectorizer = TfidfVectorizer(analyzer=_similarity_features, sublinear_tf=True)
            self.vectorizer.fit(corpus)
            idf = self.vectorizer.idf_
            self.idf = {term: float(idf[col]) for term, col in self.vectorizer.vocabulary_.items()}
        self._cache: dict[str, dict[str, float]] = {}
        self._pairs: dict[tuple[str, str], float] = {}

    def vector(self, text: str) -> dict[str, float]:
        """The l2-normalised TF-IDF weights of `text` (term -> weight)."""
        found = self._cache.get(text)
        if found is None:
            counts: dict[str, int] = {}
            for term in _similarity_features(text):
                counts[term] = counts.get(term, 0) + 1
            unseen = self.unseen_idf
            weights = {t: (1 + math.log(n)) * self.idf.get(t, unseen) for t, n in counts.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            found = {t: w / norm for t, w in weights.items()}
            if len(self._cache) >= self.CACHE:
                self._cache.clear()
            self._cache[text] = found
        return found

    @staticmethod
    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        if len(b) < len(a):
            a, b = b, a
        return sum(w * b.get(t, 0.0) for t, w in a.items())

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two sentences (cached: repetition compares every pair)."""
        key = (a, b) if a <= b else (b, a)
        found = self._pairs.get(key)
        if found is None:
            found = self.cosine(self.vector(a), self.vector(b))
            if len(self._pairs) >= self.CACHE:
                self._pairs.clear()
            self._pairs[key] = found
        return found

    def pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Similarity of many (a, b) pairs."""
        return [self.similarity(a, b) for a, b in pairs]
