"""Timing, per-phase memory and the printed result of one benchmark."""

from __future__ import annotations

import contextlib
import cProfile
import ctypes
import gc
import io
import json
import pstats
import re
import resource
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
# `--profile`: timed phases run under cProfile, one profile per bench and side (slows them).
PROFILING = False
PROFILES: dict[str, cProfile.Profile] = {}


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux ≥ 4.0: write 5 to clear_refs); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_mib(field: str) -> float | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


def peak_rss_mib() -> float:
    """Peak RSS since the last reset (VmHWM), else since the process started (ru_maxrss)."""
    peak = _status_mib("VmHWM")
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def release_memory() -> None:
    """Give freed memory back to the system before a phase, so its peak RSS is its own."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Phase:
    """Wall time, CPU time and peak RSS of the benchmark process during one timed phase.

    `with Phase() as p: ...`; `p.events` may be set when the phase measured a number of events
    other than the benchmark's N (a consumer observed from a poller).
    """

    seconds: float
    started: float
    started_cpu: float
    cpu_seconds: float | None = None
    """CPU time of this process (all its threads) in the phase: on a 2-core machine shared with
    the servers, what a change saves shows here even when wall time hides it."""
    peak_rss_mib: float
    events: int | None = None

    def __init__(self, profile_as: str | None = None) -> None:
        self.profiler = None
        if PROFILING and profile_as:
            self.profiler = PROFILES.setdefault(profile_as, cProfile.Profile())

    def start(self) -> Phase:
        self.per_phase = _reset_peak()
        self.start_rss_mib = _status_mib("VmRSS") or 0.0
        if self.profiler:
            self.profiler.enable()
        self.started = time.perf_counter()
        self.started_cpu = time.process_time()
        return self

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self.started_cpu
        if self.profiler:
            self.profiler.disable()
        self.peak_rss_mib = peak_rss_mib()

    def __enter__(self) -> Phase:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @classmethod
    def mean(cls, runs: list[Phase]) -> Phase:
        """One phase standing for several runs of the same work: mean time, highest peak."""
        phase = cls()
        phase.seconds = sum(r.seconds for r in runs) / len(runs)
        cpu = [r.cpu_seconds for r in runs if r.cpu_seconds is not None]
        phase.cpu_seconds = sum(cpu) / len(cpu) if len(cpu) == len(runs) else None
        phase.peak_rss_mib = max(r.peak_rss_mib for r in runs)
        phase.start_rss_mib = max(r.start_rss_mib for r in runs)
        phase.per_phase = all(r.per_phase for r in runs)
        return phase

    @classmethod
    def total(cls, runs: list[Phase]) -> Phase:
        """One phase made of several parts of the work: summed time, highest peak."""
        phase = cls.mean(runs)
        phase.seconds *= len(runs)
        if phase.cpu_seconds is not None:
            phase.cpu_seconds *= len(runs)
        return phase

    def eps(self, events: int) -> float:
        return (self.events or events) / self.seconds


def dump_profiles(stem: Path, top: int = 40) -> None:
    """Write each collected profile (`<stem>-<name>.prof`) and print its costliest functions."""
    for name, profiler in PROFILES.items():
        path = stem.parent / f"{stem.name}-{name}.prof"
        profiler.dump_stats(path)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("tottime")
        stats.print_stats(top)
        print(f"--- {name}: {path} (by own time)\n{text.getvalue()}", flush=True)
    PROFILES.clear()


def ratio_text(ratio: float) -> str:
    """Two decimals, three below 0.1 (the import's ratio against a bare COPY is about 0.01)."""
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.3f}"


@dataclass
class Result:
    bench: str
    events: int
    project: Phase
    baseline: Phase
    target: float | None  # None: no agreed target yet, the ratio is only recorded
    project_path: str
    baseline_path: str
    extra: dict[str, Any] = field(default_factory=dict)
    unit: str = "ev"  # what `events` counts, in the printed line (import: people)
    when: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def project_eps(self) -> float:
        return self.project.eps(self.events)

    @property
    def baseline_eps(self) -> float:
        return self.baseline.eps(self.events)

    @property
    def ratio(self) -> float:
        return self.project_eps / self.baseline_eps

    def record(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "events": self.events,
            "project_eps": round(self.project_eps, 1),
            "baseline_eps": round(self.baseline_eps, 1),
            "ratio": round(self.ratio, 3),
            "target": self.target,
            "meets_target": None if self.target is None else self.ratio >= self.target,
            "project_seconds": round(self.project.seconds, 3),
            "baseline_seconds": round(self.baseline.seconds, 3),
            **{
                f"{side}_cpu_seconds": round(phase.cpu_seconds, 3)
                for side, phase in (("project", self.project), ("baseline", self.baseline))
                if phase.cpu_seconds is not None
            },
            "project_peak_rss_mib": round(self.project.peak_rss_mib, 1),
            "baseline_peak_rss_mib": round(self.baseline.peak_rss_mib, 1),
            "project_start_rss_mib": round(self.project.start_rss_mib, 1),
            "baseline_start_rss_mib": round(self.baseline.start_rss_mib, 1),
            "peak_rss_per_phase": self.project.per_phase and self.baseline.per_phase,
            "profiled": PROFILING,
            "project": self.project_path,
            "baseline": self.baseline_path,
            **self.extra,
            "when": self.when,
        }

    def show(self, run_file: Path) -> dict[str, Any]:
        if self.target is None:
            verdict = "no target"
        else:
            verdict = ("meets" if self.ratio >= self.target else "BELOW") + f" target {self.target}"
        print(
            f"{self.bench:9} project {self.project_eps:9,.0f} {self.unit}/s | baseline "
            f"{self.baseline_eps:9,.0f} {self.unit}/s ({self.baseline_path}) | "
            f"ratio {ratio_text(self.ratio)} ({verdict}) | peak RSS project "
            f"{self.project.peak_rss_mib:.0f} MiB, baseline {self.baseline.peak_rss_mib:.0f} MiB",
            flush=True,
        )
        record = self.record()
        line = json.dumps(record)
        print(line, flush=True)
        RESULTS.mkdir(exist_ok=True)
        with run_file.open("a") as out:
            out.write(line + "\n")
        return record
