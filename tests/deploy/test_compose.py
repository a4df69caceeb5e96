"""Deployment files: docker compose stays valid, and the system runs on containers where Docker is.

Besides the services, the files compose mounts must exist and agree with each other: Prometheus
scrapes one job per service (the label the dashboards group by) and Grafana finds its
provisioning, its data source and the dashboards where the mounts put them.

There is no Docker engine on the development and CI machines; the compose file is still checked
with a real Compose implementation when one is installed, and the container test runs wherever
an engine answers (it is skipped, with the reason, elsewhere).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from juntos_cli.infra.home import JuntosHome
from juntos_cli.infra.prometheus import scrape_config
from juntos_cli.stack import Ports, Stack
from juntos_events.topics import SERVICES
from juntos_testing.docker import SKIP_REASON, docker_available

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy/grafana"


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return services


def _host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """Where a path inside the container comes from on this checkout, through bind mounts."""
    wanted = PurePosixPath(container_path)
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if not source.startswith("./"):
            continue  # a named volume
        if wanted == PurePosixPath(target) or PurePosixPath(target) in wanted.parents:
            return ROOT / source / wanted.relative_to(target)
    return None


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_file_runs_every_service_with_its_own_database():
    services = _services()
    assert {"postgres", "kafka", "jaeger", "prometheus", "grafana", *SERVICES} <= set(services)
    databases = {services[s]["environment"]["DATABASE_URL"].rsplit("/", 1)[1] for s in SERVICES}
    assert databases == set(SERVICES)
    init = (ROOT / "deploy/postgres/init.sql").read_text()
    assert all(f"CREATE DATABASE {s};" in init for s in SERVICES)
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_every_file_compose_mounts_exists():
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def test_prometheus_scrapes_each_service_as_its_own_job():
    """The dashboards group by `job`; compose and `juntos dev up --with-metrics` agree on it."""
    prometheus = _services()["prometheus"]
    config_file = _host_path(prometheus, "/etc/prometheus/prometheus.yml")
    assert config_file == ROOT / "deploy/prometheus/prometheus.yml"
    config = yaml.safe_load(config_file.read_text())
    expected = scrape_config({service: f"{service}:8000" for service in SERVICES})
    assert config["scrape_configs"] == expected["scrape_configs"]


def test_prometheus_configs_are_valid_for_promtool(tmp_path: Path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    local = Stack(JuntosHome(tmp_path), ROOT, Ports()).prometheus  # what `dev up` writes
    for config in (ROOT / "deploy/prometheus/prometheus.yml", local.write_config()):
        result = subprocess.run(
            [promtool, "check", "config", str(config)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_shows_the_provisioned_dashboards_to_anonymous_viewers():
    grafana = _services()["grafana"]
    image, _, tag = grafana["image"].partition(":")
    assert image == "grafana/grafana"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"pin a Grafana release, not {tag!r}"
    assert "prometheus" in grafana["depends_on"]
    assert "3000:3000" in grafana["ports"]
    env = grafana["environment"]
    assert (env["GF_AUTH_ANONYMOUS_ENABLED"], env["GF_AUTH_ANONYMOUS_ORG_ROLE"]) == (
        "true",
        "Viewer",
    )

    assert _host_path(grafana, "/etc/grafana/provisioning") == GRAFANA / "provisioning"
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/juntos.yml").read_text())
    for provider in providers["providers"]:
        folder = _host_path(grafana, provider["options"]["path"])
        assert folder == GRAFANA / "dashboards", provider
    home = _host_path(grafana, env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home is not None and home.is_file()


def test_grafana_data_source_is_the_compose_prometheus():
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"  # the compose service, Prometheus' port
    assert "prometheus" in _services()


def test_compose_config_is_valid_for_compose():
    command = _compose_command()
    if command is None:
        pytest.skip("no Compose implementation installed (apt-get install docker-compose)")
    result = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "JUNTOS_JWT_SECRET": "compose-check",
            "ENROLLMENT_KEKS": "compose-check",
            "ENROLLMENT_DOCUMENT_PEPPER": "compose-check",
        },
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.docker
@pytest.mark.skipif(not docker_available(), reason=SKIP_REASON)
async def test_backbone_on_containers():
    """The same append → relay → consume path, on testcontainers' PostgreSQL and Kafka."""
    from juntos_events.events import DomainEvent, EventRegistry
    from juntos_events.migrate import upgrade
    from juntos_events.relay import OutboxRelay, idempotent_producer
    from juntos_events.store import EventStore
    from juntos_events.topics import ensure_topics
    from sqlalchemy.ext.asyncio import create_async_engine
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    registry = EventRegistry(f"c{uuid.uuid4().hex[:8]}")

    @registry.register("Ping")
    class Ping(DomainEvent):
        familia: str

    with PostgresContainer("postgres:18") as pg, KafkaContainer().with_kraft() as kafka:
        url = pg.get_connection_url().replace("psycopg2", "asyncpg")
        bootstrap = kafka.get_bootstrap_server()
        await upgrade(url)
        await ensure_topics(bootstrap, [registry.service])
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            store = EventStore(registry)
            await store.append(conn, "f1", "Familia", 0, [Ping(familia="f1")], actor="t")
        producer = idempotent_producer(bootstrap)
        await producer.start()
        try:
            assert await OutboxRelay(engine, producer).publish_batch() == 1
        finally:
            await producer.stop()
            await engine.dispose()
