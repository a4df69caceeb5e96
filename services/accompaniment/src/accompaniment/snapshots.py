"""A case's state as a snapshot (libs/events `Snapshots`): a family's case grows with every
visit, delivery and re-evaluation over its five years, and every command loads it.

`SCHEMA` names the shape `dump` writes: change it with any change to `domain.Caso` or to this
module, and the old snapshots are ignored (cases are read whole and snapshotted again).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from juntos_events.commands import Snapshots

from accompaniment.domain import Casilla, Caso, Respuestas
from accompaniment.events import Prioridad
from accompaniment.vocabulario import EstadoCaso, EstadoLogro

SCHEMA = "caso/1"


def dump(caso: Caso) -> dict[str, Any]:
    return {
        "familia_id": caso.familia_id,
        "estado": caso.estado.value if caso.estado else None,
        "municipio": caso.municipio,
        "desplazada": caso.desplazada,
        "fecha_vinculacion": caso.fecha_vinculacion.isoformat() if caso.fecha_vinculacion else None,
        "visitas": sorted(caso.visitas),
        "linea_base": None if caso.linea_base is None else caso.linea_base.datos,
        "tablero": {lb: [c.estado.value, c.desde.isoformat()] for lb, c in caso.tablero.items()},
        "plan_version": caso.plan_version,
        "prioridades": [p.model_dump(mode="json") for p in caso.prioridades],
        "servicios": {lb: sorted(quienes) for lb, quienes in caso.servicios.items()},
        "todos_alcanzados": caso.todos_alcanzados,
        "version": caso.version,
        "linea_base_en": caso.linea_base_en,
        "cambiadas_en": dict(caso.cambiadas_en),
    }


def load(d: dict[str, Any]) -> Caso:
    vinculacion = d["fecha_vinculacion"]
    return Caso(
        familia_id=d["familia_id"],
        estado=EstadoCaso(d["estado"]) if d["estado"] else None,
        municipio=d["municipio"],
        desplazada=d["desplazada"],
        fecha_vinculacion=date.fromisoformat(vinculacion) if vinculacion else None,
        visitas=frozenset(d["visitas"]),
        linea_base=None if d["linea_base"] is None else Respuestas(d["linea_base"]),
        tablero={
            lb: Casilla(EstadoLogro(estado), date.fromisoformat(desde))
            for lb, (estado, desde) in d["tablero"].items()
        },
        plan_version=d["plan_version"],
        prioridades=tuple(Prioridad.model_validate(p) for p in d["prioridades"]),
        servicios={lb: frozenset(quienes) for lb, quienes in d["servicios"].items()},
        todos_alcanzados=d["todos_alcanzados"],
        version=d["version"],
        linea_base_en=d["linea_base_en"],
        cambiadas_en=d["cambiadas_en"],
    )


casos = Snapshots(SCHEMA, dump, load, every=10)
