"""Households of families in extreme poverty, drawn one at a time from a seeded generator.

Sources and assumptions (README, "Realism"): sizes follow the shape of SISBEN/ENCV households
in the poorest decile, mean about 4.3 people, displaced households larger (about 4.8; the
program's 1.5 M families are "about 7 million people"); about 40 % of households are headed by
a woman (DANE, CNPV 2018: 40.7 %), more among the displaced; women heads live more often
without a partner; children are born to mothers aged 16-42, grandchildren appear once the head
is past 38, a parent of the head while the head is young; disability about 7 % and rising with
age (CNPV 2018), pregnancy about 5 % of women 14-45; ethnicity by household, with the
departments where most people are Afro-Colombian, indigenous or raizal weighted that way.
Documents follow the age at the registries' cut date (RC < 7, TI < 18, CC), except migrant
households (3 %, Venezuelan, PPT). Every document number is unique in the population.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from juntos_simulacion.territorio import Territorio

NOMBRES = {
    "M": ["Ana", "María", "Luz", "Rosa", "Diana", "Sofía", "Marta", "Yuliana", "Carmen", "Paola",
          "Sandra", "Gloria", "Valentina", "Isabel", "Ángela", "Daniela", "Nubia", "Esperanza"],
    "H": ["José", "Luis", "Carlos", "Jorge", "Pedro", "Andrés", "Juan", "Tomás", "Jhon", "Diego",
          "Camilo", "Óscar", "Miguel", "Fabián", "Wilson", "Hernán", "Santiago", "Julián"],
}  # fmt: skip
APELLIDOS = [
    "Pérez", "Gómez", "Rodríguez", "Martínez", "García", "López", "Hernández", "González",
    "Díaz", "Ramírez", "Torres", "Rojas", "Suárez", "Mejía", "Moreno", "Muñoz", "Castro",
    "Ortiz", "Vargas", "Cárdenas", "Quintero", "Palacios", "Mosquera", "Ipuana", "Epieyú",
]  # fmt: skip
VIAS = ["Calle", "Carrera", "Diagonal", "Transversal", "Avenida"]

# household size 1..12 (weights in per mille)
TAMANOS = range(1, 13)
PESOS_TAMANO = [65, 120, 190, 210, 165, 105, 62, 38, 22, 12, 6, 5]  # mean 4.35
PESOS_TAMANO_DESPLAZADO = [40, 90, 150, 195, 180, 135, 90, 55, 30, 16, 11, 8]  # mean 4.88
P_JEFA = 0.40
P_JEFA_DESPLAZADA = 0.47
P_PAREJA = {"H": 0.82, "M": 0.32}  # a partner (CONYUGE) lives in the household, by head's sex
# head's age: bands and weights
EDADES_JEFE = [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 74), (75, 90)]
PESOS_EDAD_JEFE = [8, 22, 24, 20, 14, 8, 4]
P_MIGRANTE = 0.03

ETNIAS = ["NINGUNA", "AFROCOLOMBIANO", "INDIGENA", "RAIZAL", "PALENQUERO", "ROM"]
PESOS_ETNIA = [84, 9, 6, 0.3, 0.3, 0.4]
# departments where the ethnic groups are most of the poor population (CNPV 2018, rounded)
PESOS_ETNIA_DEPARTAMENTO = {
    "27": [15, 80, 5, 0, 0, 0],  # Chocó
    "88": [45, 15, 0, 40, 0, 0],  # San Andrés
    "44": [45, 10, 45, 0, 0, 0],  # La Guajira
    "91": [40, 2, 58, 0, 0, 0],  # Amazonas
    "94": [25, 0, 75, 0, 0, 0],  # Guainía
    "97": [15, 0, 85, 0, 0, 0],  # Vaupés
    "99": [40, 0, 60, 0, 0, 0],  # Vichada
    "19": [50, 25, 25, 0, 0, 0],  # Cauca
    "52": [55, 25, 20, 0, 0, 0],  # Nariño
    "13": [70, 27, 1, 0, 2, 0],  # Bolívar (San Basilio de Palenque)
    "76": [70, 28, 2, 0, 0, 0],  # Valle del Cauca (Buenaventura)
}
# (relationship, weight) of a member who is not the head or the partner
OTROS = [
    ("HIJO", 70),
    ("NIETO", 12),
    ("HERMANO", 5),
    ("OTRO_PARIENTE", 7),
    ("PADRE_MADRE", 4),
    ("NO_PARIENTE", 2),
]


@dataclass(frozen=True, slots=True)
class Persona:
    tipo_documento: str
    numero_documento: str
    primer_nombre: str
    segundo_nombre: str
    primer_apellido: str
    segundo_apellido: str
    fecha_nacimiento: date
    sexo: str  # H, M
    parentesco: str
    discapacidad: bool
    gestante: bool
    etnia: str
    telefono: str
    direccion: str


@dataclass(frozen=True, slots=True)
class Hogar:
    municipio: str
    desplazado: bool
    fecha_declaracion: date | None  # RUPD: when the displacement was declared
    personas: tuple[Persona, ...]  # the head first


def edad(nacimiento: date, hoy: date) -> int:
    return hoy.year - nacimiento.year - ((hoy.month, hoy.day) < (nacimiento.month, nacimiento.day))


class Hogares:
    """Draws households from `rng`; `documentos` hands out the document numbers."""

    def __init__(self, rng: random.Random, corte: date, documentos: Iterator[int]) -> None:
        self.rng, self.corte, self.documentos = rng, corte, documentos
        self.territorio = Territorio()
        self._otros = [p for p, _ in OTROS]
        self._pesos_otros = [w for _, w in OTROS]

    def hogar(self, desplazado: bool, municipio: str | None = None) -> Hogar:
        rng = self.rng
        municipio = municipio or self.territorio.municipio(rng)
        pesos = PESOS_TAMANO_DESPLAZADO if desplazado else PESOS_TAMANO
        tamano = rng.choices(TAMANOS, pesos)[0]
        sexo_jefe = "M" if rng.random() < (P_JEFA_DESPLAZADA if desplazado else P_JEFA) else "H"
        lo, hi = rng.choices(EDADES_JEFE, PESOS_EDAD_JEFE)[0]
        edad_jefe = rng.randint(lo, hi)
        migrante = rng.random() < P_MIGRANTE
        etnia = rng.choices(ETNIAS, PESOS_ETNIA_DEPARTAMENTO.get(municipio[:2], PESOS_ETNIA))[0]
        miembros: list[tuple[str, str, int]] = [("JEFE", sexo_jefe, edad_jefe)]
        if tamano > 1 and rng.random() < P_PAREJA[sexo_jefe]:
            pareja = "M" if sexo_jefe == "H" else "H"
            diferencia = rng.randint(-9, 3) if pareja == "M" else rng.randint(-3, 9)
            miembros.append(("CONYUGE", pareja, max(16, edad_jefe + diferencia)))
        madre = next((e for _, s, e in miembros if s == "M"), edad_jefe)
        padres = 0
        while len(miembros) < tamano:
            parentesco = rng.choices(self._otros, self._pesos_otros)[0]
            if parentesco == "NIETO" and edad_jefe < 38:
                parentesco = "HIJO"
            if parentesco == "PADRE_MADRE" and (edad_jefe > 60 or padres == 2):
                parentesco = "OTRO_PARIENTE"
            padres += parentesco == "PADRE_MADRE"
            sexo = rng.choice("HM")
            miembros.append((parentesco, sexo, self._edad(parentesco, edad_jefe, madre)))
        apellido_padre = rng.choice(APELLIDOS)
        apellido_madre = rng.choice(APELLIDOS)
        personas = tuple(
            self._persona(p, s, e, migrante, etnia, apellido_padre, apellido_madre)
            for p, s, e in miembros
        )
        declaracion = self._declaracion() if desplazado else None
        return Hogar(municipio, desplazado, declaracion, personas)

    def _edad(self, parentesco: str, jefe: int, madre: int) -> int:
        rng = self.rng
        if parentesco == "HIJO":
            return max(0, madre - rng.randint(16, max(16, min(42, madre))))
        if parentesco == "NIETO":
            return rng.randint(0, min(17, jefe - 34))
        if parentesco == "PADRE_MADRE":
            return min(100, jefe + rng.randint(17, 38))
        if parentesco == "HERMANO":
            return max(0, jefe + rng.randint(-12, 12))
        if parentesco == "NO_PARIENTE":
            return rng.randint(15, 70)
        return rng.randint(0, 80)

    def _persona(
        self,
        parentesco: str,
        sexo: str,
        anios: int,
        migrante: bool,
        etnia: str,
        apellido_padre: str,
        apellido_madre: str,
    ) -> Persona:
        rng = self.rng
        # any of the 364 days that make them exactly `anios` at the cut date
        cumple = self.corte.replace(year=self.corte.year - anios, day=min(self.corte.day, 28))
        nacimiento = cumple - timedelta(days=rng.randint(1, 364))
        anios = edad(nacimiento, self.corte)
        if migrante and anios >= 8:
            tipo = "PPT"
        else:
            tipo = "CC" if anios >= 18 else "TI" if anios >= 7 else "RC"
        if parentesco in ("HIJO", "NIETO"):
            apellidos = (apellido_padre, apellido_madre)
        elif parentesco == "JEFE":
            apellidos = (apellido_padre if sexo == "H" else apellido_madre, rng.choice(APELLIDOS))
        elif parentesco == "CONYUGE":
            apellidos = (apellido_madre if sexo == "M" else apellido_padre, rng.choice(APELLIDOS))
        else:
            apellidos = (rng.choice(APELLIDOS), rng.choice(APELLIDOS))
        jefe = parentesco == "JEFE"
        p_discapacidad = 0.03 if anios < 18 else 0.06 if anios < 60 else 0.18
        p_gestante = 0.06 if 15 <= anios <= 34 else 0.03 if 14 <= anios <= 45 else 0.0
        return Persona(
            tipo_documento=tipo,
            numero_documento=str(next(self.documentos)),
            primer_nombre=rng.choice(NOMBRES[sexo]),
            segundo_nombre=rng.choice(NOMBRES[sexo]) if rng.random() < 0.4 else "",
            primer_apellido=apellidos[0],
            segundo_apellido=apellidos[1] if rng.random() < 0.9 else "",
            fecha_nacimiento=nacimiento,
            sexo=sexo,
            parentesco=parentesco,
            discapacidad=rng.random() < p_discapacidad,
            gestante=sexo == "M" and rng.random() < p_gestante,
            etnia=etnia,
            telefono=f"3{rng.randrange(10**9):09d}" if jefe and rng.random() < 0.7 else "",
            direccion=(
                f"{rng.choice(VIAS)} {rng.randint(1, 120)} # {rng.randint(1, 99)}-"
                f"{rng.randint(1, 99)}"
                if jefe
                else ""
            ),
        )

    def _declaracion(self) -> date:
        """Displacement declared between 1997 and the cut date, most of it in 2000-2012."""
        rng = self.rng
        bandas = [(1997, 1999), (2000, 2012), (2013, self.corte.year - 1)]
        lo, hi = rng.choices(bandas, [10, 70, 20])[0]
        return date(rng.randint(lo, hi), 1, 1) + timedelta(days=rng.randint(0, 364))
