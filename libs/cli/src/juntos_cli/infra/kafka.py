"""A real Apache Kafka broker (single KRaft node) from Maven Central jars, run with `java`."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import psutil

from juntos_cli.infra.maven import ensure_libs
from juntos_cli.infra.process import (
    HOST,
    PidFileProcess,
    StartupError,
    base_env,
    ensure_port_free,
    port_open,
    require_tool,
    running_process,
    spawn,
    stop_pid_file,
    wait_until,
)

T = TypeVar("T")
POM = Path("deploy/kafka/pom.xml")
LOG4J = Path("deploy/kafka/log4j2.properties")


class LocalKafka(PidFileProcess):
    """One broker+controller KRaft node in `data_dir`, PLAINTEXT on 127.0.0.1:<port>.

    Topics are never auto-created (producers must not invent topics by typo) and retention is
    infinite, since the event log is the system of record.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        libs_dir: Path,
        repo_root: Path,
        log_dir: Path | None = None,
        heap: str = "768m",
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.libs_dir = Path(libs_dir).resolve()
        self.repo_root = Path(repo_root).resolve()
        self.log_dir = Path(log_dir).resolve() if log_dir else self.data_dir / "logs"
        self.heap = heap
        self.pid_file = self.data_dir / "kafka.pid"
        self.config_file = self.data_dir / "server.properties"
        self.log_dirs = self.data_dir / "data"
        self.stdout_log = self.log_dir / "stdout.log"
        self.server_log = self.log_dir / "server.log"

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use."""
        return f"{HOST}:{self.port}"

    def ensure_jars(self) -> Path:
        """Resolve the broker jars with Maven unless the cached folder matches the pom."""
        return ensure_libs(self.repo_root / POM, self.libs_dir)

    def start(self, timeout: float = 90.0) -> None:
        """Format storage on first use, start the broker and wait until it serves metadata."""
        if self.is_running():
            return
        java = require_tool("java", "to run the Kafka broker (install a JDK 17+)")
        ensure_port_free(self.port, "kafka")
        ensure_port_free(self.controller_port, "the kafka controller")
        self.ensure_jars()
        self.log_dirs.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        if not (self.log_dirs / "meta.properties").exists():
            self._format(java)
        proc = spawn(
            [
                java,
                "-Xms256m",
                f"-Xmx{self.heap}",
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.repo_root / LOG4J}",
                f"-Dkafka.logs.dir={self.log_dir}",
                "-cp",
                self._classpath(),
                "kafka.Kafka",
                str(self.config_file),
            ],
            pid_file=self.pid_file,
            log_file=self.stdout_log,
            env=base_env(),
            cwd=self.data_dir,
        )
        wait_until(
            self._ready,
            what="kafka",
            timeout=timeout,
            log_file=[self.server_log, self.stdout_log],
            proc=proc,
            interval=0.3,
        )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (controlled shutdown, flushes logs), SIGKILL after `timeout`."""
        stop_pid_file(self.pid_file, timeout)

    def process(self) -> psutil.Process | None:
        """The live broker process, if any."""
        return running_process(self.pid_file)

    # --- internals -------------------------------------------------------------------------

    def _classpath(self) -> str:
        return str(self.libs_dir / "*")

    def _write_config(self) -> None:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dirs),
            "auto.create.topics.enable": "false",
            "num.partitions": "3",
            "log.retention.ms": "-1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",  # 50 by default: slow first group join
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # a 2-core machine: fewer threads than the defaults
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
        }
        text = "# written by juntos_cli on every start\n"
        text += "".join(f"{k}={v}\n" for k, v in props.items())
        self.config_file.write_text(text)

    def _format(self, java: str) -> None:
        result = subprocess.run(
            [
                java,
                "-Xmx256m",
                "-cp",
                self._classpath(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                random_cluster_id(),
                "-c",
                str(self.config_file),
                "--ignore-formatted",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=base_env(),
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            raise StartupError(f"kafka storage format failed:\n{tail}")

    def _ready(self) -> bool:
        return port_open(self.port) and run_sync(lambda: cluster_has_broker(self.bootstrap))


def random_cluster_id() -> str:
    """Same format as `kafka-storage random-uuid` (16 random bytes, base64url), without a JVM."""
    while True:
        value = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not value.startswith("-"):  # Kafka refuses ids that look like command-line flags
            return value


async def cluster_has_broker(bootstrap: str) -> bool:
    """A metadata round trip through the admin API: the broker is up and registered."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        info = await admin.describe_cluster()
        return bool(info.get("brokers"))
    finally:
        await admin.close()


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code, even when the caller already sits in an event loop."""

    async def main() -> T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()
