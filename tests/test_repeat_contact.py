"""Repeat contacts through the real worker: a call whose customer_ref called within the window
gets 重复来电 on the desk at its start (looked up in Elasticsearch by the scoring stage), the
first turn about the same business raises 客户不满上升, and the call document says so, so
analysts can filter on it. A first contact gets none of it."""

from __future__ import annotations

import time

from streams.index.documents import call_doc
from streams.index.search import CallQuery, search_calls
from streams.ingest.replay import make_producer
from streams.kafka_admin import json_consumer, wait_assigned
from streams.process import wait_for_calls
from streams.settings import ASSIST_TOPIC, CALLS_INDEX, TRANSCRIPTS_TOPIC

DAY = 86400.0


def _earlier(call_id: str, ref: str, started: float, intent: str) -> dict:
    summary = {"started_wall": started, "ended_wall": started + 60, "duration": 60.0,
               "primary_intent": intent, "metadata": {"customer_ref": ref}}  # fmt: skip
    return call_doc(call_id, summary, [], now=started + 61)


def _records(call_id: str, ref: str, now: float) -> list[dict]:
    say = {"kind": "segment", "call_id": call_id, "role": "customer", "avg_logprob": -0.2,
           "no_speech_prob": 0.01}  # fmt: skip
    return [
        {"kind": "start", "call_id": call_id,
         "call": {"started_wall": now, "roles": ["agent", "customer"], "metadata": {"customer_ref": ref}}},
        {**say, "segment_id": f"{call_id}:customer:1", "start": 1.0, "end": 3.0, "text": "喂你好"},
        {**say, "segment_id": f"{call_id}:customer:5", "start": 5.0, "end": 8.0,
         "text": "我想把这期账单分十二期"},
        {"kind": "end", "call_id": call_id,
         "call": {"status": "completed", "end_reason": "hangup", "started_wall": now,
                  "ended_wall": now + 10, "duration": 10.0,
                  "metadata": {"customer_ref": ref}}},
    ]  # fmt: skip


def test_a_repeat_contact_is_shown_at_once_and_the_same_issue_raises_level_1(stack):
    es, settings, run = stack.es, stack.settings, int(time.time())
    index = settings.index(CALLS_INDEX)
    again, first, ref, new_ref = (
        f"rc-again-{run}",
        f"rc-first-{run}",
        f"CRM-{run}",
        f"CRM-new-{run}",
    )
    now = time.time()
    for doc in (_earlier(f"rc-old1-{run}", ref, now - 2 * DAY, "分期"),
                _earlier(f"rc-old2-{run}", ref, now - 0.5 * DAY, "账单查询"),
                _earlier(f"rc-stale-{run}", ref, now - 10 * DAY, "挂失补卡"),  # outside 7 days
                _earlier(f"rc-other-{run}", f"CRM-x-{run}", now - DAY, "分期"),
                {**_earlier(f"rc-live-{run}", ref, now - 60, "挂失补卡"), "status": "live"}):  # fmt: skip
        es.index(index=index, id=doc["call_id"], document=doc)
    es.indices.refresh(index=index)

    bootstrap = stack.services.kafka_bootstrap_servers
    consumer = json_consumer(bootstrap, settings.topic(ASSIST_TOPIC))
    producer = make_producer(bootstrap)
    try:
        wait_assigned(consumer)
        consumer.seek_to_end()
        for partition in consumer.assignment():  # the end now, not at the first poll
            consumer.position(partition)
        for call_id, customer in ((again, ref), (first, new_ref)):
            for record in _records(call_id, customer, now):
                producer.send(settings.topic(TRANSCRIPTS_TOPIC), key=call_id, value=record)
        producer.flush()
        docs = wait_for_calls(es, settings, [again, first], timeout=120)
        events: list[dict] = []
        for _ in range(6):
            events += [m.value for msgs in consumer.poll(timeout_ms=500).values() for m in msgs
                       if isinstance(m.value, dict)]  # fmt: skip
    finally:
        consumer.close()
        producer.close()

    alerts = {(e["call_id"], e["code"]): e for e in events if e["kind"] == "alert"}
    shown = alerts[(again, "repeat-contact")]
    assert shown["severity"] == "info" and shown["start"] == 0.0
    assert "近 7 天第 3 次来电" in shown["message"] and "12 小时前 · 账单查询" in shown["message"]
    level1 = alerts[(again, "dissatisfaction")]
    assert "「分期」来电 1 次" in level1["message"] and level1["start"] == 5.0
    assert ref not in str(events)  # the customer key is not shown, only what they called about
    assert docs[again]["repeat_contact"] == {
        "calls_before": 2,
        "window_days": 7.0,
        "same_issue": "分期",
    }

    assert not [k for k in alerts if k[0] == first]  # a first contact: nothing
    assert docs[first].get("repeat_contact") is None

    found = search_calls(es, settings, CallQuery(repeat="same_issue", customer=(ref, new_ref)))
    assert [h.call_id for h in found.hits] == [again]
    assert found.hits[0].repeat_contact["same_issue"] == "分期"
