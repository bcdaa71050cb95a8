"""docker-compose.yml cannot run here; check it against the code's settings instead."""

import yaml

from streams.settings import ENVIRONMENT, PROJECT_ROOT
from streams.stages import STAGES

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def _env(service: str) -> dict:
    return {k: str(v) for k, v in (COMPOSE["services"][service].get("environment") or {}).items()}


def test_stack_has_kafka_kraft_elasticsearch8_kibana_workers_and_replay():
    services = COMPOSE["services"]
    assert {"kafka", "elasticsearch", "kibana", "asr", "scoring", "index", "replay", "init"} <= set(
        services
    )
    kafka = _env("kafka")
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"] and "broker" in kafka["KAFKA_PROCESS_ROLES"]
    assert services["elasticsearch"]["image"].split(":")[-1].startswith("8.")
    assert _env("elasticsearch")["discovery.type"] == "single-node"


def test_worker_variables_are_the_ones_the_code_reads():
    for service in ("asr", "scoring", "index", "replay", "init"):
        env = _env(service)
        unknown = set(env) - set(ENVIRONMENT)
        assert not unknown, f"{service} sets variables callqa does not read: {unknown}"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    stages = {_env(s)["CALLQA_STAGES"] for s in ("asr", "scoring", "index")}
    assert stages == set(STAGES)
    # every documented setting except the ones chosen per service is configured in the stack
    per_service = {"CALLQA_STAGES", "CALLQA_CHUNK_SECONDS", "CALLQA_WORKER_ID"}
    assert set(ENVIRONMENT) - per_service <= set(_env("asr"))
