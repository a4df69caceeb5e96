"""A story across services, told with the producers' own event models (their real contracts).

Each helper returns a `Suceso`: the producer's registry, the event, its Kafka key and its
CloudEvent time. Tests apply them directly (`sobre`) or publish them to the real topics.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from accompaniment import events as acomp
from aiokafka import AIOKafkaProducer
from enrollment import events as enr
from juntos_catalogo import catalogo
from juntos_events.envelope import Envelope
from juntos_events.events import DomainEvent, EventRegistry
from juntos_testing.publishing import publish
from offer import events as ofe
from territorial import events as te
from territorial.events import (
    Accion,
    Compromiso,
    Condicion,
    CondicionTerritorialActualizada,
    EspacioParticipacionRealizado,
    LineaBaseTerritorialLevantada,
    PlanAccionMunicipalAprobado,
    RendicionCuentasRealizada,
    SeguimientoAccionRegistrado,
    VeeduriaActualizada,
    VeeduriaRecibida,
)


@dataclass(frozen=True)
class Suceso:
    registro: EventRegistry
    evento: DomainEvent
    clave: str
    t: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def sobre(self) -> Envelope:
        """The envelope a consumer would decode from the published message."""
        return Envelope(
            id=self.id,
            service=self.registro.service,
            event_type=self.evento.event_type,
            schema_version=self.evento.schema_version,
            subject=self.clave,
            time=self.t,
            data=self.evento.model_dump(mode="json"),
        )

    async def publicar(self, producer: AIOKafkaProducer, veces: int = 1) -> None:
        await publish(
            producer,
            self.registro,
            self.evento,
            self.clave,
            at=self.t,
            times=veces,
            event_id=self.id,
        )


def dia(d: date, hora: int = 12) -> datetime:
    """Noon in Colombia (17:00 UTC) of `d`: well inside the day whatever the cut."""
    return datetime(d.year, d.month, d.day, hora + 5, tzinfo=UTC)


def _integrante(fid: str) -> enr.Integrante:
    return enr.Integrante(
        integrante_id=f"{fid}-1", fecha_nacimiento=date(1980, 1, 1), sexo="M", parentesco="JEFE"
    )


def preseleccionada(fid: str, municipio: str, t: datetime, *, desplazada: bool = False) -> Suceso:
    evento = enr.FamiliaPreseleccionada(
        familia_id=fid,
        municipio=municipio,
        registro="RUPD" if desplazada else "SISBEN",
        desplazada=desplazada,
        nivel_sisben=None if desplazada else 1,
        integrantes=(_integrante(fid),),
    )
    return Suceso(enr.events, evento, fid, t)


def marcada_desplazada(fid: str, t: datetime) -> Suceso:
    return Suceso(enr.events, enr.FamiliaMarcadaDesplazada(familia_id=fid, registro="RUPD"), fid, t)


def cogestor_asignado(fid: str, municipio: str, cogestor: str, t: datetime) -> Suceso:
    evento = enr.CogestorAsignado(familia_id=fid, municipio=municipio, cogestor_id=cogestor)
    return Suceso(enr.events, evento, fid, t)


def vinculada(fid: str, municipio: str, cogestor: str, t: datetime) -> Suceso:
    fecha = t.date()
    evento = enr.FamiliaVinculada(
        familia_id=fid,
        municipio=municipio,
        fecha_vinculacion=fecha,
        fecha_limite=fecha + timedelta(days=5 * 365),
        firmante_id=f"{fid}-1",
        lugar_municipio=municipio,
        cogestor_id=cogestor,
    )
    return Suceso(enr.events, evento, fid, t)


def no_vinculada(fid: str, cogestor: str, t: datetime) -> Suceso:
    evento = enr.FamiliaNoVinculada(
        familia_id=fid, fecha=t.date(), motivo="NO_ACEPTA", cogestor_id=cogestor
    )
    return Suceso(enr.events, evento, fid, t)


def retirada(fid: str, t: datetime) -> Suceso:
    evento = enr.FamiliaRetirada(familia_id=fid, motivo="VOLUNTARIO", fecha=t.date())
    return Suceso(enr.events, evento, fid, t)


def promovida(fid: str, t: datetime) -> Suceso:
    return Suceso(enr.events, enr.FamiliaPromovida(familia_id=fid, fecha=t.date()), fid, t)


def egresada(fid: str, t: datetime) -> Suceso:
    evento = enr.FamiliaEgresadaPorTiempo(
        familia_id=fid, fecha=t.date(), fecha_vinculacion=t.date() - timedelta(days=5 * 365)
    )
    return Suceso(enr.events, evento, fid, t)


def integrante_registrado(fid: str, t: datetime) -> Suceso:
    evento = enr.IntegranteRegistrado(
        familia_id=fid, integrante=_integrante(fid + "-b"), motivo="NACIMIENTO"
    )
    return Suceso(enr.events, evento, fid, t)


def cogestor_registrado(
    cogestor: str, municipios: tuple[str, ...], t: datetime, capacidad: int = 50
) -> Suceso:
    evento = enr.CogestorRegistrado(
        cogestor_id=cogestor,
        operador="op",
        microrregion="mr",
        municipios=municipios,
        capacidad=capacidad,
    )
    return Suceso(enr.events, evento, f"cogestor:{cogestor}", t)


def visita(
    fid: str, municipio: str, cogestor: str, t: datetime, tipo: str = "SEGUIMIENTO"
) -> Suceso:
    evento = acomp.VisitaRegistrada(
        familia_id=fid,
        visita_id=str(uuid.uuid4()),
        cogestor_id=cogestor,
        municipio=municipio,
        fecha=t.date(),
        tipo=tipo,
        duracion_minutos=45,
    )
    return Suceso(acomp.events, evento, fid, t)


def linea_base(fid: str, municipio: str, t: datetime) -> Suceso:
    evento = acomp.LineaBaseLevantada(
        familia_id=fid,
        visita_id=str(uuid.uuid4()),
        municipio=municipio,
        fecha=t.date(),
        version_cuestionario=1,
    )
    return Suceso(acomp.events, evento, fid, t)


def evaluados(
    fid: str,
    municipio: str,
    t: datetime,
    pendientes: tuple[str, ...] = (),
    no_aplica: tuple[str, ...] = (),
) -> Suceso:
    evaluaciones = tuple(
        acomp.Evaluacion(
            logro=f"LB{n}",
            estado="POR_ALCANZAR"
            if f"LB{n}" in pendientes
            else "NO_APLICA"
            if f"LB{n}" in no_aplica
            else "ALCANZADO",
        )
        for n in range(1, 46)
    )
    evento = acomp.LogrosEvaluados(
        familia_id=fid,
        municipio=municipio,
        fecha=t.date(),
        desplazada=False,
        evaluaciones=evaluaciones,
    )
    return Suceso(acomp.events, evento, fid, t)


def plan(fid: str, municipio: str, t: datetime, logros: tuple[str, ...] = ("LB1",)) -> Suceso:
    evento = acomp.PlanFamiliarConstruido(
        familia_id=fid,
        municipio=municipio,
        version=1,
        fecha=t.date(),
        prioridades=tuple(
            acomp.Prioridad(logro=lb, orden=i + 1, fecha_meta=t.date(), acciones=1)
            for i, lb in enumerate(logros)
        ),
    )
    return Suceso(acomp.events, evento, fid, t)


def logro_alcanzado(fid: str, municipio: str, logro: str, t: datetime) -> Suceso:
    evento = acomp.LogroAlcanzado(
        familia_id=fid,
        municipio=municipio,
        logro=logro,
        fecha=t.date(),
        evidencia=acomp.Evidencia(tipo="VISITA", referencia="v"),
    )
    return Suceso(acomp.events, evento, fid, t)


def logro_perdido(fid: str, municipio: str, logro: str, t: datetime) -> Suceso:
    evento = acomp.LogroPerdido(familia_id=fid, municipio=municipio, logro=logro, fecha=t.date())
    return Suceso(acomp.events, evento, fid, t)


def sesion(municipio: str, familias: tuple[str, ...], t: datetime) -> Suceso:
    sid = str(uuid.uuid4())
    evento = acomp.SesionComunitariaRealizada(
        sesion_id=sid, municipio=municipio, fecha=t.date(), tema_logro="LB1", familias=familias
    )
    return Suceso(acomp.events, evento, f"sesion:{sid}", t)


def cupos_habilitados(
    programa: str, entidad: str, municipio: str, logros: tuple[str, ...], cupos: int, t: datetime
) -> Suceso:
    evento = ofe.CuposHabilitados(
        programa_id=programa,
        entidad=entidad,
        municipio=municipio,
        periodo=str(t.year),
        logros=logros,
        cupos=cupos,
    )
    return Suceso(ofe.events, evento, f"cupos:{programa}:{municipio}:{t.year}", t)


def _cupo(cls: type, programa: str, entidad: str, municipio: str, fid: str, logros, t, **mas):
    return cls(
        cupo_id=f"{programa}-{fid}",
        programa_id=programa,
        entidad=entidad,
        municipio=municipio,
        periodo=str(t.year),
        familia_id=fid,
        logros=logros,
        fecha=t.date(),
        **mas,
    )


def cupo_asignado(
    programa: str, entidad: str, municipio: str, fid: str, logros: tuple[str, ...], t: datetime
) -> Suceso:
    evento = _cupo(ofe.CupoAsignado, programa, entidad, municipio, fid, logros, t)
    return Suceso(ofe.events, evento, f"cupos:{programa}:{municipio}:{t.year}", t)


def cupo_liberado(
    programa: str, entidad: str, municipio: str, fid: str, logros: tuple[str, ...], t: datetime
) -> Suceso:
    evento = _cupo(ofe.CupoLiberado, programa, entidad, municipio, fid, logros, t, motivo="VENCIDO")
    return Suceso(ofe.events, evento, f"cupos:{programa}:{municipio}:{t.year}", t)


def servicio_prestado(
    programa: str, entidad: str, municipio: str, fid: str, logros: tuple[str, ...], t: datetime
) -> Suceso:
    evento = ofe.ServicioPrestado(
        servicio_id=str(uuid.uuid4()),
        programa_id=programa,
        entidad=entidad,
        municipio=municipio,
        familia_id=fid,
        logros=logros,
        fecha=t.date(),
        valor=100_000,
    )
    return Suceso(ofe.events, evento, f"servicio:{evento.servicio_id}", t)


def _cbt_catalogo() -> dict[str, str]:
    return {c.codigo: c.dimension for c in catalogo().condiciones_basicas_territoriales}


def linea_base_territorial(municipio: str, t: datetime, no_cumple: tuple[str, ...]) -> Suceso:
    condiciones = tuple(
        Condicion(
            cbt=cbt,
            dimension=dim,
            estado="NO_CUMPLE" if cbt in no_cumple else "CUMPLE",
            evidencia="acta",
            fecha=t.date(),
            registrado_por="usuario-1",
        )
        for cbt, dim in _cbt_catalogo().items()
    )
    evento = LineaBaseTerritorialLevantada(
        municipio=municipio, levantamiento=1, fecha=t.date(), condiciones=condiciones
    )
    return Suceso(te.events, evento, f"lbt:{municipio}", t)


def condicion_actualizada(municipio: str, cbt: str, estado: str, t: datetime) -> Suceso:
    condicion = Condicion(
        cbt=cbt,
        dimension=_cbt_catalogo()[cbt],
        estado=estado,
        evidencia="acta",
        fecha=t.date(),
        registrado_por="usuario-1",
    )
    evento = CondicionTerritorialActualizada(
        municipio=municipio, levantamiento=1, condicion=condicion, anterior="NO_CUMPLE"
    )
    return Suceso(te.events, evento, f"lbt:{municipio}", t)


def plan_aprobado(municipio: str, cbts: tuple[str, ...], t: datetime) -> Suceso:
    acciones = tuple(
        Accion(
            accion_id=f"acc-{cbt}",
            cbt=cbt,
            dimension=_cbt_catalogo()[cbt],
            descripcion="acción",
            entidad_responsable_id="alcaldia",
            presupuesto_cop=1_000_000,
            fecha_inicio=t.date(),
            fecha_fin=t.date() + timedelta(days=180),
        )
        for cbt in cbts
    )
    evento = PlanAccionMunicipalAprobado(
        municipio=municipio,
        version_plan=1,
        fecha_sesion_consejo=t.date(),
        acciones=acciones,
        presupuesto_total_cop=len(acciones) * 1_000_000,
    )
    return Suceso(te.events, evento, f"plan:{municipio}", t)


def seguimiento_accion(municipio: str, cbt: str, estado: str, avance: int, t: datetime) -> Suceso:
    evento = SeguimientoAccionRegistrado(
        municipio=municipio,
        version_plan=1,
        accion_id=f"acc-{cbt}",
        cbt=cbt,
        estado=estado,
        avance=avance,
        fecha=t.date(),
    )
    return Suceso(te.events, evento, f"plan:{municipio}", t)


def rendicion(municipio: str, asistentes: int, t: datetime) -> Suceso:
    rid = str(uuid.uuid4())
    evento = RendicionCuentasRealizada(
        rendicion_id=rid,
        municipio=municipio,
        fecha=t.date(),
        nivel="MUNICIPAL",
        asistentes=asistentes,
        compromisos=(
            Compromiso(
                compromiso_id="c1",
                descripcion="brigada",
                responsable_id="alcaldia",
                fecha_limite=t.date() + timedelta(days=90),
            ),
        ),
    )
    return Suceso(te.events, evento, f"rendicion:{rid}", t)


def espacio(municipio: str, participantes: int, t: datetime) -> Suceso:
    eid = str(uuid.uuid4())
    evento = EspacioParticipacionRealizado(
        espacio_id=eid,
        municipio=municipio,
        tipo="ASAMBLEA_COMUNITARIA",
        fecha=t.date(),
        participantes=participantes,
    )
    return Suceso(te.events, evento, f"espacio:{eid}", t)


def veeduria(vid: str, municipio: str, t: datetime, estado: str | None = None) -> Suceso:
    if estado is None:
        evento: DomainEvent = VeeduriaRecibida(
            veeduria_id=vid, municipio=municipio, categoria="ACCESO_A_OFERTA", fecha=t.date()
        )
    else:
        evento = VeeduriaActualizada(
            veeduria_id=vid,
            municipio=municipio,
            categoria="ACCESO_A_OFERTA",
            estado=estado,
            fecha=t.date(),
        )
    return Suceso(te.events, evento, f"veeduria:{vid}", t)


def desconocido(fid: str, t: datetime) -> Suceso:
    """An event type enrollment might publish tomorrow; reporting has never heard of it."""
    registro = EventRegistry("enrollment")

    @registro.register("FamiliaTeletransportada")
    class FamiliaTeletransportada(DomainEvent):
        familia_id: str
        destino: str

    return Suceso(registro, FamiliaTeletransportada(familia_id=fid, destino="Marte"), fid, t)


def invalido(fid: str, t: datetime) -> Suceso:
    """A FamiliaVinculada without the municipality reporting reads (a producer's bug)."""
    registro = EventRegistry("enrollment")

    @registro.register("FamiliaVinculada")
    class FamiliaVinculada(DomainEvent):
        familia_id: str

    return Suceso(registro, FamiliaVinculada(familia_id=fid), fid, t)


# --- the scripted story ---------------------------------------------------------------------

A, B, C = "97001", "97161", "99001"  # Mitú and Carurú (Vaupés), Puerto Carreño (Vichada)
D1, D2, D3, D4 = date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)


def historia(prefijo: str = "") -> list[Suceso]:
    """Five families across services (ids prefixed, so runs never share a family).

    f1 (Mitú, SISBEN): preselected, vinculada, baseline, plan, slot and service for LB1, LB1 and
    LB2 reached, graduated on D4. f2 (Mitú, displaced): vinculada, baseline on D3, LB1, LB3, LB4
    pending. f3 (Mitú): not vinculada. f4 (Carurú): SISBEN, then found displaced, vinculada,
    withdrawn on D3. f5 (Puerto Carreño): preselected only.
    """
    f1, f2, f3, f4, f5 = (f"{prefijo}f{i}" for i in range(1, 6))
    ca, cb, cc = (f"{prefijo}cg-{x}" for x in "abc")
    p1 = f"{prefijo}P1"
    return [
        cogestor_registrado(ca, (A,), dia(D1, 8), capacidad=2),
        cogestor_registrado(cb, (B,), dia(D1, 8)),
        cogestor_registrado(cc, (C,), dia(D1, 8)),
        preseleccionada(f1, A, dia(D1)),
        preseleccionada(f2, A, dia(D1), desplazada=True),
        preseleccionada(f3, A, dia(D1)),
        preseleccionada(f4, B, dia(D1)),
        marcada_desplazada(f4, dia(D1, 13)),
        preseleccionada(f5, C, dia(D1)),
        cogestor_asignado(f1, A, ca, dia(D1, 14)),
        cogestor_asignado(f2, A, ca, dia(D1, 14)),
        cogestor_asignado(f4, B, cb, dia(D1, 14)),
        vinculada(f1, A, ca, dia(D2)),
        vinculada(f2, A, ca, dia(D2)),
        no_vinculada(f3, ca, dia(D2)),
        vinculada(f4, B, cb, dia(D2)),
        cupos_habilitados(p1, "ENT1", A, ("LB1", "LB3"), 10, dia(D2, 9)),
        visita(f1, A, ca, dia(D2, 15), tipo="LINEA_BASE"),
        linea_base(f1, A, dia(D2, 15)),
        evaluados(f1, A, dia(D2, 15), pendientes=("LB1", "LB2"), no_aplica=("LB45",)),
        plan(f1, A, dia(D2, 16)),
        visita(f2, A, ca, dia(D3), tipo="LINEA_BASE"),
        linea_base(f2, A, dia(D3)),
        evaluados(f2, A, dia(D3), pendientes=("LB1", "LB3", "LB4")),
        cupo_asignado(p1, "ENT1", A, f1, ("LB1",), dia(D3)),
        servicio_prestado(p1, "ENT1", A, f1, ("LB1",), dia(D3, 14)),
        visita(f1, A, ca, dia(D3, 15)),
        logro_alcanzado(f1, A, "LB1", dia(D3, 15)),
        sesion(A, (f1, f2), dia(D3, 16)),
        retirada(f4, dia(D3)),
        logro_alcanzado(f1, A, "LB2", dia(D4, 10)),
        promovida(f1, dia(D4)),
        # territorial: Mitú's baseline (3 CBT not met), one fixed on D3; its plan and follow-up
        linea_base_territorial(A, dia(D1), no_cumple=("CBT1", "CBT2", "CBT3")),
        condicion_actualizada(A, "CBT1", "CUMPLE_PARCIALMENTE", dia(D3)),
        plan_aprobado(A, ("CBT1", "CBT2", "CBT3"), dia(D2)),
        seguimiento_accion(A, "CBT1", "CUMPLIDA", 100, dia(D3)),
        seguimiento_accion(A, "CBT2", "EN_CURSO", 40, dia(D4)),
        rendicion(A, 120, dia(D3)),
        espacio(A, 35, dia(D4)),
        veeduria(f"{prefijo}v1", A, dia(D2)),
        veeduria(f"{prefijo}v1", A, dia(D3), estado="RESUELTA"),
        veeduria(f"{prefijo}v2", A, dia(D3)),
    ]
