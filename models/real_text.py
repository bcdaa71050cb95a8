"""Real customer text for the complaint-risk model, read by path from a directory the caller
hands in (the project's ../shared/eval; `streams.settings.REAL_DATA_DIR`). Nothing here is
copied into the repository: the licences allow research use only, so a model trains on these
files where they are, and its card records their SHA-256.

    text/stc3_dch/dialogues.json        2,488 Weibo helpdesk dialogues, customer satisfaction
                                        S rated -2..2 by 19 annotators (dissatisfied: mean S <= -1)
    text/heimao_complaints/train.csv    consumer-finance complaints (黑猫投诉); dev.csv held out
    text/bq_corpus/test_unlabeled.tsv   bank app questions (WeBank); dev.tsv held out
    text/afqmc/dev.json                 consumer-finance app questions (Ant Financial)

BQ dev.tsv and heimao dev.csv are never trained on: they are the final check of the
complaint-content head (bench/models_eval.py), and a training question that also appears in
BQ dev is dropped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

STC3 = "text/stc3_dch/dialogues.json"
HEIMAO_TRAIN = "text/heimao_complaints/train.csv"
HEIMAO_DEV = "text/heimao_complaints/dev.csv"
BQ_TRAIN = "text/bq_corpus/test_unlabeled.tsv"
BQ_DEV = "text/bq_corpus/dev.tsv"
AFQMC = "text/afqmc/dev.json"
TRAINING_FILES = (STC3, HEIMAO_TRAIN, BQ_TRAIN, AFQMC)
CHECK_FILES = (HEIMAO_DEV, BQ_DEV)  # held out: never trained on
DISSATISFIED_BELOW = -1.0  # mean satisfaction S <= this: a clearly dissatisfied customer
HEIMAO_OTHER = 1  # label 1 = 其他类: not a complaint about the lender (adverts, receipts)

_AT = re.compile(r"@[^\s@,，。:：!！?？;；、)）(（]{1,30}")
_URL = re.compile(r"(https?://\S+|www\.\S+|O网页链接|网页链接)")
_EMOJI = re.compile(r"\[[^\[\]]{1,8}\]")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[。！!？?\n；;]")


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[tuple[str, str], ...]  # (customer | agent, text), in order
    mean_satisfaction: float

    @property
    def dissatisfied(self) -> bool:
        return self.mean_satisfaction <= DISSATISFIED_BELOW

    @property
    def customer(self) -> list[str]:
        return [text for role, text in self.turns if role == "customer"]


def missing(root: Path | None, files=TRAINING_FILES) -> list[str]:
    """The files of `files` not under `root` (all of them when there is no root)."""
    if root is None:
        return list(files)
    return [name for name in files if not (Path(root) / name).is_file()]


def sha256s(root: Path, files=TRAINING_FILES + CHECK_FILES) -> dict[str, str]:
    """name -> SHA-256 of each file present (for the model card)."""
    out = {}
    for name in files:
        path = Path(root) / name
        if path.is_file():
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def clean_weibo(text: str) -> str:
    """Without @handles, URLs and Weibo emoji codes ([怒]): what a customer would say."""
    text = _EMOJI.sub(" ", _AT.sub(" ", _URL.sub(" ", text)))
    return _SPACE.sub(" ", text).strip()


def stc3_dialogues(root: Path) -> list[Dialogue]:
    raw = json.loads((Path(root) / STC3).read_text(encoding="utf-8"))
    out = []
    for d in raw:
        scores = [a["quality"]["S"] for a in d["annotations"]]
        turns = []
        for turn in d["turns"]:
            role = "customer" if turn["sender"] == "customer" else "agent"
            for utterance in turn["utterances"]:
                text = clean_weibo(utterance)
                if text:
                    turns.append((role, text))
        out.append(Dialogue(str(d["id"]), tuple(turns), sum(scores) / len(scores)))
    return out


def heimao(root: Path, name: str = HEIMAO_TRAIN) -> list[tuple[str, int]]:
    """(complaint text, category) rows of a heimao file."""
    with open(Path(root) / name, encoding="utf-8", newline="") as f:
        return [(r[0], int(r[1])) for r in csv.reader(f) if len(r) == 2 and r[1].isdigit()]


def sentences(text: str, min_chars: int = 4, limit: int = 60) -> list[str]:
    """A written complaint cut into sentences (long ones at commas) of at most `limit` chars:
    a caller says a complaint a sentence at a time."""
    out = []
    for part in _SENTENCE_END.split(text):
        part = part.strip()
        while len(part) > limit:
            cut = max(part.rfind("，", 0, limit), part.rfind(",", 0, limit))
            cut = cut if cut > 10 else limit
            out.append(part[:cut])
            part = part[cut + 1 :].strip()
        if part:
            out.append(part)
    return [s for s in out if len(s) >= min_chars]


def first_sentence(text: str, limit: int = 60) -> str:
    return re.split(r"[。！!？?\n]", text.strip())[0][:limit]


def _unique(texts) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))


def bq_questions(root: Path, name: str = BQ_DEV) -> list[str]:
    """Unique questions of a BQ file (both sides of each pair)."""
    lines = (Path(root) / name).read_text(encoding="utf-8").splitlines()
    return _unique(t for line in lines for t in line.split("\t")[:2])


def afqmc_questions(root: Path) -> list[str]:
    lines = (Path(root) / AFQMC).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return _unique(t for r in rows for t in (r["sentence1"], r["sentence2"]))


def training_questions(root: Path) -> list[str]:
    """BQ test_unlabeled + AFQMC questions, none of them in BQ dev (the held-out check)."""
    held = set(bq_questions(root, BQ_DEV))
    return [
        q for q in _unique(bq_questions(root, BQ_TRAIN) + afqmc_questions(root)) if q not in held
    ]


def complaints_vs_questions(root: Path, n: int = 500) -> tuple[list[str], list[str]]:
    """The held-out check: the first sentence (>= 6 chars) of the first `n` heimao dev
    complaints that are about the lender, and the first `n` BQ dev questions."""
    complaints = [
        first_sentence(t) for t, label in heimao(root, HEIMAO_DEV) if label != HEIMAO_OTHER
    ]
    return [t for t in complaints if len(t) >= 6][:n], bq_questions(root, BQ_DEV)[:n]
