"""The running local stack as `simulate run` sees it: addresses, tokens, processes, disk.

The run drives a stack started with `juntos dev up` in the same home (`$JUNTOS_HOME` or
`<repo>/.juntos`): the ports of its last `up` say where everything listens.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psutil
from juntos_cli.dev import current_stack, dev_token
from juntos_cli.infra.process import InfraError
from juntos_cli.stack import SERVICES, Stack


@dataclass(frozen=True)
class Pila:
    stack: Stack

    @classmethod
    def actual(cls) -> Pila:
        """The home's stack; InfraError unless the five services and Kafka are up."""
        stack = current_stack()
        caidos = [n for n, s in stack.services.items() if not s.is_running()]
        if not stack.kafka.is_running():
            caidos.append("kafka")
        if caidos:
            raise InfraError(
                f"not running: {', '.join(caidos)} (home {stack.home.root}); "
                "start the stack with `juntos dev up` first"
            )
        return cls(stack)

    def url(self, servicio: str) -> str:
        return self.stack.services[servicio].url

    def urls(self) -> dict[str, str]:
        return {n: s.url for n, s in self.stack.services.items()}

    def outbox_pendiente(self) -> dict[str, int]:
        """Outbox rows not yet published, per service (read from its database)."""
        return {
            n: int(self.stack.postgres.psql("select count(*) from outbox", n).strip() or 0)
            for n in SERVICES
        }

    @property
    def bootstrap(self) -> str:
        return self.stack.kafka.bootstrap

    def pids(self) -> dict[str, int]:
        """Each service's process, Kafka's and PostgreSQL's postmaster."""
        pids = {n: s.pid for n, s in self.stack.services.items()}
        pids["kafka"] = self.stack.kafka.pid
        pids["postgres"] = self.stack.postgres.pid
        return {n: p for n, p in pids.items() if p is not None}

    def rss_pico(self) -> dict[str, int]:
        """Peak resident memory (VmHWM) per process in MiB; PostgreSQL: postmaster plus the
        largest backend's peak (each connection is a process of its own)."""
        picos: dict[str, int] = {}
        for nombre, pid in self.pids().items():
            pico = _vmhwm(pid)
            if nombre == "postgres":
                hijos = [_vmhwm(h.pid) for h in _hijos(pid)]
                picos["postgres_backend_max"] = max(hijos, default=0) // 1024
            picos[nombre] = pico // 1024
        return picos

    def disco_bases(self) -> dict[str, int]:
        """pg_database_size of each service's database, in bytes."""
        return {
            n: int(self.stack.postgres.psql(f"select pg_database_size('{n}')").strip() or 0)
            for n in SERVICES
        }

    def disco_topicos(self) -> dict[str, int]:
        """Disk used by each topic's partition directories in Kafka's log dir, in bytes."""
        tamanos: dict[str, int] = {}
        raiz = self.stack.kafka.log_dirs
        for particion in raiz.iterdir() if raiz.is_dir() else ():
            topico, _, numero = particion.name.rpartition("-")
            if not particion.is_dir() or not numero.isdigit() or topico.startswith("__"):
                continue
            tamanos[topico] = tamanos.get(topico, 0) + _bytes(particion)
        return dict(sorted(tamanos.items()))


@cache
def token(rol: str, alcance: str | None = None, sub: str | None = None) -> str:
    """A dev token the stack accepts; one per (role, scope, actor), minted once per run."""
    return dev_token(rol, alcance, sub=sub, hours=24)


def _vmhwm(pid: int) -> int:
    """Peak resident set in KiB (0 if the process is gone)."""
    try:
        for linea in Path(f"/proc/{pid}/status").read_text().splitlines():
            if linea.startswith("VmHWM:"):
                return int(linea.split()[1])
    except OSError:
        pass
    return 0


def _hijos(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _bytes(carpeta: Path) -> int:
    """Blocks really used: Kafka preallocates its index files sparse (10 MiB each)."""
    return sum(f.stat().st_blocks * 512 for f in carpeta.rglob("*") if f.is_file())
