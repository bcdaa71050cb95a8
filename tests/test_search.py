"""Call search (streams/index/search.py) on a real noida-db of its own (no worker): the six
sample calls' reference transcripts, scored and indexed as the index stage does, plus the
generated calls of tests/searchkit.py with known metadata and words. Queries of every kind,
facets, snippets, paging, URL parameters and the `callqa search` command.

Every expected count is computed from the texts and fields the calls were made from (the
oracle in tests/searchkit.py, independent of Elasticsearch) and, for the queries that matter
most, also stated as a number.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from models.text import pinyin_syllables
from streams.index import store
from streams.index.search import CallQuery, QueryError, encode_cursor, search_calls, sound_marks
from streams.index.store import connect, ensure_indices, transcript
from streams.settings import CALLS_INDEX

from .conftest import CALLS_DIR, call_meta
from .searchkit import (
    BASE,
    N_GENERATED,
    everything,
    expected,
    generated,
    said,
    settings_with_prefix,
)

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from streams.embedded import EmbeddedServer

    embedded = EmbeddedServer(tmp_path_factory.mktemp("search") / "noida-db")
    services = embedded.start()
    yield services
    embedded.stop()


@pytest.fixture(scope="module")
def corpus(server):
    """The sample calls (scored as the index stage does) and the generated ones, indexed;
    returns (es, settings, calls) where calls maps call id -> (document, segments)."""
    from streams.index.store import IndexWriter
    from streams.scoring.models import ScoringModels, ensure_models
    from streams.scoring.offline import index_transcript

    es, settings = connect(server.elasticsearch_url), settings_with_prefix("srch")
    ensure_indices(es, settings)
    ensure_models(settings.models_dir, settings.lexicons_dir)
    models = ScoringModels.load(settings.models_dir, settings.lexicons_dir)
    writer = IndexWriter(es, settings)
    calls = {}
    for k, path in enumerate(sorted(CALLS_DIR.glob("*.json"))):
        meta = call_meta(path.stem)
        info = {"duration": meta["duration"], "started_wall": BASE - (k + 1) * 86_400,
                "metadata": {"agent_id": "S1", "queue": "sample", "direction": "inbound"}}  # fmt: skip
        doc = index_transcript(writer, models, meta["call_id"], meta["utterances"], info)
        calls[doc["call_id"]] = (doc, transcript(doc))
    for i in range(N_GENERATED):
        doc, segments = generated(i)
        es.index(index=settings.index(CALLS_INDEX), id=doc["call_id"], document=doc)
        calls[doc["call_id"]] = (doc, segments)
    es.indices.refresh(index=settings.index(CALLS_INDEX))
    return es, settings, calls


# ------------------------------------------------------------------------------- tests

QUERIES = [
    # (parameters, the count stated as a number where it matters)
    ({"q": "投诉"}, 12),
    ({"q": "投诉", "speaker": "customer"}, 7),
    ({"q": "投诉", "speaker": "agent"}, 7),
    ({"q": "投诉", "mode": "sound"}, 16),
    ({"q": "头诉", "mode": "sound", "speaker": "customer"}, 12),
    ({"q": "这个我没办法"}, 10),
    ({"q": "这个我没办法", "speaker": "customer"}, 5),
    ({"q": "12378"}, 6),
    ({"q": "12378", "mode": "sound"}, 13),
    ({"q": "尾号1234"}, 5),
    ({"q": "账单 年费", "mode": "any"}, None),
    ({"q": "分期", "speaker": "customer", "mode": "any"}, None),
    ({"intent": "分期"}, None),
    ({"intent": ["分期", "还款"], "agent": "A2"}, None),
    ({"rule": "agent-forbidden-phrase"}, None),
    ({"rule": ["agent-greeting", "customer-complaint-threat"], "queue": "vip"}, None),
    ({"risk_min": "0.5", "risk_max": "0.8"}, None),
    ({"qa_min": "85", "direction": "outbound"}, None),
    ({"review": "pending"}, None),
    ({"review": "reviewed"}, 4),
    ({"review": "confirmed"}, 2),
    ({"review": "false_positive"}, 1),
    ({"review": "appealed"}, 1),
    ({"since": "2026-03-02", "until": "2026-03-04T12:00"}, 10),
    ({"min_duration": "100", "max_duration": "200"}, None),
    ({"q": "投诉", "mode": "sound", "agent": "A1", "risk_min": "0.1"}, None),
    ({"customer": "C2"}, 6),
    ({"repeat": "yes"}, 25),
    ({"repeat": "same_issue"}, 12),
    ({"repeat": "same_issue", "customer": ["C0", "C1"]}, None),
]


@pytest.mark.parametrize(
    "params,count", QUERIES, ids=[json.dumps(p, ensure_ascii=False) for p, _ in QUERIES]
)
def test_exact_hits_for_each_kind_of_query(corpus, params, count):
    es, settings, calls = corpus
    query = CallQuery.from_params(params)
    result = search_calls(es, settings, query)
    want = expected(calls, query)
    assert result.total == len(want)
    if count is not None:
        assert len(want) == count
    assert {h.call_id for h in everything(es, settings, query)} == want
    # facets: calls per primary intent, rule and agent among the matches
    docs = [calls[c][0] for c in want]
    facets = {name: dict(buckets) for name, buckets in result.facets.items()}
    assert facets["intent"] == _count(d["primary_intent"] for d in docs)
    assert facets["rule"] == _count(r for d in docs for r in d["rule_ids"])
    assert facets["agent"] == _count(d["metadata"]["agent_id"] for d in docs)
    # snippets: the matching segments, each with where it is in the call
    for hit in result.hits:
        if query.text:
            matching = said(calls[hit.call_id][1], query)
            assert hit.matches == len(matching) and hit.snippets
            by_id = {s["segment_id"]: s for s in matching}
            for snippet in hit.snippets:
                segment = by_id[snippet.segment_id]
                assert (snippet.role, snippet.start, snippet.text) == (
                    store.speaker_of(segment["role"]),
                    segment["start"],
                    segment["text"],
                )
                assert snippet.marks and all(
                    0 <= a < b <= len(snippet.text) for a, b in snippet.marks
                )
        else:
            assert hit.snippets == () and hit.matches == 0


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def test_by_sound_finds_what_the_asr_wrote_and_not_other_words(corpus):
    es, settings, calls = corpus
    found = everything(es, settings, CallQuery(text="投诉", mode="sound", speaker="customer"))
    snippets = {s.text: s for h in found for s in h.snippets}
    assert snippets["我要头诉你们"].marked() == "我要【头诉】你们"  # the ASR's homophone, marked
    assert snippets["我要投诉你们"].marked() == "我要【投诉】你们"
    assert not {"我的头发都白了", "投资理财的事", "我想投", "诉一下可以吗"} & set(snippets)
    literal = {
        h.call_id for h in everything(es, settings, CallQuery(text="投诉", speaker="customer"))
    }
    sound = {h.call_id for h in found}
    assert literal < sound and {"gen-01", "gen-07"} <= sound - literal
    # spoken and written digits sound the same; the phrase needs the same form
    digits = {h.call_id for h in everything(es, settings, CallQuery(text="12378", mode="sound"))}
    assert {"gen-01", "gen-03"} <= digits and "call-05-dispute-complaint" in digits
    assert "gen-03" not in {h.call_id for h in everything(es, settings, CallQuery(text="12378"))}
    assert everything(es, settings, CallQuery(text="1237")) == []  # a number is one token


def test_a_phrase_never_runs_across_two_segments(corpus):
    es, settings, _ = corpus
    hits = everything(es, settings, CallQuery(text="投诉", speaker="customer"))
    assert not [h for h in hits if h.call_id in ("gen-14", "gen-21", "gen-28")]  # 我想投 | 诉一下
    joined = everything(es, settings, CallQuery(text="我想投诉一下"))
    assert joined == []


def test_mono_segments_count_as_either_speaker(corpus):
    es, settings, _ = corpus
    for speaker in ("agent", "customer", "either"):
        ids = {
            h.call_id for h in everything(es, settings, CallQuery(text="我要投诉", speaker=speaker))
        }
        assert f"gen-{N_GENERATED - 1}" in ids


@pytest.mark.parametrize("sort", ["time", "risk", "score"])
def test_search_after_pages_return_every_hit_once_in_order(corpus, sort):
    es, settings, calls = corpus
    query = CallQuery(sort=sort, size=4)
    first = search_calls(es, settings, query)
    assert first.total == len(calls) == 36 and len(first.hits) == 4 and first.next_cursor
    hits = everything(es, settings, query)
    ids = [h.call_id for h in hits]
    assert len(ids) == len(set(ids)) == len(calls)
    key = {
        "time": lambda h: -h.started_at,
        "risk": lambda h: -h.complaint_risk,
        "score": lambda h: h.qa_score,
    }[sort]
    assert [key(h) for h in hits] == sorted(key(h) for h in hits)
    last = search_calls(es, settings, dataclasses.replace(query, size=36))
    assert last.next_cursor is None and [h.call_id for h in last.hits] == ids


def test_hits_carry_what_the_results_page_shows(corpus):
    es, settings, _ = corpus
    [hit] = search_calls(es, settings, CallQuery(text="投诉", agent="S1")).hits
    assert (hit.call_id, hit.agent_id, hit.queue, hit.direction) == (
        "call-05-dispute-complaint",
        "S1",
        "sample",
        "inbound",
    )
    assert (
        hit.primary_intent == "交易异议" and hit.complaint_risk >= 0.5 and hit.violation_count >= 2
    )
    assert hit.review_status == "pending" and hit.qa_score < 100
    [snippet] = hit.snippets
    assert snippet.role == "customer" and snippet.segment_id.startswith(
        "call-05-dispute-complaint:customer:"
    )
    assert "【投诉】" in snippet.marked() and snippet.start > 0
    until = BASE + 86_400
    [gen] = search_calls(
        es, settings, CallQuery(text="投诉电话", speaker="agent", agent="A2", until=until)
    ).hits
    assert gen.call_id == "gen-01" and gen.review_status == "none" and gen.duration == 67.0
    assert (
        json.loads(json.dumps(search_calls(es, settings, CallQuery(text="投诉")).to_dict()))[
            "total"
        ]
        == 12
    )


def test_the_first_search_api_still_answers(corpus):
    es, settings, _ = corpus
    hits = {
        h["call_id"]: h for h in store.search_calls(es, settings, "投诉", risk_min=0.5, size=50)
    }
    assert set(hits) == expected(corpus[2], CallQuery(text="投诉", risk_min=0.5))
    assert any("【投诉】" in f for f in hits["call-05-dispute-complaint"]["highlights"])
    assert {h["call_id"] for h in store.search_calls(es, settings, intent="分期", size=50)} >= {
        "call-02-installment", "gen-01"}  # fmt: skip


def test_query_round_trips_through_url_parameters():
    query = CallQuery(text="投诉 态度", mode="any", speaker="customer", intent=("分期", "还款"), risk_min=0.25,
                      risk_max=0.9, qa_min=60, qa_max=99.5, rule=("agent-forbidden-phrase",), review="pending",
                      agent=("A1", "A2"), queue=("vip",), customer=("C1",), direction="inbound", repeat="same_issue",
                      since=BASE, until=BASE + 3600.0,
                      min_duration=30, max_duration=600, sort="risk", size=50,
                      after=encode_cursor("risk", [0.5, 1, "c"]))  # fmt: skip
    params = query.to_params()
    assert ("since", "2026-03-01") in params and ("until", "2026-03-01T01:00:00") in params
    assert params.count(("intent", "分期")) == 1 and ("q", "投诉 态度") in params
    assert CallQuery.from_params(params) == query
    assert CallQuery.from_params(query.query_string()) == query
    assert CallQuery.from_params({"intent": ["分期", "还款"], "q": "", "sort": ""}) == CallQuery(
        intent=("分期", "还款")
    )
    assert CallQuery().to_params() == []


@pytest.mark.parametrize("params,message", [
    ({"risk_min": "high"}, "risk_min must be a number, got 'high'"),
    ({"risk_min": "1.5"}, "risk_min must be between 0 and 1"),
    ({"qa_min": "90", "qa_max": "80"}, "qa_min (90) is above qa_max (80)"),
    ({"mode": "fuzzy"}, "mode must be one of phrase, any, sound, got 'fuzzy'"),
    ({"speaker": "boss"}, "speaker must be one of either, agent, customer"),
    ({"review": "done"}, "review must be one of pending, reviewed, confirmed, false_positive, appealed"),
    ({"sort": "name"}, "sort must be one of time, risk, score"),
    ({"repeat": "maybe"}, "repeat must be one of yes, same_issue"),
    ({"size": "0"}, "size must be between 1 and 100"),
    ({"size": "ten"}, "size must be a whole number"),
    ({"since": "yesterday"}, "since: expected an ISO date or time"),
    ({"since": "2026-03-02", "until": "2026-03-01"}, "until must be later than since"),
    ({"after": "not-a-cursor"}, "after is not a cursor from a previous page"),
    ({"after": encode_cursor("time", [1, "x"]), "sort": "risk"}, "after is a cursor of sort=time"),
    ({"q": ["a", "b"]}, "q is given 2 times"),
    ({"page": "2"}, "unknown parameter 'page'"),
    ({"q": "，。！", "mode": "sound"}, "q has nothing to search by sound"),
    ({"min_duration": "-1"}, "min_duration must be between 0 and 86400"),
])  # fmt: skip
def test_bad_parameters_are_refused_with_a_clear_message(params, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CallQuery.from_params(params)
    assert CallQuery.from_params({"page": "2", "q": "x"}, strict=False) == CallQuery(text="x")


def test_sound_marks_follow_the_characters():
    assert sound_marks("我要头诉，你们头诉", ("tou", "su")) == ((2, 4), (7, 9))
    assert sound_marks("打12378吧", tuple(pinyin_syllables("一二三七八"))) == ((1, 6),)
    assert sound_marks("银行卡", tuple(pinyin_syllables("银行"))) == ((0, 2),)


def test_cli_search_takes_the_same_filters(corpus, server, monkeypatch, capsys):
    from streams.cli import main

    es, settings, calls = corpus
    for name, value in {**server.environ(), "CALLQA_INDEX_PREFIX": "srch"}.items():
        monkeypatch.setenv(name, value)
    argv = ["search", "投诉", "--mode", "sound", "--speaker", "customer", "--agent", "A1", "--agent", "A2",
            "--risk-min", "0.1", "--sort", "risk", "--size", "3", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    query = CallQuery(
        text="投诉",
        mode="sound",
        speaker="customer",
        agent=("A1", "A2"),
        risk_min=0.1,
        sort="risk",
        size=3,
    )
    assert out["total"] == len(expected(calls, query)) and len(out["hits"]) == 3
    assert out["query"] == {"q": "投诉", "mode": "sound", "speaker": "customer", "agent": ["A1", "A2"],
                            "risk_min": "0.1", "sort": "risk", "size": "3"}  # fmt: skip
    assert main([*argv[:-1], "--after", out["next_cursor"]]) == 0
    text = capsys.readouterr().out
    assert "【" in text and "agent=A" in text and "/calls?q=" in text
    assert main(["search", "--risk-min", "2"]) == 2
    assert "risk_min must be between 0 and 1" in capsys.readouterr().err
    assert main(["search", "--repeat", "same_issue", "--customer", "C0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = expected(calls, CallQuery(repeat="same_issue", customer=("C0",)))
    assert {h["call_id"] for h in out["hits"]} == want and len(want) == 2
