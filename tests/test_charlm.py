"""The ASR's character language model (models/charlm.py) and its n-best rescoring."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models import charlm, registry
from models.charlm import CharLM, normalise, rescore
from streams.audio import decode, read_wav, to_model_rate
from streams.settings import PROJECT_ROOT, REAL_DATA_DIR, Settings

CALLS = PROJECT_ROOT / "calls" / "audio"

BANK = [
    "我想办理账单分期",
    "这笔消费能不能分期",
    "分十二期手续费是多少",
    "我的信用卡账单还没出来",
    "帮我查一下这个月的账单",
    "能不能分六期",
    "我想提高信用额度",
    "还款日是几号",
]


@pytest.fixture(scope="module")
def project_models():
    """The project's published models, trained first where one is missing or stale."""
    from streams.scoring.models import ensure_models

    settings = Settings()
    ensure_models(settings.models_dir, settings.lexicons_dir, log=lambda line: None)
    return settings.models_dir


@pytest.fixture(scope="module")
def sample_utterance():
    """The installment call's first customer utterance (real whisper input, 16 kHz)."""
    import json

    wav = read_wav(CALLS / "call-02-installment.wav")
    meta = json.loads((CALLS / "call-02-installment.json").read_text(encoding="utf-8"))
    turn = next(u for u in meta["utterances"] if u["role"] == "customer" and "分期" in u["text"])
    channel = to_model_rate(decode(wav.channels[meta["channels"].index("customer")], wav.encoding),
                            wav.sample_rate)  # fmt: skip
    return np.asarray(channel[int(turn["start"] * 16000) : int((turn["end"] + 0.2) * 16000)])


def test_each_context_is_a_probability_distribution():
    lm = CharLM().fit(BANK)
    seen = sorted({ch for text in BANK for ch in normalise(text)} | {"$"})
    for context in ("^^^", "^^我", "能不能", "十二期", "完全没", "zzz"):
        total = sum(lm.prob(context, ch) for ch in seen) + lm.prob(context, "鑫")  # unseen slot
        assert math.isclose(total, 1.0, rel_tol=1e-9), context


def test_normalising_keeps_han_and_classes_of_digits_and_letters():
    assert normalise("分12期，VIP客户！") == "分D期E客户"


def test_the_model_prefers_the_sentence_it_has_seen_the_like_of():
    lm = CharLM().fit(BANK)
    assert lm.logprob("能不能分期") > lm.logprob("能不能分这孩") + 5


def test_rescoring_weighs_whisper_against_the_language_model():
    lm = CharLM().fit(BANK)
    # whisper slightly prefers the garbled text; the language model overturns it
    hypotheses = [("能不能分这孩", -0.30, 7), ("能不能分期", -0.36, 6)]
    assert rescore(hypotheses, lm, weight=0.3, bonus=2.0) == 1
    # ... unless whisper is far surer, or the language model does not count
    assert rescore([("能不能分这孩", -0.05, 7), ("能不能分期", -1.6, 6)], lm, 0.3, 2.0) == 0
    assert rescore(hypotheses, lm, weight=0.0, bonus=0.0) == 0
    # text with nothing to read is never chosen
    assert rescore([("。。", 0.0, 2), ("能不能分期", -0.5, 6)], lm, 0.3, 2.0) == 1


def test_the_published_model_is_current_and_learned_real_bank_text(project_models):
    version = registry.latest(project_models, "asr_lm")
    card = registry.read_card(project_models, "asr_lm", version)
    metrics = card["metrics"]
    if not (REAL_DATA_DIR / charlm.CHECK_FILE).is_file():
        pytest.skip("the real text (../shared/eval) is not here")
    assert card["real_text"]["used"] and metrics["texts"]["real"] > 20000
    # BQ dev is never trained on; a uniform model over its ~4,000 characters would be ~4,000
    assert metrics["bq_dev_perplexity"] < 40
    lm = registry.load(project_models, "asr_lm", version).pipeline
    assert lm.logprob("我想查一下信用卡账单") > lm.logprob("我想查一下信用卡张单")
    assert lm.logprob("这笔能不能分期还款") > lm.logprob("这笔能不能分这孩还款")


def test_final_decodes_rescore_the_beam_and_partials_do_not(project_models, sample_utterance):
    from streams.asr.engine import Request, Transcriber, rescorable

    settings = Settings()
    with_lm = Transcriber.from_settings(
        settings, lm=registry.load(project_models, "asr_lm").pipeline
    )
    assert "n-best rescored by asr_lm" in with_lm.describe()
    hypotheses = with_lm.nbest([Request(sample_utterance)], 5, with_lm.min_window_s)[0]
    assert len(hypotheses) == 5 and len({t.text for t, _ in hypotheses}) > 1
    kept = rescorable([(t, n) for t, n in hypotheses if not t.dropped])
    scores = [
        t.avg_logprob * n + 0.3 * with_lm.lm.logprob(t.text) + 2.0 * len(normalise(t.text))
        for t, n in kept
    ]
    assert with_lm.choose(hypotheses) == kept[int(np.argmax(scores))][0]
    assert with_lm.decode([Request(sample_utterance)])[0] == with_lm.choose(hypotheses)
    # a partial (beam 1) has one hypothesis, whisper's
    assert len(with_lm.nbest([Request(sample_utterance)], 1, with_lm.min_window_s)[0]) == 1


def test_weight_zero_is_whispers_1_best(monkeypatch, project_models):
    from streams.asr.engine import lm_for

    monkeypatch.setenv("CALLQA_MODELS_DIR", str(project_models))
    monkeypatch.setenv("ASR_LM_WEIGHT", "0")
    assert lm_for(Settings()) is None
    monkeypatch.setenv("ASR_LM_WEIGHT", "0.3")
    loaded = lm_for(Settings())
    assert loaded.version == registry.latest(project_models, "asr_lm")
    monkeypatch.setenv("CALLQA_MODELS_DIR", str(project_models / "nothing-here"))
    assert lm_for(Settings()) is None  # none published: 1-best, and the log says so


def test_it_is_retrained_when_its_text_changes(project_models, tmp_path):
    import shutil

    from models.train import DATA_DIR

    card = registry.read_card(project_models, "asr_lm", registry.latest(project_models, "asr_lm"))
    assert charlm.is_current(card, DATA_DIR, REAL_DATA_DIR)
    for name in charlm.OWN_FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)
    with open(tmp_path / "intents.tsv", "a", encoding="utf-8") as f:
        f.write("我想把这张卡的账单日改一下\t资料修改\thw-test\thandwritten\n")
    assert not charlm.is_current(card, tmp_path, REAL_DATA_DIR)
    # the real text gone (a Docker build) keeps what was trained with it
    assert charlm.is_current(card, DATA_DIR, tmp_path / "no-such-dir")
    assert not charlm.is_current({**card, "recipe": "0"}, DATA_DIR, REAL_DATA_DIR)


def test_a_hypothesis_that_stops_early_is_no_other_reading():
    """Whisper's beam held 那好 (2 tokens, -1.68 each) beside its best, the whole 15 s turn (83
    tokens, -0.39 each; its first 37 characters here; round 82's development half): summed
    over its few tokens, with a bonus per character that cannot make up for the garbled ones,
    the early stop outscored it. A hypothesis with under half the best one's characters is not
    rescored."""
    from streams.asr.engine import Transcriber, Transcript

    lm = CharLM().fit(BANK)
    heard = "那好,我院子里立着一块大黑板,平时协导餐菜单合去汤山徒步的路线,祝客天天站在跟前"
    hypotheses = [(Transcript(heard, -0.39, 0.1, ""), 83), (Transcript("那好", -1.68, 0.1, ""), 2)]
    candidates = [(t.text, t.avg_logprob, n) for t, n in hypotheses]
    assert rescore(candidates, lm, weight=0.3, bonus=2.0) == 1  # the sum prefers the early stop
    transcriber = object.__new__(Transcriber)  # the choice alone, no whisper loaded
    transcriber.lm, transcriber.lm_weight, transcriber.lm_bonus = lm, 0.3, 2.0
    assert transcriber.choose(hypotheses).text == heard
    # between readings of like length the language model still decides
    other = [
        (Transcript("能不能分这孩", -0.30, 0.1, ""), 7),
        (Transcript("能不能分期", -0.36, 0.1, ""), 6),
    ]
    assert transcriber.choose(other).text == "能不能分期"
    # digits count one by one: 0712285 is a reading of 零七幺二二二八五, not a stop after one
    digits = [
        (Transcript("零七幺二二二八五", -0.9, 0.1, ""), 9),
        (Transcript("0712285", -0.1, 0.1, ""), 5),
    ]
    assert transcriber.choose(digits).text == "0712285"
