"""The scikit-learn text pipelines: characters, jieba words and toneless pinyin.

The pipeline object is what gets saved and served, so preprocessing is never
duplicated between training and the workers. Which views of the text to use is a
choice measured by `models.train.compare_features` (bench/models_eval.py): whisper
errors are mostly homophones, which pinyin n-grams see through and characters do not.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .text import canonical, canonical_pinyin, canonical_words

VIEWS = ("chars", "words", "pinyin")
FEATURE_SETS = {
    "chars": ("chars",),
    "chars+words": ("chars", "words"),
    "chars+pinyin": ("chars", "pinyin"),
    "chars+words+pinyin": ("chars", "words", "pinyin"),
}
DEFAULT_FEATURES = "chars+words+pinyin"


def _view(name: str) -> TfidfVectorizer:
    if name == "chars":
        return TfidfVectorizer(analyzer="char", preprocessor=canonical, ngram_range=(1, 3),
                               sublinear_tf=True)  # fmt: skip
    if name == "words":
        return TfidfVectorizer(tokenizer=canonical_words, lowercase=False, token_pattern=None,
                               ngram_range=(1, 2), sublinear_tf=True)  # fmt: skip
    if name == "pinyin":
        return TfidfVectorizer(tokenizer=canonical_pinyin, lowercase=False, token_pattern=None,
                               ngram_range=(1, 3), sublinear_tf=True)  # fmt: skip
    raise ValueError(f"unknown feature view {name!r}; known: {VIEWS}")


def build_pipeline(features: str = DEFAULT_FEATURES, C: float = 4.0, calibration_cv=None) -> Pipeline:
    """TF-IDF views + logistic regression; with `calibration_cv` (folds or split list),
    the probabilities are calibrated by Platt scaling on out-of-fold predictions."""
    if features not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {features!r}; known: {sorted(FEATURE_SETS)}")
    union = FeatureUnion([(name, _view(name)) for name in FEATURE_SETS[features]])
    classifier = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    if calibration_cv is not None:
        classifier = CalibratedClassifierCV(classifier, method="sigmoid", cv=calibration_cv)
    return Pipeline([("features", union), ("classifier", classifier)])
