"""The scikit-learn text pipelines: characters, jieba words and toneless pinyin.

The pipeline object is what gets saved and served, so preprocessing is never
duplicated between training and the workers. Which views of the text to use is a
choice measured by `models.train.compare_features` (bench/models_eval.py): whisper
errors are mostly homophones, which pinyin n-grams see through and characters do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .text import WordTokenizer, canonical, canonical_finals, canonical_pinyin

if TYPE_CHECKING:  # scikit-learn is imported when a pipeline is built, not for the names
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

VIEWS = ("chars", "words", "pinyin", "finals")
FEATURE_SETS = {
    "chars": ("chars",),
    "chars+words": ("chars", "words"),
    "chars+pinyin": ("chars", "pinyin"),
    "chars+words+pinyin": ("chars", "words", "pinyin"),
    "chars+pinyin+finals": ("chars", "pinyin", "finals"),
}
# Measured (bench/RESULTS.md): chars+pinyin is as good as all three views on clean text
# and clearly better through ASR noise, and fits faster.
DEFAULT_FEATURES = "chars+pinyin"
# The intent model adds the finals: whisper's near-homophones keep the finals and change the
# initial (额度 -> 勒度, 积分 -> 机身). Measured on four development folds, each model trained
# without the fold's calls, through whisper: primary intent 70 -> 72 of 80 calls, macro-F1 up
# on every fold (bench/intent_folds.py, bench/RESULTS.md "Round 14").
TASK_FEATURES = {"intent": "chars+pinyin+finals"}
# The intent model keeps only the n-grams of two training rows or more: a third of its 220k
# n-grams occur once (most of them made by the ASR-noise copies), and each costs 19 weights in
# every step of the optimiser. Dropping them halves its logistic-regression fits (4 a training:
# the calibration's 3 folds and the final one), the critical path of `make test`'s training.
# Judged before it was kept: bench/intent_folds.py --min-df 1 2 (bench/RESULTS.md "Round 22").
TASK_MIN_DF = {"intent": 2}


def features_for(name: str) -> str:
    """The feature set a task is trained with unless told otherwise."""
    return TASK_FEATURES.get(name, DEFAULT_FEATURES)


def min_df_for(name: str) -> int:
    """The fewest training rows an n-gram must occur in to be a feature of the task's model."""
    return TASK_MIN_DF.get(name, 1)


def _view(name: str, words: WordTokenizer | None, min_df: int = 1) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    common = {"sublinear_tf": True, "min_df": min_df}
    if name == "chars":
        return TfidfVectorizer(analyzer="char", preprocessor=canonical, ngram_range=(1, 3),
                               **common)  # fmt: skip
    if name == "words":
        if words is None:
            raise ValueError("the words view needs the lexicons' WordTokenizer (words=...)")
        return TfidfVectorizer(tokenizer=words.with_canonical(), lowercase=False,
                               token_pattern=None, ngram_range=(1, 2), **common)  # fmt: skip
    if name == "pinyin":
        return TfidfVectorizer(tokenizer=canonical_pinyin, lowercase=False, token_pattern=None,
                               ngram_range=(1, 3), **common)  # fmt: skip
    if name == "finals":
        return TfidfVectorizer(tokenizer=canonical_finals, lowercase=False, token_pattern=None,
                               ngram_range=(2, 3), **common)  # fmt: skip
    raise ValueError(f"unknown feature view {name!r}; known: {VIEWS}")


def build_pipeline(features: str = DEFAULT_FEATURES, C: float = 4.0, calibration_cv=None,
                   words: WordTokenizer | None = None, min_df: int = 1) -> Pipeline:  # fmt: skip
    """TF-IDF views + logistic regression; with `calibration_cv` (folds or split list), the
    probabilities are calibrated by temperature scaling fitted on out-of-fold predictions
    (one model on all the data; measured: expected calibration error 0.18 -> 0.03 on the
    held-out split, macro-F1 unchanged; one-vs-rest Platt scaling did not help). `words`: the
    jieba tokenizer with the lexicons' user dictionary, for the words view (it is saved
    inside the pipeline). `min_df`: the fewest rows an n-gram must occur in (each view)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    if features not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {features!r}; known: {sorted(FEATURE_SETS)}")
    views = [(name, _view(name, words, min_df)) for name in FEATURE_SETS[features]]
    union = FeatureUnion(views)
    classifier = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    if calibration_cv is not None:
        classifier = CalibratedClassifierCV(
            classifier, method="temperature", cv=calibration_cv, ensemble=False
        )
    return Pipeline([("features", union), ("classifier", classifier)])
