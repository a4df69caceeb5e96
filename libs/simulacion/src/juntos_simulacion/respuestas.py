"""Baseline answers (accompaniment's questionnaire) for a household, drawn from a seeded rng.

Each member is asked only the questions the questionnaire says are for them (by age, sex,
pregnancy, disability), the household the questions that apply to it (children under 5 or 6,
minors living with adults, a member with a disability, a displaced family). Each answer is,
with the question's probability in `P_CUMPLE` (default `P_CUMPLE_OTRAS`), the one that meets the
LB (`accompaniment.ejemplos.hogar_completo` / `integrante_completo`), else a value drawn from
the question's type (enum, bool, bounded int, subset of an enum; it may meet the LB by chance;
for income, `INCUMPLE` draws only answers that do not),
and an optional question is left unanswered with probability `P_SIN_RESPUESTA`.

`P_CUMPLE` is an assumption, ordered as the program's own reports order the LB at baseline:
identification, health affiliation and energy are mostly met; income, savings and banking,
housing quality and legal needs are the most pending (README, "Realism").

Answers are plain dicts of Python values (enum members, frozensets, bools, ints); `como_json`
makes them the JSON accompaniment's API accepts, `RespuestasHogar(**d)` its model.
"""

from __future__ import annotations

import json
import random
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from enum import Enum
from typing import Annotated, Any, Protocol, Union, get_args, get_origin

from accompaniment.ejemplos import hogar_completo, integrante_completo
from accompaniment.linea_base import FuenteIngreso, Ocupacion, RespuestasHogar, RespuestasIntegrante
from accompaniment.reglas import _AUTONOMAS, _REMUNERADAS
from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

P_CUMPLE_OTRAS = 0.8
P_SIN_RESPUESTA = 0.04  # an optional question the cogestor left unanswered
P_HACINAMIENTO = 0.35  # rooms drawn at random (crowding, LB28)
P_CUMPLE: dict[str, float] = {
    # members
    "documentos": 0.9,
    "libreta_militar": 0.4,
    "datos_sisben": 0.85,
    "fuentes_ingreso": 0.3,
    "ocupacion": 0.35,
    "apoyo_laboral": 0.3,
    "asistencia_educativa": 0.75,
    "sabe_leer_escribir": 0.88,
    "trabajo_infantil": 0.92,
    "afiliacion_salud": 0.9,
    "crecimiento_desarrollo": 0.6,
    "controles_prenatales": 0.75,
    "tamizaje_cuello_uterino": 0.45,
    "tamizaje_mama": 0.35,
    "tamizaje_prostata": 0.3,
    "rehabilitacion": 0.3,
    "ayudas_tecnicas": 0.35,
    "suplementos_nutricionales": 0.5,
    "lactancia_materna_exclusiva": 0.4,
    # household
    "tenencia_vivienda": 0.45,
    "tenencia_tierra": 0.6,
    "acceso_alimentos": 0.55,
    "habitos_alimentarios": 0.6,
    "alimentacion_menores_5": 0.6,
    "agua_potable": 0.6,
    "desagues": 0.45,
    "energia": 0.92,
    "espacios": 0.4,
    "ninos_duermen_separados": 0.55,
    "pisos_de_tierra": 0.7,
    "paredes": 0.55,
    "techo": 0.6,
    "conoce_servicios_violencia": 0.5,
    "conoce_programas_locales": 0.45,
    "participa_programas_locales": 0.4,
    "pautas_crianza_humanizada": 0.55,
    "ahorro": 0.15,
    "cuota_de_ahorro": 0.15,
    "conoce_servicios_financieros": 0.3,
    "servicios_financieros": 0.2,
    "credito_usura": 0.75,
    "conoce_necesidades_juridicas": 0.4,
    "conoce_ruta_justicia": 0.35,
    "necesidades_juridicas": 0.5,
    "ged": 0.4,
}


_NO_REMUNERADAS = [o for o in Ocupacion if o not in _REMUNERADAS]
_NO_AUTONOMAS = [f for f in FuenteIngreso if f not in _AUTONOMAS]
# Where a random draw would almost always meet the LB, the answer that does not (LB5).
INCUMPLE: dict[str, Callable[[random.Random], Any]] = {
    "ocupacion": lambda rng: rng.choice(_NO_REMUNERADAS),
    "fuentes_ingreso": lambda rng: frozenset(f for f in _NO_AUTONOMAS if rng.random() < 0.5),
}


class Miembro(Protocol):
    """What the questionnaire needs of a member (a Persona here, a Miembro in accompaniment)."""

    @property
    def fecha_nacimiento(self) -> date: ...
    @property
    def sexo(self) -> str: ...
    @property
    def discapacidad(self) -> bool: ...
    @property
    def gestante(self) -> bool: ...


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
    raise RuntimeError("juntos_simulacion.respuestas no longer covers the member questionnaire")


def _dominio(info: FieldInfo) -> Callable[[random.Random], Any]:
    """A draw from the type of a question: enum member, bool, bounded int or enum subset."""
    tipo = info.annotation
    if get_origin(tipo) in (Union, types.UnionType):
        tipo = next(t for t in get_args(tipo) if t is not type(None))
    limites = list(info.metadata)  # bounds beside the type, or inside it (json_int_between)
    if get_origin(tipo) is Annotated:
        tipo, *extra = get_args(tipo)
        for m in extra:
            limites += m.metadata if isinstance(m, FieldInfo) else [m]
    if get_origin(tipo) is frozenset:
        valores = list(get_args(tipo)[0])
        return lambda rng: frozenset(v for v in valores if rng.random() < 0.5)
    if isinstance(tipo, type) and issubclass(tipo, Enum):
        valores = list(tipo)
        return lambda rng: rng.choice(valores)
    if tipo is bool:
        return lambda rng: rng.random() < 0.5
    if tipo is int:
        ge = next(m.ge for m in limites if isinstance(m, Ge))
        le = next(m.le for m in limites if isinstance(m, Le))
        return lambda rng: rng.randint(ge, le)
    if isinstance(tipo, type) and issubclass(tipo, BaseModel):
        partes = {k: _dominio(i) for k, i in tipo.model_fields.items()}
        return lambda rng: tipo(**{k: draw(rng) for k, draw in partes.items()})
    raise TypeError(f"no generator for {tipo!r}")


def _preguntas(
    modelo: type[BaseModel], buenas: Mapping[str, Any]
) -> list[tuple[str, float, Any, Callable[[random.Random], Any]]]:
    """(question, P(meets the LB), the answer that meets it or None, draw) in model order."""
    return [
        (k, P_CUMPLE.get(k, P_CUMPLE_OTRAS), buenas[k], INCUMPLE.get(k) or _dominio(i))
        for k, i in modelo.model_fields.items()
    ]


_HOGAR = _preguntas(RespuestasHogar, hogar_completo().__dict__)
_INTEGRANTE = {
    k: rest for k, *rest in _preguntas(RespuestasIntegrante, integrante_completo().__dict__)
}


def _respuesta(
    rng: random.Random, p: float, bueno: Any, draw: Callable[[random.Random], Any]
) -> Any:
    return bueno if bueno is not None and rng.random() < p else draw(rng)


def _pregunta(rng: random.Random, campo: str) -> Any:
    return _respuesta(rng, *_INTEGRANTE[campo])


def edades(nacimiento: date, hoy: date) -> tuple[int, int]:
    """Completed years and months at `hoy`."""
    meses = (hoy.year - nacimiento.year) * 12 + hoy.month - nacimiento.month
    meses -= hoy.day < nacimiento.day
    return meses // 12, meses


def integrante(rng: random.Random, m: Miembro, hoy: date) -> dict[str, Any]:
    """One member's answers at `hoy` (the baseline visit)."""
    anios, meses = edades(m.fecha_nacimiento, hoy)
    respuestas: dict[str, Any] = {}
    for campo, para in _PARA_INTEGRANTE.items():
        if para(m, anios, meses) and rng.random() >= P_SIN_RESPUESTA:
            respuestas[campo] = _pregunta(rng, campo)
    if "grado_aprobado" in respuestas:  # children by age, give or take; adults anything
        tope = min(11, anios - 6)
        grado = tope - rng.randint(0, 2) if anios < 18 else rng.randint(0, tope)
        respuestas["grado_aprobado"] = max(0, grado)
        if grado >= 9:
            respuestas["desea_continuar_estudios"] = rng.random() < 0.3
    if respuestas.get("en_lactancia") and "suplementos_nutricionales" not in respuestas:
        respuestas["suplementos_nutricionales"] = _pregunta(rng, "suplementos_nutricionales")
    return respuestas


def hogar(rng: random.Random, miembros: Sequence[Miembro], hoy: date, desplazada: bool) -> dict:
    """The household's answers at `hoy`."""
    anios = [edades(m.fecha_nacimiento, hoy)[0] for m in miembros]
    condicional = {
        "alimentacion_menores_5": any(e < 5 for e in anios),
        "ninos_duermen_separados": any(e < 18 for e in anios) and any(e >= 18 for e in anios),
        "pautas_crianza_humanizada": any(e < 6 for e in anios),
        "cuidado_conjunto_discapacidad": any(m.discapacidad for m in miembros),
        "ged": desplazada,
    }
    respuestas: dict[str, Any] = {}
    for campo, p, bueno, draw in _HOGAR:
        preguntada = condicional.get(campo, True)
        if not preguntada or (campo in condicional and rng.random() < P_SIN_RESPUESTA):
            continue
        respuestas[campo] = _respuesta(rng, p, bueno, draw)
    if rng.random() < P_HACINAMIENTO:  # crowding: rooms for the members (and a few others)
        respuestas["cuartos"] = rng.randint(0, 4)
        respuestas["otras_personas"] = rng.choice([0, 0, 0, 1, 2])
    return respuestas


def _a_json(valor: Any) -> Any:
    if isinstance(valor, frozenset):
        return sorted(valor)
    if isinstance(valor, BaseModel):
        return valor.model_dump(mode="json")
    raise TypeError(f"cannot write {type(valor).__name__} as JSON")


def como_json(valor: Any) -> str:
    """Compact JSON of answers (enum members as their codes, sets sorted): same data, same bytes."""
    return json.dumps(valor, ensure_ascii=False, separators=(",", ":"), default=_a_json)
