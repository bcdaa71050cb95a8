"""`callqa train`: train and publish the classifiers with the configured directories."""

from __future__ import annotations

from pathlib import Path

from ..settings import REAL_DATA_DIR, Settings


def cmd_train(args) -> int:
    from models.train import DATA_DIR, MODELS, not_current, summary, train

    from ..scoring.models import training_context

    settings = Settings()
    models_dir = args.models_dir or settings.models_dir
    data_dir = args.data_dir or DATA_DIR
    context = training_context(settings.lexicons_dir, args.real_data)
    names = [args.only] if args.only else list(MODELS)
    if args.if_missing:
        names = not_current(models_dir, context, data_dir, names)

    def one(name: str) -> None:
        version, metrics = train(name, models_dir, context, data_dir, args.features, args.small,
                                 args.labels)  # fmt: skip
        print(summary(name, version, metrics), flush=True)

    return _each(names, one, args.jobs)


def _each(names: list[str], one, jobs: int) -> int:
    """one(name) for every name: in this process, or with `jobs` > 1 in forked processes,
    at most `jobs` at a time, the longest task (acts) first. Each task publishes its own
    version (registry publishing is atomic), so they share nothing but the data they read.
    1 when any of them failed (its traceback is on stderr)."""
    import multiprocessing
    import sys
    from multiprocessing.connection import wait

    if jobs <= 1 or len(names) <= 1:
        for name in names:
            one(name)
        return 0
    fork = multiprocessing.get_context("fork")
    pending, running, failed = sorted(names, key=lambda n: n != "acts"), {}, []
    while pending or running:
        while pending and len(running) < jobs:
            name = pending.pop(0)
            running[name] = fork.Process(target=one, args=(name,), name=f"train-{name}")
            running[name].start()
        wait([p.sentinel for p in running.values()])
        for name, process in list(running.items()):
            if process.exitcode is not None:
                process.join()
                del running[name]
                if process.exitcode:
                    failed.append(f"{name} (exit {process.exitcode})")
    if failed:
        print(f"training failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def add_commands(sub) -> None:
    from models.features import FEATURE_SETS
    from models.tasks import MODELS

    train = sub.add_parser("train", help="train and publish the classifiers")
    train.add_argument("--models-dir", type=Path, help="default CALLQA_MODELS_DIR")
    train.add_argument("--data-dir", type=Path, help="training data (default models/data)")
    train.add_argument("--only", choices=sorted(MODELS))
    train.add_argument("--features", choices=sorted(FEATURE_SETS),
                       help="the text views (default each task's own: intent chars+pinyin+finals, "
                            "the others chars+pinyin)")  # fmt: skip
    train.add_argument("--small", type=int, help="at most N training rows per label (quick runs)")
    train.add_argument("--real-data", type=Path, default=REAL_DATA_DIR,
                       help="the real text sets (STC-3, heimao, BQ, AFQMC) for level 1 of complaint "
                            "risk (default ../shared/eval; absent: trained without it)")  # fmt: skip
    train.add_argument("--labels", type=Path,
                       help="extra labelled rows (TSV as written by `callqa export-labels`)")  # fmt: skip
    train.add_argument("--jobs", type=int, default=1,
                       help="train up to N models at once, each in its own process (default 1)")  # fmt: skip
    train.add_argument("--if-missing", action="store_true",
                       help="only train models with no version trained by this recipe on the current data")  # fmt: skip
    train.set_defaults(func=cmd_train)
