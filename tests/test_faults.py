"""Faults on a running split-stage deployment (issue 15, item 3).

One noida-db of this module's own (its servers are stopped and restarted) and four worker
processes, one per stage (CALLQA_STAGES=asr / scoring / index / recorder, each with its own
CALLQA_WORKER_ID), as the compose file deploys them. Real audio replayed as live calls
through real whisper; every test checks each call against its script (calls/audio/*.json):
exactly one call document, inspected and never failed, every scripted utterance covered by a
segment, no segment twice, the script's intent and complaint alert, one recording of the
call's length, no dead letter; and the agent-assist topic folded as the desk folds it
(streams.web.live.LiveCalls): no alert counted twice, none raised twice for the same words,
the complaint alert only on the escalating call (tests/faultkit.py).

* a stage killed with kill -9 mid-call and restarted: ASR while the customer is
  mid-utterance, the scoring stage right after it sent the complaint alert, the index while
  it writes the call's segments, the recorder while it spools the call, each alone; the
  scoring stage after the complaint alert and again right after it sent the call's end; and
  ASR, then scoring twice, in one call;
* Elasticsearch unavailable for 60 s while two calls are live (noida-db stops its
  Elasticsearch service; Kafka stays up): no call is ever marked failed, and both are
  complete and covered once it is back;
* the broker (the whole noida-db process) stopped mid-call and started again on the same
  ports and data;
* last, two workers of a stage: a second one started mid-call, then the first stopped, so
  every partition of the stage moves once while the call goes on (xfail on noida-db, whose
  group never rebalances on a leave: a failed one leaves partitions no worker reads, so
  nothing runs after it).

All are `slow` (`make test-all`; the whole module takes about 20 minutes). The default run's
kill test is tests/test_restart.py: the all-in-one worker killed mid-utterance and again right
after the call's end.
"""

from __future__ import annotations

import threading
import time

import pytest

from streams.coverage import coverage
from streams.settings import ASSIST_TOPIC, SCORED_TOPIC, TRANSCRIPTS_TOPIC

from .conftest import call_meta
from .faultkit import (
    STAGES,
    FaultStack,
    Replay,
    TopicWatch,
    call_problems,
    desk,
    desk_problems,
    summaries_differ,
    wait_for,
)

ESCALATING = "call-05-dispute-complaint"
SPEED = 2.0  # where a fault only has to hit mid-call


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    stack = FaultStack(tmp_path_factory.mktemp("faults")).start()
    try:
        stack.start_workers({stage: stage for stage in STAGES})
        yield stack
    finally:
        stack.close()


@pytest.fixture
def deployment(split):
    """The split deployment with one live worker per stage (a test that failed half-way
    may have left one dead)."""
    for name, alive in split.alive().items():
        if not alive:
            split.restart(name)
    return split


def check(stack: FaultStack, calls: dict[str, str]) -> None:
    """Every call against its script, the desk, and no dead letters."""
    docs = stack.wait_for_calls(calls, timeout=300)
    assert sorted(docs) == sorted(calls), "calls never inspected"
    folded = desk(stack, calls)
    for call_id, name in calls.items():
        alerts = {code: line["count"] for code, line in folded.alerts(call_id).items()}
        print(f"{call_id}: alerts on the desk {alerts}, {folded.resent(call_id)} events re-sent")
        assert call_problems(stack, call_id, name) == [], call_id
        assert desk_problems(folded, call_id, name) == [], call_id
    letters = stack.dead_letters(calls)
    assert [(v["stage"], v["reason"][:200]) for v in letters] == []


# -- kill -9 of one stage -------------------------------------------------------------------


def finals_seen(n: int):
    return lambda record, seen: sum(r["kind"] == "segment" for r in seen) >= n


def mid_utterance(replay: Replay, name: str) -> bool:
    """Is someone speaking in the call right now (at least 1 s into a scripted utterance and
    not in its last 0.5 s)?"""
    now = replay.call_time()
    return any(u["start"] + 1.0 <= now <= u["end"] - 0.5 for u in call_meta(name)["utterances"])


# stage -> (topic watched, the record after which to kill it, then a wait for the moment)
KILL_AT = {
    # ASR: three finals out, then while someone speaks: their words exist only as audio in
    # the ASR's table (and perhaps partials), not as a final.
    "asr": (TRANSCRIPTS_TOPIC, finals_seen(3), mid_utterance),
    # Scoring: right after it sent the complaint alert, within its 1 s commit interval, so
    # what led to the alert is likely read and scored again after the restart.
    "scoring": (
        ASSIST_TOPIC,
        lambda record, seen: record["kind"] == "alert" and record["code"] == "complaint-risk",
        None,
    ),
    # Index: while the call's segments are being written.
    "index": (SCORED_TOPIC, finals_seen(5), None),
    # Recorder: a while into the call (its spool exists by then).
    "recorder": (TRANSCRIPTS_TOPIC, finals_seen(4), None),
}


def unfinished(stack: FaultStack, stage: str, call_id: str) -> bool:
    """Has the stage not finished the call yet (the fault hits it mid-call)?"""
    if stage in ("asr", "scoring"):
        topic = TRANSCRIPTS_TOPIC if stage == "asr" else SCORED_TOPIC
        return not any(r["kind"] == "end" for r in stack.read_topic(topic, [call_id]))
    if stage == "index":
        return (stack.call_doc(call_id) or {}).get("status") in (None, "live")
    return stack.spooled(call_id) and not stack.recordings_of(call_id)


def kill_at_its_moment(deployment: FaultStack, stage: str, call_id: str, replay: Replay) -> None:
    """Wait for the stage's moment in the call (KILL_AT), kill -9 it there (it must not have
    finished the call) and start a fresh process with the same worker id."""
    topic, after, moment = KILL_AT[stage]
    watch = TopicWatch(deployment, topic, [call_id])
    try:
        watch.until(after, timeout=150, what=f"the moment to kill {stage}")
    finally:
        watch.close()
    if moment is not None:
        wait_for(lambda: moment(replay, ESCALATING), 30, f"the moment to kill {stage}", every=0.1)
    name = deployment.worker_for(stage)
    deployment.kill(name)  # kill -9 of its process group
    assert unfinished(deployment, stage, call_id), f"{stage} had finished the call"
    deployment.restart(name)  # a fresh process with the same worker id


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_killed_mid_call_loses_and_duplicates_nothing(deployment, stage):
    """Each stage killed alone at its moment (KILL_AT)."""
    call_id = deployment.call_id(ESCALATING, f"kill-{stage}")
    replay = deployment.replay({call_id: ESCALATING}, SPEED)
    kill_at_its_moment(deployment, stage, call_id, replay)
    replay.join()
    check(deployment, {call_id: ESCALATING})


@pytest.mark.slow
@pytest.mark.parametrize(
    "before", [pytest.param((), id="scoring"), pytest.param(("asr",), id="asr-then-scoring")]
)
def test_scoring_killed_after_the_complaint_alert_and_again_after_the_end(deployment, before):
    """The scoring stage killed right after it sent the complaint alert, and again right after
    it sent the call's end (`killed_again_after_the_end`); in the second case ASR is killed
    first, while the customer is mid-utterance, in the same call."""
    call_id = deployment.call_id(ESCALATING, "kill-" + "-".join((*before, "scoring")))
    scored = TopicWatch(deployment, SCORED_TOPIC, [call_id])
    try:
        replay = deployment.replay({call_id: ESCALATING}, SPEED)
        for stage in (*before, "scoring"):
            kill_at_its_moment(deployment, stage, call_id, replay)
        killed_again_after_the_end(deployment, deployment.worker_for("scoring"), scored)
        replay.join()
        check(deployment, {call_id: ESCALATING})
    finally:
        scored.close()


def killed_again_after_the_end(deployment: FaultStack, name: str, scored: TopicWatch) -> None:
    """kill -9 of the scoring stage right after it sent the call's end, within its 1 s commit
    interval: after the restart it reads the call's last records and its end again, with the
    state its changelog holds. Nothing may start afresh: above all no second summary of a
    call whose state is gone, which would overwrite the real one in the index. The end may
    go out again (at least once: killed after it was sent and before the state was), but only
    as the same summary."""
    scored.until(lambda record, seen: record["kind"] == "end", timeout=150, what="the end")
    deployment.restart(name)  # kill -9; returns once the fresh process is ready
    deadline = time.monotonic() + 6.0  # ready, it reads again within a second or two
    while time.monotonic() < deadline:
        scored.poll()
    ends = [record["summary"] for record in scored.records if record["kind"] == "end"]
    print(f"{len(ends)} summaries of the call were sent")
    assert summaries_differ(ends) == {}


# -- Elasticsearch unavailable -------------------------------------------------------------


@pytest.mark.slow
def test_elasticsearch_unavailable_for_60_s_during_live_calls(deployment):
    calls = {deployment.call_id(name, "es-down"): name
             for name in ("call-01-bill", "call-04-lost-card")}  # fmt: skip
    seen: dict[str, set] = {call_id: set() for call_id in calls}
    polling = threading.Event()

    def watch_statuses():
        """Every status the call documents show while Elasticsearch answers."""
        es = deployment.es
        while not polling.is_set():
            for call_id in calls:
                try:
                    doc = es.get(index=deployment.settings.index("calls"), id=call_id,
                                 source=["status"])  # fmt: skip
                    seen[call_id].add(doc["_source"].get("status"))
                except Exception:  # noqa: BLE001 - absent yet, or Elasticsearch down
                    pass
            time.sleep(0.5)

    poller = threading.Thread(target=watch_statuses, daemon=True)
    poller.start()
    replay = deployment.replay(calls, speed=1.0)
    try:
        # The outage hits calls in progress: each has its live document and some segments.
        wait_for(lambda: all("live" in s for s in seen.values()), 60, "the calls' live documents")
        replay.at(12)
        deployment.elasticsearch_down()
        down_at = replay.call_time()
        time.sleep(60)
        deployment.elasticsearch_up()
    finally:
        polling.set()
    assert down_at < 20, "the outage began after the calls"
    replay.join()
    check(deployment, calls)
    poller.join(5)
    assert all("failed" not in statuses for statuses in seen.values()), seen
    report = coverage(deployment.es, deployment.settings, replay.started - 5, time.time(),
                      bootstrap_servers=deployment.bootstrap)  # fmt: skip
    assert (report["started"], report["inspected"], report["coverage"]) == (2, 2, 1.0), report
    assert report["inspected_with_problems"] == [] and report["missing"] == []


# -- the broker restarted ------------------------------------------------------------------


@pytest.mark.slow
def test_the_broker_restarted_mid_call(deployment):
    """Every server goes down and comes back."""
    call_id = deployment.call_id(ESCALATING, "broker")
    replay = deployment.replay({call_id: ESCALATING}, speed=1.0)
    replay.at(25)
    deployment.restart_broker(down_s=5)
    assert replay.call_time() < 50
    replay.join()
    assert all(deployment.alive().values()), f"workers gone: {deployment.alive()}"
    check(deployment, {call_id: ESCALATING})


# -- a rebalance (last: on noida-db a failed one leaves partitions that no worker reads) -----


@pytest.mark.slow
@pytest.mark.xfail(
    reason="noida-db does not rebalance a consumer group when a member leaves: the remaining "
    "worker keeps the partitions it got when it joined, and the leaver's are read by no one "
    "(a real Kafka rebalances on LeaveGroup). Passes when the call's partition went to the "
    "new worker at the join; fails when it stayed with the worker that is stopped.",
    strict=False,
)
@pytest.mark.parametrize("stage", STAGES)
def test_a_second_worker_and_one_stopped_mid_call(deployment, stage):
    """Start a second worker of `stage` mid-call (the group splits the partitions), then stop
    the first (the second takes them all): the call's partition moves once, mid-call."""
    call_id = deployment.call_id(ESCALATING, f"rebalance-{stage}")
    first = deployment.worker_for(stage)
    replay = deployment.replay({call_id: ESCALATING}, speed=1.0)
    replay.at(8)
    deployment.add_worker(stage)
    deployment.stop_worker(first)
    assert unfinished(deployment, stage, call_id), f"{stage} had finished the call"
    replay.join()
    check(deployment, {call_id: ESCALATING})
