"""Deterministic families for the accompaniment benchmarks: members and their baseline answers.

Like `accompaniment.ejemplos.familia_ejemplo`, but drawn from a seeded generator so that the
statuses vary: the households (sizes, relatives, ages, sexes, pregnancy, disability,
municipality) and the baseline answers are juntos_simulacion's, the generator behind
`juntos simulate generate` (see its README for the assumptions), with ages counted to `hoy`.
A few members are not in the baseline at all (arrived after it); more families are displaced
than in the program (`P_DESPLAZADA`) so that LB45 takes every status; some families already
have a Plan Familiar or a delivered service. The same `seed` and `hoy` always give the same
families.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from accompaniment.linea_base import LineaBase, RespuestasHogar, RespuestasIntegrante
from accompaniment.reglas import FAMILIA, Miembro
from juntos_catalogo import catalogo
from juntos_simulacion import respuestas
from juntos_simulacion.hogares import Hogares

P_SIN_LINEA_BASE = 0.03  # a member who arrived after the baseline: no answers at all
P_DESPLAZADA = 0.3
P_PLAN = 0.25  # the family already has a Plan Familiar (reglas only)
P_SERVICIO = 0.1  # an entity delivered a service for one LB (reglas only)
HOY = date(2026, 11, 25)  # the day of the baseline visits: ages are counted to it


@dataclass(frozen=True)
class Familia:
    familia_id: str  # a UUID, as enrollment publishes it
    municipio: str
    miembros: tuple[Miembro, ...]
    linea_base: LineaBase
    desplazada: bool
    plan_familiar: bool = False
    servicios: Mapping[str, frozenset[str]] = field(default_factory=dict)


def generar(n: int, *, seed: int, hoy: date = HOY) -> list[Familia]:
    """`n` families with their baseline, as a cogestor would take it on `hoy`."""
    rng = random.Random(seed)
    hogares = Hogares(rng, hoy, itertools.count(1))
    logros = [lb.codigo for lb in catalogo().logros_basicos]
    familias = []
    for _ in range(n):
        desplazada = rng.random() < P_DESPLAZADA
        h = hogares.hogar(desplazada)
        miembros = [
            Miembro(
                integrante_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                fecha_nacimiento=p.fecha_nacimiento,
                sexo=p.sexo,
                parentesco=p.parentesco,
                discapacidad=p.discapacidad,
                gestante=p.gestante,
            )
            for p in h.personas
        ]
        integrantes = {
            m.integrante_id: RespuestasIntegrante(**respuestas.integrante(rng, m, hoy))
            for m in miembros
            if rng.random() >= P_SIN_LINEA_BASE
        }
        hogar = RespuestasHogar(**respuestas.hogar(rng, miembros, hoy, desplazada))
        servicios = {}
        if rng.random() < P_SERVICIO:
            quien = rng.choice([FAMILIA, *(m.integrante_id for m in miembros)])
            servicios[rng.choice(logros)] = frozenset({quien})
        familias.append(
            Familia(
                familia_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                municipio=h.municipio,
                miembros=tuple(miembros),
                linea_base=LineaBase(hogar=hogar, integrantes=integrantes),
                desplazada=desplazada,
                plan_familiar=rng.random() < P_PLAN,
                servicios=servicios,
            )
        )
    return familias
