"""What one stage of `simulate run` measured: items, wall time, request latencies, lag (pure)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def percentil(valores: list[float], p: float) -> float | None:
    """The p-th percentile by nearest rank (p in 0..100); None for no values.

    Nearest rank, not interpolation: the figure is a latency some request really had.
    """
    if not valores:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is not in 0..100")
    ordenados = sorted(valores)
    rango = max(1, math.ceil(p / 100 * len(ordenados)))
    return ordenados[rango - 1]


@dataclass
class Medida:
    """One stage: what it did, how long it took, every request's latency and outcome."""

    etapa: str
    interfaz: str
    items: int = 0
    segundos: float = 0.0
    eventos: int | None = None
    latencias: list[float] = field(default_factory=list)
    respuestas: Counter[str] = field(default_factory=Counter)
    errores: list[str] = field(default_factory=list)
    rezago: int | None = None
    rezago_grupos: dict[str, int] = field(default_factory=dict)
    """Each consumer group's lag at the end of the stage."""
    backlog: int | None = None

    def anotar(self, segundos: float, estado: int | str) -> None:
        self.latencias.append(segundos)
        self.respuestas[str(estado)] += 1

    def error(self, texto: str) -> None:
        """A request refused unexpectedly; the first 20 are kept whole, the rest counted."""
        if len(self.errores) < 20:
            self.errores.append(texto[:500])
        self.respuestas["error"] += 1

    @property
    def fallidas(self) -> int:
        return self.respuestas["error"]

    def resumen(self) -> dict[str, Any]:
        """The stage's figures for the report (latencies in ms)."""
        p50, p99 = percentil(self.latencias, 50), percentil(self.latencias, 99)
        por_segundo = self.items / self.segundos if self.segundos else None
        eventos_s = self.eventos / self.segundos if self.segundos and self.eventos else None
        return {
            "etapa": self.etapa,
            "interfaz": self.interfaz,
            "items": self.items,
            "segundos": round(self.segundos, 3),
            "items_por_segundo": _redondo(por_segundo),
            "eventos": self.eventos,
            "eventos_por_segundo": _redondo(eventos_s),
            "peticiones": len(self.latencias),
            "p50_ms": _redondo(p50 * 1000 if p50 is not None else None),
            "p99_ms": _redondo(p99 * 1000 if p99 is not None else None),
            "respuestas": dict(sorted(self.respuestas.items())),
            "errores": self.errores,
            "rezago_consumidores": self.rezago,
            "rezago_por_grupo": dict(sorted(self.rezago_grupos.items())),
            "outbox_pendiente": self.backlog,
        }


def _redondo(x: float | None) -> float | None:
    return None if x is None else round(x, 1)
