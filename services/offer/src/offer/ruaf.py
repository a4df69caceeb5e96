"""RUAF-style files of delivered benefits: read, match to JUNTOS members, record ServicioPrestado.

One row per benefit: `tipo_documento,numero_documento,programa_id,fecha,valor` (UTF-8 CSV with
that header). The document only travels to enrollment's search and back; it is never stored,
logged or echoed (every rejection names the column, never the value). The import is
all-or-nothing: rows are read and matched first, then every ServicioPrestado is appended in one
transaction. A service's id comes from (program, member, date, value), so importing the same
file twice records nothing new.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from offer import enrollment as adaptador
from offer import handlers, proyecciones, queries
from offer.domain import Programa
from offer.enrollment import Miembro
from offer.events import ServicioPrestado, store
from offer.vocabulario import TipoDocumento

COLUMNAS = ("tipo_documento", "numero_documento", "programa_id", "fecha", "valor")
POR_SENTENCIA = 1000
"""Services appended per statement: the 36,185 rows of a 100,000-family file in one statement
took a PostgreSQL backend to 539 MiB (the events' and outbox rows' arrays at once)."""
NUMERO = re.compile(r"[0-9A-Za-z]{3,20}")
PROGRAMA = re.compile(r"[0-9a-f-]{36}")
VALOR_MAXIMO = 10**12
NAMESPACE = uuid.UUID("6f1d3c2e-9a4b-5c7d-8e0f-112233445566")
MOSTRAR = 100


class ArchivoInvalido(ValueError):
    """The file cannot be read at all (encoding, header): nothing is imported."""


@dataclass(frozen=True)
class Fila:
    linea: int
    tipo_documento: str
    numero_documento: str
    programa_id: str
    fecha: date
    valor: int


@dataclass
class Resultado:
    importacion_id: uuid.UUID
    filas: int = 0
    registradas: int = 0
    ya_registradas: int = 0
    no_encontradas: int = 0
    rechazadas: int = 0
    rechazos: list[tuple[int, str]] = field(default_factory=list)

    def resumen(self) -> dict[str, int]:
        return {
            "filas": self.filas,
            "registradas": self.registradas,
            "ya_registradas": self.ya_registradas,
            "no_encontradas": self.no_encontradas,
            "rechazadas": self.rechazadas,
        }


def _fila(linea: int, crudo: dict[str, Any], hoy: date) -> Fila | str:
    """A valid row, or why not (naming columns, never values)."""
    if None in crudo or any(v is None for v in crudo.values()):
        return f"expected {len(COLUMNAS)} columns"
    v = {k: str(crudo[k]).strip() for k in COLUMNAS}
    motivos = []
    if v["tipo_documento"].upper() not in TipoDocumento.__members__:
        motivos.append("tipo_documento: not a document type (CC, TI, RC, CE, PA, PEP, ...)")
    if not NUMERO.fullmatch(v["numero_documento"]):
        motivos.append("numero_documento: 3 to 20 letters or digits")
    if not PROGRAMA.fullmatch(v["programa_id"].lower()):
        motivos.append("programa_id: not a program id")
    try:
        fecha = date.fromisoformat(v["fecha"])
        if fecha > hoy:
            motivos.append("fecha: in the future")
    except ValueError:
        fecha = hoy
        motivos.append("fecha: not a date (YYYY-MM-DD)")
    valor = -1
    if re.fullmatch(r"\d{1,13}", v["valor"]):
        valor = int(v["valor"])
    if not 0 <= valor <= VALOR_MAXIMO:
        motivos.append("valor: whole Colombian pesos, 0 or more")
    if motivos:
        return "; ".join(motivos)
    return Fila(
        linea=linea,
        tipo_documento=v["tipo_documento"].upper(),
        numero_documento=v["numero_documento"],
        programa_id=v["programa_id"].lower(),
        fecha=fecha,
        valor=valor,
    )


def leer(cuerpo: bytes, hoy: date) -> tuple[list[Fila], list[tuple[int, str]]]:
    """Valid rows and (line, reason) of the others; ArchivoInvalido for an unreadable file."""
    try:
        texto = cuerpo.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArchivoInvalido("the file is not UTF-8") from None
    if "\x00" in texto:
        raise ArchivoInvalido("the file holds NUL characters")
    lector = csv.DictReader(io.StringIO(texto, newline=""))
    cabecera = [c.strip() for c in lector.fieldnames or []]
    if sorted(cabecera) != sorted(COLUMNAS):
        faltan = sorted(set(COLUMNAS) - set(cabecera))
        sobran = sorted(set(cabecera) - set(COLUMNAS))
        raise ArchivoInvalido(
            f"the header must be {','.join(COLUMNAS)}"
            + (f"; missing {', '.join(faltan)}" if faltan else "")
            + (f"; unknown {', '.join(repr(s[:30]) for s in sobran)}" if sobran else "")
        )
    lector.fieldnames = cabecera
    filas: list[Fila] = []
    rechazos: list[tuple[int, str]] = []
    try:
        for crudo in lector:
            linea = lector.line_num
            if not any((x or "").strip() for x in crudo.values() if isinstance(x, str)):
                continue  # blank line
            leida = _fila(linea, crudo, hoy)
            if isinstance(leida, str):
                rechazos.append((linea, leida))
            else:
                filas.append(leida)
    except csv.Error as exc:
        raise ArchivoInvalido(f"line {lector.line_num}: not valid CSV ({exc})") from None
    return filas, rechazos


def servicio_id(programa_id: str, m: Miembro, fecha: date, valor: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{programa_id}|{m.integrante_id}|{fecha}|{valor}"))


async def _programas(conn: AsyncConnection, filas: Sequence[Fila]) -> dict[str, Programa]:
    out = {}
    for pid in sorted({f.programa_id for f in filas}):
        programa, _ = await handlers.cargar_programa(conn, pid)
        out[pid] = programa
    return out


async def _emparejar(srv: handlers.Servicios, filas: Sequence[Fila]) -> list[Miembro | None]:
    """Each row's member: pages of `adaptador.LOTE` documents, `enrollment_concurrencia` in
    flight."""
    limite = asyncio.Semaphore(srv.settings.enrollment_concurrencia)
    lote = adaptador.LOTE
    paginas = [filas[i : i + lote] for i in range(0, len(filas), lote)]

    async def una(pagina: Sequence[Fila]) -> list[Miembro | None]:
        async with limite:
            return await srv.enrollment.buscar(
                [(f.tipo_documento, f.numero_documento) for f in pagina]
            )

    return [m for miembros in await asyncio.gather(*(una(p) for p in paginas)) for m in miembros]


async def importar(
    srv: handlers.Servicios, cuerpo: bytes, *, actor: str, entidad: str | None
) -> Resultado:
    """Import a RUAF file for `entidad` (None: national staff, any entity's programs)."""
    resultado = Resultado(importacion_id=uuid.uuid4())
    filas, rechazos = leer(cuerpo, srv.hoy())
    async with srv.engine.connect() as conn:
        programas = await _programas(conn, filas)
    validas: list[Fila] = []
    for f in filas:
        p = programas[f.programa_id]
        if not p.existe:
            rechazos.append((f.linea, "programa_id: no such program"))
        elif entidad is not None and p.entidad != entidad:
            rechazos.append((f.linea, "programa_id: a program of another entity"))
        else:
            validas.append(f)
    miembros = await _emparejar(srv, validas)
    eventos: dict[str, ServicioPrestado] = {}
    primera: dict[str, int] = {}
    for f, m in zip(validas, miembros, strict=True):
        if m is None:
            resultado.no_encontradas += 1
            rechazos.append((f.linea, f"no JUNTOS member with that document ({f.tipo_documento})"))
            continue
        sid = servicio_id(f.programa_id, m, f.fecha, f.valor)
        if sid in eventos:
            rechazos.append((f.linea, f"duplicate of line {primera[sid]}"))
            continue
        datos = programas[f.programa_id].vigente()
        primera[sid] = f.linea
        eventos[sid] = ServicioPrestado(
            servicio_id=sid,
            programa_id=f.programa_id,
            entidad=datos.entidad,
            municipio=m.municipio,
            familia_id=m.familia_id,
            integrante_id=m.integrante_id,
            logros=datos.logros,
            fecha=f.fecha,
            valor=f.valor,
        )
    rechazos.sort()
    resultado.filas = len({f.linea for f in filas} | {linea for linea, _ in rechazos})
    resultado.rechazos = rechazos
    resultado.rechazadas = len(rechazos) - resultado.no_encontradas
    async with srv.engine.begin() as conn:
        ya = await queries.servicio_existe(conn, list(eventos))
        nuevos = [e for sid, e in eventos.items() if sid not in ya]
        for i in range(0, len(nuevos), POR_SENTENCIA):  # one statement's arrays stay small
            await store.append_many(
                conn,
                "servicio",
                [(f"servicio:{e.servicio_id}", 0, [e]) for e in nuevos[i : i + POR_SENTENCIA]],
                actor=actor,
            )
        await proyecciones.servicios(
            conn, [{**e.model_dump(mode="python"), "logros": list(e.logros)} for e in nuevos]
        )
        resultado.registradas, resultado.ya_registradas = len(nuevos), len(ya)
        await _guardar(conn, resultado, actor=actor, entidad=entidad)
    return resultado


async def _guardar(conn: AsyncConnection, r: Resultado, *, actor: str, entidad: str | None) -> None:
    await conn.execute(
        text(
            "INSERT INTO importaciones_ruaf (importacion_id, actor, entidad, resumen)"
            " VALUES (:i, :a, :e, :r)"
        ).bindparams(bindparam("r", type_=JSONB)),
        {"i": r.importacion_id, "a": actor, "e": entidad, "r": r.resumen()},
    )
    if r.rechazos:
        await conn.execute(
            text(
                "INSERT INTO ruaf_rechazos (importacion_id, linea, motivo) VALUES (:i, :l, :m)"
                " ON CONFLICT DO NOTHING"
            ),
            [{"i": r.importacion_id, "l": linea, "m": motivo} for linea, motivo in r.rechazos],
        )
