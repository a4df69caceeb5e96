"""Timing, memory and the printed result of one benchmark."""

from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started


@dataclass
class Result:
    bench: str
    events: int
    project_seconds: float
    baseline_seconds: float
    target: float
    baseline: str
    peak_rss_mib: float = field(default_factory=peak_rss_mib)
    when: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def project_eps(self) -> float:
        return self.events / self.project_seconds

    @property
    def baseline_eps(self) -> float:
        return self.events / self.baseline_seconds

    @property
    def ratio(self) -> float:
        return self.project_eps / self.baseline_eps

    def show(self, run_file: Path) -> None:
        verdict = "meets" if self.ratio >= self.target else "BELOW"
        print(
            f"{self.bench:9} project {self.project_eps:10,.0f} ev/s | {self.baseline} "
            f"{self.baseline_eps:10,.0f} ev/s | ratio {self.ratio:.2f} ({verdict} target "
            f"{self.target}) | peak RSS {self.peak_rss_mib:.0f} MiB"
        )
        line = json.dumps(
            {
                **asdict(self),
                "project_eps": round(self.project_eps, 1),
                "baseline_eps": round(self.baseline_eps, 1),
                "ratio": round(self.ratio, 3),
            }
        )
        print(line)
        RESULTS.mkdir(exist_ok=True)
        with run_file.open("a") as out:
            out.write(line + "\n")
