"""Kibana's saved objects (ops/kibana/callqa.ndjson, loaded by the compose stack's
kibana-setup job): every field they name exists in the index mappings, every reference
resolves, and the data views point at callqa's index aliases."""

from __future__ import annotations

import json
import re

import pytest

from streams.index.store import INDEX_VERSIONS, mapping
from streams.settings import CALLS_INDEX, PROJECT_ROOT, SEGMENTS_INDEX, Settings

OBJECTS = [json.loads(line) for line in
           (PROJECT_ROOT / "ops" / "kibana" / "callqa.ndjson").read_text(encoding="utf-8").splitlines()
           if line.strip()]  # fmt: skip
KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*(?::|>=|<=|>|<)")


def _fields(properties: dict, prefix: str = "") -> set[str]:
    out = set()
    for name, spec in properties.items():
        out.add(prefix + name)
        if "properties" in spec:
            out |= _fields(spec["properties"], f"{prefix}{name}.")
    return out


MAPPED = {
    f"callqa-{name}": _fields(mapping(name, INDEX_VERSIONS[name])["mappings"]["properties"])
    for name in (CALLS_INDEX, SEGMENTS_INDEX)
}


def _index_of(obj: dict) -> str:
    if obj["type"] == "index-pattern":
        return obj["attributes"]["title"]
    ref = next(r for r in obj["references"] if r["type"] == "index-pattern")
    return ref["id"]


def _named_fields(obj: dict) -> set[str]:
    attributes = obj["attributes"]
    names: set[str] = set()
    if obj["type"] == "index-pattern":
        names.add(attributes["timeFieldName"])
    source = json.loads(attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON") or "{}")
    names |= set(KQL_FIELD.findall((source.get("query") or {}).get("query") or ""))
    if obj["type"] == "visualization":
        for agg in json.loads(attributes["visState"])["aggs"]:
            if "field" in agg["params"]:
                names.add(agg["params"]["field"])
    if obj["type"] == "search":
        names |= set(attributes["columns"]) | {field for field, _ in attributes["sort"]}
    return names


@pytest.mark.parametrize(
    "obj", [o for o in OBJECTS if o["type"] != "dashboard"], ids=lambda o: o["id"]
)
def test_every_field_a_saved_object_names_is_mapped(obj):
    index = _index_of(obj)
    assert index in MAPPED, f"{obj['id']} reads {index!r}, not a callqa index alias"
    assert _named_fields(obj) - MAPPED[index] == set()


def test_references_resolve_and_the_dashboard_has_every_chart():
    ids = {(o["type"], o["id"]) for o in OBJECTS}
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, (obj["id"], ref)
    dashboard = next(o for o in OBJECTS if o["type"] == "dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    names = {r["name"] for r in dashboard["references"]}
    assert {p["panelRefName"] for p in panels} == names
    titles = {o["attributes"]["title"] for o in OBJECTS if o["type"] == "visualization"}
    assert {
        "投诉风险通话（每天）",
        "主要意图",
        "违规（按规则）",
        "违规（按坐席）",
        "质检得分分布",
    } <= titles


def test_data_views_are_the_default_aliases():
    settings = Settings(index_prefix="callqa")
    views = {o["attributes"]["title"] for o in OBJECTS if o["type"] == "index-pattern"}
    assert views == {settings.index(CALLS_INDEX), settings.index(SEGMENTS_INDEX)}


def test_the_compose_stack_imports_them_into_kibana():
    import yaml

    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    job = compose["services"]["kibana-setup"]
    script = job["command"][-1]
    assert "/api/saved_objects/_import" in script and "callqa.ndjson" in script
    assert "./ops/kibana:/ops/kibana:ro" in job["volumes"]
    assert "kibana" in job["depends_on"]
