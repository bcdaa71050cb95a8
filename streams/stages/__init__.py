"""The pipeline's stages. Each is one module with a `register(pipeline)` function that
puts its agents and timers on the faust app; the worker (streams/worker.py) owns the app,
the topics, the tables and readiness, and registers the stages named in CALLQA_STAGES.

    asr      audio -> transcripts            (streams/stages/asr.py)
    scoring  transcripts -> scored, assist   (streams/stages/scoring.py)
    index    scored -> Elasticsearch         (streams/stages/index.py)
    recorder audio -> recording store        (streams/stages/recorder.py)

A new stage is a new module here with a `register` function, and a line in `STAGES`.
"""

from __future__ import annotations

from importlib import import_module

from .pipeline import Pipeline

STAGES = ("asr", "scoring", "index", "recorder")


def register(pipeline: Pipeline, stages: tuple[str, ...]) -> None:
    """Register the named stages, in pipeline order."""
    for name in STAGES:
        if name in stages:
            import_module(f"{__name__}.{name}").register(pipeline)


__all__ = ["STAGES", "Pipeline", "register"]
