"""Import of a SISBEN or RUPD file: stage every valid row, then decide household by household.

Phase 1 streams the file: each row is validated; valid rows go to a staging table (COPY, in
batches), rejected rows to the import's report with their line and reason. Phase 2 reads the
staged households in key order through a server-side cursor (constant memory whatever the file
size, and a household's rows may be anywhere in the file) and, per batch of households, in one
transaction: a household with any rejected row is rejected whole; a household already known (same
registry key, or members already enrolled through the other registry) only gains what is new;
any other household becomes a FamiliaPreseleccionada. Re-importing a file therefore changes
nothing. One import runs at a time (advisory lock).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.fernet import Fernet
from juntos_events.events import DomainEvent
from juntos_events.logs import get_logger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from enrollment import domain, handlers, queries
from enrollment.boveda import Boveda
from enrollment.domain import ReglaIncumplida
from enrollment.events import Integrante
from enrollment.handlers import Servicios
from enrollment.registros import FilaPersona, Formato, filas, validar
from enrollment.vocabulario import Registro

log = get_logger(__name__)

LOTE_FILAS = 2_000
LOTE_HOGARES = 200
_LOCK = "SELECT pg_try_advisory_lock(hashtext('juntos:enrollment:importacion'))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext('juntos:enrollment:importacion'))"


class ImportacionEnCurso(Exception):
    """Another import holds the lock; imports are serialised so dedupe sees every household.

    Also raised when the client-chosen import id was already used.
    """


@dataclass
class Resumen:
    filas: int = 0
    filas_validas: int = 0
    filas_rechazadas: int = 0
    hogares: int = 0
    hogares_procesados: int = 0
    hogares_nuevos: int = 0
    hogares_actualizados: int = 0
    hogares_sin_cambios: int = 0
    hogares_rechazados: int = 0
    integrantes_nuevos: int = 0


@dataclass
class Rechazo:
    linea: int
    hogar: str | None
    motivo: str


@dataclass
class _Hogar:
    hogar: str
    lineas: list[int]
    huellas: list[bytes]
    filas: list[FilaPersona]
    rechazos: list[Rechazo] = field(default_factory=list)


Progreso = Callable[[Resumen], None]


async def importar(
    srv: Servicios,
    registro: Registro,
    fuente: AsyncIterable[bytes],
    formato: Formato,
    *,
    actor: str,
    importacion_id: uuid.UUID | None = None,
    progreso: Progreso | None = None,
) -> tuple[uuid.UUID, Resumen]:
    """Import a whole file; raises ImportacionEnCurso or registros.ArchivoInvalido."""
    importacion_id = importacion_id or uuid.uuid4()
    resumen = Resumen()
    async with srv.engine.connect() as lock:
        if not (await lock.execute(text(_LOCK))).scalar_one():
            raise ImportacionEnCurso("another import is running; try again when it ends")
        await lock.commit()
        try:
            await _empezar(srv, importacion_id, registro, actor)
            try:
                digest = await _preparar(srv, importacion_id, registro, fuente, formato, resumen)
                await _procesar(srv, importacion_id, registro, actor, resumen, progreso)
            except BaseException:
                await _terminar(srv, importacion_id, "FALLIDA", resumen, None)
                raise
            await _terminar(srv, importacion_id, "TERMINADA", resumen, digest)
        finally:
            await lock.execute(text(_UNLOCK))
            await lock.commit()
    log.info("import finished", importacion_id=str(importacion_id), **asdict(resumen))
    return importacion_id, resumen


async def _empezar(srv: Servicios, iid: uuid.UUID, registro: Registro, actor: str) -> None:
    async with srv.engine.begin() as conn:
        usado = await conn.execute(
            text("SELECT 1 FROM importaciones WHERE importacion_id = :i"), {"i": iid}
        )
        if usado.first() is not None:
            raise ImportacionEnCurso(f"import {iid} already exists; choose a new importacion_id")
        await conn.execute(
            text(
                "INSERT INTO importaciones (importacion_id, registro, actor, estado)"
                " VALUES (:i, :r, :a, 'EN_CURSO')"
            ),
            {"i": iid, "r": registro.value, "a": actor},
        )


async def _terminar(
    srv: Servicios, iid: uuid.UUID, estado: str, resumen: Resumen, digest: str | None
) -> None:
    async with srv.engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM importacion_filas WHERE importacion_id = :i"), {"i": iid}
        )
        await conn.execute(
            text(
                "UPDATE importaciones SET estado = :e, resumen = cast(:r AS jsonb),"
                " huella_archivo = :h, terminada = now() WHERE importacion_id = :i"
            ),
            {"e": estado, "r": json.dumps(asdict(resumen)), "h": digest, "i": iid},
        )


async def _guardar_resumen(conn: AsyncConnection, iid: uuid.UUID, resumen: Resumen) -> None:
    await conn.execute(
        text("UPDATE importaciones SET resumen = cast(:r AS jsonb) WHERE importacion_id = :i"),
        {"r": json.dumps(asdict(resumen)), "i": iid},
    )


async def _rechazar(conn: AsyncConnection, iid: uuid.UUID, rechazos: Sequence[Rechazo]) -> None:
    if rechazos:
        await conn.execute(
            text(
                "INSERT INTO importacion_rechazos (importacion_id, linea, hogar, motivo)"
                " VALUES (:i, :linea, :hogar, :motivo) ON CONFLICT DO NOTHING"
            ),
            [{"i": iid, **asdict(r)} for r in rechazos],
        )


# --- phase 1: stage ---------------------------------------------------------------------------


async def _preparar(
    srv: Servicios,
    iid: uuid.UUID,
    registro: Registro,
    fuente: AsyncIterable[bytes],
    formato: Formato,
    resumen: Resumen,
) -> str:
    """Validate and stage every row; returns the SHA-256 of the file."""
    digest = hashlib.sha256()

    async def leido() -> Any:
        async for trozo in fuente:
            digest.update(trozo)
            yield trozo

    validas: list[tuple[Any, ...]] = []
    rechazos: list[Rechazo] = []

    async def vaciar() -> None:
        async with srv.engine.begin() as conn:
            if validas:
                raw = await conn.get_raw_connection()
                await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                    "importacion_filas",
                    records=validas,
                    columns=["importacion_id", "linea", "hogar", "huella", "fila"],
                )
            await _rechazar(conn, iid, rechazos)
            await _guardar_resumen(conn, iid, resumen)
        validas.clear()
        rechazos.clear()

    async for linea, campos in filas(leido(), formato, registro):
        resumen.filas += 1
        fila = validar(registro, campos) if isinstance(campos, dict) else campos
        if isinstance(fila, str):
            hogar = campos.get("hogar") if isinstance(campos, dict) else None
            hogar = str(hogar)[:40] if hogar not in (None, "") else None
            rechazos.append(Rechazo(linea, hogar, fila))
            resumen.filas_rechazadas += 1
        else:
            huella = srv.huellas.de(fila.tipo_documento, fila.numero_documento)
            validas.append((iid, linea, fila.hogar, huella, fila.model_dump_json()))
            resumen.filas_validas += 1
        if len(validas) + len(rechazos) >= LOTE_FILAS:
            await vaciar()
    await vaciar()
    return digest.hexdigest()


# --- phase 2: households ----------------------------------------------------------------------


async def _procesar(
    srv: Servicios,
    iid: uuid.UUID,
    registro: Registro,
    actor: str,
    resumen: Resumen,
    progreso: Progreso | None,
) -> None:
    async with srv.engine.connect() as conn:
        resumen.hogares = (
            await conn.execute(
                text(
                    "SELECT count(DISTINCT hogar) FROM importacion_filas WHERE importacion_id = :i"
                ),
                {"i": iid},
            )
        ).scalar_one()
        con_rechazos = {
            r.hogar
            for r in await conn.execute(
                text(
                    "SELECT DISTINCT hogar FROM importacion_rechazos"
                    " WHERE importacion_id = :i AND hogar IS NOT NULL"
                ),
                {"i": iid},
            )
        }
        # people on rows of two households of this file: both households need a person's review
        compartidas = {
            bytes(r.huella)
            for r in await conn.execute(
                text(
                    "SELECT huella FROM importacion_filas WHERE importacion_id = :i"
                    " GROUP BY huella HAVING count(DISTINCT hogar) > 1"
                ),
                {"i": iid},
            )
        }
        lote: list[_Hogar] = []
        resultado = await conn.stream(
            text(
                "SELECT hogar, array_agg(linea ORDER BY linea) AS lineas,"
                " array_agg(huella ORDER BY linea) AS huellas,"
                " array_agg(fila ORDER BY linea) AS filas"
                " FROM importacion_filas WHERE importacion_id = :i GROUP BY hogar ORDER BY hogar"
            ),
            {"i": iid},
        )
        async for row in resultado:
            modelos = [validar(registro, _como_dict(f)) for f in row.filas]
            hogar = _Hogar(
                row.hogar,
                list(row.lineas),
                [bytes(h) for h in row.huellas],
                [m for m in modelos if not isinstance(m, str)],
            )
            lote.append(hogar)
            if len(lote) >= LOTE_HOGARES:
                await _lote(srv, iid, registro, actor, lote, con_rechazos, compartidas, resumen)
                lote = []
                if progreso:
                    progreso(resumen)
        if lote:
            await _lote(srv, iid, registro, actor, lote, con_rechazos, compartidas, resumen)
        if progreso:
            progreso(resumen)


def _como_dict(fila: Any) -> dict[str, Any]:
    return fila if isinstance(fila, dict) else json.loads(fila)


def _revisar_hogar(h: _Hogar, con_rechazos: set[str], compartidas: set[bytes]) -> str | None:
    """Why a household cannot be imported as it is, or None."""
    if h.hogar in con_rechazos:
        return "the household has rejected rows; it is imported only when all its rows are valid"
    otras = [linea for linea, hu in zip(h.lineas, h.huellas, strict=True) if hu in compartidas]
    if otras:
        return (
            f"the person on line {otras[0]} also appears in another household of this file;"
            " correct the file"
        )
    municipios = {f.municipio for f in h.filas}
    if len(municipios) > 1:
        return f"the household's rows name {len(municipios)} different municipalities"
    jefes = sum(1 for f in h.filas if f.parentesco == "JEFE")
    if jefes != 1:
        return f"a household needs exactly one head (JEFE), this one has {jefes}"
    return None


def _sin_repetidos(h: _Hogar) -> list[Rechazo]:
    """The same person twice in one household: keep the first row, report the others."""
    vistos: dict[bytes, int] = {}
    keep_l, keep_h, keep_f, repetidos = [], [], [], []
    for linea, huella, fila in zip(h.lineas, h.huellas, h.filas, strict=True):
        if huella in vistos:
            repetidos.append(Rechazo(linea, h.hogar, f"duplicate of line {vistos[huella]}"))
            continue
        vistos[huella] = linea
        keep_l.append(linea)
        keep_h.append(huella)
        keep_f.append(fila)
    h.lineas, h.huellas, h.filas = keep_l, keep_h, keep_f
    return repetidos


async def _lote(
    srv: Servicios,
    iid: uuid.UUID,
    registro: Registro,
    actor: str,
    lote: list[_Hogar],
    con_rechazos: set[str],
    compartidas: set[bytes],
    resumen: Resumen,
) -> None:
    async with srv.engine.begin() as conn:
        conocidos = await _conocidos(conn, registro, lote)
        familias_nuevas: list[dict[str, Any]] = []
        for h in lote:
            resumen.hogares_procesados += 1
            h.rechazos += _sin_repetidos(h)
            motivo = _revisar_hogar(h, con_rechazos, compartidas)
            if motivo is None:
                try:
                    motivo = await _importar_hogar(
                        conn, srv, registro, actor, h, conocidos, familias_nuevas, resumen
                    )
                except ReglaIncumplida as regla:
                    motivo = str(regla)
            if motivo is not None:
                resumen.hogares_rechazados += 1
                h.rechazos = [Rechazo(linea, h.hogar, motivo) for linea in h.lineas]
            await _rechazar(conn, iid, h.rechazos)
        await conocidos.escribir(conn, actor)
        await queries.proyectar_familias(conn, familias_nuevas)
        await _guardar_resumen(conn, iid, resumen)


@dataclass
class _Conocidos:
    """What the batch knows (from the database and from itself), and what it still has to write.

    Index rows and keys of the batch's new families are written once per batch, not once per
    household: that is most of an import's round trips.
    """

    por_hogar: dict[str, str]
    por_huella: dict[bytes, tuple[str, str]]
    llaves_nuevas: dict[str, Fernet] = field(default_factory=dict)
    por_escribir_streams: list[tuple[str, list[DomainEvent]]] = field(default_factory=list)
    por_escribir_llaves: list[dict[str, Any]] = field(default_factory=list)
    por_escribir_documentos: list[dict[str, Any]] = field(default_factory=list)
    por_escribir_hogares: list[dict[str, Any]] = field(default_factory=list)

    async def escribir(self, conn: AsyncConnection, actor: str) -> None:
        await handlers.store.start_streams(
            conn, handlers.FAMILIA, self.por_escribir_streams, actor=actor
        )
        self.por_escribir_streams.clear()
        for sql, pendientes in (
            (_LLAVES, self.por_escribir_llaves),
            (_DOCUMENTOS, self.por_escribir_documentos),
            (_HOGARES, self.por_escribir_hogares),
        ):
            if pendientes:
                await conn.execute(text(sql), pendientes)
                pendientes.clear()


_LLAVES = "INSERT INTO llaves_familia (familia_id, llave) VALUES (:familia_id, :llave)"
_DOCUMENTOS = (
    "INSERT INTO documentos (huella, familia_id, integrante_id)"
    " VALUES (:huella, :familia_id, :integrante_id) ON CONFLICT DO NOTHING"
)
_HOGARES = (
    "INSERT INTO hogares_registro (registro, hogar, familia_id) VALUES (:registro, :hogar,"
    " :familia_id) ON CONFLICT DO NOTHING"
)


async def _conocidos(conn: AsyncConnection, registro: Registro, lote: list[_Hogar]) -> _Conocidos:
    hogares = [h.hogar for h in lote]
    huellas = [hu for h in lote for hu in h.huellas]
    por_hogar = {
        r.hogar: r.familia_id
        for r in await conn.execute(
            text(
                "SELECT hogar, familia_id FROM hogares_registro"
                " WHERE registro = :r AND hogar = ANY(:h)"
            ),
            {"r": registro.value, "h": hogares},
        )
    }
    por_huella = {
        bytes(r.huella): (r.familia_id, r.integrante_id)
        for r in await conn.execute(
            text("SELECT huella, familia_id, integrante_id FROM documentos WHERE huella = ANY(:h)"),
            {"h": huellas},
        )
    }
    return _Conocidos(por_hogar, por_huella)


async def _importar_hogar(
    conn: AsyncConnection,
    srv: Servicios,
    registro: Registro,
    actor: str,
    h: _Hogar,
    conocidos: _Conocidos,
    familias_nuevas: list[dict[str, Any]],
    resumen: Resumen,
) -> str | None:
    """Create or complete the household's family; returns a rejection reason or None."""
    familias = {conocidos.por_huella[hu][0] for hu in h.huellas if hu in conocidos.por_huella}
    if h.hogar in conocidos.por_hogar:
        familias.add(conocidos.por_hogar[h.hogar])
    if len(familias) > 1:
        return "the household's members are already enrolled in different families; review them"
    if not familias:
        await _nueva_familia(conn, srv, registro, actor, h, familias_nuevas, conocidos)
        resumen.hogares_nuevos += 1
        resumen.integrantes_nuevos += len(h.filas)
        return None
    familia_id = familias.pop()
    if familia_id in conocidos.llaves_nuevas:  # created earlier in this batch: write it first
        await conocidos.escribir(conn, actor)
    registrada = conocidos.por_hogar.get(h.hogar)
    if registrada is None:
        otro = await conn.execute(
            text(
                "SELECT hogar FROM hogares_registro WHERE registro = :r AND familia_id = :f LIMIT 1"
            ),
            {"r": registro.value, "f": familia_id},
        )
        if otro.first() is not None:
            return (
                f"its members are already enrolled through another {registro} household;"
                " review the registry"
            )
    nuevos = [
        (hu, f) for hu, f in zip(h.huellas, h.filas, strict=True) if hu not in conocidos.por_huella
    ]
    boveda: Boveda = srv.boveda
    integrantes = tuple(
        Integrante(integrante_id=str(uuid.uuid4()), **f.atributos()) for _, f in nuevos
    )

    async def construir(c: AsyncConnection, familia: domain.Familia) -> domain.ComandoFamilia:
        sellados = {}
        if integrantes:
            llave = conocidos.llaves_nuevas.get(familia_id) or await handlers.llave_de(
                c, boveda, familia_id
            )
            sellados = {
                i.integrante_id: boveda.sellar(llave, f.datos_personales())
                for i, (_, f) in zip(integrantes, nuevos, strict=True)
            }
        return domain.IncorporarRegistro(registro=registro, nuevos=integrantes, sellados=sellados)

    resultado = await handlers.aplicar(conn, familia_id, construir, actor=actor)
    _indexar(registro, h.hogar, familia_id, nuevos, integrantes, conocidos)
    if resultado.events:
        resumen.hogares_actualizados += 1
        resumen.integrantes_nuevos += len(integrantes)
    else:
        resumen.hogares_sin_cambios += 1
    return None


def _integrantes(filas: Iterable[FilaPersona]) -> tuple[Integrante, ...]:
    """New pseudonymous member ids: random, so nothing about the person can be derived."""
    return tuple(Integrante(integrante_id=str(uuid.uuid4()), **f.atributos()) for f in filas)


async def _nueva_familia(
    conn: AsyncConnection,
    srv: Servicios,
    registro: Registro,
    actor: str,
    h: _Hogar,
    familias_nuevas: list[dict[str, Any]],
    conocidos: _Conocidos,
) -> None:
    familia_id = str(uuid.uuid4())
    llave, envuelta = srv.boveda.nueva_llave()
    conocidos.llaves_nuevas[familia_id] = llave
    conocidos.por_escribir_llaves.append({"familia_id": familia_id, "llave": envuelta})
    integrantes = tuple(
        Integrante(integrante_id=str(uuid.uuid4()), **f.atributos()) for f in h.filas
    )
    sellados = {
        i.integrante_id: srv.boveda.sellar(llave, f.datos_personales())
        for i, f in zip(integrantes, h.filas, strict=True)
    }
    nivel = getattr(h.filas[0], "nivel_sisben", None)
    comando = domain.Preseleccionar(
        familia_id=familia_id,
        municipio=h.filas[0].municipio,
        registro=registro,
        nivel_sisben=nivel,
        integrantes=integrantes,
        sellados=sellados,
    )
    nuevos = domain.decide(domain.Familia(), comando)
    conocidos.por_escribir_streams.append((familia_id, nuevos))
    familias_nuevas.append(queries.fila_familia(domain.fold(nuevos), len(nuevos)))
    _indexar(
        registro,
        h.hogar,
        familia_id,
        list(zip(h.huellas, h.filas, strict=True)),
        integrantes,
        conocidos,
    )


def _indexar(
    registro: Registro,
    hogar: str,
    familia_id: str,
    nuevos: Sequence[tuple[bytes, FilaPersona]],
    integrantes: Sequence[Integrante],
    conocidos: _Conocidos,
) -> None:
    filas_doc = [
        {"huella": hu, "familia_id": familia_id, "integrante_id": i.integrante_id}
        for (hu, _), i in zip(nuevos, integrantes, strict=True)
    ]
    conocidos.por_escribir_documentos += filas_doc
    for fila in filas_doc:
        conocidos.por_huella[fila["huella"]] = (familia_id, fila["integrante_id"])
    if hogar not in conocidos.por_hogar:
        conocidos.por_escribir_hogares.append(
            {"registro": registro.value, "hogar": hogar, "familia_id": familia_id}
        )
        conocidos.por_hogar[hogar] = familia_id
