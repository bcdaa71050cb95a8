"""Index versions (streams/index/versions.py) on a real noida-db of their own (no worker): a
fresh cluster, the migration of plain v1 indices while writers and readers carry on, a roll-out
to the next version behind the alias, and a migration stopped half-way finished by
`callqa index migrate`. The calls are tests/searchkit.py's generated ones.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from models.text import pinyin_syllables
from streams.index import versions
from streams.index.documents import INDEX_VERSIONS, UPGRADES
from streams.index.search import CallQuery, search_calls
from streams.index.store import (
    call_doc,
    call_doc_v1,
    connect,
    ensure_indices,
    mapping,
    segment_doc,
    transcript,
    with_retry,
)
from streams.settings import CALLS_INDEX, SEGMENTS_INDEX, Settings

from .searchkit import BASE, N_GENERATED, expected, generated, passes, said, settings_with_prefix


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from streams.embedded import EmbeddedServer

    embedded = EmbeddedServer(tmp_path_factory.mktemp("versions") / "noida-db")
    services = embedded.start()
    yield services
    embedded.stop()


def _plain_v1(es, settings: Settings, n: int) -> dict[str, dict]:
    """Indices as a release before the aliases left them: plain <prefix>-calls and
    <prefix>-segments with the v1 mappings and v1 documents."""
    docs = {}
    for name in (CALLS_INDEX, SEGMENTS_INDEX):
        body = mapping(name, 1)
        es.indices.create(
            index=settings.index(name), settings=body["settings"], mappings=body["mappings"]
        )
    actions = []
    for i in range(n):
        doc, segments = generated(i % N_GENERATED)
        call_id = f"old-{i:04d}"
        segments = [{**s, "call_id": call_id, "segment_id": s["segment_id"].replace(doc["call_id"], call_id)}
                    for s in segments]  # fmt: skip
        doc = {**call_doc(call_id, {**_summary(doc), "violations": doc["violations"]}, segments, BASE),
               "scorecard": doc["scorecard"], "qa_score": doc["qa_score"], "reviews": doc["reviews"]}  # fmt: skip
        docs[call_id] = doc
        actions.append(
            {"_index": settings.index(CALLS_INDEX), "_id": call_id, "_source": call_doc_v1(doc)}
        )
        for s in segments:
            seg = {k: v for k, v in segment_doc({"segment": s}, BASE).items() if k != "pinyin"}
            actions.append(
                {"_index": settings.index(SEGMENTS_INDEX), "_id": s["segment_id"], "_source": seg}
            )
    from elasticsearch import helpers

    helpers.bulk(es, actions, refresh=True)
    return docs


def _summary(doc: dict) -> dict:
    return {"started_wall": doc["started_at"], "duration": doc["duration"], "primary_intent": doc["primary_intent"],
            "complaint_risk": doc["complaint_risk"], "metadata": doc["metadata"]}  # fmt: skip


def test_a_fresh_cluster_gets_the_current_version_behind_its_alias(server):
    es, settings = connect(server.elasticsearch_url), settings_with_prefix("fresh")
    ensure_indices(es, settings)
    ensure_indices(es, settings)  # again: nothing to do
    for name in (CALLS_INDEX, SEGMENTS_INDEX):
        assert es.indices.get_alias(name=settings.index(name)) == {
            f"fresh-{name}-v{INDEX_VERSIONS[name]}": {
                "aliases": {f"fresh-{name}": {"is_write_index": True}}
            }
        }
    rows = versions.describe(es, settings)
    assert all(r["up_to_date"] and r["kind"] == "alias" for r in rows)


def test_migration_keeps_every_document_and_answers_throughout(server):
    """A plain v1 index is migrated by ensure_indices (what a new release's worker runs) while
    a writer adds and changes calls through the alias and readers keep asking."""
    es, settings = connect(server.elasticsearch_url), settings_with_prefix("mig")
    calls_alias, segments_alias = settings.index(CALLS_INDEX), settings.index(SEGMENTS_INDEX)
    old = _plain_v1(es, settings, 300)
    written: dict[str, float] = {}
    changed: dict[str, float] = {}
    started, acked = [0], [0]  # new calls whose write began / was acknowledged
    stop = threading.Event()
    errors: list[str] = []

    def writer():
        i = 0
        while not stop.is_set():
            doc, _ = generated(i % N_GENERATED)
            call_id = f"new-{i:04d}"
            doc = {**doc, "call_id": call_id, "qa_score": float(i % 100)}
            started[0] += 1
            with_retry(lambda doc=doc, call_id=call_id: es.index(index=calls_alias, id=call_id, document=doc,
                                                                 refresh=True), "write")  # fmt: skip
            written[call_id] = doc["qa_score"]
            acked[0] = len(written)
            target = f"old-{(i * 7) % 300:04d}"
            with_retry(lambda target=target, i=i: es.update(index=calls_alias, id=target, doc={"qa_score": 1000.0 + i},
                                                            refresh=True), "update")  # fmt: skip
            changed[target] = 1000.0 + i
            i += 1
            time.sleep(0.02)

    migrated = threading.Event()

    def migrate():
        try:
            ensure_indices(es, settings)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"migration: {exc!r}")
        migrated.set()

    writing = threading.Thread(target=writer, daemon=True)
    writing.start()
    time.sleep(0.3)
    threading.Thread(target=migrate, daemon=True).start()
    answered = 0
    while not migrated.is_set():
        before = acked[0]
        try:
            count = es.count(index=calls_alias)["count"]
            phrase = es.count(
                index=segments_alias, query={"match_phrase": {"text": "我要投诉你们"}}
            )["count"]
            one = es.get(index=calls_alias, id="old-0123")["_source"]
            found = es.search(index=calls_alias, query={"term": {"call_id": "old-0042"}})["hits"][
                "total"
            ]["value"]
        except Exception as exc:  # noqa: BLE001 - every failure is a wrong answer
            errors.append(f"query: {exc!r}")
            continue
        after = started[0]
        if not 300 + before <= count <= 300 + after:
            errors.append(f"{count} calls while {before}..{after} new ones were written")
        if phrase != sum(1 for i in range(300) if i % N_GENERATED % 6 == 0):
            errors.append(f"phrase query found {phrase} segments")
        if one["call_id"] != "old-0123" or found != 1:
            errors.append("a call went missing")
        answered += 1
    stop.set()
    # the writer's last write may still be retrying (at idle priority, past a fixed sleep):
    # `written` is read below only once it has stopped
    writing.join(timeout=60)
    assert not writing.is_alive(), "the writer did not stop"
    assert not errors, errors[:5]
    assert answered >= 3, "the migration ended before the readers could ask"

    for name in (CALLS_INDEX, SEGMENTS_INDEX):
        alias = settings.index(name)
        assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v2"]
        assert es.indices.exists(index=f"{alias}-v1")  # the old index, kept
    es.indices.refresh(index=calls_alias)
    assert es.count(index=calls_alias)["count"] == 300 + len(written)
    assert es.count(index=f"{calls_alias}-v1")["count"] >= 300
    assert es.count(index=segments_alias)["count"] == sum(len(transcript(d)) for d in old.values())
    stored = {h["_id"]: h["_source"] for h in
              es.search(index=calls_alias, size=1000, source=["qa_score", "agent_text", "rule_ids"])["hits"]["hits"]}  # fmt: skip
    assert set(stored) == set(old) | set(written)
    assert all(stored[c]["qa_score"] == q for c, q in {**written, **changed}.items())
    assert stored["old-0000"]["agent_text"] == [
        s["text"] for s in transcript(old["old-0000"]) if s["role"] == "agent"
    ]
    assert stored["old-0000"]["rule_ids"] == ["agent-forbidden-phrase", "customer-complaint-threat"]
    # the migrated documents answer the new searches (pinyin made by the upgrade)
    sound = search_calls(
        es, settings, CallQuery(text="投诉", mode="sound", speaker="customer", size=100, agent="A2")
    )
    assert sound.total == len(expected({c: (d, transcript(d)) for c, d in old.items()},
                                       CallQuery(text="投诉", mode="sound", speaker="customer", agent="A2"))
                              ) + sum(1 for c in written if passes_sound(c))  # fmt: skip
    tousu = sum(
        1
        for d in old.values()
        for s in transcript(d)
        if "tou su" in " ".join(pinyin_syllables(s["text"]))
    )
    assert (
        es.count(index=segments_alias, query={"match_phrase": {"pinyin": "tou su"}})["count"]
        == tousu
    )

    again = versions.migrate(es, settings, CALLS_INDEX)
    assert again.notes == ["already current"]
    dropped = versions.migrate(es, settings, CALLS_INDEX, drop_old=True)
    assert dropped.dropped == (f"{calls_alias}-v1",) and not es.indices.exists(
        index=f"{calls_alias}-v1"
    )


def passes_sound(call_id: str) -> bool:
    """Whether a call the writer added (gen-<i % 30> under a new id) is a customer 投诉-by-sound
    call of agent A2."""
    i = int(call_id.split("-")[1]) % N_GENERATED
    doc, segments = generated(i)
    query = CallQuery(text="投诉", mode="sound", speaker="customer", agent="A2")
    return passes(doc, query) and bool(said(segments, query))


def test_a_new_version_is_rolled_out_behind_the_alias(server, monkeypatch):
    """From one aliased version to the next (as a v3 mapping would be): the alias moves, the
    old index stays read-only, and readers are answered throughout."""
    es, settings = connect(server.elasticsearch_url), settings_with_prefix("roll")
    ensure_indices(es, settings)
    alias = settings.index(CALLS_INDEX)
    for i in range(120):
        doc, _ = generated(i % N_GENERATED)
        es.index(index=alias, id=f"r-{i:03d}", document={**doc, "call_id": f"r-{i:03d}"})
    es.indices.refresh(index=alias)
    monkeypatch.setitem(INDEX_VERSIONS, CALLS_INDEX, 3)
    monkeypatch.setitem(UPGRADES, (CALLS_INDEX, 2), lambda doc: {**doc, "upgraded": True})
    monkeypatch.setattr(versions, "mapping", lambda name, version=None: mapping(name, 2))
    done, answers, errors = threading.Event(), [], []

    def run():
        try:
            answers.append(versions.migrate(es, settings, CALLS_INDEX))
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    while not done.is_set():
        count = es.count(index=alias)["count"]
        if count != 120:
            errors.append(count)
    [report] = answers
    assert not errors and report.documents == 120 and report.kept == (f"{alias}-v2",)
    assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v3"]
    assert es.get(index=alias, id="r-007")["_source"]["upgraded"] is True
    with pytest.raises(Exception, match="cluster_block_exception"):
        es.index(index=f"{alias}-v2", id="late", document={"call_id": "late"})


def test_a_migration_stopped_half_way_is_left_alone_and_finished_by_the_command(
    server, monkeypatch, capsys
):
    from streams.cli import main

    es, settings = connect(server.elasticsearch_url), settings_with_prefix("half")
    old = _plain_v1(es, settings, 20)
    body = mapping(CALLS_INDEX, 2)  # what a migration that stopped left behind
    es.indices.create(index="half-calls-v2", settings=body["settings"], mappings=body["mappings"])
    es.index(index="half-calls-v2", id="stray", document={"call_id": "stray"}, refresh=True)
    ensure_indices(es, settings)  # a worker starting: it leaves the calls to the command
    assert versions.state(es, "half-calls").kind == "plain"
    assert versions.state(es, "half-segments").indices == ("half-segments-v2",)
    for name, value in {**server.environ(), "CALLQA_INDEX_PREFIX": "half"}.items():
        monkeypatch.setenv(name, value)
    assert main(["index", "status", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["calls"]["kind"] == "plain" and not rows["calls"]["up_to_date"]
    assert rows["segments"]["up_to_date"]
    assert main(["index", "migrate", "--only", "calls"]) == 0
    out = capsys.readouterr().out
    assert "stopped half-way" in out and "half-calls: v1 -> v2" in out
    assert list(es.indices.get_alias(name="half-calls")) == ["half-calls-v2"]
    ids = {h["_id"] for h in es.search(index="half-calls", size=100, source=False)["hits"]["hits"]}
    assert ids == set(old)  # every call, and nothing the stopped run had left
    assert main(["index", "migrate", "--drop-old"]) == 0
    assert "dropped half-calls-v1" in capsys.readouterr().out
    assert not es.indices.exists(index="half-calls-v1")
