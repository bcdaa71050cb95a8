"""A running worker serves a newly published model version without a restart."""

from __future__ import annotations

import shutil
import time

from models import registry
from streams.ingest.replay import make_producer
from streams.kafka_admin import json_consumer, wait_assigned
from streams.settings import SCORED_TOPIC, TRANSCRIPTS_TOPIC


def _segment(call_id: str, i: int) -> dict:
    return {"kind": "segment", "call_id": call_id, "segment_id": f"{call_id}:customer:{i}", "role": "customer",
            "start": float(i * 5), "end": float(i * 5 + 3), "text": "我想把这期账单分十二期", "avg_logprob": -0.2,
            "no_speech_prob": 0.01}  # fmt: skip


def _scored_until(stack, call_id: str, predicate, timeout: float = 60.0) -> list[dict]:
    """Send segments of `call_id` one by one until a scored record satisfies `predicate`."""
    bootstrap = stack.services.kafka_bootstrap_servers
    consumer = json_consumer(bootstrap, stack.settings.topic(SCORED_TOPIC))
    producer = make_producer(bootstrap)
    seen: list[dict] = []
    try:
        wait_assigned(consumer)
        consumer.seek_to_end()
        deadline, i = time.monotonic() + timeout, len(seen)
        while time.monotonic() < deadline:
            producer.send(
                stack.settings.topic(TRANSCRIPTS_TOPIC), key=call_id, value=_segment(call_id, i)
            )
            producer.flush()
            i += 1
            until = time.monotonic() + 2.0
            while time.monotonic() < until:
                for msgs in consumer.poll(timeout_ms=300).values():
                    seen += [
                        m.value
                        for m in msgs
                        if isinstance(m.value, dict) and m.value.get("call_id") == call_id
                    ]
                if seen and predicate(seen[-1]):
                    return seen
        raise AssertionError(
            f"no scored record of {call_id} matched within {timeout}s; last: {seen[-1:]}"
        )
    finally:
        consumer.close()
        producer.close()


def test_worker_picks_up_a_new_version_and_records_it_on_each_segment(stack):
    models_dir = stack.settings.models_dir
    old = registry.load(models_dir, "intent")
    call_id = f"hot-reload-{int(time.time())}"
    first = _scored_until(stack, call_id, lambda r: True)
    assert first[-1]["model_versions"]["intent"] == old.version
    assert first[-1]["intent"] == "分期"

    # Publish a new version (the same pipeline, a new card) while the worker runs.
    new_version = registry.publish(
        models_dir, "intent", old.pipeline, {**old.card, "note": "hot reload test"}
    )
    assert new_version != old.version and registry.latest(models_dir, "intent") == new_version
    later = _scored_until(stack, call_id, lambda r: r["model_versions"]["intent"] == new_version)
    assert later[-1]["intent"] == "分期"
    assert "models reloaded" in (stack.data_dir / "worker.log").read_text(errors="replace")


def test_a_broken_version_is_refused_and_scoring_goes_on(stack):
    models_dir = stack.settings.models_dir
    current = registry.latest(models_dir, "intent")
    card = registry.read_card(models_dir, "intent", current)
    broken = registry.publish(models_dir, "intent", object(), card)  # cannot predict anything
    registry.artifact_path(models_dir, "intent", broken).write_bytes(b"not a pickle")
    log = stack.data_dir / "worker.log"
    try:
        # A reload tick (CALLQA_MODEL_RELOAD_S=1) tries it; one still loading the version
        # before (~4 s on 2 busy cores) makes that wait, so wait for the refusal itself.
        deadline = time.monotonic() + 60
        while f"cannot load models {{'intent': '{broken}'" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the broken version was never tried"
            time.sleep(0.5)
        seen = _scored_until(stack, f"broken-version-{int(time.time())}", lambda r: True)
        assert seen[-1]["model_versions"]["intent"] == current
        assert seen[-1]["intent"] == "分期"
    finally:
        shutil.rmtree(models_dir / "intent" / broken)


RULE = """rules:
  - id: test-hot-rule
    name: 热更新测试规则
    description: 客户说到「分十二期」时提醒（测试规则文件改动无需重启即可生效）。
    severity: minor
    deduction: 0
    role: customer
    mode: live
    when:
      keywords: {any: [分十二期]}
"""


def test_an_edited_rule_file_is_served_without_a_restart(stack):
    rules_dir = stack.settings.lexicons_dir / "rules"
    added = rules_dir / "zz-hot-reload-test.yaml"
    log = stack.data_dir / "worker.log"

    def fired(record):
        return any(h["rule_id"] == "test-hot-rule" for h in record["rule_hits"])

    try:
        first = _scored_until(stack, f"rules-before-{int(time.time())}", lambda r: True)
        assert not fired(first[-1])
        added.write_text(RULE, encoding="utf-8")
        seen = _scored_until(stack, f"rules-after-{int(time.time())}", fired)
        hit = next(h for h in seen[-1]["rule_hits"] if h["rule_id"] == "test-hot-rule")
        assert hit["matched_by"] == "chars" and hit["role"] == "customer"

        # A broken edit is refused with its file and field; the rules in force stay.
        added.write_text(RULE.replace("severity: minor", "severity: huge"), encoding="utf-8")
        time.sleep(3)  # a few reload ticks
        seen = _scored_until(stack, f"rules-broken-{int(time.time())}", lambda r: True)
        assert fired(seen[-1])
        text = log.read_text(errors="replace")
        assert "keeping the previous rule set" in text and "zz-hot-reload-test.yaml" in text
    finally:
        added.unlink(missing_ok=True)
