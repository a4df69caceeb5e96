"""Import of a SISBEN file (`enrollment.importacion.importar`) vs raw asyncpg COPY of its rows.

N is the number of people (rows of the file); households have 1-12 people (mean about 4.35), so
450,000 people are about 103,000 households. The file is written once, untimed, streaming to disk
(bench/sisben.py, seeded), and both sides read it from disk. The project gets it as an async
iterator of 64 KiB chunks (what the API hands over from an upload) and does a whole import:
validate every row, stage the valid ones (COPY per 2,000 rows), then per batch of 200 households
in one transaction look up known households and documents, create each family (data key,
sealed personal data, FamiliaPreseleccionada event and outbox row, document index, registry
key) and project the batch. The baseline parses the same file with the csv module and COPYs
the same rows, as text, into a plain table with the CSV's columns, 2,000 rows per COPY (one
transaction each). Each side has its own fresh database and first imports a small warm-up file
untimed (other households, other documents). After the project's run (untimed) the families,
documents and rejections are counted: a lost or rejected household fails the benchmark.
"""

from __future__ import annotations

import csv
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import asyncpg
from cryptography.fernet import Fernet
from enrollment.boveda import Boveda, Huellas
from enrollment.handlers import Servicios
from enrollment.importacion import LOTE_FILAS, Resumen, importar
from enrollment.registros import Formato, columnas
from enrollment.settings import EnrollmentSettings
from enrollment.vocabulario import Registro
from juntos_events.engine import async_engine
from juntos_events.migrate import upgrade

from bench import sisben
from bench.report import Phase, Result, release_memory
from bench.servers import Servers
from bench.workload import progress

MIGRATIONS = Path(str(files("enrollment") / "migrations" / "versions"))
TROZO = 64 * 1024
SEED = 20_261_125
WARM_UP = 1_000  # people in the untimed warm-up file (at most a tenth of N)
RAW_TABLE = "sisben_filas"


def _trozos(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while trozo := f.read(TROZO):
            yield trozo


async def fuente(path: Path, avance: Callable[[int], object]) -> AsyncIterator[bytes]:
    """The file as the import reads an upload: 64 KiB chunks, never the whole of it."""
    for trozo in _trozos(path):
        avance(len(trozo))
        yield trozo
    avance(0)


def servicios(url: str) -> Servicios:
    """What enrollment.main.servicios builds from settings, with throwaway keys."""
    kek, pepper = Fernet.generate_key().decode(), secrets.token_urlsafe(24)
    settings = EnrollmentSettings(
        service_name="enrollment",
        database_url=url,
        run_backbone=False,
        keks=kek,
        document_pepper=pepper,
    )
    return Servicios(
        engine=async_engine(url),
        boveda=Boveda(kek),
        huellas=Huellas(pepper),
        settings=settings,
    )


@dataclass
class Reloj:
    """When the import had read the whole file (phase 1, staging, is then all but done)."""

    started: float = field(default_factory=time.perf_counter)
    read: float = 0.0

    @property
    def staging_seconds(self) -> float:
        return self.read - self.started


async def _importar(srv: Servicios, muestra: sisben.Muestra, label: str) -> tuple[Resumen, Reloj]:
    with progress() as bar:
        leido = bar.add_task(f"{label}: read + stage (bytes)", total=muestra.path.stat().st_size)
        hechos = bar.add_task(f"{label}: households", total=muestra.hogares)

        def avance(n: int) -> None:
            bar.advance(leido, n)
            reloj.read = time.perf_counter()

        reloj = Reloj()
        _, resumen = await importar(
            srv,
            Registro.SISBEN,
            fuente(muestra.path, avance),
            Formato.CSV,
            actor="bench",
            progreso=lambda r: bar.update(hechos, completed=r.hogares_procesados),
        )
    return resumen, reloj


async def project(
    servers: Servers, warm: sisben.Muestra, muestra: sisben.Muestra
) -> tuple[Phase, Reloj, float]:
    """The timed import, when it had read the file, and this process's CPU seconds during it."""
    url, uri = servers.database("bench_import_project")
    await upgrade(url, MIGRATIONS)
    srv = servicios(url)
    try:
        await _importar(srv, warm, "warm-up import (project)")
        servers.checkpoint()
        release_memory()
        cpu = time.process_time()
        with Phase(profile_as="import-project") as phase:
            resumen, reloj = await _importar(srv, muestra, "import (enrollment.importacion)")
        cpu = time.process_time() - cpu
    finally:
        await srv.engine.dispose()
    await imported_all(uri, [warm, muestra], resumen)
    return phase, reloj, cpu


async def imported_all(uri: str, muestras: list[sisben.Muestra], resumen: Resumen) -> None:
    """Every household became a family with all its people; raises otherwise."""
    hogares = sum(m.hogares for m in muestras)
    personas = sum(m.personas for m in muestras)
    conn = await asyncpg.connect(uri)
    try:
        familias = await conn.fetchval("SELECT count(*) FROM familias")
        integrantes = await conn.fetchval("SELECT coalesce(sum(integrantes), 0) FROM familias")
        documentos = await conn.fetchval("SELECT count(*) FROM documentos")
        rechazos = await conn.fetch(
            "SELECT linea, hogar, motivo FROM importacion_rechazos ORDER BY linea LIMIT 5"
        )
    finally:
        await conn.close()
    problems = []
    if familias != hogares:
        problems.append(f"{familias:,} families for {hogares:,} households")
    if integrantes != personas or documentos != personas:
        problems.append(f"{integrantes:,} members, {documentos:,} documents for {personas:,}")
    if resumen.hogares_nuevos != muestras[-1].hogares or resumen.filas_rechazadas:
        problems.append(f"summary of the timed import: {resumen}")
    if rechazos:
        problems.append("rejections: " + "; ".join(f"{dict(r)}" for r in rechazos))
    if problems:
        raise AssertionError("the import lost households: " + " | ".join(problems))


def _filas(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        if next(reader) != sisben.COLUMNAS:
            raise AssertionError(f"{path}: unexpected header")
        yield from reader


async def copy_file(conn: asyncpg.Connection, path: Path, label: str, personas: int) -> None:
    """csv.reader over the file, one COPY (its own transaction) per LOTE_FILAS rows."""
    lote: list[list[str]] = []
    with progress() as bar:
        task = bar.add_task(label, total=personas)
        for fila in _filas(path):
            lote.append(fila)
            if len(lote) >= LOTE_FILAS:
                await conn.copy_records_to_table(RAW_TABLE, records=lote, columns=sisben.COLUMNAS)
                bar.advance(task, len(lote))
                lote = []
        if lote:
            await conn.copy_records_to_table(RAW_TABLE, records=lote, columns=sisben.COLUMNAS)
            bar.advance(task, len(lote))


async def baseline(servers: Servers, warm: sisben.Muestra, muestra: sisben.Muestra) -> Phase:
    _, uri = servers.database("bench_import_raw")
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute(
            f"CREATE TABLE {RAW_TABLE} ({', '.join(f'{c} text' for c in sisben.COLUMNAS)})"
        )
        await copy_file(conn, warm.path, "warm-up COPY (raw)", warm.personas)
        servers.checkpoint()
        release_memory()
        with Phase(profile_as="import-baseline") as phase:
            await copy_file(conn, muestra.path, "COPY (raw asyncpg)", muestra.personas)
        copied = await conn.fetchval(f"SELECT count(*) FROM {RAW_TABLE}")
    finally:
        await conn.close()
    if copied != warm.personas + muestra.personas:
        raise AssertionError(f"COPY stored {copied:,} rows, expected {muestra.personas:,} + warm")
    return phase


async def run(servers: Servers, events: int) -> Result:
    if columnas(Registro.SISBEN) != sisben.COLUMNAS:
        raise AssertionError("bench/sisben.py's header no longer matches enrollment's FilaSisben")
    with tempfile.TemporaryDirectory(prefix="juntos-bench-import-") as tmp:
        warm = sisben.escribir(
            Path(tmp) / "calentamiento.csv",
            min(WARM_UP, max(1, events // 10)),
            seed=SEED + 1,
            prefijo="W",
            primer_documento=2 * 10**9,
        )
        muestra = sisben.escribir(Path(tmp) / "sisben.csv", events, seed=SEED)
        release_memory()
        file_mib = muestra.mib
        project_phase, reloj, project_cpu = await project(servers, warm, muestra)
        baseline_phase = await baseline(servers, warm, muestra)
    hogares = muestra.hogares
    project_hps = hogares / project_phase.seconds
    baseline_hps = hogares / baseline_phase.seconds
    print(
        f"import    {hogares:,} households: project {project_hps:,.0f} households/s | "
        f"baseline {baseline_hps:,.0f} households/s",
        flush=True,
    )
    return Result(
        bench="import",
        events=muestra.personas,
        unit="people",
        project=project_phase,
        baseline=baseline_phase,
        target=None,  # the issue sets none; see bench/README.md
        project_path=(
            "enrollment.importacion.importar (SISBEN CSV from disk in 64 KiB chunks): validate,"
            " stage, dedupe, one FamiliaPreseleccionada per household"
        ),
        baseline_path=f"raw asyncpg COPY of the CSV rows as text, {LOTE_FILAS:,} rows per COPY",
        extra={
            "people": muestra.personas,
            "households": hogares,
            "project_households_per_s": round(project_hps, 1),
            "baseline_households_per_s": round(baseline_hps, 1),
            "project_staging_seconds": round(reloj.staging_seconds, 3),
            "project_process_cpu_seconds": round(project_cpu, 3),
            "file_mib": round(file_mib, 1),
            "chunk_kib": TROZO // 1024,
            "warm_up_people": warm.personas,
            "seed": SEED,
        },
    )
