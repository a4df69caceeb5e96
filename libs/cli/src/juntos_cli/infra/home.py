"""Where things live: the repository root and the single `.juntos` data folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MARKER = Path("deploy/kafka/pom.xml")


def repo_root() -> Path:
    """The repository root, found from the working directory first, then from this file."""
    env = os.environ.get("JUNTOS_REPO")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve()):
        for candidate in (start, *start.parents):
            if (candidate / MARKER).is_file():
                return candidate
    raise FileNotFoundError(f"could not find the repository root (no {MARKER} above {Path.cwd()})")


@dataclass(frozen=True)
class JuntosHome:
    """The layout of the data folder: one subfolder per component plus logs and jar caches."""

    root: Path

    @classmethod
    def default(cls, repo: Path | None = None) -> JuntosHome:
        """`$JUNTOS_HOME`, else `<repo>/.juntos`."""
        env = os.environ.get("JUNTOS_HOME")
        if env:
            return cls(Path(env).expanduser().resolve())
        return cls((repo or repo_root()) / ".juntos")

    @property
    def postgres(self) -> Path:
        return self.root / "postgres"

    @property
    def kafka(self) -> Path:
        return self.root / "kafka"

    @property
    def zipkin(self) -> Path:
        return self.root / "zipkin"

    @property
    def prometheus(self) -> Path:
        """Generated scrape config, TSDB and pid file of `dev up --with-metrics`."""
        return self.root / "prometheus"

    @property
    def services(self) -> Path:
        return self.root / "services"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def jwt_secret_file(self) -> Path:
        """The dev HS256 token secret given to the services (mint test tokens with it)."""
        return self.root / "dev-jwt-secret"

    @property
    def state_file(self) -> Path:
        """Ports chosen by the last `dev up`, so `status` and later `up`s agree with it."""
        return self.root / "stack.json"


def jars_dir(repo: Path | None = None) -> Path:
    """Cache of Maven-resolved jars shared by `dev up` and the test plugin (`$JUNTOS_JARS`)."""
    env = os.environ.get("JUNTOS_JARS")
    if env:
        return Path(env).expanduser().resolve()
    return (repo or repo_root()) / ".juntos" / "jars"


def kafka_libs_dir(repo: Path | None = None) -> Path:
    """Kafka broker jars (resolved by deploy/kafka/pom.xml)."""
    return jars_dir(repo) / "kafka"


def zipkin_libs_dir(repo: Path | None = None) -> Path:
    """Zipkin server jar (resolved by deploy/kafka/zipkin-pom.xml)."""
    return jars_dir(repo) / "zipkin"


def test_servers_dir(repo: Path | None = None) -> Path:
    """Servers the pytest plugin keeps running between sessions with JUNTOS_TEST_REUSE=1."""
    return jars_dir(repo).parent / "test-servers"
