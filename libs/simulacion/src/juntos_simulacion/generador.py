"""`generar`: the whole synthetic population into a directory, household by household.

Every household is drawn, written to its registry file(s), given its baseline and its RUAF
deliveries, then forgotten: memory holds only counters (per municipality at most, DIVIPOLA has
1,122) whatever the number of families. Programs and slots are written at the end from the
families per municipality. The same parameters always give byte-identical files. The layout
and `manifest.json` are described in the package README.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, ClassVar

from enrollment.importacion import Resumen
from enrollment.vocabulario import Registro
from juntos_catalogo import catalogo
from offer import ruaf

from juntos_simulacion import respuestas
from juntos_simulacion.hogares import Hogar, Hogares, Persona
from juntos_simulacion.oferta import Oferta
from juntos_simulacion.registros import COLUMNAS, como_lista, estropear, fila

FORMATO = 1  # of manifest.json; a change `simulate run` must know about bumps it
CORTE = date(2026, 1, 1)  # the registries' cut date: ages are counted to it
_CIFRAS = catalogo().cifras
P_DESPLAZADAS = _CIFRAS.familias_desplazadas_con_acompanamiento / (
    _CIFRAS.familias_con_acompanamiento_iniciado
)
PRIMER_DOCUMENTO = 1_000_000_000  # the population's numbers count up from here
PRIMER_DOCUMENTO_AJENO = 9_000_000_000  # numbers nobody in the population has (RUAF misses)
DIAS_LINEA_BASE = 120  # baseline visits within this many days after the cut date
DIAS_ENTREGAS = 180  # RUAF deliveries within this many days after the cut date
P_SIN_LINEA_BASE = 0.03  # a member who arrived after the baseline: no answers
P_FALTA_EN_SISBEN = 0.3  # a family in both registries whose SISBEN record misses one member
CLAVE = {Registro.SISBEN: "S", Registro.RUPD: "R"}
ARCHIVO = {Registro.SISBEN: "sisben.csv", Registro.RUPD: "rupd.csv"}
HOGAR_CON_RECHAZOS = "the household has rejected rows"
EN_OTRO_HOGAR = "also appears in another household of this file"


@dataclass(frozen=True)
class Parametros:
    familias: int
    semilla: int
    corte: date = CORTE
    p_desplazadas: float = P_DESPLAZADAS
    p_ambos_registros: float = 0.2  # of displaced families, also in SISBEN (same documents)
    p_malas: float = 0.005  # of households: a bad row (invalid value, or a broken CSV line)
    p_duplicados: float = 0.005  # of households: a person twice, or in two households
    p_entrega: float = 0.08  # of enrolled people: one RUAF delivery
    p_entrega_sin_match: float = 0.03  # per delivery: one more row nobody enrolled matches
    filas_por_ruaf: int = 100_000  # offer takes RUAF files of at most 20 MB

    def __post_init__(self) -> None:
        if self.familias < 1:
            raise ValueError("the number of families must be 1 or more")
        for nombre, valor in asdict(self).items():
            if nombre.startswith("p_") and not 0 <= valor <= 1:
                raise ValueError(f"{nombre} must be between 0 and 1")
        if self.p_malas + self.p_duplicados > 1:
            raise ValueError("p_malas + p_duplicados must be at most 1")
        if self.filas_por_ruaf < 1:
            raise ValueError("filas_por_ruaf must be 1 or more")


@dataclass
class _Csv:
    """A CSV file written row by row, counting lines as the importers do (header = line 1)."""

    path: Path
    columnas: list[str]
    archivo: IO[str] = field(init=False)
    linea: int = 1

    def __post_init__(self) -> None:
        self.archivo = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self.archivo, lineterminator="\n")
        self._writer.writerow(self.columnas)

    def escribir(self, valores: list[str]) -> int:
        self._writer.writerow(valores)
        self.linea += 1
        return self.linea

    def cerrar(self) -> None:
        self.archivo.close()


class _Ndjson:
    def __init__(self, path: Path) -> None:
        self.path, self.lineas = path, 0
        self.archivo = path.open("w", encoding="utf-8", newline="\n")

    def escribir(self, registro: Any) -> None:
        self.archivo.write(respuestas.como_json(registro) + "\n")
        self.lineas += 1

    def cerrar(self) -> None:
        self.archivo.close()


@dataclass
class _Registro:
    """One registry file and the import summary enrollment must report for it."""

    registro: Registro
    csv: _Csv
    esperado: Resumen = field(default_factory=Resumen)
    hogares: int = 0
    personas: int = 0


class _Ruaf:
    """RUAF files of at most `filas` rows each, and the summary offer must report per file."""

    COLUMNAS: ClassVar[list[str]] = list(ruaf.COLUMNAS)

    def __init__(self, directorio: Path, filas: int) -> None:
        self.directorio, self.filas = directorio, filas
        self.partes: list[dict[str, Any]] = []
        self.actual: _Csv | None = None

    def sitio(self, filas: int) -> bool:
        """Make room for `filas` rows in one file (a new file if needed); False if none can."""
        if filas > self.filas:
            return False
        if self.actual is None or self.actual.linea - 1 + filas > self.filas:
            self._nueva()
        return True

    def escribir(self, valores: list[str], resultado: str) -> tuple[str, int]:
        """Write a row; `resultado` is registrada, no_encontrada or rechazada."""
        self.sitio(1)
        assert self.actual is not None
        linea = self.actual.escribir(valores)
        parte = self.partes[-1]
        parte["esperado"]["filas"] += 1
        parte["esperado"][
            {"registrada": "registradas", "no_encontrada": "no_encontradas"}.get(
                resultado, "rechazadas"
            )
        ] += 1
        return parte["archivo"], linea

    def _nueva(self) -> None:
        if self.actual is not None:
            self.actual.cerrar()
        nombre = f"ruaf-{len(self.partes) + 1:04d}.csv"
        self.actual = _Csv(self.directorio / nombre, self.COLUMNAS)
        self.partes.append(
            {
                "archivo": nombre,
                "esperado": {
                    "filas": 0,
                    "registradas": 0,
                    "ya_registradas": 0,
                    "no_encontradas": 0,
                    "rechazadas": 0,
                },
            }
        )

    def cerrar(self) -> None:
        if self.actual is not None:
            self.actual.cerrar()


@dataclass
class _Censo:
    """What the manifest tells about the families that enrollment will hold (bounded size)."""

    familias: int = 0
    personas: int = 0
    desplazadas: int = 0
    en_ambos_registros: int = 0
    jefas: int = 0
    linea_base: int = 0
    tamanos: Counter[int] = field(default_factory=Counter)
    por_municipio: Counter[str] = field(default_factory=Counter)

    def contar(self, h: Hogar, personas: tuple[Persona, ...], ambos: bool) -> None:
        self.familias += 1
        self.personas += len(personas)
        self.desplazadas += h.desplazado
        self.en_ambos_registros += ambos
        self.jefas += personas[0].sexo == "M"
        self.tamanos[len(personas)] += 1
        self.por_municipio[h.municipio] += 1


ProgresoFn = Callable[[int], None]


class _Generador:
    def __init__(self, p: Parametros, directorio: Path) -> None:
        self.p, self.dir = p, directorio
        self.rng = random.Random(p.semilla)
        self.documentos = itertools.count(PRIMER_DOCUMENTO)
        self.ajenos = itertools.count(PRIMER_DOCUMENTO_AJENO)
        self.hogares = Hogares(self.rng, p.corte, self.documentos)
        self.oferta = Oferta(p.semilla, str(p.corte.year))
        self.registros = {
            r: _Registro(r, _Csv(directorio / ARCHIVO[r], COLUMNAS[r])) for r in Registro
        }
        self.linea_base = _Ndjson(directorio / "linea_base.ndjson")
        self.plantados = _Ndjson(directorio / "plantados.ndjson")
        self.ruaf = _Ruaf(directorio, p.filas_por_ruaf)
        self.censo = _Censo()
        self.anomalias: Counter[str] = Counter()

    # --- registries ---------------------------------------------------------------------------

    def _plantar(self, r: Registro, linea: int, clave: str | None, tipo: str, motivo: str) -> None:
        self.plantados.escribir(
            {"archivo": ARCHIVO[r], "linea": linea, "hogar": clave, "tipo": tipo, "motivo": motivo}
        )

    def _escribir(self, r: Registro, clave: str, h: Hogar) -> list[int]:
        reg = self.registros[r]
        reg.hogares += 1
        reg.personas += len(h.personas)
        return [reg.csv.escribir(como_lista(r, fila(r, clave, h, p))) for p in h.personas]

    def _sumar(self, r: Registro, filas: int, malas: int = 0, **hogares: int) -> None:
        e = self.registros[r].esperado
        e.filas += filas
        e.filas_validas += filas - malas
        e.filas_rechazadas += malas
        for k, v in hogares.items():
            setattr(e, k, getattr(e, k) + v)
        nuevos = hogares.get("hogares_nuevos", 0) + hogares.get("hogares_actualizados", 0)
        e.hogares_procesados += nuevos + hogares.get("hogares_rechazados", 0)
        e.hogares = e.hogares_procesados

    def _normal(self, r: Registro, clave: str, h: Hogar) -> None:
        self._escribir(r, clave, h)
        n = len(h.personas)
        self._sumar(r, n, hogares_nuevos=1, integrantes_nuevos=n)

    def _persona_repetida(self, r: Registro, clave: str, h: Hogar) -> None:
        lineas = self._escribir(r, clave, h)
        k = self.rng.randrange(len(h.personas))
        linea = self.registros[r].csv.escribir(como_lista(r, fila(r, clave, h, h.personas[k])))
        self._plantar(r, linea, clave, "persona_repetida", f"duplicate of line {lineas[k]}")
        n = len(h.personas)
        self._sumar(r, n + 1, hogares_nuevos=1, integrantes_nuevos=n)

    def _fila_malformada(self, r: Registro, clave: str, h: Hogar) -> int:
        """A member's line loses a field: only that line is refused, the rest is imported."""
        k = self.rng.randrange(1, len(h.personas))
        reg = self.registros[r]
        for i, p in enumerate(h.personas):
            valores = como_lista(r, fila(r, clave, h, p))
            if i == k:
                del valores[COLUMNAS[r].index("primer_nombre")]
                linea = reg.csv.escribir(valores)
                motivo = f"expected {len(COLUMNAS[r])} fields, found {len(valores)}"
                self._plantar(r, linea, None, "fila_malformada", motivo)
            else:
                reg.csv.escribir(valores)
        reg.hogares += 1
        reg.personas += len(h.personas)
        n = len(h.personas)
        self._sumar(r, n, 1, hogares_nuevos=1, integrantes_nuevos=n - 1)
        return k

    def _fila_invalida(self, r: Registro, clave: str, h: Hogar) -> None:
        """A bad value in one row: the importer refuses the row, then the whole household."""
        k = self.rng.randrange(len(h.personas))
        reg = self.registros[r]
        for i, p in enumerate(h.personas):
            valores = fila(r, clave, h, p)
            if i == k:
                columna = estropear(r, valores, self.rng)
                linea = reg.csv.escribir(como_lista(r, valores))
                self._plantar(r, linea, clave, "fila_invalida", f"{columna}")
            else:
                linea = reg.csv.escribir(como_lista(r, valores))
                self._plantar(r, linea, clave, "hogar_con_filas_rechazadas", HOGAR_CON_RECHAZOS)
        reg.hogares += 1
        reg.personas += len(h.personas)
        resto = len(h.personas) - 1
        self._sumar(r, len(h.personas), 1, hogares_rechazados=1 if resto else 0)

    def _en_dos_hogares(self, r: Registro, claves: tuple[str, str], a: Hogar, b: Hogar) -> None:
        """A person on both households' rows: the importer refuses both for review."""
        intruso = replace(self.rng.choice(a.personas), parentesco="OTRO_PARIENTE")
        b = replace(b, personas=(*b.personas, intruso))
        for clave, h in zip(claves, (a, b), strict=True):
            for linea in self._escribir(r, clave, h):
                self._plantar(r, linea, clave, "persona_en_dos_hogares", EN_OTRO_HOGAR)
        self._sumar(r, len(a.personas) + len(b.personas), hogares_rechazados=2)

    # --- one family ---------------------------------------------------------------------------

    def _anomalia(self, ambos: bool, tamano: int, quedan: int) -> str | None:
        rng, p = self.rng, self.p
        r = rng.random()
        if ambos:
            return None
        if r < p.p_malas:
            malformada = rng.random() < 0.2 and tamano > 1
            return "fila_malformada" if malformada else "fila_invalida"
        if r < p.p_malas + p.p_duplicados:
            dos = rng.random() < 0.3 and quedan >= 2
            return "persona_en_dos_hogares" if dos else "persona_repetida"
        return None

    def familia(self, i: int, quedan: int) -> int:
        """Draw and write family number `i`; returns how many families it used (1 or 2)."""
        rng, p = self.rng, self.p
        desplazado = rng.random() < p.p_desplazadas
        ambos = desplazado and rng.random() < p.p_ambos_registros
        h = self.hogares.hogar(desplazado)
        r = Registro.RUPD if desplazado else Registro.SISBEN
        clave = f"{CLAVE[r]}-{i:08d}"
        anomalia = self._anomalia(ambos, len(h.personas), quedan)
        if anomalia is not None:
            self.anomalias[anomalia] += 1
        inscritos = h.personas
        claves = {r.value: clave}
        if ambos:
            sisben = h
            if len(h.personas) > 1 and rng.random() < P_FALTA_EN_SISBEN:
                sisben = replace(h, personas=h.personas[:-1])  # a newborn the RUPD has
            self._normal(Registro.SISBEN, f"S-{i:08d}", sisben)
            self._escribir(Registro.RUPD, clave, h)
            nuevos = len(h.personas) - len(sisben.personas)
            self._sumar(
                Registro.RUPD, len(h.personas), hogares_actualizados=1, integrantes_nuevos=nuevos
            )
            claves = {Registro.SISBEN.value: f"S-{i:08d}", Registro.RUPD.value: clave}
        elif anomalia == "persona_en_dos_hogares":
            otro = self.hogares.hogar(desplazado)
            self._en_dos_hogares(r, (clave, f"{CLAVE[r]}-{i + 1:08d}"), h, otro)
            return 2
        elif anomalia == "fila_invalida":
            self._fila_invalida(r, clave, h)
            return 1
        elif anomalia == "fila_malformada":
            k = self._fila_malformada(r, clave, h)
            inscritos = h.personas[:k] + h.personas[k + 1 :]
        elif anomalia == "persona_repetida":
            self._persona_repetida(r, clave, h)
        else:
            self._normal(r, clave, h)
        self.censo.contar(h, inscritos, ambos)
        self._linea_base(claves, h, inscritos)
        self._entregas(h, inscritos)
        return 1

    def _linea_base(self, claves: dict[str, str], h: Hogar, inscritos: tuple[Persona, ...]) -> None:
        rng = self.rng
        fecha = self.p.corte + timedelta(days=rng.randint(1, DIAS_LINEA_BASE))
        integrantes = {
            m.numero_documento: respuestas.integrante(rng, m, fecha)
            for m in inscritos
            if rng.random() >= P_SIN_LINEA_BASE
        }
        jefe = inscritos[0]
        self.linea_base.escribir(
            {
                "hogares": claves,
                "documento": {
                    "tipo_documento": jefe.tipo_documento,
                    "numero_documento": jefe.numero_documento,
                },
                "municipio": h.municipio,
                "desplazada": h.desplazado,
                "entrada": {
                    "fecha": fecha.isoformat(),
                    "duracion_minutos": rng.randint(45, 150),
                    "linea_base": {
                        "version": 1,
                        "hogar": respuestas.hogar(rng, inscritos, fecha, h.desplazado),
                        "integrantes": integrantes,
                    },
                },
            }
        )
        self.censo.linea_base += 1

    # --- RUAF ---------------------------------------------------------------------------------

    def _entregas(self, h: Hogar, inscritos: tuple[Persona, ...]) -> None:
        rng, p = self.rng, self.p
        for persona in inscritos:
            if rng.random() >= p.p_entrega:
                continue
            fecha = p.corte + timedelta(days=rng.randint(1, DIAS_ENTREGAS))
            posibles = [
                x for x in self.oferta.en(h.municipio) if x.elegible(persona, fecha, h.desplazado)
            ]
            if not posibles:
                continue
            prog = rng.choice(posibles)
            fila_ruaf = [
                persona.tipo_documento,
                persona.numero_documento,
                prog.programa_id,
                fecha.isoformat(),
                str(Oferta.valor(prog.plantilla, rng)),
            ]
            u = rng.random()
            if u < p.p_malas:
                fila_ruaf[3] = f"{fecha.year}-02-30"
                archivo, linea = self.ruaf.escribir(fila_ruaf, "rechazada")
                self._plantar_ruaf(archivo, linea, "ruaf_fila_invalida", "fecha: not a date")
                continue
            repetida = u < p.p_malas + p.p_duplicados and self.ruaf.sitio(2)
            archivo, linea = self.ruaf.escribir(fila_ruaf, "registrada")
            if repetida:  # the same row again, in the same file
                archivo, otra = self.ruaf.escribir(fila_ruaf, "rechazada")
                self._plantar_ruaf(archivo, otra, "ruaf_duplicada", f"duplicate of line {linea}")
            if rng.random() < p.p_entrega_sin_match:
                ajeno = ["CC", str(next(self.ajenos)), *fila_ruaf[2:]]
                archivo, linea = self.ruaf.escribir(ajeno, "no_encontrada")
                motivo = "no JUNTOS member with that document (CC)"
                self._plantar_ruaf(archivo, linea, "ruaf_sin_match", motivo)

    def _plantar_ruaf(self, archivo: str, linea: int, tipo: str, motivo: str) -> None:
        self.plantados.escribir(
            {"archivo": archivo, "linea": linea, "hogar": None, "tipo": tipo, "motivo": motivo}
        )

    # --- the end ------------------------------------------------------------------------------

    def cerrar(self) -> dict[str, Any]:
        for reg in self.registros.values():
            reg.csv.cerrar()
        self.linea_base.cerrar()
        self.plantados.cerrar()
        self.ruaf.cerrar()
        familias = dict(self.censo.por_municipio)
        programas = _Ndjson(self.dir / "programas.ndjson")
        for programa in self.oferta.programas(familias):
            programas.escribir(programa)
        programas.cerrar()
        cupos = _Ndjson(self.dir / "cupos.ndjson")
        total_cupos = 0
        for c in self.oferta.cupos(familias):
            cupos.escribir(c)
            total_cupos += c["entrada"]["cupos"]
        cupos.cerrar()
        return self._manifiesto(programas.lineas, cupos.lineas, total_cupos)

    def _manifiesto(self, programas: int, cupos: int, total_cupos: int) -> dict[str, Any]:
        p, c = self.p, self.censo
        por_departamento: Counter[str] = Counter()
        for m, n in c.por_municipio.items():
            por_departamento[m[:2]] += n
        archivos: dict[str, Any] = {}
        for r, reg in self.registros.items():
            archivos[ARCHIVO[r]] = {
                "registro": r.value,
                "filas": reg.csv.linea - 1,
                "hogares": reg.hogares,
                "personas": reg.personas,
                "esperado": asdict(reg.esperado),
            }
        archivos["linea_base.ndjson"] = {"familias": c.linea_base}
        archivos["programas.ndjson"] = {"programas": programas}
        archivos["cupos.ndjson"] = {"filas": cupos, "cupos": total_cupos}
        archivos["plantados.ndjson"] = {"filas": self.plantados.lineas}
        for parte in self.ruaf.partes:
            archivos[parte["archivo"]] = {"esperado": parte["esperado"]}
        for nombre, datos in archivos.items():
            datos["sha256"] = _sha256(self.dir / nombre)
        return {
            "formato": FORMATO,
            "semilla": p.semilla,
            "familias_pedidas": p.familias,
            "parametros": {k: str(v) if isinstance(v, date) else v for k, v in asdict(p).items()},
            "periodo": self.oferta.periodo,
            "importar_en_orden": [ARCHIVO[Registro.SISBEN], ARCHIVO[Registro.RUPD]],
            "ruaf": [parte["archivo"] for parte in self.ruaf.partes],
            "archivos": archivos,
            "plantados": dict(sorted(self.anomalias.items())),
            "poblacion": {
                "familias": c.familias,
                "personas": c.personas,
                "desplazadas": c.desplazadas,
                "en_ambos_registros": c.en_ambos_registros,
                "jefatura_femenina": c.jefas,
                "tamanos": {str(k): v for k, v in sorted(c.tamanos.items())},
                "por_departamento": dict(sorted(por_departamento.items())),
                "por_municipio": dict(sorted(c.por_municipio.items())),
            },
        }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while trozo := f.read(1 << 20):
            h.update(trozo)
    return h.hexdigest()


def generar(p: Parametros, directorio: Path, progreso: ProgresoFn | None = None) -> dict[str, Any]:
    """Write the population of `p` into `directorio` (created if needed); returns the manifest."""
    directorio.mkdir(parents=True, exist_ok=True)
    g = _Generador(p, directorio)
    hechas, aviso = 0, 0
    try:
        while hechas < p.familias:
            hechas += g.familia(hechas + 1, p.familias - hechas)
            if progreso is not None and hechas >= aviso:
                progreso(hechas)
                aviso = hechas + 1000
    finally:
        manifiesto = g.cerrar()
    if progreso is not None:
        progreso(hechas)
    (directorio / "manifest.json").write_text(
        json.dumps(manifiesto, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifiesto


def leer_ndjson(path: Path) -> Iterator[dict[str, Any]]:
    """The records of one of the generated NDJSON files, one at a time."""
    with path.open(encoding="utf-8") as f:
        for linea in f:
            yield json.loads(linea)
