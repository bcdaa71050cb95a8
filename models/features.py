"""The scikit-learn pipeline: characters, jieba words and pinyin, one logistic regression.

The pipeline object is what gets saved and served, so preprocessing is never
duplicated between training and the workers.
"""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .text import canonical, canonical_pinyin, canonical_words


def build_pipeline(C: float = 4.0) -> Pipeline:
    features = FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char", preprocessor=canonical, ngram_range=(1, 3),
                                      sublinear_tf=True, min_df=1)),
            ("words", TfidfVectorizer(tokenizer=canonical_words, lowercase=False, token_pattern=None,
                                      ngram_range=(1, 2), sublinear_tf=True)),
            ("pinyin", TfidfVectorizer(tokenizer=canonical_pinyin, lowercase=False, token_pattern=None,
                                       ngram_range=(1, 3), sublinear_tf=True)),
        ]
    )  # fmt: skip
    classifier = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    return Pipeline([("features", features), ("classifier", classifier)])
