"""SISBEN and RUPD rows in enrollment's import format, and the bad rows planted among them.

The columns are enrollment's own (`enrollment.registros.columnas`), so the files cannot drift
from what the importer reads. Each planted bad value names the column the importer's reason
will name (its reasons name columns, never values).
"""

from __future__ import annotations

import random

from enrollment.registros import columnas
from enrollment.vocabulario import Registro

from juntos_simulacion.hogares import Hogar, Persona

COLUMNAS = {r: columnas(r) for r in Registro}

# (column, bad value) for a row that fails validation; a registry's own column only there
MALOS_COMUNES = [
    ("municipio", "99999"),  # five digits, not a DIVIPOLA code
    ("fecha_nacimiento", "1985-02-30"),
    ("tipo_documento", "XX"),
    ("sexo", "X"),
    ("parentesco", "ABUELO"),
    ("primer_nombre", ""),
]
MALOS = {
    Registro.SISBEN: [*MALOS_COMUNES, ("nivel_sisben", "3")],
    Registro.RUPD: [*MALOS_COMUNES, ("fecha_declaracion", "2999-01-01")],
}


def _sn(valor: bool) -> str:
    return "S" if valor else "N"


def fila(registro: Registro, clave: str, h: Hogar, p: Persona) -> dict[str, str]:
    """One person's row (every column as text)."""
    valores = {
        "hogar": clave,
        "tipo_documento": p.tipo_documento,
        "numero_documento": p.numero_documento,
        "primer_nombre": p.primer_nombre,
        "segundo_nombre": p.segundo_nombre,
        "primer_apellido": p.primer_apellido,
        "segundo_apellido": p.segundo_apellido,
        "fecha_nacimiento": p.fecha_nacimiento.isoformat(),
        "sexo": p.sexo,
        "parentesco": p.parentesco,
        "municipio": h.municipio,
        "discapacidad": _sn(p.discapacidad),
        "gestante": _sn(p.gestante),
        "etnia": p.etnia,
        "telefono": p.telefono,
        "direccion": p.direccion,
    }
    if registro is Registro.SISBEN:
        valores["nivel_sisben"] = "1"
    else:
        assert h.fecha_declaracion is not None
        valores["fecha_declaracion"] = h.fecha_declaracion.isoformat()
    return valores


def como_lista(registro: Registro, valores: dict[str, str]) -> list[str]:
    return [valores[c] for c in COLUMNAS[registro]]


def estropear(registro: Registro, valores: dict[str, str], rng: random.Random) -> str:
    """Give the row a value the importer refuses; returns the column its reason will name."""
    columna, malo = rng.choice(MALOS[registro])
    if columna == "sexo" and valores["gestante"] == "S":
        valores["gestante"] = "N"  # keep one reason: the sex, not the pregnancy as well
    valores[columna] = malo
    return columna
