"""Deterministic families for the accompaniment benchmarks: members and their baseline answers.

Like `accompaniment.ejemplos.familia_ejemplo`, but drawn from a seeded generator so that the
statuses vary: households of 1-8 members (uniform, one JEFE, the relatives and ages of
bench/sisben.py, babies counted in months), sexes, pregnancy and disability; each member is
asked only the questions the questionnaire says are for them (by age, sex, pregnancy,
disability), the household the questions that apply to it (children under 5 or 6, minors
living with adults, a member with a disability, a displaced family). Each answer is, with
probability `P_CUMPLE`, the one that meets the LB (`ejemplos.hogar_completo` /
`integrante_completo`), else a value drawn from the question's type (enum, bool, bounded int,
subset of an enum), and an optional question is left unanswered with probability
`P_SIN_RESPUESTA`. A few members are not in the baseline at all (arrived after it). The same
`seed` and `hoy` always give the same families.
"""

from __future__ import annotations

import random
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from accompaniment.ejemplos import hogar_completo, integrante_completo
from accompaniment.linea_base import LineaBase, RespuestasHogar, RespuestasIntegrante
from accompaniment.reglas import FAMILIA, Miembro
from annotated_types import Ge, Le
from juntos_catalogo import catalogo, divipola
from pydantic import BaseModel
from pydantic.fields import FieldInfo

P_CUMPLE = 0.8  # an answer is the one that meets the LB
P_SIN_RESPUESTA = 0.04  # an optional question the cogestor left unanswered
P_SIN_LINEA_BASE = 0.03  # a member who arrived after the baseline: no answers at all
P_DESPLAZADA = 0.3
P_PLAN = 0.25  # the family already has a Plan Familiar (reglas only)
P_SERVICIO = 0.1  # an entity delivered a service for one LB (reglas only)
HOY = date(2026, 11, 25)  # the day of the baseline visits: ages are counted to it
OTROS = ["HIJO"] * 6 + ["NIETO", "HERMANO", "PADRE_MADRE", "OTRO_PARIENTE", "NO_PARIENTE"]


@dataclass(frozen=True)
class Familia:
    familia_id: str  # a UUID, as enrollment publishes it
    municipio: str
    miembros: tuple[Miembro, ...]
    linea_base: LineaBase
    desplazada: bool
    plan_familiar: bool = False
    servicios: Mapping[str, frozenset[str]] = field(default_factory=dict)


# Whom each member question is for (the questionnaire's descriptions): (member, years, months).
Para = Callable[[Miembro, int, int], bool]
_PARA_INTEGRANTE: dict[str, Para] = {
    "documentos": lambda m, a, _: True,
    "libreta_militar": lambda m, a, _: m.sexo == "H" and 18 <= a <= 50,
    "datos_sisben": lambda m, a, _: True,
    "fuentes_ingreso": lambda m, a, _: a >= 15,
    "ocupacion": lambda m, a, _: a >= 15,
    "apoyo_laboral": lambda m, a, _: a >= 15,
    "grado_aprobado": lambda m, a, _: a >= 5,
    "asistencia_educativa": lambda m, a, _: True,
    "desea_continuar_estudios": lambda m, a, _: False,  # asked after grado_aprobado, below
    "sabe_leer_escribir": lambda m, a, _: 18 <= a <= 65,
    "trabajo_infantil": lambda m, a, _: 5 <= a <= 14,
    "afiliacion_salud": lambda m, a, _: True,
    "conoce_planificacion_familiar": lambda m, a, _: a >= 12,
    "dosis_pentavalente": lambda m, a, meses: meses >= 12 and a <= 5,
    "dosis_srp": lambda m, a, meses: meses >= 12 and a <= 5,
    "refuerzos_polio_dpt": lambda m, a, meses: meses >= 12 and a <= 5,
    "controles_prenatales": lambda m, a, _: m.gestante,
    "crecimiento_desarrollo": lambda m, a, _: a < 10,
    "tamizaje_cuello_uterino": lambda m, a, _: m.sexo == "M" and 25 <= a <= 69,
    "tamizaje_mama": lambda m, a, _: m.sexo == "M" and 50 <= a <= 69,
    "tamizaje_prostata": lambda m, a, _: m.sexo == "H" and a >= 50,
    "rehabilitacion": lambda m, a, _: m.discapacidad,
    "ayudas_tecnicas": lambda m, a, _: m.discapacidad,
    "en_lactancia": lambda m, a, _: m.sexo == "M" and 14 <= a <= 45,
    "suplementos_nutricionales": lambda m, a, _: m.gestante,  # or breastfeeding, below
    "lactancia_materna_exclusiva": lambda m, a, meses: meses < 6,
}
if set(_PARA_INTEGRANTE) != set(RespuestasIntegrante.model_fields):
    raise RuntimeError("bench/familias.py no longer covers the member questionnaire")


def _dominio(info: FieldInfo) -> Callable[[random.Random], Any]:
    """A draw from the type of a question: enum member, bool, bounded int or enum subset."""
    tipo = info.annotation
    if get_origin(tipo) in (Union, types.UnionType):
        tipo = next(t for t in get_args(tipo) if t is not type(None))
    if get_origin(tipo) is Annotated:
        tipo = get_args(tipo)[0]
    if get_origin(tipo) is frozenset:
        valores = list(get_args(tipo)[0])
        return lambda rng: frozenset(v for v in valores if rng.random() < 0.5)
    if isinstance(tipo, type) and issubclass(tipo, Enum):
        valores = list(tipo)
        return lambda rng: rng.choice(valores)
    if tipo is bool:
        return lambda rng: rng.random() < 0.5
    if tipo is int:
        ge = next(m.ge for m in info.metadata if isinstance(m, Ge))
        le = next(m.le for m in info.metadata if isinstance(m, Le))
        return lambda rng: rng.randint(ge, le)
    if isinstance(tipo, type) and issubclass(tipo, BaseModel):
        partes = {k: _dominio(i) for k, i in tipo.model_fields.items()}
        return lambda rng: tipo(**{k: draw(rng) for k, draw in partes.items()})
    raise TypeError(f"no generator for {tipo!r}")


_HOGAR = {k: _dominio(i) for k, i in RespuestasHogar.model_fields.items()}
_INTEGRANTE = {k: _dominio(i) for k, i in RespuestasIntegrante.model_fields.items()}
_HOGAR_BUENO = hogar_completo().__dict__
_INTEGRANTE_BUENO = integrante_completo().__dict__


def _respuesta(rng: random.Random, bueno: Any, draw: Callable[[random.Random], Any]) -> Any:
    return bueno if bueno is not None and rng.random() < P_CUMPLE else draw(rng)


def _edad(parentesco: str, jefe: int, rng: random.Random) -> int:
    if parentesco == "CONYUGE":
        return max(16, jefe + rng.randint(-8, 8))
    if parentesco == "HIJO":
        return rng.randint(0, max(0, min(35, jefe - 16)))
    if parentesco == "NIETO":
        return rng.randint(0, max(0, min(20, jefe - 36)))
    if parentesco == "PADRE_MADRE":
        return min(100, jefe + rng.randint(17, 35))
    return rng.randint(0, 80)


def _miembros(rng: random.Random, hoy: date) -> list[Miembro]:
    tamano = rng.randint(1, 8)
    jefe = rng.randint(18, 85)
    parentescos = ["JEFE"]
    if tamano > 1:
        parentescos.append("CONYUGE" if rng.random() < 0.6 else rng.choice(OTROS))
    parentescos += [rng.choice(OTROS) for _ in range(tamano - len(parentescos))]
    miembros = []
    for parentesco in parentescos:
        edad = jefe if parentesco == "JEFE" else _edad(parentesco, jefe, rng)
        sexo = rng.choice("HM")
        miembros.append(
            Miembro(
                integrante_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                fecha_nacimiento=hoy - timedelta(days=365 * edad + rng.randint(0, 364)),
                sexo=sexo,
                parentesco=parentesco,
                discapacidad=rng.random() < 0.07,
                gestante=sexo == "M" and 14 <= edad <= 45 and rng.random() < 0.12,
            )
        )
    return miembros


def _integrante(rng: random.Random, m: Miembro, hoy: date) -> RespuestasIntegrante:
    anios = hoy.year - m.fecha_nacimiento.year
    anios -= (hoy.month, hoy.day) < (m.fecha_nacimiento.month, m.fecha_nacimiento.day)
    meses = (hoy.year - m.fecha_nacimiento.year) * 12 + hoy.month - m.fecha_nacimiento.month
    meses -= hoy.day < m.fecha_nacimiento.day
    respuestas: dict[str, Any] = {}
    for campo, para in _PARA_INTEGRANTE.items():
        if para(m, anios, meses) and rng.random() >= P_SIN_RESPUESTA:
            respuestas[campo] = _respuesta(rng, _INTEGRANTE_BUENO[campo], _INTEGRANTE[campo])
    if "grado_aprobado" in respuestas:  # children by age, give or take; adults anything
        tope = min(11, anios - 6)
        grado = tope - rng.randint(0, 2) if anios < 18 else rng.randint(0, tope)
        respuestas["grado_aprobado"] = max(0, grado)
        if grado >= 9:
            respuestas["desea_continuar_estudios"] = rng.random() < 0.3
    if respuestas.get("en_lactancia") and "suplementos_nutricionales" not in respuestas:
        respuestas["suplementos_nutricionales"] = _respuesta(
            rng, True, _INTEGRANTE["suplementos_nutricionales"]
        )
    return RespuestasIntegrante(**respuestas)


def _hogar(rng: random.Random, miembros: list[Miembro], hoy: date, desplazada: bool) -> Any:
    edades = [(hoy - m.fecha_nacimiento).days // 365 for m in miembros]
    condicional = {
        "alimentacion_menores_5": any(e < 5 for e in edades),
        "ninos_duermen_separados": any(e < 18 for e in edades) and any(e >= 18 for e in edades),
        "pautas_crianza_humanizada": any(e < 6 for e in edades),
        "cuidado_conjunto_discapacidad": any(m.discapacidad for m in miembros),
        "ged": desplazada,
    }
    respuestas: dict[str, Any] = {}
    for campo, draw in _HOGAR.items():
        preguntada = condicional.get(campo, True)
        if not preguntada or (campo in condicional and rng.random() < P_SIN_RESPUESTA):
            continue
        respuestas[campo] = _respuesta(rng, _HOGAR_BUENO[campo], draw)
    if rng.random() >= P_CUMPLE:  # crowding: rooms for the members (and a few others)
        respuestas["cuartos"] = rng.randint(0, 4)
        respuestas["otras_personas"] = rng.choice([0, 0, 0, 1, 2])
    return RespuestasHogar(**respuestas)


def generar(n: int, *, seed: int, hoy: date = HOY) -> list[Familia]:
    """`n` families with their baseline, as a cogestor would take it on `hoy`."""
    rng = random.Random(seed)
    municipios = [m.codigo for m in divipola().municipios]
    logros = [lb.codigo for lb in catalogo().logros_basicos]
    familias = []
    for _ in range(n):
        miembros = _miembros(rng, hoy)
        desplazada = rng.random() < P_DESPLAZADA
        integrantes = {
            m.integrante_id: _integrante(rng, m, hoy)
            for m in miembros
            if rng.random() >= P_SIN_LINEA_BASE
        }
        linea_base = LineaBase(
            hogar=_hogar(rng, miembros, hoy, desplazada), integrantes=integrantes
        )
        servicios = {}
        if rng.random() < P_SERVICIO:
            quien = rng.choice([FAMILIA, *(m.integrante_id for m in miembros)])
            servicios[rng.choice(logros)] = frozenset({quien})
        familias.append(
            Familia(
                familia_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                municipio=rng.choice(municipios),
                miembros=tuple(miembros),
                linea_base=linea_base,
                desplazada=desplazada,
                plan_familiar=rng.random() < P_PLAN,
                servicios=servicios,
            )
        )
    return familias
