"""The local stack behind `juntos dev`: PostgreSQL, Kafka, Zipkin, Prometheus and the services.

Knows the order things start and stop in, what each service is told through its
environment, and which ports the last `up` used (kept in `<home>/stack.json`).
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from juntos_events.topics import SERVICES

from juntos_cli.infra.home import (
    JuntosHome,
    kafka_libs_dir,
    test_servers_dir,
    zipkin_libs_dir,
)
from juntos_cli.infra.kafka import LocalKafka, run_sync
from juntos_cli.infra.maven import libs_current
from juntos_cli.infra.postgres import LocalPostgres
from juntos_cli.infra.process import HOST, InfraError, ensure_port_free, require_tool
from juntos_cli.infra.prometheus import LocalPrometheus, require_prometheus
from juntos_cli.infra.service import LocalService
from juntos_cli.infra.zipkin import LocalZipkin

Say = Callable[[str], None]


@dataclass(frozen=True)
class Ports:
    """Where each component listens; services take `services`, `services+1`, ... in order."""

    postgres: int = 55432
    kafka: int = 59092
    kafka_controller: int = 59093
    zipkin: int = 9411
    prometheus: int = 9090
    services: int = 8001

    def service(self, name: str) -> int:
        return self.services + SERVICES.index(name)

    @classmethod
    def load(cls, path: Path) -> Ports | None:
        """The ports of the last `up`, or None; ports it did not record keep their defaults.

        So a stack.json written before a component existed still pins the others' ports.
        """
        try:
            data = json.loads(path.read_text())
            return cls(**{f.name: int(data[f.name]) for f in fields(cls) if f.name in data})
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    def merged(self, **overrides: int | None) -> Ports:
        """These ports with the given non-None values replacing them."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class Row:
    """One line of `status`: a component, whether it runs, its pid and address."""

    component: str
    running: bool
    pid: int | None
    address: str


class Stack:
    """The components of one `.juntos` home, configured with one set of ports."""

    def __init__(self, home: JuntosHome, repo: Path, ports: Ports) -> None:
        self.home = home
        self.repo = repo
        self.ports = ports
        self.postgres = LocalPostgres(
            home.postgres, ports.postgres, log_dir=home.logs, statements=True
        )
        self.kafka = LocalKafka(
            home.kafka,
            ports.kafka,
            ports.kafka_controller,
            kafka_libs_dir(repo),
            repo,
            log_dir=home.logs / "kafka",
        )
        self.zipkin = LocalZipkin(
            home.zipkin, ports.zipkin, zipkin_libs_dir(repo), repo, log_dir=home.logs
        )
        self.prometheus = LocalPrometheus(
            home.prometheus,
            ports.prometheus,
            {name: f"{HOST}:{ports.service(name)}" for name in SERVICES},
            log_dir=home.logs,
        )
        self.services = {
            name: LocalService(
                name, ports.service(name), home.services, home.logs, self.service_env(name)
            )
            for name in SERVICES
        }

    def service_env(self, name: str) -> dict[str, str]:
        """Everything a service learns about the stack: its database, Kafka, tracing."""
        return {
            "SERVICE_NAME": name,
            "OTEL_SERVICE_NAME": name,
            "DATABASE_URL": self.postgres.async_url(name),
            "KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "OTEL_TRACES_EXPORTER": "zipkin",
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT": self.zipkin.spans_endpoint,
        }

    # --- up --------------------------------------------------------------------------------

    def preflight(
        self,
        *,
        with_zipkin: bool,
        with_services: bool,
        saved: Ports | None,
        with_metrics: bool = False,
    ) -> None:
        """Fail before starting anything: ports taken by others, missing prometheus/java/mvn."""
        self._check_running_ports(saved)
        checks: list[tuple[bool, int, str]] = [
            (self.postgres.is_running(), self.ports.postgres, "postgres"),
            (self.kafka.is_running(), self.ports.kafka, "kafka"),
            (self.kafka.is_running(), self.ports.kafka_controller, "the kafka controller"),
        ]
        if with_zipkin:
            checks.append((self.zipkin.is_running(), self.ports.zipkin, "zipkin"))
        if with_metrics:
            checks.append((self.prometheus.is_running(), self.ports.prometheus, "prometheus"))
        if with_services:
            checks += [
                (s.is_running(), s.port, f"service {n}")
                for n, s in self.services.items()
                if s.app_exists()
            ]
        for running, port, what in checks:
            if not running:
                ensure_port_free(port, what)
        if with_metrics and not self.prometheus.is_running():
            require_prometheus()
        needs_java = not self.kafka.is_running() or (with_zipkin and not self.zipkin.is_running())
        if needs_java:
            require_tool("java", "to run Kafka and Zipkin (install a JDK 17+)")
        poms = [(self.repo / "deploy/kafka/pom.xml", self.kafka.libs_dir)]
        if with_zipkin:
            poms.append((self.repo / "deploy/kafka/zipkin-pom.xml", self.zipkin.libs_dir))
        if any(not libs_current(pom, libs) for pom, libs in poms):
            require_tool("mvn", "once to download the Kafka/Zipkin jars from Maven Central")

    def up(
        self,
        *,
        with_zipkin: bool,
        with_services: bool,
        partitions: int | None,
        timeout: float,
        say: Say,
        with_metrics: bool = False,
    ) -> None:
        """Start whatever is not running yet, in dependency order, and wait for readiness."""
        self.home.root.mkdir(parents=True, exist_ok=True)
        self.ports.save(self.home.state_file)
        _timed(say, "postgres", self.postgres.is_running(), lambda: self.postgres.start(timeout))
        for name in SERVICES:
            self.postgres.create_database(name)
        say(f"databases: {', '.join(SERVICES)}")
        _timed(say, "kafka", self.kafka.is_running(), lambda: self.kafka.start(timeout))
        self._ensure_topics(partitions, say)
        if with_zipkin:
            _timed(say, "zipkin", self.zipkin.is_running(), lambda: self.zipkin.start(timeout))
        if with_services:
            self._start_services(timeout, say)
        if with_metrics:  # after the services, so its first scrapes find them up
            _timed(
                say,
                "prometheus",
                self.prometheus.is_running(),
                lambda: self.prometheus.start(timeout),
            )

    def _ensure_topics(self, partitions: int | None, say: Say) -> None:
        try:
            from juntos_events import topics
        except ImportError:
            say("[yellow]juntos_events.topics is not available yet: no topics created[/yellow]")
            return
        ensure = getattr(topics, "ensure_topics", None)
        if ensure is None:
            say("[yellow]juntos_events.topics.ensure_topics is missing: no topics created[/yellow]")
            return
        producers = list(getattr(topics, "PRODUCERS", SERVICES))
        args: dict[str, Any] = {}
        if partitions is not None:
            args["partitions"] = partitions

        async def call() -> Any:
            result = ensure(self.kafka.bootstrap, producers, **args)
            return await result if inspect.isawaitable(result) else result

        created = run_sync(call)
        say(f"topics: {len(created or [])} created for {', '.join(producers)}")

    def _start_services(self, timeout: float, say: Say) -> None:
        present = {n: s for n, s in self.services.items() if s.app_exists()}
        for name in SERVICES:
            if name not in present:
                say(
                    f"[yellow]service {name}: {name}.main not found (app not written yet); "
                    "skipped[/yellow]"
                )
        auth = self._dev_auth_env()
        # without the trace viewer (--no-zipkin) nobody would receive the spans
        tracing = {} if self.zipkin.is_running() else {"OTEL_TRACES_EXPORTER": "none"}
        for service in present.values():
            service.env |= auth | tracing
        if "offer" in present and "enrollment" in self.services:
            present["offer"].env |= self._offer_env(auth)
        started = time.monotonic()
        already = {n for n, s in present.items() if s.is_running()}
        for service in present.values():
            service.start()
        for name, service in present.items():
            service.wait_ready(timeout)
            if name in already:
                say(f"service {name} already running")
            else:
                took = time.monotonic() - started
                say(f"service {name} ready on {service.url} ({took:.1f} s)")

    def _dev_auth_env(self) -> dict[str, str]:
        """Per-home dev secrets (token key, enrollment's data keys), unless the operator set them.

        Kept in files so tokens minted for local testing, and personal data sealed with the
        local key-encryption key, survive restarts.
        """
        env: dict[str, str] = {}
        wanted = {
            "JUNTOS_JWT_SECRET": (self.home.jwt_secret_file, lambda: secrets.token_urlsafe(32)),
            "ENROLLMENT_KEKS": (self.home.root / "dev-enrollment-kek", _fernet_key),
            "ENROLLMENT_DOCUMENT_PEPPER": (
                self.home.root / "dev-enrollment-pepper",
                lambda: secrets.token_urlsafe(32),
            ),
        }
        for name, (path, make) in wanted.items():
            if os.environ.get(name) or (
                name == "JUNTOS_JWT_SECRET" and os.environ.get("JUNTOS_JWT_PUBLIC_KEY")
            ):
                continue
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(make())
                path.chmod(0o600)
            env[name] = path.read_text().strip()
        return env

    def _offer_env(self, auth: dict[str, str]) -> dict[str, str]:
        """Offer matches RUAF rows through enrollment's API, with a service token of its own."""
        env = {"OFFER_ENROLLMENT_URL": self.services["enrollment"].url}
        secret = auth.get("JUNTOS_JWT_SECRET")
        if secret and not os.environ.get("OFFER_ENROLLMENT_TOKEN"):
            from datetime import timedelta

            from juntos_web import Principal, Role, ServiceSettings, mint_token

            settings = ServiceSettings(service_name="offer", jwt_secret=secret)
            principal = Principal.scoped(Role.ENTIDAD, "juntos-offer", sub="servicio-offer")
            env["OFFER_ENROLLMENT_TOKEN"] = mint_token(
                settings, principal, expires_in=timedelta(days=30)
            )
        return env

    # --- down / status ---------------------------------------------------------------------

    def down(self, say: Say) -> None:
        """Services first (they hold connections), then prometheus, zipkin, kafka, postgres."""
        running = [s for s in self.services.values() if s.is_running()]
        with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
            list(pool.map(lambda s: s.stop(), running))
        for s in running:
            say(f"stopped service {s.name}")
        for name, component in (
            ("prometheus", self.prometheus),
            ("zipkin", self.zipkin),
            ("kafka", self.kafka),
            ("postgres", self.postgres),
        ):
            if component.is_running():
                component.stop()
                say(f"stopped {name}")

    def purge(self) -> None:
        """Delete the home folder; refuses while something still runs or if it is not ours."""
        if any(r.running for r in self.status()):
            raise InfraError("something is still running; run `juntos dev down` first")
        root = self.home.root
        if not root.exists():
            return
        ours = {
            "stack.json",
            "postgres",
            "kafka",
            "zipkin",
            "prometheus",
            "services",
            "logs",
            "jars",
            "dev-enrollment-kek",
            "dev-enrollment-pepper",
            "dev-jwt-secret",
        }
        children = {p.name for p in root.iterdir()}
        if children and not children & ours:
            raise InfraError(f"{root} does not look like a juntos home; not deleting it")
        shutil.rmtree(root)

    def status(self) -> list[Row]:
        """Running/stopped, pid and address of every component."""
        rows = [
            Row(
                "postgres",
                self.postgres.is_running(),
                self.postgres.pid,
                f"{HOST}:{self.ports.postgres}",
            ),
            Row("kafka", self.kafka.is_running(), self.kafka.pid, self.kafka.bootstrap),
            Row("zipkin", self.zipkin.is_running(), self.zipkin.pid, self.zipkin.url),
            Row(
                "prometheus", self.prometheus.is_running(), self.prometheus.pid, self.prometheus.url
            ),
        ]
        rows += [
            Row(f"service {n}", s.is_running(), s.pid, s.docs_url) for n, s in self.services.items()
        ]
        return rows

    def _check_running_ports(self, saved: Ports | None) -> None:
        if saved is None:
            return
        pairs = [
            (self.postgres.is_running(), "postgres", saved.postgres, self.ports.postgres),
            (self.kafka.is_running(), "kafka", saved.kafka, self.ports.kafka),
            (
                self.kafka.is_running(),
                "the kafka controller",
                saved.kafka_controller,
                self.ports.kafka_controller,
            ),
            (self.zipkin.is_running(), "zipkin", saved.zipkin, self.ports.zipkin),
            (self.prometheus.is_running(), "prometheus", saved.prometheus, self.ports.prometheus),
        ]
        pairs += [
            (s.is_running(), f"service {n}", saved.service(n), s.port)
            for n, s in self.services.items()
        ]
        for running, what, old, new in pairs:
            if running and old != new:
                raise InfraError(
                    f"{what} is already running on port {old}; "
                    f"run `juntos dev down` before changing it to {new}"
                )


def stop_test_servers(repo: Path) -> list[str]:
    """Stop what the pytest plugin left running in reuse mode; returns what was running."""
    root = test_servers_dir(repo)
    stopped = []
    postgres = LocalPostgres(root / "postgres", 0)
    kafka = LocalKafka(root / "kafka", 0, 0, kafka_libs_dir(repo), repo)
    for name, server in (("kafka", kafka), ("postgres", postgres)):
        if server.is_running():
            server.stop()
            stopped.append(name)
    return stopped


def _timed(say: Say, what: str, already: bool, start: Callable[[], None]) -> None:
    if already:
        say(f"{what} already running")
        return
    began = time.monotonic()
    start()
    say(f"{what} ready ({time.monotonic() - began:.1f} s)")


def _fernet_key() -> str:
    """A Fernet key (32 random bytes, urlsafe base64), the format of ENROLLMENT_KEKS."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
