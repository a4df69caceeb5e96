"""A small deterministic SISBEN file for the import benchmark, written straight to disk.

Rows follow services/enrollment/samples/sisben-muestra.csv (same header, same codes) and are all
valid: households of 1-8 people (uniform, mean 4.5), exactly one JEFE, one DIVIPOLA municipality
per household, birth dates before REFERENCIA, nivel_sisben 1, and document numbers that are
consecutive integers (never repeated, so the import's dedupe rejects nothing). The same `seed`
always gives the same file. A larger, realistic population generator is another matter.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from juntos_catalogo import divipola

COLUMNAS = [
    "hogar",
    "tipo_documento",
    "numero_documento",
    "primer_nombre",
    "segundo_nombre",
    "primer_apellido",
    "segundo_apellido",
    "fecha_nacimiento",
    "sexo",
    "parentesco",
    "municipio",
    "discapacidad",
    "gestante",
    "etnia",
    "telefono",
    "direccion",
    "nivel_sisben",
]
REFERENCIA = date(2025, 1, 1)  # ages are counted to this day: every birth date is in the past

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
ETNIAS = ["NINGUNA", "AFROCOLOMBIANO", "INDIGENA", "RAIZAL", "PALENQUERO", "ROM"]
PESOS_ETNIA = [85, 8, 5, 1, 0.6, 0.4]
OTROS = ["HIJO"] * 6 + ["NIETO", "HERMANO", "PADRE_MADRE", "OTRO_PARIENTE", "NO_PARIENTE"]


@dataclass(frozen=True)
class Muestra:
    path: Path
    hogares: int
    personas: int

    @property
    def mib(self) -> float:
        return self.path.stat().st_size / 2**20


def _documento(edad: int, rng: random.Random) -> str:
    if edad >= 18:
        return "PPT" if rng.random() < 0.02 else "CC"
    return "TI" if edad >= 7 else "RC"


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


def _persona(
    hogar: str,
    numero: int,
    parentesco: str,
    edad: int,
    sexo: str,
    apellido: str,
    municipio: str,
    rng: random.Random,
) -> list[str]:
    nacimiento = REFERENCIA - timedelta(days=365 * edad + rng.randint(1, 364))
    jefe = parentesco == "JEFE"
    gestante = sexo == "M" and 15 <= edad <= 44 and rng.random() < 0.04
    return [
        hogar,
        _documento(edad, rng),
        str(numero),
        rng.choice(NOMBRES[sexo]),
        rng.choice(NOMBRES[sexo]) if rng.random() < 0.4 else "",
        apellido if parentesco in ("JEFE", "HIJO", "NIETO") else rng.choice(APELLIDOS),
        rng.choice(APELLIDOS) if rng.random() < 0.8 else "",
        nacimiento.isoformat(),
        sexo,
        parentesco,
        municipio,
        "S" if rng.random() < 0.06 else "N",
        "S" if gestante else "N",
        rng.choices(ETNIAS, PESOS_ETNIA)[0],
        f"3{rng.randrange(10**9):09d}" if jefe and rng.random() < 0.7 else "",
        (
            f"{rng.choice(VIAS)} {rng.randint(1, 120)} # {rng.randint(1, 99)}-{rng.randint(1, 99)}"
            if jefe
            else ""
        ),
        "1",
    ]


def escribir(
    path: Path, personas: int, *, seed: int, prefijo: str = "B", primer_documento: int = 10**9
) -> Muestra:
    """Write `personas` rows (whole households, the last one possibly smaller) to `path`.

    Memory stays constant: each household is written as soon as it is drawn. Household keys are
    `<prefijo>-<n>`, document numbers `primer_documento`, `primer_documento + 1`, ...
    """
    rng = random.Random(seed)
    municipios = [m.codigo for m in divipola().municipios]
    hogares = escritas = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNAS)
        while escritas < personas:
            tamano = min(rng.randint(1, 8), personas - escritas)
            hogares += 1
            hogar, municipio = f"{prefijo}-{hogares:07d}", rng.choice(municipios)
            apellido, sexo_jefe, edad_jefe = rng.choice(APELLIDOS), rng.choice("HM"), 0
            for k in range(tamano):
                if k == 0:
                    parentesco, sexo = "JEFE", sexo_jefe
                    edad_jefe = edad = rng.randint(18, 85)
                else:
                    if k == 1 and rng.random() < 0.7:
                        parentesco, sexo = "CONYUGE", "M" if sexo_jefe == "H" else "H"
                    else:
                        parentesco, sexo = rng.choice(OTROS), rng.choice("HM")
                    edad = _edad(parentesco, edad_jefe, rng)
                numero = primer_documento + escritas
                writer.writerow(
                    _persona(hogar, numero, parentesco, edad, sexo, apellido, municipio, rng)
                )
                escritas += 1
    return Muestra(path, hogares, escritas)
