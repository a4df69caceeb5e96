"""Reports over one municipality: the Mapa de Oferta Local, demand against supply, Tabla 4's
offer characteristics, offer gaps and possible duplication (concurrencia).

Definitions (the README repeats them):
- demand of an LB: families with it POR_ALCANZAR on their latest board in the municipality;
- supply of an LB: slots of the programs serving it, each program's latest period there;
- suficiencia (per dimension): slots of the programs serving the dimension / families with
  one of its LB pending;
- oportunidad: median days from the LB becoming pending to the slot's assignment;
- pertinencia: share of the dimension's LB with demand that have at least one program;
- calidad: mean of the latest compliance each program of the dimension reported;
- concurrencia: pairs of programs of different entities serving the same LB in the
  municipality to overlapping populations (ages, sex): possible duplication;
- gap: an LB no program serves in the municipality.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from juntos_catalogo import catalogo
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from offer.domain import DatosPrograma
from offer.elegibilidad import poblaciones_se_solapan
from offer.events import Elegibilidad
from offer.vocabulario import Alcance, NivelGobierno


def datos_de(fila: Any) -> DatosPrograma:
    return DatosPrograma(
        entidad=fila.entidad,
        titulo=fila.titulo,
        nivel=NivelGobierno(fila.nivel),
        alcance=Alcance(fila.alcance),
        logros=tuple(fila.logros),
        elegibilidad=Elegibilidad.model_validate(fila.elegibilidad),
        municipios=tuple(fila.municipios),
    )


async def programas_en(conn: AsyncConnection, municipio: str) -> list[Row[Any]]:
    """Programs running in the municipality, with their latest period's slots there."""
    return list(
        await conn.execute(
            text(
                """
                SELECT p.*, c.periodo, coalesce(c.capacidad, 0) AS capacidad,
                       coalesce(c.asignados, 0) AS asignados
                FROM programas p
                LEFT JOIN LATERAL (
                    SELECT periodo, capacidad, asignados FROM cupos
                    WHERE programa_id = p.programa_id AND municipio = :m
                    ORDER BY periodo DESC LIMIT 1
                ) c ON true
                WHERE :m = ANY(p.municipios)
                ORDER BY p.programa_id
                """
            ),
            {"m": municipio},
        )
    )


@dataclass(frozen=True)
class PorLogro:
    logro: str
    dimension: str
    familias: int
    integrantes: int
    programas: int
    cupos: int
    familias_con_cupo: int
    insatisfecha: bool

    @property
    def cobertura(self) -> float | None:
        return round(self.cupos / self.familias, 4) if self.familias else None


async def por_logro(conn: AsyncConnection, municipio: str) -> list[PorLogro]:
    """Demand against supply for each of the 45 LB in the municipality."""
    demanda = {
        r.logro: r
        for r in await conn.execute(
            text(
                "SELECT logro, count(*) AS familias, sum(cardinality(integrantes)) AS integrantes"
                " FROM demanda WHERE municipio = :m GROUP BY logro"
            ),
            {"m": municipio},
        )
    }
    balance = {
        r.logro: r
        for r in await conn.execute(
            text("SELECT logro, cupos, insatisfecha FROM balance WHERE municipio = :m"),
            {"m": municipio},
        )
    }
    con_cupo = {
        r.logro: r.n
        for r in await conn.execute(
            text(
                """
                SELECT d.logro, count(DISTINCT d.familia_id) AS n FROM demanda d
                JOIN asignaciones a ON a.familia_id = d.familia_id AND a.estado = 'ASIGNADO'
                     AND d.logro = ANY(a.logros) AND a.municipio = d.municipio
                WHERE d.municipio = :m GROUP BY d.logro
                """
            ),
            {"m": municipio},
        )
    }
    programas: dict[str, int] = defaultdict(int)
    for fila in await programas_en(conn, municipio):
        for lb in fila.logros:
            programas[lb] += 1
    out = []
    for lb in catalogo().logros_basicos:
        d, b = demanda.get(lb.codigo), balance.get(lb.codigo)
        out.append(
            PorLogro(
                logro=lb.codigo,
                dimension=lb.dimension,
                familias=d.familias if d else 0,
                integrantes=int(d.integrantes or 0) if d else 0,
                programas=programas[lb.codigo],
                cupos=b.cupos if b else 0,
                familias_con_cupo=con_cupo.get(lb.codigo, 0),
                insatisfecha=bool(b.insatisfecha) if b else False,
            )
        )
    return out


async def familias_con_demanda(
    conn: AsyncConnection,
    municipio: str,
    *,
    logro: str | None,
    sin_cupo: bool,
    despues_de: tuple[str, str] | None,
    limite: int,
) -> list[Row[Any]]:
    filtros, params = ["d.municipio = :m"], {"m": municipio, "limite": limite}
    if logro is not None:
        filtros.append("d.logro = :logro")
        params["logro"] = logro
    if despues_de is not None:
        filtros.append("(d.familia_id, d.logro) > (:cf, :cl)")
        params.update(cf=despues_de[0], cl=despues_de[1])
    con_cupo = (
        "EXISTS (SELECT 1 FROM asignaciones a WHERE a.familia_id = d.familia_id"
        " AND a.estado = 'ASIGNADO' AND d.logro = ANY(a.logros) AND a.municipio = d.municipio)"
    )
    if sin_cupo:
        filtros.append(f"NOT {con_cupo}")
    sql = (
        f"SELECT d.familia_id, d.logro, d.integrantes, d.desde, pr.orden AS prioridad_plan,"
        f" {con_cupo} AS con_cupo FROM demanda d"
        " LEFT JOIN prioridades pr ON pr.familia_id = d.familia_id AND pr.logro = d.logro"
        f" WHERE {' AND '.join(filtros)} ORDER BY d.familia_id, d.logro LIMIT :limite"
    )
    return list(await conn.execute(text(sql), params))


@dataclass(frozen=True)
class Concurrencia:
    logro: str
    dimension: str
    programa_a: str
    entidad_a: str
    programa_b: str
    entidad_b: str
    familias_en_ambos: int


async def concurrencias(conn: AsyncConnection, municipio: str) -> list[Concurrencia]:
    """Programs of different entities, same LB, same municipality, overlapping population."""
    filas = await programas_en(conn, municipio)
    atendidas: dict[str, set[str]] = defaultdict(set)
    for r in await conn.execute(
        text(
            "SELECT programa_id, familia_id FROM asignaciones WHERE municipio = :m"
            " UNION SELECT programa_id, familia_id FROM servicios WHERE municipio = :m"
        ),
        {"m": municipio},
    ):
        atendidas[r.programa_id].add(r.familia_id)
    por_lb: dict[str, list[Any]] = defaultdict(list)
    for f in filas:
        for lb in f.logros:
            por_lb[lb].append(f)
    cat = catalogo()
    out = []
    for lb in sorted(por_lb, key=lambda c: int(c[2:])):
        for a, b in combinations(por_lb[lb], 2):
            if a.entidad == b.entidad or not poblaciones_se_solapan(datos_de(a), datos_de(b)):
                continue
            out.append(
                Concurrencia(
                    logro=lb,
                    dimension=cat.logro(lb).dimension,
                    programa_a=a.programa_id,
                    entidad_a=a.entidad,
                    programa_b=b.programa_id,
                    entidad_b=b.entidad,
                    familias_en_ambos=len(atendidas[a.programa_id] & atendidas[b.programa_id]),
                )
            )
    return out


@dataclass(frozen=True)
class Caracteristicas:
    dimension: str
    familias_con_demanda: int
    cupos: int
    suficiencia: float | None
    oportunidad_dias: float | None
    pertinencia: float | None
    calidad: float | None
    concurrencia: int


async def caracteristicas(
    conn: AsyncConnection, municipio: str, logros: Sequence[PorLogro]
) -> list[Caracteristicas]:
    """Tabla 4 per dimension, from the data (see the module's definitions)."""
    p = {"m": municipio}
    familias = {
        r.dimension: r.n
        for r in await conn.execute(
            text(
                "SELECT dimension, count(DISTINCT familia_id) AS n FROM demanda"
                " JOIN unnest(CAST(:lbs AS text[]), CAST(:dims AS text[])) AS c(logro, dimension)"
                " USING (logro) WHERE municipio = :m GROUP BY dimension"
            ),
            {
                **p,
                "lbs": [lb.codigo for lb in catalogo().logros_basicos],
                "dims": [lb.dimension for lb in catalogo().logros_basicos],
            },
        )
    }
    oportunidad = {
        r.dimension: r.dias
        for r in await conn.execute(
            text(
                "SELECT d AS dimension, percentile_cont(0.5) WITHIN GROUP"
                " (ORDER BY a.fecha - a.pendiente_desde) AS dias"
                " FROM asignaciones a JOIN programas pr USING (programa_id)"
                " CROSS JOIN LATERAL unnest(pr.dimensiones) AS d"
                " WHERE a.municipio = :m AND a.pendiente_desde IS NOT NULL GROUP BY d"
            ),
            p,
        )
    }
    calidad = {
        r.dimension: r.media
        for r in await conn.execute(
            text(
                "SELECT d AS dimension, avg(q.cumplimiento) AS media FROM programas pr"
                " CROSS JOIN LATERAL unnest(pr.dimensiones) AS d"
                " JOIN LATERAL (SELECT cumplimiento FROM calidad WHERE programa_id ="
                " pr.programa_id ORDER BY periodo DESC LIMIT 1) q ON true"
                " WHERE :m = ANY(pr.municipios) GROUP BY d"
            ),
            p,
        )
    }
    cupos: dict[str, int] = defaultdict(int)
    for f in await programas_en(conn, municipio):
        for d in f.dimensiones:
            cupos[d] += f.capacidad
    duplicados: dict[str, int] = defaultdict(int)
    for c in await concurrencias(conn, municipio):
        duplicados[c.dimension] += 1
    out = []
    for dim in catalogo().dimensiones:
        propios = [x for x in logros if x.dimension == dim.codigo and x.familias]
        n = familias.get(dim.codigo, 0)
        out.append(
            Caracteristicas(
                dimension=dim.codigo,
                familias_con_demanda=n,
                cupos=cupos[dim.codigo],
                suficiencia=round(cupos[dim.codigo] / n, 4) if n else None,
                oportunidad_dias=_numero(oportunidad.get(dim.codigo)),
                pertinencia=(
                    round(sum(1 for x in propios if x.programas) / len(propios), 4)
                    if propios
                    else None
                ),
                calidad=_numero(calidad.get(dim.codigo)),
                concurrencia=duplicados[dim.codigo],
            )
        )
    return out


def _numero(valor: Any) -> float | None:
    return None if valor is None else round(float(valor), 2)
