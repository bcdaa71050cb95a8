"""docker-compose.yml cannot run here; check it against the code's settings instead."""

import json
import re

import yaml

from streams.settings import ENVIRONMENT, PROJECT_ROOT
from streams.stages import STAGES

TEXT = (PROJECT_ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
CALLQA_SERVICES = ("init", "asr", "scoring", "index", "recorder", "web", "replay", "train")
BROKERS = ("kafka-1", "kafka-2", "kafka-3")
# Secrets by value, and the alternatives the stack does not use (user/password instead of the
# API key, a client certificate): never set in the compose file.
NOT_IN_THE_STACK = {"KAFKA_SASL_PASSWORD", "ELASTICSEARCH_API_KEY", "ELASTICSEARCH_PASSWORD",
                    "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD_FILE", "KAFKA_SSL_CERTFILE",
                    "KAFKA_SSL_KEYFILE"}  # fmt: skip


def _env(service: str) -> dict:
    return {k: str(v) for k, v in (COMPOSE["services"][service].get("environment") or {}).items()}


def test_stack_has_kafka_kraft_elasticsearch8_kibana_workers_and_replay():
    services = COMPOSE["services"]
    assert {
        *BROKERS,
        "elasticsearch",
        "kibana",
        "asr",
        "scoring",
        "index",
        "replay",
        "init",
    } <= set(services)
    for broker in BROKERS:
        kafka = _env(broker)
        assert (
            "controller" in kafka["KAFKA_PROCESS_ROLES"]
            and "broker" in kafka["KAFKA_PROCESS_ROLES"]
        )
        assert (
            kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"]
            == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        )
    assert services["elasticsearch"]["image"].split(":")[-1].startswith("8.")
    assert _env("elasticsearch")["discovery.type"] == "single-node"


def test_worker_variables_are_the_ones_the_code_reads():
    for service in ("asr", "scoring", "index", "replay", "init"):
        env = _env(service)
        unknown = set(env) - set(ENVIRONMENT)
        assert not unknown, f"{service} sets variables callqa does not read: {unknown}"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
        assert env["ELASTICSEARCH_URL"] == "https://elasticsearch:9200"
    stages = {_env(s)["CALLQA_STAGES"] for s in ("asr", "scoring", "index", "recorder")}
    assert stages == set(STAGES)
    # every documented setting except the ones chosen per service is configured in the stack
    per_service = {"CALLQA_STAGES", "CALLQA_CHUNK_SECONDS", "CALLQA_WORKER_ID"} | NOT_IN_THE_STACK
    assert set(ENVIRONMENT) - per_service <= set(_env("asr"))


def test_a_worker_that_exits_stuck_is_started_again():
    """streams/liveness.py ends a stuck worker with exit code 75 and counts on its restart."""
    for service in ("asr", "scoring", "index", "recorder"):
        assert COMPOSE["services"][service]["restart"] == "unless-stopped", service
        assert float(_env(service)["CALLQA_STUCK_AFTER_S"]) > 0, service


def test_the_web_service_is_in_the_stack():
    web = COMPOSE["services"]["web"]
    assert web["command"][0] == "serve" and "8780:8780" in web["ports"]
    env = _env("web")
    assert {"CALLQA_WEB_SESSION_IDLE_MIN", "CALLQA_WEB_SECURE_COOKIES"} <= set(env)


# --- security and durability (README "Security and durability") ---------------------------


def test_elasticsearch_and_kibana_run_with_security_and_tls():
    es = _env("elasticsearch")
    assert es["xpack.security.enabled"] == "true"
    assert es["xpack.security.http.ssl.enabled"] == "true"
    assert es["xpack.security.transport.ssl.enabled"] == "true"
    assert "ELASTIC_PASSWORD" not in es and es["ELASTIC_PASSWORD_FILE"].startswith("/run/secrets/")
    assert "https://localhost:9200" in json.dumps(
        COMPOSE["services"]["elasticsearch"]["healthcheck"]
    )
    kibana = _env("kibana")
    assert kibana["ELASTICSEARCH_HOSTS"] == '["https://elasticsearch:9200"]'
    assert (
        kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
        and "ELASTICSEARCH_PASSWORD" not in kibana
    )
    assert kibana["ELASTICSEARCH_SSL_VERIFICATIONMODE"] == "full"
    assert "kibana-system-password" in " ".join(COMPOSE["services"]["kibana"]["command"])
    # The setup jobs: certificates and passwords first, then kibana_system and callqa's API key.
    setup = COMPOSE["services"]["secrets"]["command"][0]
    assert "elasticsearch-certutil ca" in setup and "elasticsearch-certutil cert" in setup
    es_setup = COMPOSE["services"]["es-setup"]["command"][0]
    assert "_security/user/kibana_system/_password" in es_setup and "_security/api_key" in es_setup
    assert '"names": ["callqa-*"]' in es_setup  # the key reaches callqa's indices only
    assert _env("asr")["CALLQA_INDEX_PREFIX"] == "callqa"


def test_kafka_brokers_take_sasl_over_tls_only():
    for broker in BROKERS:
        env = _env(broker)
        listeners = dict(
            x.split(":") for x in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        advertised = env["KAFKA_ADVERTISED_LISTENERS"]
        assert advertised == f"SASL_SSL://{broker}:9092" and listeners["SASL_SSL"] == "SASL_SSL"
        assert set(listeners) == {"SASL_SSL", "CONTROLLER"}  # no plaintext client listener
        assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "SASL_SSL"
        assert "java.security.auth.login.config=/etc/kafka/secrets/" in env["KAFKA_OPTS"]
        assert env["KAFKA_SSL_KEYSTORE_FILENAME"] == f"{broker}/keystore.p12"
        assert (
            int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == 3
            and int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2
        )
        assert "--command-config" in json.dumps(COMPOSE["services"][broker]["healthcheck"])
    jaas = COMPOSE["services"]["secrets"]["command"][0]
    assert "user_callqa=" in jaas and _env("asr")["KAFKA_SASL_USERNAME"] == "callqa"


def test_every_callqa_service_reads_its_credentials_from_files():
    for service in CALLQA_SERVICES:
        env, spec = _env(service), COMPOSE["services"][service]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", service
        assert env["ELASTICSEARCH_VERIFY_CERTS"] == "1", service
        for variable in ("KAFKA_SASL_PASSWORD_FILE", "KAFKA_SSL_CAFILE", "ELASTICSEARCH_API_KEY_FILE",
                         "ELASTICSEARCH_CA_CERTS"):  # fmt: skip
            assert env[variable].startswith("/run/secrets/callqa/"), (service, variable)
        assert not NOT_IN_THE_STACK & set(env), service
        assert "callqa-secrets:/run/secrets/callqa:ro" in spec["volumes"], service
        depends = spec["depends_on"]
        assert depends["es-setup"]["condition"] == "service_completed_successfully", service
        assert all(depends[b]["condition"] == "service_healthy" for b in BROKERS), service


def test_no_secret_is_written_in_the_compose_file():
    """Passwords and keys are generated into volumes and read from files; the only credentials
    in the file are MinIO's documented trial defaults, behind ${MINIO_ROOT_*:-default} so that
    .env overrides them."""
    secret_name = re.compile(r"PASSWORD|SECRET|API_KEY")
    for service, spec in COMPOSE["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            if secret_name.search(key) and not key.endswith("_FILE"):
                assert str(value).startswith("${MINIO_ROOT_"), (service, key, value)
    # What the setup jobs write (JAAS users, curl configs) comes from generated files.
    for value in re.findall(r'(?:password|user_\w+)="([^"]*)"', TEXT):
        assert value.startswith("$$"), value
    assert "$$(cat /run/secrets/es/elastic-password)" in TEXT


def test_durability_settings_are_production_values():
    env = _env("asr")
    assert (int(env["CALLQA_TOPIC_REPLICATION"]), int(env["CALLQA_TOPIC_MIN_ISR"])) == (3, 2)
    assert len(BROKERS) >= int(env["CALLQA_TOPIC_REPLICATION"])
    assert float(env["CALLQA_RETENTION_AUDIO_H"]) == 24
    assert 72 <= float(env["CALLQA_RETENTION_TRANSCRIPTS_H"]) <= 168
    assert float(env["CALLQA_RETENTION_DEAD_LETTER_H"]) > float(env["CALLQA_RETENTION_SCORED_H"])
    assert int(env["CALLQA_INDEX_REPLICAS"]) >= 1
    assert all(
        float(env[f"CALLQA_INDEX_RETENTION_{n}_DAYS"]) > 0
        for n in ("CALLS", "SEGMENTS", "ACCESS", "DESK")
    )


# --- observability (README "Observability") ------------------------------------------------

OPS = PROJECT_ROOT / "ops"
WORKERS = ("asr", "scoring", "index", "recorder")


def test_prometheus_scrapes_every_worker_and_the_web_service():
    prometheus = yaml.safe_load((OPS / "prometheus.yml").read_text())
    services = COMPOSE["services"]
    targets = []
    for job in prometheus["scrape_configs"]:
        for dns in job.get("dns_sd_configs") or []:
            targets += [(name, int(dns["port"])) for name in dns["names"]]
        for static in job.get("static_configs") or []:
            targets += [(t.split(":")[0], int(t.split(":")[1])) for t in static["targets"]]
    for name, port in targets:
        assert name in services, f"Prometheus scrapes {name}, which the stack does not run"
        if name == "web":
            assert f"{port}:{port}" in services["web"]["ports"]
        else:
            assert int(_env(name)["CALLQA_METRICS_PORT"]) == port, name
            assert str(port) in json.dumps(services[name]["healthcheck"]), name
    assert {name for name, _ in targets} == {*WORKERS, "web"}
    mounts = services["prometheus"]["volumes"]
    assert "./ops/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts


def test_grafana_is_provisioned_with_the_dashboard_and_its_data_source():
    grafana = COMPOSE["services"]["grafana"]
    for mount in grafana["volumes"]:
        source, target = mount.split(":")[:2]
        if source.startswith("./"):
            assert (PROJECT_ROOT / source).exists(), source
    sources = yaml.safe_load((OPS / "grafana/provisioning/datasources/prometheus.yml").read_text())
    [source] = sources["datasources"]
    assert source["url"] == "http://prometheus:9090" and "prometheus" in COMPOSE["services"]
    provider = yaml.safe_load((OPS / "grafana/provisioning/dashboards/callqa.yml").read_text())
    assert (
        "./ops/grafana/dashboards:" + provider["providers"][0]["options"]["path"] + ":ro"
        in grafana["volumes"]
    )
    dashboard = json.loads((OPS / "grafana/dashboards/callqa.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == source["uid"]


def test_the_dashboard_only_queries_metrics_callqa_defines():
    from streams import metrics

    dashboard = json.loads((OPS / "grafana/dashboards/callqa.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    named = {name for q in queries for name in re.findall(r"\b(callqa_[a-z_]+)", q)}
    assert named and named <= metrics.names(), named - metrics.names()
    # every metric callqa defines is on the dashboard
    families = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in named}
    defined = {re.sub(r"_(total|bucket|sum|count|created)$", "", n) for n in metrics.names()}
    assert defined <= families, defined - families
    ranges = {name for q in queries for name in re.findall(r"([a-zA-Z_:][\w:]*)\[", q)}
    assert ranges <= metrics.names(), ranges - metrics.names()  # rate(x[5m]): x is callqa's
