"""Where the synthetic families live: departments in proportion to Tabla 3, real municipalities.

The seed's Tabla 3 (cogestores per department at 31 Dec 2009, `catalogo().cifras`) is the best
figure the program gives for how its families spread: one cogestor serves a fixed number of
families, so cogestores are proportional to families. Bogotá D.C. is unreadable in the source;
it gets what the table's total leaves (7,682 - 7,007 = 675). Within a department every DIVIPOLA
municipality (áreas no municipalizadas included) weighs 1, and the department's capital
(`<dd>001`) weighs `PESO_CAPITAL`: poor households gather in the capitals' outskirts, but most
of the program's municipalities are small and rural.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from functools import cache

from juntos_catalogo import catalogo, divipola

PESO_CAPITAL = 5


@cache
def pesos_departamentos() -> dict[str, int]:
    """Cogestores per department (DIVIPOLA code), Bogotá as the table's remainder."""
    tabla = dict(catalogo().cifras.cogestores_por_departamento)
    total = tabla.pop("total_general")
    d = divipola()
    pesos: dict[str, int] = {}
    for nombre, cogestores in tabla.items():
        departamento = d.departamento_por_nombre(nombre)
        if departamento is None:
            raise RuntimeError(f"Tabla 3 names {nombre!r}, which DIVIPOLA does not know")
        pesos[departamento.codigo] = cogestores
    faltan = [x.codigo for x in d.departamentos if x.codigo not in pesos]
    if faltan != ["11"]:
        raise RuntimeError(f"Tabla 3 should miss only Bogotá, it misses {faltan}")
    pesos["11"] = total - sum(pesos.values())
    return dict(sorted(pesos.items()))


def peso_municipio(codigo: str) -> int:
    return PESO_CAPITAL if codigo.endswith("001") else 1


@dataclass(frozen=True)
class _Tabla:
    """Cumulative weights for one bisect per draw (constant time whatever the table)."""

    valores: tuple[str, ...]
    acumulados: tuple[int, ...]

    @classmethod
    def de(cls, pesos: dict[str, int]) -> _Tabla:
        return cls(tuple(pesos), tuple(itertools.accumulate(pesos.values())))

    def elegir(self, rng: random.Random) -> str:
        punto = rng.random() * self.acumulados[-1]
        return self.valores[bisect.bisect_right(self.acumulados, punto)]


class Territorio:
    """Draws a municipality: its department by Tabla 3, then the municipality by weight."""

    def __init__(self) -> None:
        d = divipola()
        self._departamentos = _Tabla.de(pesos_departamentos())
        self._municipios = {
            dpto: _Tabla.de({m.codigo: peso_municipio(m.codigo) for m in d.municipios_de(dpto)})
            for dpto in pesos_departamentos()
        }

    def municipio(self, rng: random.Random) -> str:
        return self._municipios[self._departamentos.elegir(rng)].elegir(rng)
