"""A deterministic SISBEN file for the import benchmark, written straight to disk.

The households are juntos_simulacion's (the same generator as `juntos simulate generate`:
realistic sizes and ages, departments by Tabla 3, DIVIPOLA municipalities) in enrollment's
SISBEN format, all valid: exactly one JEFE each, nivel_sisben 1, document numbers counted up from
`primer_documento` (never repeated, so the import's dedupe rejects nothing), and the last
household cut so that the file has exactly `personas` rows. The same `seed` always gives the
same file.
"""

from __future__ import annotations

import csv
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

from enrollment.vocabulario import Registro
from juntos_simulacion.generador import CORTE
from juntos_simulacion.hogares import Hogares
from juntos_simulacion.registros import COLUMNAS as _COLUMNAS
from juntos_simulacion.registros import como_lista, fila

COLUMNAS = _COLUMNAS[Registro.SISBEN]


@dataclass(frozen=True)
class Muestra:
    path: Path
    hogares: int
    personas: int

    @property
    def mib(self) -> float:
        return self.path.stat().st_size / 2**20


def escribir(
    path: Path, personas: int, *, seed: int, prefijo: str = "B", primer_documento: int = 10**9
) -> Muestra:
    """Write `personas` rows (whole households, the last one possibly smaller) to `path`.

    Memory stays constant: each household is written as soon as it is drawn. Household keys are
    `<prefijo>-<n>`.
    """
    generador = Hogares(random.Random(seed), CORTE, itertools.count(primer_documento))
    hogares = escritas = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNAS)
        while escritas < personas:
            h = generador.hogar(desplazado=False)
            hogares += 1
            clave = f"{prefijo}-{hogares:07d}"
            for p in h.personas[: personas - escritas]:
                writer.writerow(como_lista(Registro.SISBEN, fila(Registro.SISBEN, clave, h, p)))
                escritas += 1
    return Muestra(path, hogares, escritas)
