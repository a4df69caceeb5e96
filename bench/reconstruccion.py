"""`juntos reporting rebuild` from offset 0 vs a raw aiokafka read of the same topics.

The topics are filled (untimed) with the producers' own events, encoded as the relay publishes
them, about 12 per family: preselection, vinculación, cogestor, baseline, the 45-LB board, plan,
two visits, two LB reached, a slot and a delivered service (reporting's test story's event
constructors, `services/reporting/tests/relato.py`, so the bench and the tests speak the same
contracts). Then, in the same run:

- baseline: a group-less aiokafka consumer reads every partition of the same topics from
  offset 0 to their end (records counted, nothing decoded: the floor of any rebuild);
- project: `reconstruccion.reconstruir` of every projection into a fresh reporting database,
  blue/green, with its swap; the run fails unless both sides read every published event and
  the rebuild skipped none.

`--events` is the number of events of the topics (whole families). `bench/indicadores.py`
draws its families from `sucesos` too.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from juntos_catalogo.divipola import divipola
from juntos_events.engine import async_engine
from juntos_events.envelope import encode
from juntos_events.migrate import upgrade
from juntos_events.topics import ensure_topics, event_topic
from reporting.reconstruccion import particiones

from bench.report import Phase, Result
from bench.servers import Servers, empty_topics
from bench.workload import progress

SERVICIOS = ("enrollment", "accompaniment", "offer")
POR_FAMILIA = 12
SEMILLA = 20261203


def _relato() -> ModuleType:
    """Reporting's test story, loaded by path (tests are not an installed package)."""
    ruta = Path(__file__).parents[1] / "services/reporting/tests/relato.py"
    spec = importlib.util.spec_from_file_location("bench_relato", ruta)
    assert spec and spec.loader
    modulo = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = modulo
    spec.loader.exec_module(modulo)
    return modulo


def sucesos(familias: int) -> Iterator[object]:
    """The events of `familias` families, family by family, deterministic for the seed."""
    r = _relato()
    azar = random.Random(SEMILLA)
    municipios = sorted(m.codigo for m in divipola().municipios)
    logros = [f"LB{n}" for n in range(1, 46)]
    for i in range(familias):
        fid = f"f{i:08d}"
        municipio = azar.choice(municipios)
        cogestor = f"c{municipio}-{azar.randrange(4)}"
        dia = date(2008, 1, 1) + timedelta(days=azar.randrange(700))
        pendientes = tuple(azar.sample(logros, azar.randint(5, 15)))
        yield r.preseleccionada(fid, municipio, r.dia(dia), desplazada=azar.random() < 0.18)
        yield r.vinculada(fid, municipio, cogestor, r.dia(dia + timedelta(days=30)))
        yield r.cogestor_asignado(fid, municipio, cogestor, r.dia(dia + timedelta(days=30), 13))
        yield r.linea_base(fid, municipio, r.dia(dia + timedelta(days=60)))
        yield r.evaluados(fid, municipio, r.dia(dia + timedelta(days=60), 13), pendientes)
        yield r.plan(fid, municipio, r.dia(dia + timedelta(days=90)), pendientes[:3])
        for k in (120, 210):
            yield r.visita(fid, municipio, cogestor, r.dia(dia + timedelta(days=k)))
        for k, logro in ((150, pendientes[0]), (240, pendientes[1])):
            yield r.logro_alcanzado(fid, municipio, logro, r.dia(dia + timedelta(days=k)))
        programa = f"p{pendientes[0]}"
        yield r.cupo_asignado(
            programa, "icbf", municipio, fid, (pendientes[0],), r.dia(dia + timedelta(days=100))
        )
        yield r.servicio_prestado(
            programa, "icbf", municipio, fid, (pendientes[0],), r.dia(dia + timedelta(days=140))
        )


async def llenar(servers: Servers, eventos: int) -> int:
    """Publish about `eventos` events (whole families), untimed; how many were published."""
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap, list(SERVICIOS))
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, compression_type=None
    )
    await producer.start()
    familias = max(1, eventos // POR_FAMILIA)
    enviados = 0
    try:
        with progress() as barra:
            tarea = barra.add_task("publish (untimed)", total=familias * POR_FAMILIA)
            pendientes: list[asyncio.Future] = []
            for suceso in sucesos(familias):
                mensaje = encode(
                    suceso.registro,
                    suceso.evento,
                    event_id=suceso.id,
                    stream_id=suceso.clave,
                    occurred_at=suceso.t,
                )
                pendientes.append(
                    await producer.send(
                        suceso.registro.topic,
                        mensaje.value,
                        key=suceso.clave.encode(),
                        headers=list(mensaje.headers.items()),
                    )
                )
                if len(pendientes) >= 20_000:
                    await asyncio.gather(*pendientes)
                    enviados += len(pendientes)
                    barra.update(tarea, completed=enviados)
                    pendientes.clear()
            await asyncio.gather(*pendientes)
            enviados += len(pendientes)
    finally:
        await producer.stop()
    return enviados


async def leer_crudo(bootstrap: str) -> tuple[Phase, int]:
    """The baseline: every record of the topics from offset 0, counted."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_poll_records=5000
    )
    await consumer.start()
    try:
        tps = await particiones(bootstrap, [event_topic(s) for s in SERVICIOS])
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        finales = await consumer.end_offsets(tps)
        total = sum(finales.values())
        leidos = 0
        with progress() as barra, Phase("rebuild-baseline") as fase:
            tarea = barra.add_task("read (raw aiokafka)", total=total)
            while leidos < total:
                lotes = await consumer.getmany(timeout_ms=1000, max_records=5000)
                leidos += sum(len(registros) for registros in lotes.values())
                barra.update(tarea, completed=leidos)
    finally:
        await consumer.stop()
    return fase, leidos


async def reconstruir(servers: Servers) -> tuple[Phase, int, dict[str, float]]:
    """The project: a full rebuild into a fresh reporting database; (phase, events read, seconds
    from the start of each step to the next: start, reading, folding; the last one includes the
    catch-up rounds and the swap)."""
    from reporting.cli import MIGRATIONS
    from reporting.reconstruccion import reconstruir as rebuild

    url, _ = servers.database("bench_rebuild")
    await upgrade(url, MIGRATIONS)
    engine = async_engine(url, pool_size=3)
    try:
        with progress() as barra:
            tarea = barra.add_task("rebuild", total=None)

            fases: dict[str, float] = {}

            def avance(fase: str, hechos: int, total: int) -> None:
                fases.setdefault(fase, time.perf_counter())
                barra.update(tarea, description=f"rebuild: {fase}", completed=hechos, total=total)

            servers.checkpoint()
            with Phase("rebuild-project") as fase:
                inicio = time.perf_counter()
                resultado = await rebuild(engine, servers.kafka.bootstrap, avance=avance)
            hitos = [inicio, *sorted(fases.values()), time.perf_counter()]
            duraciones = {
                nombre: round(b - a, 2)
                for nombre, a, b in zip(
                    ["start", *sorted(fases, key=fases.get)], hitos, hitos[1:], strict=False
                )
            }
    finally:
        await engine.dispose()
    if resultado.saltados:
        raise AssertionError(f"events skipped: {resultado.saltados}")
    return fase, resultado.leidos, duraciones


async def run(servers: Servers, events: int) -> Result:
    await empty_topics(servers.kafka.bootstrap)  # read from offset 0: only this bench's events
    publicados = await llenar(servers, events)
    crudo, leidos_crudo = await leer_crudo(servers.kafka.bootstrap)
    proyecto, leidos, duraciones = await reconstruir(servers)
    if leidos != publicados or leidos_crudo != publicados:
        raise AssertionError(f"published {publicados}, raw read {leidos_crudo}, rebuilt {leidos}")
    return Result(
        bench="rebuild",
        events=publicados,
        project=proyecto,
        baseline=crudo,
        target=0.5,
        project_path="juntos reporting rebuild: every projection from offset 0, bulk + fold + swap",
        baseline_path="raw aiokafka: read the same partitions from offset 0, records counted",
        extra={"project_seconds_by_step": duraciones},
    )
