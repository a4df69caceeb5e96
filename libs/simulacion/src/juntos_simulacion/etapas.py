"""The stages of `simulate run`, in the program's order, each through a public interface.

Every stage reads what earlier ones learnt (`Contexto.familias`) and sets `medida.items`; the
runner (`ejecucion.py`) times it, counts events, and waits for the consumers between stages.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from accompaniment.api import MAX_TABLEROS
from accompaniment.ejemplos import hogar_completo, integrante_completo
from enrollment.api import MAX_CONSULTA
from offer.api import MAX_PROGRAMAS
from offer.api_cupos import MAX_LINEAS

from juntos_simulacion.cliente import Cliente, Rechazo, en_paralelo
from juntos_simulacion.medidas import Medida
from juntos_simulacion.pila import Pila, token

CAPACIDAD = 200  # families per cogestor: enrollment's default capacity
LOTE_SYNC = 200  # items per offline batch: accompaniment's limit
LOTE_VINCULACIONES = 200  # acuerdos per batch: enrollment's limit
PAGINA = 500  # enrollment's largest page
LOTE_CONSULTA = MAX_CONSULTA  # families per bulk detail read: enrollment's limit
LOTE_TABLEROS = MAX_TABLEROS  # boards per bulk read: accompaniment's limit


@dataclass
class Familia:
    familia_id: str
    municipio: str
    jefe: str
    integrantes: dict[str, str]  # numero_documento -> integrante_id
    linea: int | None = None  # byte offset of its line in linea_base.ndjson
    cogestor: str = ""
    fecha_lb: date | None = None
    version: int | None = None  # the case's version after its last visit uploaded (sync)


@dataclass
class Contexto:
    pila: Pila
    cliente: Cliente
    dir: Path
    manifiesto: dict[str, Any]
    concurrencia: int
    semilla: int
    a_graduar: float
    familias: dict[str, Familia] = field(default_factory=dict)
    cogestores: dict[str, set[str]] = field(default_factory=dict)  # id -> municipalities
    importaciones: dict[str, int] = field(default_factory=dict)  # file -> rejected rows
    graduandas: set[str] = field(default_factory=set)

    @property
    def corte(self) -> date:
        return date.fromisoformat(self.manifiesto["parametros"]["corte"])

    def url(self, servicio: str, ruta: str) -> str:
        return self.pila.url(servicio) + ruta

    def gradua(self, familia_id: str) -> bool:
        """Whether this family is one of the share that reaches every LB (same seed, same)."""
        h = hashlib.sha256(f"{self.semilla}:{familia_id}".encode()).digest()
        return int.from_bytes(h[:4]) / 2**32 < self.a_graduar


NACIONAL = ("NACIONAL", None, "simulacion")


def cogestor(ctx: Contexto, f: Familia) -> str:
    return token("COGESTOR", f.municipio, f.cogestor)


# --- import ---------------------------------------------------------------------------------


async def importacion(ctx: Contexto, m: Medida) -> None:
    """SISBEN then RUPD with `juntos enrollment import` (the operators' CLI, a subprocess)."""
    archivos = ctx.manifiesto["importar_en_orden"]
    for nombre in archivos:
        registro = "sisben" if nombre.startswith("sisben") else "rupd"
        rechazos = ctx.dir / f"rechazos-{registro}.csv"
        rechazos.unlink(missing_ok=True)
        await _cli(
            m,
            "enrollment",
            "import",
            registro,
            str(ctx.dir / nombre),
            *("--url", ctx.pila.url("enrollment")),
            *("--rechazos", str(rechazos)),
        )
        ctx.importaciones[nombre] = _filas_csv(rechazos)
        m.items += ctx.manifiesto["archivos"][nombre]["esperado"]["filas"]


async def _cli(m: Medida, *args: str) -> None:
    inicio = asyncio.get_running_loop().time()
    proceso = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "juntos_cli.main",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    salida, errores = await proceso.communicate()
    m.anotar(asyncio.get_running_loop().time() - inicio, proceso.returncode or 0)
    if proceso.returncode != 0:
        m.error(f"juntos {' '.join(args[:3])}: {errores.decode()[-400:] or salida.decode()[-400:]}")


def _filas_csv(ruta: Path) -> int:
    """Data rows of a CSV the CLI wrote (0 if it wrote none)."""
    if not ruta.is_file():
        return 0
    with ruta.open() as f:
        return max(0, sum(1 for _ in f) - 1)


# --- vinculación and cogestores ------------------------------------------------------------


async def vinculacion(ctx: Contexto, m: Medida) -> None:
    """Find every family (enrollment's list, then the details of LOTE_CONSULTA at a time for the
    members' ids), plan its cogestor, and sign its acuerdo as that cogestor (`POST
    /v1/vinculaciones`, the field's batches)."""
    lineas = _indice_lineas(ctx.dir / "linea_base.ndjson")
    ids = [f["familia_id"] async for f in listar_familias(ctx)]

    async def detalles(lote: list[str]) -> None:
        r = await ctx.cliente.pedir(
            "POST",
            ctx.url("enrollment", "/v1/familias/consulta"),
            token(*NACIONAL),
            json={"familia_ids": lote},
        )
        for d in r.json()["familias"]:
            documentos = {
                i["datos"]["numero_documento"]: i["integrante_id"] for i in d["integrantes"]
            }
            jefe = next(i for i in d["integrantes"] if i["parentesco"] == "JEFE")
            ctx.familias[d["familia_id"]] = Familia(
                d["familia_id"],
                d["municipio"],
                jefe["integrante_id"],
                documentos,
                lineas.get(jefe["datos"]["numero_documento"]),
            )

    lotes = [ids[i : i + LOTE_CONSULTA] for i in range(0, len(ids), LOTE_CONSULTA)]
    await en_paralelo(lotes, detalles, max(1, min(ctx.concurrencia, len(lotes))))
    planear_cogestores(ctx)

    def acuerdo(f: Familia) -> dict[str, Any]:
        return {
            "familia_id": f.familia_id,
            "fecha": ctx.corte.isoformat(),
            "firmante_id": f.jefe,
            "lugar_municipio": f.municipio,
        }

    # a cogestor's token holds one municipality, and it may only vincular families of it
    lotes = _lotes(ctx.familias.values(), lambda f: (f.cogestor, f.municipio), LOTE_VINCULACIONES)
    await _subir(ctx, m, lotes, "enrollment", "/v1/vinculaciones", acuerdo)


async def listar_familias(ctx: Contexto, estado: str | None = None) -> Any:
    """Every family enrollment holds (national scope), page by page."""
    cursor = None
    while True:
        params: dict[str, Any] = {"limite": PAGINA}
        if cursor:
            params["cursor"] = cursor
        if estado:
            params["estado"] = estado
        r = await ctx.cliente.pedir(
            "GET", ctx.url("enrollment", "/v1/familias"), token(*NACIONAL), params=params
        )
        pagina = r.json()
        for f in pagina["items"]:
            yield f
        cursor = pagina["siguiente"]
        if not cursor:
            return


def _indice_lineas(ruta: Path) -> dict[str, int]:
    """Head's document -> byte offset of the family's baseline line (read once, streaming)."""
    indice = {}
    with ruta.open("rb") as f:
        while True:
            inicio = f.tell()
            linea = f.readline()
            if not linea:
                return indice
            indice[json.loads(linea)["documento"]["numero_documento"]] = inicio


def planear_cogestores(ctx: Contexto) -> None:
    """Cogestores per department, `CAPACIDAD` families each (the seed's ratio, Tabla 3); each
    serves the municipalities its families live in."""
    por_dpto: dict[str, list[Familia]] = defaultdict(list)
    for f in sorted(ctx.familias.values(), key=lambda f: (f.municipio, f.familia_id)):
        por_dpto[f.municipio[:2]].append(f)
    for dpto, familias in por_dpto.items():
        for i, f in enumerate(familias):
            f.cogestor = f"cgs-{dpto}-{i // CAPACIDAD + 1:04d}"
            ctx.cogestores.setdefault(f.cogestor, set()).add(f.municipio)


async def cogestores(ctx: Contexto, m: Medida) -> None:
    """Register each cogestor (`PUT /v1/cogestores/{id}`) and assign it its families in one
    request (`PUT /v1/cogestores/{id}/familias`)."""

    async def registrar(item: tuple[str, set[str]]) -> None:
        cid, municipios = item
        await ctx.cliente.pedir(
            "PUT",
            ctx.url("enrollment", f"/v1/cogestores/{cid}"),
            token(*NACIONAL),
            json={
                "operador": "operador-simulacion",
                "microrregion": f"mr-{cid}",
                "municipios": sorted(municipios),
                "capacidad": CAPACIDAD,
            },
        )

    await en_paralelo(list(ctx.cogestores.items()), registrar, ctx.concurrencia)

    async def asignar(lote: list[Familia]) -> None:
        await ctx.cliente.pedir(
            "PUT",
            ctx.url("enrollment", f"/v1/cogestores/{lote[0].cogestor}/familias"),
            token(*NACIONAL),
            json={"familias": [f.familia_id for f in lote]},
        )
        m.items += len(lote)

    lotes = _lotes(ctx.familias.values(), lambda f: f.cogestor, CAPACIDAD)
    await en_paralelo(lotes, asignar, max(1, min(ctx.concurrencia, len(lotes))))


# --- accompaniment: baseline and plan -------------------------------------------------------


async def linea_base(ctx: Contexto, m: Medida) -> None:
    """The baseline visits, uploaded offline as a field day's work (`POST /v1/sync`), answers
    keyed by integrante_id. A baseline changes no earlier answer, so the version its device saw
    cannot conflict: the case's first (0)."""
    ruta = ctx.dir / "linea_base.ndjson"
    familias = []
    for f in ctx.familias.values():
        if f.linea is None:
            m.error(f"family {f.familia_id}: no baseline line for its head")
        else:
            familias.append(f)

    def visita(f: Familia) -> dict[str, Any]:
        assert f.linea is not None
        entrada = _leer_linea(ruta, f.linea)["entrada"]
        respuestas = entrada["linea_base"]["integrantes"]
        entrada["linea_base"]["integrantes"] = {
            f.integrantes[doc]: r for doc, r in respuestas.items() if doc in f.integrantes
        }
        f.fecha_lb = date.fromisoformat(entrada["fecha"])
        entrada.pop("visita_id", None)
        return {**entrada, "tipo": "LINEA_BASE"}

    await _sincronizar(ctx, m, familias, visita)


def _leer_linea(ruta: Path, offset: int) -> dict[str, Any]:
    with ruta.open("rb") as f:
        f.seek(offset)
        return json.loads(f.readline())


async def plan(ctx: Contexto, m: Medida) -> None:
    """The Plan Familiar, built with the family at a PLAN_FAMILIAR visit and uploaded offline
    (`POST /v1/sync`, `prioridades`): the first five pending LB of the board as priorities, in
    board order. The boards are read beforehand as a device syncs its families down: each
    cogestor's in one request (`POST /v1/casos/logros`)."""
    pendientes: dict[str, list[str]] = {}

    async def leer(lote: list[Familia]) -> None:
        r = await ctx.cliente.pedir(
            "POST",
            ctx.url("accompaniment", "/v1/casos/logros"),
            cogestor(ctx, lote[0]),
            json={"familia_ids": [f.familia_id for f in lote]},
        )
        for tablero in r.json()["tableros"]:
            pendientes[tablero["familia_id"]] = [
                x["logro"] for x in tablero["logros"] if x["estado"] == "POR_ALCANZAR"
            ]

    familias = [f for f in ctx.familias.values() if f.fecha_lb is not None]
    lotes = _lotes(familias, lambda f: f.cogestor, LOTE_TABLEROS)
    await en_paralelo(lotes, leer, max(1, min(ctx.concurrencia, len(lotes))))

    def visita(f: Familia) -> dict[str, Any]:
        assert f.fecha_lb is not None
        meta = (f.fecha_lb + timedelta(days=365)).isoformat()
        return {
            "tipo": "PLAN_FAMILIAR",
            "fecha": f.fecha_lb.isoformat(),
            "duracion_minutos": 60,
            "prioridades": [
                {"logro": lb, "fecha_meta": meta, "acciones": ["acompanamiento del cogestor"]}
                for lb in pendientes[f.familia_id][:5]
            ],
        }

    await _sincronizar(ctx, m, [f for f in familias if pendientes.get(f.familia_id)], visita)


# --- offer -----------------------------------------------------------------------------------


async def oferta(ctx: Contexto, m: Medida) -> None:
    """Programs, then slot lines, in batches (`POST /v1/programas/lote`: at most MAX_PROGRAMAS
    programs or MAX_LINEAS lines a request, each in one transaction); items = programs + lines.
    Every program is registered before any line names it."""
    url = ctx.url("offer", "/v1/programas/lote")

    async def lote(cuerpo: dict[str, list[dict[str, Any]]]) -> None:
        await ctx.cliente.pedir("POST", url, token(*NACIONAL), json=cuerpo)
        m.items += len(cuerpo.get("programas", ())) + len(cuerpo.get("lineas", ()))

    programas = _ndjson(ctx.dir / "programas.ndjson")
    await en_paralelo(
        ({"programas": t} for t in _tramos(programas, MAX_PROGRAMAS)), lote, ctx.concurrencia
    )
    lineas = (
        {"programa_id": c["programa_id"], "municipio": c["municipio"], "periodo": c["periodo"]}
        | c["entrada"]
        for c in _ndjson(ctx.dir / "cupos.ndjson")
    )
    await en_paralelo(({"lineas": t} for t in _tramos(lineas, MAX_LINEAS)), lote, ctx.concurrencia)


def _tramos(items: Iterable[dict[str, Any]], n: int) -> Iterator[list[dict[str, Any]]]:
    """`items` in lists of n (the last may be shorter), read as they are needed."""
    resto = iter(items)
    while tramo := list(islice(resto, n)):
        yield tramo


def _ndjson(ruta: Path) -> Iterator[dict[str, Any]]:
    with ruta.open() as f:
        for linea in f:
            yield json.loads(linea)


async def asignaciones(ctx: Contexto, m: Medida) -> None:
    """Every program's free slots filled by priority, one request per program and period
    (`POST /v1/programas/{id}/asignacion-masiva`: every line of that period); items = slots
    assigned."""
    pedidos = sorted({(c["programa_id"], c["periodo"]) for c in _ndjson(ctx.dir / "cupos.ndjson")})

    async def asignar(pedido: tuple[str, str]) -> None:
        pid, periodo = pedido
        r = await ctx.cliente.pedir(
            "POST",
            ctx.url("offer", f"/v1/programas/{pid}/asignacion-masiva"),
            token(*NACIONAL),
            json={"periodo": periodo},
        )
        m.items += sum(len(x["asignaciones"]) for x in r.json()["lineas"])

    await en_paralelo(pedidos, asignar, ctx.concurrencia)


async def entregas(ctx: Contexto, m: Medida) -> None:
    """RUAF deliveries with `juntos offer import ruaf` (each becomes a ServicioPrestado)."""
    for nombre in ctx.manifiesto["ruaf"]:
        rechazos = ctx.dir / f"rechazos-{Path(nombre).stem}.csv"
        rechazos.unlink(missing_ok=True)
        await _cli(
            m,
            "offer",
            "import",
            "ruaf",
            str(ctx.dir / nombre),
            *("--url", ctx.pila.url("offer")),
            *("--rechazos", str(rechazos)),
        )
        ctx.importaciones[nombre] = _filas_csv(rechazos)
        m.items += ctx.manifiesto["archivos"][nombre]["esperado"]["filas"]


# --- follow-ups and graduation through the offline sync -------------------------------------


async def seguimientos(ctx: Contexto, m: Medida) -> None:
    """A follow-up visit 60 days after the baseline, uploaded offline (`POST /v1/sync`): the
    household's conditions improved (every household question met), so household LB that were
    pending are reached (LogroAlcanzado). Families about to graduate are left for the next stage."""
    familias = [f for f in ctx.familias.values() if f.version and not ctx.gradua(f.familia_id)]
    hogar = hogar_completo().model_dump(mode="json")
    await _sincronizar(ctx, m, familias, lambda f: _seguimiento(f, {"hogar": hogar}))


async def graduaciones(ctx: Contexto, m: Medida) -> None:
    """For a share of families (`--graduate`), a follow-up where every LB is met: accompaniment
    announces TodosLosLogrosAlcanzados and enrollment graduates the family (PROMOVIDA)."""
    familias = [f for f in ctx.familias.values() if f.version and ctx.gradua(f.familia_id)]
    hogar = hogar_completo().model_dump(mode="json")
    miembro = integrante_completo().model_dump(mode="json")

    def cambios(f: Familia) -> dict[str, Any]:
        return {"hogar": hogar, "integrantes": {i: miembro for i in f.integrantes.values()}}

    aplicadas = await _sincronizar(ctx, m, familias, lambda f: _seguimiento(f, cambios(f)))
    ctx.graduandas |= aplicadas


def _seguimiento(f: Familia, cambios: dict[str, Any]) -> dict[str, Any]:
    return {
        "tipo": "SEGUIMIENTO",
        "fecha": (f.fecha_lb + timedelta(days=60)).isoformat(),  # type: ignore[operator]
        "duracion_minutos": 45,
        "cambios": cambios,
    }


async def _sincronizar(
    ctx: Contexto, m: Medida, familias: list[Familia], visita: Callable[[Familia], dict[str, Any]]
) -> set[str]:
    """Each cogestor's visits (`visita(f)`: the item's type, date and content) in batches of
    LOTE_SYNC; returns the families whose item applied."""

    def item(f: Familia) -> dict[str, Any]:
        return {
            "id": _uuid(ctx, "visita", f.familia_id, m.etapa),
            "familia_id": f.familia_id,
            "version_vista": f.version or 0,
            **visita(f),
        }

    lotes = _lotes(familias, lambda f: f.cogestor, LOTE_SYNC)
    hechas = await _subir(ctx, m, lotes, "accompaniment", "/v1/sync", item)
    for f in familias:
        if f.familia_id in hechas:
            f.version = hechas[f.familia_id]["version"]
    return set(hechas)


async def _subir(
    ctx: Contexto,
    m: Medida,
    lotes: list[list[Familia]],
    servicio: str,
    ruta: str,
    item: Callable[[Familia], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Each batch as `{"items": [item(f)...]}` with its cogestor's token, counting the per-item
    results (APLICADO or DUPLICADO: done); returns the result of each family done."""
    hechas: dict[str, dict[str, Any]] = {}

    async def subir(lote: list[Familia]) -> None:
        r = await ctx.cliente.pedir(
            "POST",
            ctx.url(servicio, ruta),
            cogestor(ctx, lote[0]),
            json={"items": [item(f) for f in lote]},
        )
        for f, resultado in zip(lote, r.json()["resultados"], strict=True):
            if resultado["estado"] in ("APLICADO", "DUPLICADO"):
                hechas[f.familia_id] = resultado
                m.items += 1
            else:
                m.error(f"{ruta} {resultado['estado']}: {resultado['detalle']}")

    await en_paralelo(lotes, subir, max(1, min(ctx.concurrencia, len(lotes))))
    return hechas


def _lotes(
    familias: Iterable[Familia], clave: Callable[[Familia], Hashable], tamano: int
) -> list[list[Familia]]:
    """The families grouped by `clave` (e.g. their cogestor), in batches of at most `tamano`."""
    grupos: dict[Hashable, list[Familia]] = defaultdict(list)
    for f in familias:
        grupos[clave(f)].append(f)
    return [fs[i : i + tamano] for fs in grupos.values() for i in range(0, len(fs), tamano)]


def _uuid(ctx: Contexto, *partes: str) -> str:
    """A client-generated id that is the same on a re-run with the same seed (resends are safe)."""
    import uuid

    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"juntos-simulacion:{ctx.semilla}:" + ":".join(partes))
    )


ETAPAS = (
    ("importacion", "CLI juntos enrollment import", importacion),
    ("vinculacion", "enrollment POST /v1/familias/consulta + /v1/vinculaciones", vinculacion),
    ("cogestores", "enrollment PUT /v1/cogestores/{id}/familias", cogestores),
    ("linea_base", "accompaniment POST /v1/sync", linea_base),
    ("plan", "accompaniment POST /v1/casos/logros + /v1/sync", plan),
    ("oferta", "offer REST", oferta),
    ("asignaciones", "offer POST /v1/programas/{id}/asignacion-masiva", asignaciones),
    ("entregas", "CLI juntos offer import ruaf", entregas),
    ("seguimientos", "accompaniment POST /v1/sync", seguimientos),
    ("graduaciones", "accompaniment POST /v1/sync", graduaciones),
)

__all__ = ["ETAPAS", "Contexto", "Familia", "Rechazo", "listar_familias"]
