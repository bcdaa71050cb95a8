"""Does a chunk that fits the schema fit its call? The ASR stage's own checks, after
streams/records.py has checked each record alone.

A chunk is refused (a `rejected` dead letter; the call goes on without it) when it

* is at another sample rate or encoding than its channel, or than the call's other channel;
* would be a third channel of the call;
* does not line up with its neighbours in the channel: chunk `seq` must start where chunk
  `seq - 1` ends and end where chunk `seq + 1` starts (when those are still held);
* starts before audio the channel already has in order, or more than MAX_JUMP_S after it:
  lost audio is bridged with silence, but a jump of hours would make the channel's buffer
  hours of silence.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_JUMP_S = 60.0


def chunk_problem(event: dict, samples: int, call: dict, channels: Mapping, chunks: Mapping,
                  max_jump_s: float = MAX_JUMP_S) -> str:  # fmt: skip
    """Why the chunk does not fit its call and channel; "" when it does."""
    call_id, role, seq = event["call_id"], event["role"], event["seq"]
    rate, encoding, offset = event["sample_rate"], event["encoding"], event["offset"]
    key = f"{call_id}|{role}"
    roles = list(call.get("roles") or [])
    if role not in roles and len(set(roles) | {role}) > 2:
        return f"chunk for a third channel ({role}) of a call with channels {', '.join(roles)}"
    for other in dict.fromkeys([role, *roles]):
        channel = channels.get(f"{call_id}|{other}")
        if channel is None:
            continue
        if channel["sample_rate"] != rate or channel["encoding"] != encoding:
            return (f"chunk at {rate} Hz {encoding} in a call whose {other} channel is at "
                    f"{channel['sample_rate']} Hz {channel['encoding']}")  # fmt: skip
    before, after = chunks.get(f"{key}|{seq - 1}"), chunks.get(f"{key}|{seq + 1}")
    if before is not None and before["offset"] + before["n"] != offset:
        return (f"{role} chunk {seq} starts at sample {offset}, but chunk {seq - 1} ends at "
                f"{before['offset'] + before['n']}")  # fmt: skip
    if after is not None and offset + samples != after["offset"]:
        return (f"{role} chunk {seq} ends at sample {offset + samples}, but chunk {seq + 1} "
                f"starts at {after['offset']}")  # fmt: skip
    channel = channels.get(key)
    if channel is None:
        heard = 0
    else:
        last = chunks.get(f"{key}|{channel['next_seq'] - 1}")
        heard = max(channel["buffer_start"], last["offset"] + last["n"] if last else 0)
        if seq >= channel["next_seq"] and offset < heard:
            return (f"{role} chunk {seq} starts at sample {offset}, inside audio the channel "
                    f"already has (up to sample {heard})")  # fmt: skip
    if offset - heard > max_jump_s * rate:
        return (f"{role} chunk {seq} starts {(offset - heard) / rate:.0f} s after the channel's "
                f"audio so far; at most {max_jump_s:g} s of lost audio is bridged")  # fmt: skip
    return ""


# --- what the segmenter does with a chunk these checks refuse, or a hole it bridges ---


def warn_hole(call: dict, role: str, hole: list[int]) -> None:
    """One warning on the call for a run of chunks that never came (bridged with silence)."""
    if hole:
        which = f"chunk {hole[0]}" if len(hole) == 1 else f"chunks {hole[0]}-{hole[-1]}"
        call["warnings"].append(f"{role}: {which} never arrived; treated as silence")
        hole.clear()


def reject(event: dict, reason: str) -> dict:
    """The dead letter for a refused event: the reason, and the event without its audio."""
    record = {k: v for k, v in event.items() if k != "payload"}
    return {
        "stage": "asr",
        "reason": reason,
        "call_id": event.get("call_id") or "",
        "record": record,
    }
