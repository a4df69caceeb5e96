"""Shared helpers to run local servers as detached processes and know when they are ready.

Every local server (Kafka, Zipkin, the services) is a child that must outlive the CLI that
started it, so it runs in its own session, writes its pid file and log under the data folder,
and is later found again from that pid file alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

HOST = "127.0.0.1"


class InfraError(RuntimeError):
    """A local server problem the user can fix; the CLI shows it as one red line, no traceback."""


class PortInUseError(InfraError):
    """The port we were asked to listen on belongs to another process."""


class MissingToolError(InfraError):
    """A required executable (java, mvn) is not on PATH."""


class StartupError(InfraError):
    """A server did not become ready; the message carries the tail of its log."""


@dataclass(frozen=True)
class PidRecord:
    """What we remember about a started process, so a recycled pid is not mistaken for ours."""

    pid: int
    create_time: float

    def process(self) -> psutil.Process | None:
        """The live process if it is still the one we started, else None."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 1.0:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None


def require_tool(name: str, why: str) -> str:
    """Return the path of an executable, or fail with a one-line hint when it is missing."""
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(f"`{name}` was not found on PATH; it is needed {why}")
    return path


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on host:port (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_owner(port: int) -> str | None:
    """Best-effort 'name (pid N)' of the process listening on a port, for error messages."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid is None:
                    return None
                try:
                    return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
                except psutil.Error:
                    return f"pid {conn.pid}"
    except (psutil.Error, OSError):
        return None
    return None


def ensure_port_free(port: int, what: str, host: str = HOST) -> None:
    """Fail with a clear message when another process already holds the port."""
    if port_is_free(port, host):
        return
    owner = port_owner(port)
    by = f" by {owner}" if owner else ""
    raise PortInUseError(
        f"port {port} for {what} is already in use{by}; free it or choose another port"
    )


def free_port(host: str = HOST) -> int:
    """An ephemeral port that is free right now (tests use it to never clash with `dev up`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when a TCP connect to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file, to explain a failed start."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"


def read_pid(pid_file: Path) -> PidRecord | None:
    """The record in a pid file, or None when there is none or it is unreadable."""
    try:
        data = json.loads(pid_file.read_text())
        return PidRecord(pid=int(data["pid"]), create_time=float(data["create_time"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_process(pid_file: Path) -> psutil.Process | None:
    """The live process recorded in a pid file; a stale pid file is removed."""
    record = read_pid(pid_file)
    if record is None:
        return None
    proc = record.process()
    if proc is None:
        pid_file.unlink(missing_ok=True)
    return proc


class PidFileProcess:
    """A server this CLI started and tracks through its pid file (`self.pid_file`)."""

    pid_file: Path

    @property
    def pid(self) -> int | None:
        """The live process's pid, or None when stopped."""
        proc = running_process(self.pid_file)
        return proc.pid if proc else None

    def is_running(self) -> bool:
        """True when the process we started is alive."""
        return running_process(self.pid_file) is not None


def spawn(
    cmd: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> psutil.Process:
    """Start a detached process (own session, output to its log) and record its pid.

    A new session keeps Ctrl-C in the user's terminal from reaching the server later.
    """
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        popen = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    proc = psutil.Process(popen.pid)
    pid_file.write_text(json.dumps({"pid": proc.pid, "create_time": proc.create_time()}))
    return proc


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    log_file: Path | Sequence[Path],
    proc: psutil.Process | None = None,
    interval: float = 0.2,
) -> None:
    """Poll `check` until it is true; fail early if the process died, with the logs' tails."""
    logs = [log_file] if isinstance(log_file, Path) else list(log_file)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # a readiness probe failing just means "not yet"
            pass
        if proc is not None and not _alive(proc):
            raise StartupError(f"{what} exited during startup\n{_tails(logs)}")
        if time.monotonic() > deadline:
            raise StartupError(f"{what} was not ready after {timeout:.0f} s\n{_tails(logs)}")
        time.sleep(interval)


def _tails(logs: Sequence[Path]) -> str:
    parts = [f"--- {p} ---\n{log_tail(p)}" for p in logs if p.is_file() and p.stat().st_size]
    return "\n".join(parts) or f"(no output in {', '.join(map(str, logs))})"


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_gone(procs: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until the processes exit; return those still alive.

    A zombie counts as gone: servers are not our children once the starting CLI exits, and
    some init processes (containers, microVMs) reap orphans only every few seconds.
    """
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if _alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _alive(p)]
    return alive


def stop_process(proc: psutil.Process, timeout: float = 20.0) -> None:
    """SIGTERM the process and its children, then SIGKILL whatever is left after `timeout`."""
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return
    for p in family:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    for p in wait_gone(family, timeout):
        with contextlib.suppress(psutil.Error):
            p.kill()
    wait_gone(family, 5.0)
    for p in family:  # reap our own children so they do not linger as zombies
        with contextlib.suppress(psutil.Error, ChildProcessError):
            p.wait(timeout=0)


def stop_pid_file(pid_file: Path, timeout: float = 20.0) -> bool:
    """Stop the process recorded in a pid file; True if something was running."""
    proc = running_process(pid_file)
    if proc is not None:
        stop_process(proc, timeout)
    pid_file.unlink(missing_ok=True)
    return proc is not None


def base_env() -> dict[str, str]:
    """A minimal environment for JVMs, so stray variables (KAFKA_*, ...) do not reconfigure them."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "JAVA_HOME", "TMPDIR", "USER")
    return {k: os.environ[k] for k in keep if k in os.environ}
