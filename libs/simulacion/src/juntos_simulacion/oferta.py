"""The offer around the synthetic families: programs per municipality, their slots, deliveries.

Programs come from `PLANTILLAS`: national ones (each entity of the Red that runs it), one
departmental one per department (the gobernación) and local ones per municipality (the
alcaldía), each serving a few LB with the eligibility the real programs have (ages, sex,
displaced only...). A program runs in a municipality with its `cobertura` probability, decided
by a generator seeded with (seed, program, municipality) so that the answer never depends on
the order households were drawn in: RUAF rows written while streaming name only programs that
the program file, written at the end, registers in that municipality. Slots per municipality
and period are `tasa` per family living there, give or take half. Values of a delivery are
typical COP amounts (Familias en Acción's bimonthly payment, Colombia Mayor's, a housing
improvement...), within ±20 %.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from juntos_catalogo import divipola

from juntos_simulacion.hogares import Persona, edad

NAMESPACE = uuid.UUID("0b3a3f9e-6a57-5d0c-9a3e-5e1c1a2f3b4d")


@dataclass(frozen=True)
class Plantilla:
    clave: str
    entidad: str  # "{dpto}" / "{mpio}" are filled with the territory's code
    titulo: str
    nivel: str  # NACIONAL, DEPARTAMENTAL, MUNICIPAL, PRIVADO
    alcance: str  # INTEGRANTE, FAMILIA
    logros: tuple[str, ...]
    cobertura: float  # share of the municipalities where it runs
    tasa: float  # slots per family living in the municipality
    valor: int  # COP of one delivery
    elegibilidad: Mapping[str, Any] = field(default_factory=dict)


PLANTILLAS: tuple[Plantilla, ...] = (
    Plantilla("identificacion", "registraduria", "Jornadas de identificación (UDAPV)",
              "NACIONAL", "INTEGRANTE", ("LB1",), 0.9, 0.15, 0),
    Plantilla("libreta-militar", "ejercito", "Libreta militar: jornadas especiales",
              "NACIONAL", "INTEGRANTE", ("LB2",), 0.6, 0.05, 0,
              {"sexo": "H", "edad_minima": 18, "edad_maxima": 50}),
    Plantilla("sisben", "dnp", "Actualización de la encuesta SISBEN",
              "NACIONAL", "FAMILIA", ("LB3",), 0.95, 0.1, 0),
    Plantilla("colombia-mayor", "mintrabajo", "Colombia Mayor",
              "NACIONAL", "INTEGRANTE", ("LB4",), 0.95, 0.08, 80_000, {"edad_minima": 60}),
    Plantilla("sena", "sena", "Formación para el trabajo y empleo (SENA)",
              "NACIONAL", "INTEGRANTE", ("LB6", "LB11"), 0.7, 0.1, 0,
              {"edad_minima": 15, "edad_maxima": 60}),
    Plantilla("familias-en-accion", "dps", "Familias en Acción",
              "NACIONAL", "FAMILIA", ("LB9", "LB18"), 0.95, 0.5, 160_000, {"edad_maxima": 17}),
    Plantilla("cero-a-siempre", "icbf", "De Cero a Siempre: CDI y hogares comunitarios",
              "NACIONAL", "INTEGRANTE", ("LB8", "LB23"), 0.85, 0.2, 120_000, {"edad_maxima": 5}),
    Plantilla("gestantes", "icbf", "Atención a gestantes y lactantes (FAMI)",
              "NACIONAL", "INTEGRANTE", ("LB17", "LB22"), 0.7, 0.03, 90_000,
              {"sexo": "M", "edad_minima": 14, "edad_maxima": 49}),
    Plantilla("alfabetizacion", "men", "Alfabetización de jóvenes y adultos",
              "NACIONAL", "INTEGRANTE", ("LB10",), 0.6, 0.05, 0,
              {"edad_minima": 18, "edad_maxima": 65}),
    Plantilla("regimen-subsidiado", "minsalud", "Afiliación al régimen subsidiado",
              "NACIONAL", "INTEGRANTE", ("LB13", "LB14", "LB16", "LB19"), 0.98, 0.3, 0),
    Plantilla("rehabilitacion", "minsalud", "Rehabilitación basada en comunidad",
              "NACIONAL", "INTEGRANTE", ("LB20",), 0.4, 0.02, 0, {"solo_con_discapacidad": True}),
    Plantilla("mejoramiento-vivienda", "minvivienda", "Mejoramiento de vivienda saludable",
              "NACIONAL", "FAMILIA", ("LB27", "LB29", "LB32", "LB33"), 0.5, 0.05, 4_000_000),
    Plantilla("banca-oportunidades", "bancoldex", "Banca de las Oportunidades",
              "NACIONAL", "FAMILIA", ("LB40", "LB41", "LB42"), 0.6, 0.1, 50_000),
    Plantilla("desplazados", "uariv", "Atención humanitaria y goce efectivo de derechos",
              "NACIONAL", "FAMILIA", ("LB45",), 0.8, 0.2, 600_000, {"solo_desplazadas": True}),
    Plantilla("agua-rural", "gobernacion-{dpto}", "Agua potable y saneamiento básico",
              "DEPARTAMENTAL", "FAMILIA", ("LB24", "LB25"), 0.5, 0.05, 0),
    Plantilla("comisaria", "alcaldia-{mpio}", "Comisaría de familia: convivencia y crianza",
              "MUNICIPAL", "FAMILIA", ("LB35", "LB37", "LB38"), 0.7, 0.1, 0),
    Plantilla("huertas", "alcaldia-{mpio}", "Huertas caseras y seguridad alimentaria",
              "MUNICIPAL", "FAMILIA", ("LB21", "LB30"), 0.5, 0.08, 70_000),
    Plantilla("casa-de-justicia", "alcaldia-{mpio}", "Casa de justicia y conciliación en equidad",
              "MUNICIPAL", "FAMILIA", ("LB43", "LB44"), 0.35, 0.05, 0),
)  # fmt: skip


@dataclass(frozen=True)
class Programa:
    programa_id: str
    plantilla: Plantilla
    entidad: str

    def elegible(self, p: Persona, hoy: date, desplazada: bool) -> bool:
        e = self.plantilla.elegibilidad
        anios = edad(p.fecha_nacimiento, hoy)
        return (
            e.get("edad_minima", 0) <= anios <= e.get("edad_maxima", 120)
            and e.get("sexo", p.sexo) == p.sexo
            and (desplazada or not e.get("solo_desplazadas"))
            and (p.discapacidad or not e.get("solo_con_discapacidad"))
        )


class Oferta:
    """Which programs run where, and the programs' and slots' API payloads."""

    def __init__(self, semilla: int, periodo: str) -> None:
        self.semilla, self.periodo = semilla, periodo
        self._en: dict[str, list[Programa]] = {}
        for m in divipola().municipios:  # all of them now: memory does not grow with the families
            self.en(m.codigo)

    def _ambito(self, p: Plantilla, municipio: str) -> str:
        if p.nivel == "DEPARTAMENTAL":
            return municipio[:2]
        return municipio if p.nivel == "MUNICIPAL" else "CO"

    def programa(self, p: Plantilla, municipio: str) -> Programa:
        ambito = self._ambito(p, municipio)
        pid = uuid.uuid5(NAMESPACE, f"{self.semilla}|{p.clave}|{ambito}")
        return Programa(str(pid), p, p.entidad.format(dpto=municipio[:2], mpio=municipio))

    def _sorteo(self, p: Plantilla, municipio: str, que: str) -> random.Random:
        """A generator of its own per (program, municipality): order-independent draws."""
        return random.Random(f"{self.semilla}|{que}|{p.clave}|{municipio}")

    def en(self, municipio: str) -> list[Programa]:
        """The programs that run in `municipio`."""
        if municipio not in self._en:
            self._en[municipio] = [
                self.programa(p, municipio)
                for p in PLANTILLAS
                if self._sorteo(p, municipio, "corre").random() < p.cobertura
            ]
        return self._en[municipio]

    def programas(self, familias: Mapping[str, int]) -> Iterator[dict[str, Any]]:
        """`POST /v1/programas` bodies for the municipalities that have families.

        One template at a time, so that at most one template's municipalities are in memory.
        """
        for p in PLANTILLAS:
            donde: dict[str, tuple[Programa, list[str]]] = {}
            for m in sorted(familias):
                if p in (prog.plantilla for prog in self.en(m)):
                    prog = self.programa(p, m)
                    donde.setdefault(prog.programa_id, (prog, []))[1].append(m)
            for prog, municipios in donde.values():
                yield {
                    "programa_id": prog.programa_id,
                    "entidad": prog.entidad,
                    "titulo": p.titulo,
                    "nivel": p.nivel,
                    "alcance": p.alcance,
                    "logros": list(p.logros),
                    "elegibilidad": dict(p.elegibilidad),
                    "municipios": municipios,
                }

    def cupos(self, familias: Mapping[str, int]) -> Iterator[dict[str, Any]]:
        """`PUT /v1/programas/{id}/cupos/{municipio}/{periodo}` paths and bodies."""
        for m, n in sorted(familias.items()):
            for prog in self.en(m):
                rng = self._sorteo(prog.plantilla, m, "cupos")
                cupos = max(1, round(n * prog.plantilla.tasa * rng.uniform(0.5, 1.5)))
                yield {
                    "programa_id": prog.programa_id,
                    "municipio": m,
                    "periodo": self.periodo,
                    "entrada": {"cupos": cupos},
                }

    @staticmethod
    def valor(p: Plantilla, rng: random.Random) -> int:
        return int(round(p.valor * rng.uniform(0.8, 1.2), -3))
