"""What the streaming segmenter (streams/asr/streaming.py) hands its caller for one audio
event: the speech regions to decode, the partials to ask for, the audio to let go of."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Region:
    call_id: str
    role: str
    start: float  # seconds from call start
    end: float
    audio: np.ndarray  # 16 kHz float32
    speech_end_wall: float
    release_to: int  # native sample index the channel buffer may advance to after decoding


@dataclass
class Partial:
    call_id: str
    role: str
    origin: int  # native sample where this utterance's audio starts
    upto: int  # native sample the audio runs to
    start: float
    end: float
    audio: np.ndarray  # 16 kHz float32
    prefix: str  # committed text the hypothesis must start with
    speech_end_wall: float


@dataclass
class Plan:
    call_id: str
    regions: list[Region] = field(default_factory=list)
    partials: list[Partial] = field(default_factory=list)
    releases: dict[str, int] = field(default_factory=dict)  # role -> buffer start without speech
    started: dict | None = None  # call info when this event starts a new call
    ending: dict | None = None  # call info when this event ends the call
    rejected: list[dict] = field(default_factory=list)  # dead letters
    event: object = None  # the caller may keep its source event here (see streams/worker.py)
    shard: int | None = None  # the caller's partition of the call: its tombstone names it
