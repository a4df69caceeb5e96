"""The DIVIPOLA catalogue as events: what to publish so the store matches the shipped table.

Each department and municipality is a stream (`departamento:05`, `municipio:05001`) whose last
event is its current entry. Publishing is idempotent: a code already in the store with the same
entry gets nothing; a new code gets its first event; a renamed or retyped one gets a new event
with the new entry. Codes DANE removed are left as they are (their stream stays as history).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from juntos_catalogo import Divipola
from juntos_events.events import DomainEvent

from territorial.events import DepartamentoCatalogado, MunicipioCatalogado

DEPARTAMENTO = "departamento"
MUNICIPIO = "municipio"


@dataclass(frozen=True)
class Entrada:
    """One department or municipality as the catalogue publishes it."""

    tipo: str
    clave: str
    evento: DomainEvent

    @property
    def stream(self) -> str:
        return f"{self.tipo}:{self.clave}"


@dataclass(frozen=True)
class Pendiente:
    """One append the publication must do: `entrada` after `version` of its stream."""

    entrada: Entrada
    version: int


def entradas(tabla: Divipola) -> list[Entrada]:
    """Every department, then every municipality, of the DIVIPOLA table."""
    out = [
        Entrada(
            DEPARTAMENTO,
            d.codigo,
            DepartamentoCatalogado(departamento=d.codigo, denominacion=d.nombre),
        )
        for d in tabla.departamentos
    ]
    out += [
        Entrada(
            MUNICIPIO,
            m.codigo,
            MunicipioCatalogado(
                municipio=m.codigo,
                denominacion=m.nombre,
                departamento=m.departamento_codigo,
                tipo=m.tipo,
            ),
        )
        for m in tabla.municipios
    ]
    return out


def pendientes(
    deseadas: list[Entrada], publicados: Mapping[str, tuple[int, Mapping[str, Any]]]
) -> list[Pendiente]:
    """What to append so that each stream's last event is its entry (`publicados`: stream ->
    its version and the data of its last event)."""
    out = []
    for entrada in deseadas:
        version, datos = publicados.get(entrada.stream, (0, None))
        if datos is not None and dict(datos) == entrada.evento.model_dump(mode="json"):
            continue
        out.append(Pendiente(entrada, version))
    return out
