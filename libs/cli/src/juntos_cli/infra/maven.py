"""Resolve runtime jars (Kafka, Zipkin) from Maven Central into a local folder, once.

mvn is slow to start, so the folder carries a stamp with the pom's hash and is only rebuilt
when it is missing or the pom changed; a file lock keeps parallel test workers from racing.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

from juntos_cli.infra.process import InfraError, require_tool

STAMP = ".pom.sha256"


def pom_hash(pom: Path) -> str:
    """The content hash that decides whether the jar folder is current."""
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def libs_current(pom: Path, libs_dir: Path) -> bool:
    """True when libs_dir was filled from this exact pom."""
    stamp = libs_dir / STAMP
    return stamp.is_file() and stamp.read_text().strip() == pom_hash(pom)


def ensure_libs(pom: Path, libs_dir: Path) -> Path:
    """Copy the pom's dependencies into libs_dir unless the stamp says they are already there."""
    if not pom.is_file():
        raise InfraError(f"pom not found: {pom}")
    if libs_current(pom, libs_dir):
        return libs_dir
    libs_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = libs_dir.parent / f".{libs_dir.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if libs_current(pom, libs_dir):  # another process did it while we waited
            return libs_dir
        mvn = require_tool("mvn", f"once to download jars from Maven Central ({pom.name})")
        staging = libs_dir.with_name(libs_dir.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                mvn,
                "-f",
                str(pom),
                "-q",
                "-B",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not any(staging.glob("*.jar")):
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            code = result.returncode
            raise InfraError(f"mvn could not resolve {pom.name} (exit {code}):\n{tail}")
        (staging / STAMP).write_text(pom_hash(pom))
        shutil.rmtree(libs_dir, ignore_errors=True)
        staging.rename(libs_dir)
    return libs_dir
