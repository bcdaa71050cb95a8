"""What the pages call things: rules by the rule pack's names, verdicts, call statuses, model
and access-log names in Chinese (the stored values stay the English keys)."""

from __future__ import annotations

from pathlib import Path

from ..scoring.lexicon import load_intents
from ..scoring.rules import RuleError, names_in
from ..scoring.watch import pack_stamp

# What the access log's actions mean, as the admin's page shows them.
ACCESS_ACTIONS = {"call": "打开通话", "listen": "收听录音", "desk": "坐席工作台", "live": "实时监听",
                  "export-csv": "导出 CSV", "export-jsonl": "导出 JSONL"}  # fmt: skip
# A call's status and its models as the call page names them.
CALL_STATUS = {"completed": "已结束", "timeout": "已结束（未收到挂机信号，超时关闭）",
               "failed": "处理失败", "live": "通话中"}  # fmt: skip
MODEL_NAMES = {"intent": "意图模型", "complaint_risk": "投诉风险模型", "acts": "对话行为模型"}
# A review's verdict as the pages show it.
VERDICT_NAMES = {
    "pending": "待复核",
    "confirmed": "已确认",
    "false_positive": "误报",
    "appealed": "申诉中",
}


_NAMES: dict = {"key": None, "names": {}}


def rule_names(settings) -> dict[str, str]:
    """Rule id -> its name in the rule pack as it is on disk now (re-read when a file changes),
    so that the pages say 坐席禁语 rather than agent-forbidden-phrase. A file that does not
    read leaves its ids as they are: the pages never fail on the pack."""
    folder = Path(settings.lexicons_dir) / "rules"
    key = pack_stamp(folder)
    if key != _NAMES["key"]:
        names = {}
        for name, _ in key:
            try:
                names |= names_in(folder / name)
            except (RuleError, OSError):
                continue
        _NAMES.update(key=key, names=names)
    return _NAMES["names"]


_INTENTS: dict = {"key": None, "labels": []}


def intent_labels(settings) -> list[str]:
    """The intents of lexicons/intents.yaml (re-read when it changes), for the pages' pickers;
    empty when the file does not read."""
    path = Path(settings.lexicons_dir) / "intents.yaml"
    try:
        key = path.stat().st_mtime_ns
        if key != _INTENTS["key"]:
            _INTENTS.update(key=key, labels=list(load_intents(path)))
    except (OSError, ValueError):
        return []
    return _INTENTS["labels"]
