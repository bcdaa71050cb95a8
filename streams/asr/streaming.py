"""Per-call, per-channel streaming segmentation: the ASR stage's logic without Kafka.

State lives in three mappings that the worker backs with changelogged faust tables,
so a restarted or rebalanced worker resumes where the last one stopped:

    calls     call_id              -> call status, metadata, warnings
    channels  call_id|role         -> next expected seq, start of the untranscribed buffer
    chunks    call_id|role|seq     -> one audio chunk, kept until it has been transcribed

Processing is split so the slow decode runs outside the event loop:
`plan(event)` stores the chunk and cuts the speech regions that are complete;
the caller transcribes them; `records(plan, transcripts)` makes the segments;
once they are on the broker, `settle(plan)` moves the channels past their audio,
and once that is in the changelog, `purge` deletes the chunks (`commit` does all
three at once). A kill anywhere in between cuts the same audio again from the same
start, and segment ids are derived from the audio position, so a segment that is
emitted twice around a crash is recognisably the same segment downstream.

While a speaker is still talking, `plan` also asks for a *partial* decode of the
utterance so far (every `partial_interval_s` of new audio). Partials follow the
LocalAgreement-2 policy of whisper_streaming: the prefix on which the last two
hypotheses agree is committed (`stable`), later partials are forced to start with
it, so what an agent has seen never flickers. The final segment is decoded afresh
from the whole utterance with the full beam once the VAD sees the pause.

Several plans may be in flight at once (the caller pipelines decodes across
calls). What has been handed out for decoding is remembered in memory only
(`inflight`): after a crash it is forgotten and the audio, still in the chunks
table until its segment is committed, is cut and decoded again.
"""

from __future__ import annotations

import base64
import time
from collections.abc import MutableMapping

import numpy as np

from ..audio import MODEL_SAMPLE_RATE, AudioFormatError, decode, to_model_rate
from . import levels
from .checks import chunk_problem, reject, warn_hole
from .engine import Transcript
from .plan import Partial, Plan, Region
from .vad import PREROLL_S, VadFn, silero_vad


def segment_id(call_id: str, role: str, start: float) -> str:
    return f"{call_id}:{role}:{round(start * 1000)}"


class StreamingAsr:
    def __init__(
        self,
        calls: MutableMapping,
        channels: MutableMapping,
        chunks: MutableMapping,
        vad: VadFn,
        min_silence_s: float = 0.5,
        max_gap_chunks: int = 8,
        keep_context_s: float = 1.0,
        max_segment_s: float = 15.0,
        speech_gate_dbfs: float = -40.0,
        partial_interval_s: float = 1.0,
        preroll_s: float = PREROLL_S,
    ):
        self.calls, self.channels, self.chunks = calls, channels, chunks
        self.vad = vad
        self.min_silence_s = min_silence_s
        self.max_gap_chunks = max_gap_chunks
        self.keep_context_s = keep_context_s
        self.max_segment_s = max_segment_s
        self.speech_gate = 32768 * 10 ** (speech_gate_dbfs / 20)
        self.partial_interval_s = partial_interval_s  # 0 = no partials
        self.preroll_s = preroll_s  # decoded before each region's VAD start (vad.PREROLL_S)
        # In memory only (see the module docstring): channel -> native sample up to
        # which speech has been handed out for final decoding; up to which silence has
        # been let go of by plans not settled yet; channel -> partial state.
        self.inflight: dict[str, int] = {}
        self.trimmed: dict[str, int] = {}
        self.hypotheses: dict[str, dict] = {}
        self.closing: set[str] = set()  # calls whose end this process has planned

    @classmethod
    def from_settings(cls, settings, calls: MutableMapping, channels: MutableMapping,
                      chunks: MutableMapping) -> StreamingAsr:  # fmt: skip
        """The cutter as the ASR stage runs it (VAD pause, longest segment, partials)."""
        return cls(calls, channels, chunks,
                   silero_vad(settings.vad_min_silence_ms, settings.vad_max_segment_s),
                   min_silence_s=settings.vad_min_silence_ms / 1000,
                   max_segment_s=settings.vad_max_segment_s,
                   partial_interval_s=settings.asr_partial_interval_s)  # fmt: skip

    # --- events ---------------------------------------------------------------

    def plan(self, event: dict, now: float | None = None) -> Plan:
        now = time.time() if now is None else now
        kind = event.get("kind")
        call_id = event.get("call_id") or ""
        plan = Plan(call_id)
        if not call_id:
            plan.rejected.append(reject(event, "event without call_id"))
            return plan
        call = self.calls.get(call_id)
        if call and call.get("status") == "ended":
            if kind != "end":  # a second end (timeout vs hangup) is harmless
                plan.rejected.append(reject(event, f"{kind} event after the call ended"))
            return plan
        if kind == "start":
            self.calls[call_id] = self._new_call(event, now, call)
            if call is None:
                new = self.calls[call_id]
                plan.started = {"kind": "start", "call_id": call_id, "emitted_at": now,
                                "call": {k: new.get(k) for k in ("started_wall", "roles", "metadata",
                                                                 "encoding", "sample_rate")}}  # fmt: skip
        elif kind == "chunk":
            self._on_chunk(event, now, call, plan)
        elif kind == "end":
            if call_id in self.closing:
                return plan  # this process is closing the call already (a timeout raced the hangup)
            call = call or self._new_call(event, now, None, warning="call-end without call-start")
            call["status"] = "ending"
            call["end_reason"] = call.get("end_reason") or event.get("reason") or "hangup"
            call["ended_wall"] = now
            self.calls[call_id] = call
            for role in call.get("roles") or []:
                self._cut(call_id, role, plan, flush=True)
            plan.ending = call
            self.closing.add(call_id)
        else:
            plan.rejected.append(reject(event, f"unknown event kind {kind!r}"))
        return plan

    def commit(
        self, plan: Plan, transcripts: list[Transcript], now: float | None = None
    ) -> list[dict]:
        """`records`, `settle` and `purge` in one step, for callers with nothing to wait for."""
        out = self.records(plan, transcripts, now)
        self.purge(self.settle(plan, now))
        return out

    def records(
        self, plan: Plan, transcripts: list[Transcript], now: float | None = None
    ) -> list[dict]:
        """The decoded regions as segments, and the call's end when the plan closes it.

        Lets go of nothing: the stage sends these and waits for the broker before `settle`,
        so a kill in between cuts and decodes the same audio again (the same segment ids)
        instead of losing what was heard.
        """
        now = time.time() if now is None else now
        out: list[dict] = []
        for region, transcript in zip(plan.regions, transcripts, strict=True):
            if transcript.dropped or not transcript.text:
                self._count(plan.call_id, f"dropped-{transcript.dropped or 'empty'}")
                continue
            out.append(
                {
                    "kind": "segment",
                    "call_id": plan.call_id,
                    "segment_id": segment_id(plan.call_id, region.role, region.start),
                    "role": region.role,
                    "start": round(region.start, 3),
                    "end": round(region.end, 3),
                    "text": transcript.text,
                    "avg_logprob": transcript.avg_logprob,
                    "no_speech_prob": transcript.no_speech_prob,
                    "speech_end_wall": region.speech_end_wall,
                    "emitted_at": now,
                }
            )
        if plan.ending is not None and self._ending(plan.call_id):
            out.append(self._end_record(plan.call_id, now))
        return out

    def settle(self, plan: Plan, now: float | None = None) -> list[str]:
        """Let go of the audio the plan's records cover: each channel's buffer now starts
        after it (or the ending call is closed, leaving its tombstone).

        Returns the chunk keys that may now be deleted; `purge` them only once these writes
        are durable. A chunk deleted before its channel moved on would leave a silent hole
        at the start of the audio that a restarted worker cuts again, and the utterance
        would come out a second time, cut short and with another start.
        """
        now = time.time() if now is None else now
        freed: list[str] = []
        releases = dict(plan.releases)
        for region in plan.regions:
            releases[region.role] = max(releases.get(region.role, 0), region.release_to)
        for role, release_to in releases.items():
            freed += self._release(plan.call_id, role, release_to)
        if plan.ending is not None:
            self.closing.discard(plan.call_id)
            if self._ending(plan.call_id):
                freed += self._close(plan.call_id, now, plan.shard)
        return freed

    def purge(self, keys: list[str]) -> None:
        """Delete chunks that `settle` freed."""
        for key in keys:
            self.chunks.pop(key, None)

    def _ending(self, call_id: str) -> bool:
        return (self.calls.get(call_id) or {}).get("status") == "ending"

    def idle_calls(self, now: float, timeout_s: float, busy: set[str] = frozenset(),
                   read_until: float | None = None) -> list[str]:  # fmt: skip
        """Calls to close: live ones that received nothing for `timeout_s` (their end never
        came) of the time up to which the stage has read its input (`read_until`, default
        `now`: streams/stages/reading.py), and ones whose end was consumed but never
        completed (a crash in between), unless this process is still working on them (`busy`)."""
        idle = []
        read = now if read_until is None else read_until
        for call_id, call in list(self.calls.items()):
            status = call.get("status")
            if status == "live" and read - call.get("last_wall", read) > timeout_s:
                idle.append(call_id)
            elif (
                status == "ending"
                and call_id not in busy
                and call_id not in self.closing
                and now - call.get("ended_wall", now) > 5.0
            ):
                idle.append(call_id)
        return idle

    # --- internals ------------------------------------------------------------

    def _new_call(self, event: dict, now: float, previous: dict | None, warning: str = "") -> dict:
        call = {
            "status": "live",
            "started_wall": event.get("produced_at") or now,
            "last_wall": now,
            "roles": list(event.get("roles") or (previous or {}).get("roles") or []),
            "metadata": dict(event.get("metadata") or {}),
            "sample_rate": event.get("sample_rate", 8000),
            "encoding": event.get("encoding", "pcm16"),
            "warnings": list((previous or {}).get("warnings") or []),
            "counters": dict((previous or {}).get("counters") or {}),
        }
        if previous:
            call["warnings"].append("duplicate call-start ignored")
            call["roles"] = previous["roles"] or call["roles"]
            call["started_wall"] = previous["started_wall"]
        if warning:
            call["warnings"].append(warning)
        return call

    def _on_chunk(self, event: dict, now: float, call: dict | None, plan: Plan) -> None:
        call_id, role, seq = event["call_id"], event.get("role") or "", int(event.get("seq", -1))
        if call is None:
            call = self._new_call(
                event, now, None, warning="audio before call-start (start event missing)"
            )
        call["last_wall"] = now
        key = f"{call_id}|{role}"
        channel = self.channels.get(key) or {
            "next_seq": 0, "first_seq": 0, "buffer_start": 0, "levels": levels.empty(),
            "sample_rate": event.get("sample_rate", 8000), "encoding": event.get("encoding", "pcm16"),
        }  # fmt: skip
        try:
            if seq < 0:
                raise AudioFormatError("chunk without seq")
            samples = decode(
                base64.b64decode(event.get("payload") or ""), event.get("encoding", "pcm16")
            )
        except (AudioFormatError, ValueError) as exc:
            plan.rejected.append(reject(event, f"undecodable audio chunk: {exc}"))
            self.calls[call_id] = call
            return
        problem = chunk_problem(event, samples.size, call, self.channels, self.chunks)
        if problem:
            plan.rejected.append(reject(event, problem))
            self.calls[call_id] = call
            return
        if role not in call["roles"]:
            call["roles"].append(role)
        chunk_key = f"{key}|{seq}"
        expected = channel["next_seq"]
        if seq < expected or chunk_key in self.chunks:
            call["counters"]["duplicate_chunks"] = call["counters"].get("duplicate_chunks", 0) + 1
            self.calls[call_id] = call
            return
        self.chunks[chunk_key] = {
            "offset": int(event.get("offset", 0)),
            "n": int(samples.size),
            "payload": event["payload"],
            "encoding": event.get("encoding", "pcm16"),
            "produced_at": event.get("produced_at") or now,
            "loud": bool(samples.size)
            and float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > self.speech_gate,
        }
        levels.add(channel["levels"], samples)
        # Advance over the contiguous run; skip a hole that stays open too long (one
        # warning per hole, however many chunks it spans).
        hole: list[int] = []
        while True:
            while f"{key}|{channel['next_seq']}" in self.chunks:
                warn_hole(call, role, hole)
                channel["next_seq"] += 1
            if seq - channel["next_seq"] + 1 <= self.max_gap_chunks:
                break
            hole.append(channel["next_seq"])
            channel["next_seq"] += 1
        warn_hole(call, role, hole)
        if seq != expected:
            call["counters"]["out_of_order_chunks"] = (
                call["counters"].get("out_of_order_chunks", 0) + 1
            )
        self.channels[key] = channel
        self.calls[call_id] = call
        speaking = self._still_speaking(key, channel) or self._cut(call_id, role, plan, flush=False)
        if speaking and self.partial_interval_s > 0:
            self._plan_partial(call_id, role, plan)

    def _still_speaking(self, key: str, channel: dict) -> bool:
        """Cheap gate before the VAD: the newest audio ends loud, so no region can be complete.

        Running the VAD over the whole buffer on every chunk is what costs; a segment can
        only end where the channel has gone quiet. Long speech is still cut at
        max_segment_s.
        """
        last = self.chunks.get(f"{key}|{channel['next_seq'] - 1}")
        if not last:
            return False
        rate = channel["sample_rate"]
        if (last["offset"] + last["n"] - self._origin(key)) / rate >= self.max_segment_s:
            return False
        tail = decode(base64.b64decode(last["payload"]), last["encoding"])[
            -int(rate * self.min_silence_s / 2) :
        ]
        if tail.size == 0:
            return False
        rms = float(np.sqrt(np.mean(tail.astype(np.float64) ** 2)))
        return rms > self.speech_gate

    def _origin(self, key: str) -> int:
        """Where the channel's audio still to be cut starts: past what was handed out for
        decoding and what was let go of, settled or not. `buffer_start` lags by however busy
        the decoder is (a plan settles after the ones before it); cut from it, the same call
        would be cut, and heard, differently from run to run."""
        start = self.channels[key]["buffer_start"]
        return max(start, self.inflight.get(key, 0), self.trimmed.get(key, 0))

    def _buffer(self, call_id: str, role: str) -> tuple[np.ndarray, int, int, list[dict]]:
        """The channel's audio not yet handed out for decoding (native rate, int16) and where it starts."""
        key = f"{call_id}|{role}"
        channel = self.channels[key]
        origin = self._origin(key)
        stored = [
            self.chunks.get(f"{key}|{s}") for s in range(channel["first_seq"], channel["next_seq"])
        ]
        stored = [c for c in stored if c and c["offset"] + c["n"] > origin]
        if not stored:
            return np.zeros(0, np.int16), origin, channel["sample_rate"], []
        end = max(c["offset"] + c["n"] for c in stored)
        audio = np.zeros(max(0, end - origin), np.int16)  # holes stay silent
        for c in stored:
            samples = decode(base64.b64decode(c["payload"]), c["encoding"])
            lo, hi = c["offset"] - origin, c["offset"] + c["n"] - origin
            audio[max(lo, 0) : hi] = samples[max(-lo, 0) :]
        return audio, origin, channel["sample_rate"], stored

    def _cut(self, call_id: str, role: str, plan: Plan, flush: bool) -> bool:
        """Queue the channel's completed speech regions (all of them when flushing).

        Returns True when speech has started that is not complete yet.
        """
        key = f"{call_id}|{role}"
        if key not in self.channels:
            return False
        native, start, rate, stored = self._buffer(call_id, role)
        if native.size == 0:
            return False
        audio = to_model_rate(native, rate)
        regions = self.vad(audio)
        min_silence = int(self.min_silence_s * MODEL_SAMPLE_RATE)
        n = len(audio)
        to_native = rate / MODEL_SAMPLE_RATE
        release = None
        incomplete = False
        preroll, previous_end = int(self.preroll_s * MODEL_SAMPLE_RATE), 0
        for lo, hi in regions:
            complete = flush or hi <= n - min_silence // 2
            if not complete:
                incomplete = True
                break
            abs_start = start / rate + lo / MODEL_SAMPLE_RATE
            abs_end = start / rate + hi / MODEL_SAMPLE_RATE
            end_native = start + int(hi * to_native)
            plan.regions.append(
                Region(
                    call_id,
                    role,
                    abs_start,
                    abs_end,
                    audio[max(previous_end, lo - preroll) : hi],
                    _wall_at(stored, end_native, rate),
                    release_to=end_native,
                )  # fmt: skip
            )
            self.inflight[key] = end_native
            previous_end = hi
            self.hypotheses.pop(key, None)  # the utterance is final; partials start afresh
        if not regions and not flush:
            # No speech: keep only a little context so the buffer stays bounded.
            keep = int(self.keep_context_s * rate)
            if native.size > 2 * keep:
                release = start + native.size - keep
        if flush:
            release = start + native.size
        elif release is not None:
            self.trimmed[key] = release
        if release is not None:
            plan.releases[role] = max(plan.releases.get(role, 0), release)
        return incomplete

    def _plan_partial(self, call_id: str, role: str, plan: Plan) -> None:
        """Ask for a partial decode of the utterance so far, once enough new audio came."""
        key = f"{call_id}|{role}"
        channel = self.channels[key]
        rate = channel["sample_rate"]
        if self.inflight.get(key, 0) > channel["buffer_start"]:
            return  # this speaker's previous utterance is still being decoded; its final comes first
        origin = self._origin(key)  # nothing is in flight past buffer_start here
        state = self.hypotheses.get(key)
        if state is None or state["origin"] != origin:
            state = {"origin": origin, "upto": origin, "last": "", "stable": "", "revision": 0}
            self.hypotheses[key] = state
        native, start, _, stored = self._buffer(call_id, role)
        upto = start + native.size
        if not stored or (upto - state["upto"]) < self.partial_interval_s * rate:
            return
        if not any(c.get("loud", True) for c in stored):
            return
        state["upto"] = upto
        plan.partials.append(
            Partial(
                call_id,
                role,
                origin,
                upto,
                start / rate,
                upto / rate,
                to_model_rate(native, rate),
                state["stable"],
                _wall_at(stored, upto - 1, rate),
            )  # fmt: skip
        )

    def commit_partial(
        self, partial: Partial, transcript: Transcript, now: float | None = None
    ) -> dict | None:
        """A partial segment record, or None when it is stale (its utterance went final)."""
        now = time.time() if now is None else now
        key = f"{partial.call_id}|{partial.role}"
        state = self.hypotheses.get(key)
        if (
            state is None
            or state["origin"] != partial.origin
            or transcript.dropped
            or not transcript.text
        ):
            return None
        stable = agreed_prefix(state["last"], transcript.text, state["stable"])
        state.update(last=transcript.text, stable=stable, revision=state["revision"] + 1)
        return {
            "kind": "partial",
            "call_id": partial.call_id,
            "segment_id": f"{segment_id(partial.call_id, partial.role, partial.start)}:p",
            "revision": state["revision"],
            "role": partial.role,
            "start": round(partial.start, 3),
            "end": round(partial.end, 3),
            "text": transcript.text,
            "stable": stable,
            "avg_logprob": transcript.avg_logprob,
            "no_speech_prob": transcript.no_speech_prob,
            "speech_end_wall": partial.speech_end_wall,
            "emitted_at": now,
        }

    def abandon(self, plan: Plan) -> None:
        """Decoding a plan failed: forget what it handed out so the audio is cut again."""
        for region in plan.regions:
            self.inflight.pop(f"{plan.call_id}|{region.role}", None)
        for role in plan.releases:
            self.trimmed.pop(f"{plan.call_id}|{role}", None)

    def _release(self, call_id: str, role: str, release_to: int) -> list[str]:
        """Move the channel's buffer start to `release_to`; the keys of the chunks it frees."""
        key = f"{call_id}|{role}"
        channel = self.channels.get(key)
        if channel is None or release_to <= channel["buffer_start"]:
            return []
        channel["buffer_start"] = release_to
        for handed in (self.inflight, self.trimmed):
            if handed.get(key, 0) <= release_to:
                handed.pop(key, None)
        freed = []
        seq = channel["first_seq"]
        while seq < channel["next_seq"]:
            chunk = self.chunks.get(f"{key}|{seq}")
            if chunk and chunk["offset"] + chunk["n"] > release_to:
                break
            if chunk:
                freed.append(f"{key}|{seq}")
            seq += 1
        channel["first_seq"] = seq
        self.channels[key] = channel
        return freed

    def _count(self, call_id: str, name: str) -> None:
        call = self.calls.get(call_id)
        if call:
            call["counters"][name] = call["counters"].get(name, 0) + 1
            self.calls[call_id] = call

    def expired(self, now: float, keep_s: float, shard: int) -> list[str]:
        """Tombstones of calls that ended more than `keep_s` ago in partition `shard` (where
        their changelog entries live: the caller forgets them while handling an event of it)."""
        before = now - keep_s
        return [call_id for call_id, call in list(self.calls.items())
                if call.get("status") == "ended" and call.get("shard") == shard
                and call.get("ended_wall", before) < before]  # fmt: skip

    def forget(self, call_ids: list[str]) -> None:
        """Drop expired tombstones, and any chunk of those calls still stored (a kill between
        a channel's move and the deletes it allowed leaves some behind)."""
        gone = set(call_ids)
        for call_id in gone:
            self.calls.pop(call_id, None)
        if gone:
            for key in [k for k in list(self.chunks) if k.split("|", 1)[0] in gone]:
                self.chunks.pop(key, None)

    def _end_record(self, call_id: str, now: float) -> dict:
        call = self.calls[call_id]
        stats = {}
        for role in call.get("roles") or []:
            channel = self.channels.get(f"{call_id}|{role}")
            if channel is not None:
                stats[role] = levels.finish(channel["levels"], channel["sample_rate"])
        duration = max((s.get("seconds", 0.0) for s in stats.values()), default=0.0)
        info = {
            "status": "completed" if call.get("end_reason") == "hangup" else call.get("end_reason"),
            "end_reason": call.get("end_reason"),
            "started_wall": call.get("started_wall"),
            "ended_wall": call.get("ended_wall", now),
            "duration": round(duration, 3),
            "roles": call.get("roles"),
            "metadata": call.get("metadata"),
            "encoding": call.get("encoding"),
            "sample_rate": call.get("sample_rate"),
            "warnings": call.get("warnings"),
            "counters": call.get("counters"),
            "channel_stats": stats,
        }
        return {"kind": "end", "call_id": call_id, "call": info, "emitted_at": now}

    def _close(self, call_id: str, now: float, shard: int | None = None) -> list[str]:
        """Replace the ended call's state by a small tombstone, so late audio for it is
        recognised, not restarted; the keys of its chunks (see `settle`)."""
        call = self.calls[call_id]
        freed = []
        for role in call.get("roles") or []:
            key = f"{call_id}|{role}"
            channel = self.channels.pop(key, None)
            self.inflight.pop(key, None)
            self.trimmed.pop(key, None)
            self.hypotheses.pop(key, None)
            if channel is not None:
                seqs = range(channel["first_seq"], channel["next_seq"] + self.max_gap_chunks + 1)
                freed += [f"{key}|{seq}" for seq in seqs if f"{key}|{seq}" in self.chunks]
        self.calls[call_id] = {
            "status": "ended",
            "ended_wall": call.get("ended_wall", now),
            "shard": shard,
            "roles": call.get("roles"),
        }
        return freed


def agreed_prefix(previous: str, current: str, committed: str = "") -> str:
    """LocalAgreement-2: the committed text grows to what two consecutive hypotheses share.

    Committed text never shrinks; a hypothesis that contradicts it (possible only when
    the decoder was not forced to start with it) leaves it as it is.
    """
    n = 0
    for a, b in zip(previous, current, strict=False):
        if a != b:
            break
        n += 1
    agreed = current[:n]
    if len(agreed) > len(committed) and agreed.startswith(committed):
        return agreed
    return committed


def _wall_at(stored: list[dict], sample: int, rate: int) -> float:
    """Wall-clock time at which `sample` had been spoken, from the chunk that holds it."""
    for chunk in stored:
        if chunk["offset"] <= sample < chunk["offset"] + chunk["n"]:
            return chunk["produced_at"] - (chunk["offset"] + chunk["n"] - sample) / rate
    return stored[-1]["produced_at"] if stored else 0.0
