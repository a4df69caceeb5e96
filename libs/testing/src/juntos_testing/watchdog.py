"""Stops a test session's servers if pytest dies without running its teardown (SIGKILL, OOM).

Run as `python -m juntos_testing.watchdog <pid> <create_time> <dir>...`: once that process is
gone, every process whose command line mentions one of the dirs gets SIGTERM, then SIGKILL,
and the dirs are deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time

import psutil
from juntos_cli.infra.process import stop_process, wait_gone


def parent_alive(pid: int, create_time: float) -> bool:
    """True while the watched process (not a recycled pid) still runs."""
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - create_time) < 1 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def servers_under(dirs: list[str]) -> list[psutil.Process]:
    """Processes started with one of the session's server folders on their command line."""
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if proc.pid != me and any(d in cmdline for d in dirs):
            found.append(proc)
    return found


def main(argv: list[str]) -> None:
    pid, create_time, dirs = int(argv[0]), float(argv[1]), argv[2:]
    while parent_alive(pid, create_time):
        time.sleep(1.0)
    for proc in servers_under(dirs):
        if proc.name() == "postgres":  # SIGTERM would be a "smart" shutdown; SIGINT is fast
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGINT)
                wait_gone([proc], 10)
        stop_process(proc, timeout=10)
    for folder in dirs:  # the session's own temp folders, never used again
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
