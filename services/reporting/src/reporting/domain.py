"""The pure core of reporting's projections: facts, their folding, and histories in time.

Every projection keeps, per entity (a family, a family's board, a cogestor, a slot...), the
facts other services told about it, each as a *change* (`cambio`: the attributes it sets) at
the event's CloudEvent time. Folding the changes in time order gives the entity's state after
each fact, and the state gives the entity's rows (`filas`: one per sub-key, e.g. one per LB of a
board). A *history* keeps every row with its validity `[valid_from, valid_to)` in event time, so
any indicator can be read "as of" an instant.

The canonical history of an entity is `tramos(hechos)`: a row starts at the time of the fact
that gave it its values and ends at the time of the first fact that changed them (facts at the
same instant count as one: the last one wins). `avanzar` computes the same result incrementally
for a fact that is not older than the entity's newest fact, so the live projection, a rebuild
from offset 0, and a refold after a late event all end with exactly the same rows.

No I/O here: `handlers` reads and writes the tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

Estado = dict[str, Any]
Valores = tuple[Any, ...]
Filas = Callable[[Mapping[str, Any]], dict[str, Valores]]

COLOMBIA = timezone(timedelta(hours=-5), "COT")
"""Colombia keeps UTC-5 all year (no daylight saving time since 1993)."""

REEMPLAZAR = "_reemplazar"
"""A change with this key set replaces nested dictionaries (a whole board) instead of merging."""

SALIDAS = ("RETIRADA", "PROMOVIDA", "EGRESADA_POR_TIEMPO")


# --- time ---------------------------------------------------------------------------------


def hoy() -> date:
    return datetime.now(COLOMBIA).date()


def corte(fecha: date) -> datetime:
    """The instant an "as of `fecha`" report looks at: the end of that day in Colombia.

    Indicators count the rows valid just before midnight that ends `fecha` (Colombian time): a
    row is in when `valid_from < corte <= valid_to`.
    """
    if fecha >= date.max - timedelta(days=1):
        return datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
    return datetime.combine(fecha + timedelta(days=1), time(), COLOMBIA).astimezone(UTC)


def inicio(fecha: date) -> datetime:
    """The first instant of `fecha` in Colombia (the start of a "since" range)."""
    if fecha <= date.min + timedelta(days=1):
        return datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
    return corte(fecha - timedelta(days=1))


# --- folding ------------------------------------------------------------------------------


def evolucionar(estado: Mapping[str, Any], cambio: Mapping[str, Any]) -> Estado:
    """The state after a change: its keys are set; nested dictionaries merge one level deep
    (a reached LB updates one entry of the board) unless the change says `_reemplazar`."""
    nuevo = dict(estado)
    reemplazar = bool(cambio.get(REEMPLAZAR))
    for clave, valor in cambio.items():
        if clave == REEMPLAZAR:
            continue
        anterior = nuevo.get(clave)
        if isinstance(valor, dict) and isinstance(anterior, dict) and not reemplazar:
            nuevo[clave] = {**anterior, **valor}
        else:
            nuevo[clave] = valor
    return nuevo


@dataclass(frozen=True, slots=True)
class Tramo:
    """One row of a history: `sub`'s values from `desde` until `hasta` (None: still valid)."""

    sub: str
    desde: datetime
    hasta: datetime | None
    valores: Valores


def tramos(hechos: Iterable[tuple[datetime, Mapping[str, Any]]], filas: Filas) -> list[Tramo]:
    """The canonical history of one entity from all its facts, given in (time, arrival) order."""
    return tramos_y_estado(hechos, filas)[0]


def tramos_y_estado(
    hechos: Iterable[tuple[datetime, Mapping[str, Any]]], filas: Filas
) -> tuple[list[Tramo], Estado]:
    """`tramos` and the entity's state after its last fact, from one fold of its facts."""
    (historia,), estado = tramos_de_varias(hechos, (filas,))
    return historia, estado


def tramos_de_varias(
    hechos: Iterable[tuple[datetime, Mapping[str, Any]]], varias: Sequence[Filas]
) -> tuple[list[list[Tramo]], Estado]:
    """The histories that several `filas` read from one entity's states (a history and those
    derived from it), and the final state, from one fold of its facts."""
    estado: Estado = {}
    abiertos: list[dict[str, tuple[datetime, Valores]]] = [{} for _ in varias]
    cerrados: list[list[Tramo]] = [[] for _ in varias]
    pendiente: datetime | None = None

    def cerrar_instante(t: datetime) -> None:
        for filas, abiertas, cerradas in zip(varias, abiertos, cerrados, strict=True):
            nuevas = filas(estado)
            for sub in sorted(abiertas.keys() | nuevas.keys()):
                viejo, nuevo = abiertas.get(sub), nuevas.get(sub)
                if viejo is not None and viejo[1] == nuevo:
                    continue
                if viejo is not None:
                    cerradas.append(Tramo(sub, viejo[0], t, viejo[1]))
                    del abiertas[sub]
                if nuevo is not None:
                    abiertas[sub] = (t, nuevo)

    for t, cambio in hechos:
        if pendiente is not None and t != pendiente:
            cerrar_instante(pendiente)
        estado = evolucionar(estado, cambio)
        pendiente = t
    if pendiente is not None:
        cerrar_instante(pendiente)
    historias = [
        sorted(
            cerradas + [Tramo(sub, desde, None, v) for sub, (desde, v) in abiertas.items()],
            key=lambda r: (r.sub, r.desde),
        )
        for abiertas, cerradas in zip(abiertos, cerrados, strict=True)
    ]
    return historias, estado


@dataclass
class Avance:
    """What to do to an entity's history for one fact at `t` (not older than its newest fact).

    `borrar`: open rows that started at `t` itself (replaced by the fact); `cerrar`: open rows that
    end at `t`; `reabrir`: rows that ended at `t` and get their values back (a change undone
    within the same instant); `insertar`: new open rows from `t`.
    """

    borrar: list[str] = field(default_factory=list)
    cerrar: list[str] = field(default_factory=list)
    reabrir: list[str] = field(default_factory=list)
    insertar: list[tuple[str, Valores]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.borrar or self.cerrar or self.reabrir or self.insertar)


def avanzar(
    vigentes: Mapping[str, tuple[datetime, Valores]],
    terminan_en_t: Mapping[str, Valores],
    nuevas: Mapping[str, Valores],
    t: datetime,
) -> Avance:
    """The incremental form of `tramos` for a fact at `t` >= every open row's start.

    `vigentes`: the open rows (start, values) by sub-key; `terminan_en_t`: values of the rows
    that ended exactly at `t`; `nuevas`: the entity's rows after the fact.
    """
    avance = Avance()
    for sub in sorted(vigentes.keys() | nuevas.keys()):
        actual, nuevo = vigentes.get(sub), nuevas.get(sub)
        if actual is not None and actual[1] == nuevo:
            continue
        anterior_en_t: Valores | None = terminan_en_t.get(sub)
        if actual is not None:
            if actual[0] == t:
                avance.borrar.append(sub)
            else:
                avance.cerrar.append(sub)
                anterior_en_t = actual[1]
        if nuevo is None:
            continue
        if anterior_en_t is not None and anterior_en_t == nuevo:
            avance.reabrir.append(sub)
        else:
            avance.insertar.append((sub, nuevo))
    return avance


FilasEnMemoria = dict[tuple[str, datetime], tuple[datetime | None, Valores]]
"""Some rows of one entity's history, held in memory while a batch is folded:
(sub, valid_from) -> (valid_to or None while open, values)."""

DESDE_ANTES = datetime.min.replace(tzinfo=UTC)
"""The start of an open row known only from the entity's state: some time before the facts
being folded (`abiertas_del_estado`). No real row starts then (it is also how asyncpg reads
`-infinity`, which no row holds: `valid_from` comes from event times), and it never reaches SQL:
such a row is only ever closed, by its open end."""


def abiertas_del_estado(estado: Mapping[str, Any], filas: Filas) -> FilasEnMemoria:
    """An entity's open rows from its stored state, for facts newer than its newest one.

    The open rows of a history are always `filas(estado)` (every fold leaves them so), and a
    fact newer than the state can only close them, never delete or reopen them: their starts,
    which only those two need, are not needed. Closing one is written by its entity, sub-key and
    open end (`Escritura.terminar` with `DESDE_ANTES`).
    """
    return {(sub, DESDE_ANTES): (None, valores) for sub, valores in filas(estado).items()}


def avanzar_en_memoria(filas: FilasEnMemoria, nuevas: Mapping[str, Valores], t: datetime) -> None:
    """`avanzar` applied to rows held in memory, for a fact at `t` >= every open row's start.

    `filas` must hold the entity's open rows and those that ended at `t` (the ones `avanzar`
    reads); it is changed in place exactly as the table's rows would be.
    """
    vigentes = {sub: (desde, v) for (sub, desde), (hasta, v) in filas.items() if hasta is None}
    terminan = {sub: (desde, v) for (sub, desde), (hasta, v) in filas.items() if hasta == t}
    avance = avanzar(vigentes, {sub: v for sub, (_, v) in terminan.items()}, nuevas, t)
    for sub in avance.borrar:
        del filas[(sub, t)]
    for sub in avance.cerrar:
        desde, valores = vigentes[sub]
        filas[(sub, desde)] = (t, valores)
    for sub in avance.reabrir:
        desde, valores = terminan[sub]
        filas[(sub, desde)] = (None, valores)
    for sub, valores in avance.insertar:
        filas[(sub, t)] = (None, valores)


def tardio(ultimo: datetime | None, hechos: Iterable[tuple[datetime, Any]]) -> bool:
    """Whether one of an entity's facts (in arrival order) is older than the newest one before
    it (`ultimo`: the stored state's time): applied one by one, that fact forces a refold."""
    for t, _ in hechos:
        if ultimo is not None and t < ultimo:
            return True
        ultimo = t
    return False


def seguir(
    estado: Mapping[str, Any],
    hechos: Iterable[tuple[datetime, Mapping[str, Any]]],
    varias: Sequence[Filas],
    filas: Sequence[FilasEnMemoria],
) -> Estado:
    """Fold an entity's facts (none older than its newest one, in arrival order) into its state
    and, per history `varias[i]`, its rows `filas[i]` held in memory, as applying the facts one
    at a time would (`avanzar` for each fact that changes a history's rows); the final state."""
    actual = dict(estado)
    for t, cambio in hechos:
        despues = evolucionar(actual, cambio)
        for leer, suyas in zip(varias, filas, strict=True):
            nuevas = leer(despues)
            if nuevas != leer(actual):
                avanzar_en_memoria(suyas, nuevas, t)
        actual = despues
    return actual


@dataclass
class Escritura:
    """What turns some rows of a history into others, as set-based statements: rows to delete,
    rows whose end changes (closed, or reopened: None; those that start at `DESDE_ANTES` are
    closed by their open end), rows to insert."""

    borrar: list[tuple[str, str, datetime]] = field(default_factory=list)
    terminar: list[tuple[str, str, datetime, datetime | None]] = field(default_factory=list)
    insertar: list[tuple[str, str, datetime, datetime | None, Valores]] = field(
        default_factory=list
    )

    def entidad(self, clave: str, antes: FilasEnMemoria, despues: FilasEnMemoria) -> None:
        """Add what turns entity `clave`'s rows `antes` into `despues`."""
        for (sub, desde), (hasta, valores) in antes.items():
            nueva = despues.get((sub, desde))
            if nueva is None or nueva[1] != valores:
                self.borrar.append((clave, sub, desde))
            elif nueva[0] != hasta:
                self.terminar.append((clave, sub, desde, nueva[0]))
        for (sub, desde), (hasta, valores) in despues.items():
            vieja = antes.get((sub, desde))
            if vieja is None or vieja[1] != valores:
                self.insertar.append((clave, sub, desde, hasta, valores))


# --- what reporting reads of each event ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hecho:
    """A fact about entity `clave` of history `entidad`."""

    entidad: str
    clave: str
    cambio: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Punto:
    """A dated fact with its own id (a visit, a delivered service): one row, written once.

    `primero`: the table keeps one row per key, the earliest in event time (a family's first
    baseline), so a late older event replaces a newer one and redelivery changes nothing.
    """

    tabla: str
    fila: Mapping[str, Any]
    primero: bool = False


Operacion = Hecho | Punto


class EventoInvalido(ValueError):
    """A known event type whose data does not have what reporting reads."""


def _texto(data: Mapping[str, Any], clave: str) -> str:
    valor = data.get(clave)
    if not isinstance(valor, str) or not valor:
        raise EventoInvalido(f"{clave!r} must be a non-empty string")
    return valor


def _municipio(data: Mapping[str, Any], clave: str = "municipio") -> str:
    valor = _texto(data, clave)
    if len(valor) != 5 or not valor.isdigit():
        raise EventoInvalido(f"{clave!r} must be a 5-digit DIVIPOLA code, got {valor!r}")
    return valor


def _logro(valor: Any) -> str:
    if not isinstance(valor, str) or not valor.startswith("LB") or not valor[2:].isdigit():
        raise EventoInvalido(f"not an LB code: {valor!r}")
    numero = int(valor[2:])
    if not 1 <= numero <= 45:
        raise EventoInvalido(f"not an LB code: {valor!r}")
    return f"LB{numero}"


def _logros(data: Mapping[str, Any], clave: str = "logros") -> list[str]:
    valores = data.get(clave)
    if not isinstance(valores, list | tuple):
        raise EventoInvalido(f"{clave!r} must be a list of LB codes")
    return sorted({_logro(v) for v in valores}, key=lambda c: int(c[2:]))


def _fecha(data: Mapping[str, Any], clave: str = "fecha") -> date:
    valor = data.get(clave)
    try:
        return date.fromisoformat(str(valor))
    except ValueError:
        raise EventoInvalido(f"{clave!r} must be an ISO date, got {valor!r}") from None


def _entero(data: Mapping[str, Any], clave: str) -> int:
    valor = data.get(clave)
    if not isinstance(valor, int) or isinstance(valor, bool):
        raise EventoInvalido(f"{clave!r} must be an integer")
    return valor


ESTADOS_LOGRO = ("ALCANZADO", "POR_ALCANZAR", "NO_APLICA")
ESTADOS_FAMILIA = ("PRESELECCIONADA", "VINCULADA", "NO_VINCULADA", *SALIDAS)


Lector = Callable[[Mapping[str, Any], datetime], list[Operacion]]


def _familia(data: Mapping[str, Any], cambio: Mapping[str, Any]) -> list[Operacion]:
    return [Hecho("familia_estado", _texto(data, "familia_id"), cambio)]


def _preseleccionada(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    nivel = data.get("nivel_sisben")
    return _familia(
        data,
        {
            "estado": "PRESELECCIONADA",
            "municipio": _municipio(data),
            "registro": _texto(data, "registro"),
            "desplazada": bool(data.get("desplazada")),
            "nivel_sisben": nivel if isinstance(nivel, int) else None,
        },
    )


def _estado(estado: str, **otros: Any) -> Lector:
    def leer(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
        return _familia(data, {"estado": estado, **otros})

    return leer


def _vinculada(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    return _familia(data, {"estado": "VINCULADA", "municipio": _municipio(data), "vinculada": True})


def _cogestor_asignado(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    return _familia(
        data, {"cogestor_id": _texto(data, "cogestor_id"), "municipio": _municipio(data)}
    )


def _reabierta(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    estado = _texto(data, "estado")
    if estado not in ESTADOS_FAMILIA:
        raise EventoInvalido(f"unknown family state {estado!r}")
    return _familia(data, {"estado": estado})


def _marcada_desplazada(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    return _familia(data, {"desplazada": True})


def _cogestor_registrado(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    municipios = data.get("municipios")
    if not isinstance(municipios, list | tuple):
        raise EventoInvalido("'municipios' must be a list")
    return [
        Hecho(
            "cogestor_municipio",
            _texto(data, "cogestor_id"),
            {
                REEMPLAZAR: True,
                "operador": _texto(data, "operador"),
                "microrregion": _texto(data, "microrregion"),
                "capacidad": _entero(data, "capacidad"),
                "municipios": sorted({_municipio({"m": m}, "m") for m in municipios}),
            },
        )
    ]


def _evaluados(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    evaluaciones = data.get("evaluaciones")
    if not isinstance(evaluaciones, list | tuple):
        raise EventoInvalido("'evaluaciones' must be a list")
    tablero: dict[str, str] = {}
    for evaluacion in evaluaciones:
        if not isinstance(evaluacion, Mapping):
            raise EventoInvalido("each evaluation must be an object")
        estado = evaluacion.get("estado")
        if estado not in ESTADOS_LOGRO:
            raise EventoInvalido(f"unknown LB status {estado!r}")
        tablero[_logro(evaluacion.get("logro"))] = estado
    return [
        Hecho(
            "familia_logro",
            _texto(data, "familia_id"),
            {REEMPLAZAR: True, "municipio": _municipio(data), "logros": tablero},
        )
    ]


def _logro_cambia(estado: str) -> Lector:
    def leer(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
        return [
            Hecho(
                "familia_logro",
                _texto(data, "familia_id"),
                {"municipio": _municipio(data), "logros": {_logro(data.get("logro")): estado}},
            )
        ]

    return leer


def _primera(tabla: str) -> Lector:
    def leer(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
        fila = {"familia_id": _texto(data, "familia_id"), "municipio": _municipio(data), "t": t}
        return [Punto(tabla, fila, primero=True)]

    return leer


def _visita(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    fila = {
        "visita_id": _texto(data, "visita_id"),
        "familia_id": _texto(data, "familia_id"),
        "cogestor_id": _texto(data, "cogestor_id"),
        "municipio": _municipio(data),
        "fecha": _fecha(data),
        "tipo": _texto(data, "tipo"),
        "t": t,
    }
    return [Punto("visita", fila)]


def _sesion(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    familias = data.get("familias")
    if not isinstance(familias, list | tuple):
        raise EventoInvalido("'familias' must be a list")
    tema = data.get("tema_logro")
    fila = {
        "sesion_id": _texto(data, "sesion_id"),
        "municipio": _municipio(data),
        "fecha": _fecha(data),
        "tema_logro": _logro(tema) if tema is not None else None,
        "familias": len(set(familias)),
        "para_desplazados": bool(data.get("para_desplazados")),
        "t": t,
    }
    return [Punto("sesion", fila)]


def _cupo(estado: str) -> Lector:
    def leer(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
        cambio = {
            REEMPLAZAR: True,
            "estado": estado,
            "programa_id": _texto(data, "programa_id"),
            "entidad": _texto(data, "entidad"),
            "municipio": _municipio(data),
            "periodo": _texto(data, "periodo"),
            "logros": _logros(data),
        }
        return [Hecho("cupo_logro", _texto(data, "cupo_id"), cambio)]

    return leer


def _habilitados(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    programa, municipio, periodo = (
        _texto(data, "programa_id"),
        _municipio(data),
        _texto(data, "periodo"),
    )
    cupos = _entero(data, "cupos")
    if cupos < 0:
        raise EventoInvalido("'cupos' must not be negative")
    cambio = {
        REEMPLAZAR: True,
        "programa_id": programa,
        "entidad": _texto(data, "entidad"),
        "municipio": municipio,
        "periodo": periodo,
        "logros": _logros(data),
        "cupos": cupos,
    }
    return [Hecho("cupos_habilitados", f"{programa}|{municipio}|{periodo}", cambio)]


def _servicio(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    fila = {
        "servicio_id": _texto(data, "servicio_id"),
        "programa_id": _texto(data, "programa_id"),
        "entidad": _texto(data, "entidad"),
        "municipio": _municipio(data),
        "logros": _logros(data),
        "fecha": _fecha(data),
        "valor": _entero(data, "valor"),
        "t": t,
    }
    return [Punto("servicio", fila)]


ESTADOS_CBT = ("CUMPLE", "CUMPLE_PARCIALMENTE", "NO_CUMPLE")
ESTADOS_ACCION = ("PENDIENTE", "EN_CURSO", "CUMPLIDA", "CANCELADA")
ESTADOS_VEEDURIA = ("RECIBIDA", "EN_TRAMITE", "RESUELTA")


def _cbt(valor: Any) -> str:
    if not isinstance(valor, str) or not valor.startswith("CBT") or not valor[3:].isdigit():
        raise EventoInvalido(f"not a CBT code: {valor!r}")
    numero = int(valor[3:])
    if not 1 <= numero <= 22:
        raise EventoInvalido(f"not a CBT code: {valor!r}")
    return f"CBT{numero}"


def _condicion(condicion: Any) -> tuple[str, list[str]]:
    if not isinstance(condicion, Mapping):
        raise EventoInvalido("a condition must be an object")
    estado = condicion.get("estado")
    if estado not in ESTADOS_CBT:
        raise EventoInvalido(f"unknown CBT status {estado!r}")
    return _cbt(condicion.get("cbt")), [estado, _texto(condicion, "dimension")]


def _linea_base_territorial(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    condiciones = data.get("condiciones")
    if not isinstance(condiciones, list | tuple):
        raise EventoInvalido("'condiciones' must be a list")
    cambio = {REEMPLAZAR: True, "condiciones": dict(_condicion(c) for c in condiciones)}
    return [Hecho("municipio_cbt", _municipio(data), cambio)]


def _condicion_actualizada(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    cbt, valores = _condicion(data.get("condicion"))
    return [Hecho("municipio_cbt", _municipio(data), {"condiciones": {cbt: valores}})]


def _accion(accion: Any) -> tuple[str, list[Any]]:
    if not isinstance(accion, Mapping):
        raise EventoInvalido("an action must be an object")
    estado = accion.get("estado", "PENDIENTE")
    if estado not in ESTADOS_ACCION:
        raise EventoInvalido(f"unknown action status {estado!r}")
    avance = accion.get("avance", 0)
    if not isinstance(avance, int) or not 0 <= avance <= 100:
        raise EventoInvalido("'avance' must be a percentage")
    return _texto(accion, "accion_id"), [_cbt(accion.get("cbt")), estado, avance]


def _plan_aprobado(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    acciones = data.get("acciones")
    if not isinstance(acciones, list | tuple):
        raise EventoInvalido("'acciones' must be a list")
    cambio = {
        REEMPLAZAR: True,
        "version_plan": _entero(data, "version_plan"),
        "acciones": dict(_accion(a) for a in acciones),
    }
    return [Hecho("accion_plan", _municipio(data), cambio)]


def _seguimiento_accion(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    accion_id, valores = _accion(data)
    return [Hecho("accion_plan", _municipio(data), {"acciones": {accion_id: valores}})]


def _rendicion(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    compromisos = data.get("compromisos", ())
    fila = {
        "rendicion_id": _texto(data, "rendicion_id"),
        "municipio": _municipio(data),
        "fecha": _fecha(data),
        "nivel": _texto(data, "nivel"),
        "asistentes": _entero(data, "asistentes"),
        "compromisos": len(compromisos) if isinstance(compromisos, list | tuple) else 0,
        "t": t,
    }
    return [Punto("rendicion", fila)]


def _espacio(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
    fila = {
        "espacio_id": _texto(data, "espacio_id"),
        "municipio": _municipio(data),
        "fecha": _fecha(data),
        "tipo": _texto(data, "tipo"),
        "participantes": _entero(data, "participantes"),
        "t": t,
    }
    return [Punto("espacio", fila)]


def _veeduria(estado_fijo: str | None) -> Lector:
    def leer(data: Mapping[str, Any], t: datetime) -> list[Operacion]:
        estado = estado_fijo or data.get("estado")
        if estado not in ESTADOS_VEEDURIA:
            raise EventoInvalido(f"unknown veeduría status {estado!r}")
        cambio = {
            "estado": estado,
            "categoria": _texto(data, "categoria"),
            "municipio": _municipio(data),
        }
        return [Hecho("veeduria", _texto(data, "veeduria_id"), cambio)]

    return leer


@dataclass(frozen=True, slots=True)
class Lectura:
    proyeccion: str
    leer: Lector


LECTURAS: dict[tuple[str, str], Lectura] = {
    # enrollment: the family's status, registries and cogestor; the cogestores themselves
    ("enrollment", "FamiliaPreseleccionada"): Lectura("familias", _preseleccionada),
    ("enrollment", "FamiliaMarcadaDesplazada"): Lectura("familias", _marcada_desplazada),
    ("enrollment", "FamiliaVinculada"): Lectura("familias", _vinculada),
    ("enrollment", "FamiliaNoVinculada"): Lectura("familias", _estado("NO_VINCULADA")),
    ("enrollment", "CogestorAsignado"): Lectura("familias", _cogestor_asignado),
    ("enrollment", "FamiliaRetirada"): Lectura("familias", _estado("RETIRADA", cogestor_id=None)),
    ("enrollment", "FamiliaPromovida"): Lectura("familias", _estado("PROMOVIDA", cogestor_id=None)),
    ("enrollment", "FamiliaEgresadaPorTiempo"): Lectura(
        "familias", _estado("EGRESADA_POR_TIEMPO", cogestor_id=None)
    ),
    ("enrollment", "FamiliaReabierta"): Lectura("familias", _reabierta),
    ("enrollment", "CogestorRegistrado"): Lectura("operacion", _cogestor_registrado),
    # accompaniment: boards, baselines, plans, visits, community sessions
    ("accompaniment", "LogrosEvaluados"): Lectura("logros", _evaluados),
    ("accompaniment", "LogroAlcanzado"): Lectura("logros", _logro_cambia("ALCANZADO")),
    ("accompaniment", "LogroPerdido"): Lectura("logros", _logro_cambia("POR_ALCANZAR")),
    ("accompaniment", "LineaBaseLevantada"): Lectura("logros", _primera("linea_base")),
    ("accompaniment", "PlanFamiliarConstruido"): Lectura("logros", _primera("plan")),
    ("accompaniment", "VisitaRegistrada"): Lectura("operacion", _visita),
    ("accompaniment", "SesionComunitariaRealizada"): Lectura("operacion", _sesion),
    # offer: slots enabled and assigned, services delivered
    ("offer", "CuposHabilitados"): Lectura("oferta", _habilitados),
    ("offer", "CupoAsignado"): Lectura("oferta", _cupo("ASIGNADO")),
    ("offer", "CupoRechazado"): Lectura("oferta", _cupo("RECHAZADO")),
    ("offer", "CupoLiberado"): Lectura("oferta", _cupo("LIBERADO")),
    ("offer", "ServicioPrestado"): Lectura("oferta", _servicio),
    # territorial (by name: its package is not a dependency): CBT, action plans, social control
    ("territorial", "LineaBaseTerritorialLevantada"): Lectura(
        "territorial", _linea_base_territorial
    ),
    ("territorial", "CondicionTerritorialActualizada"): Lectura(
        "territorial", _condicion_actualizada
    ),
    ("territorial", "PlanAccionMunicipalAprobado"): Lectura("territorial", _plan_aprobado),
    ("territorial", "SeguimientoAccionRegistrado"): Lectura("territorial", _seguimiento_accion),
    ("territorial", "RendicionCuentasRealizada"): Lectura("territorial", _rendicion),
    ("territorial", "EspacioParticipacionRealizado"): Lectura("territorial", _espacio),
    ("territorial", "VeeduriaRecibida"): Lectura("territorial", _veeduria("RECIBIDA")),
    ("territorial", "VeeduriaActualizada"): Lectura("territorial", _veeduria(None)),
}
"""Which projection each event type feeds, and how its data becomes facts."""

CONOCIDOS_SIN_USO: frozenset[tuple[str, str]] = frozenset(
    {
        # members' attributes and personal-data bookkeeping: reporting counts families only
        ("enrollment", "IntegranteRegistrado"),
        ("enrollment", "IntegranteActualizado"),
        ("enrollment", "IntegranteRetirado"),
        ("enrollment", "DatosPersonalesEliminados"),
        # the cogestor's side of an assignment; the family's CogestorAsignado is the one read
        ("enrollment", "FamiliaAsignadaACogestor"),
        ("enrollment", "FamiliaLiberadaDeCogestor"),
        # the case follows enrollment's states; reaches come as LogroAlcanzado
        ("accompaniment", "CasoAbierto"),
        ("accompaniment", "CasoCerrado"),
        ("accompaniment", "RespuestasActualizadas"),
        ("accompaniment", "TodosLosLogrosAlcanzados"),
        ("accompaniment", "ServicioRegistrado"),
        # programs' descriptions and quality; demand is computed from the boards
        ("offer", "ProgramaRegistrado"),
        ("offer", "ProgramaActualizado"),
        ("offer", "CalidadReportada"),
        ("offer", "DemandaInsatisfecha"),
        # the territorial catalogue and network; compromises' follow-up
        ("territorial", "DepartamentoCatalogado"),
        ("territorial", "MunicipioCatalogado"),
        ("territorial", "MicrorregionDefinida"),
        ("territorial", "ConvenioImplementacionFirmado"),
        ("territorial", "RedLocalDesignada"),
        ("territorial", "SesionConsejoMunicipalRegistrada"),
        ("territorial", "SesionConsejoDepartamentalRegistrada"),
        ("territorial", "SeguimientoCompromisoRegistrado"),
    }
)
"""Event types reporting knows and deliberately does not project (no "unknown type" log)."""


def operaciones(servicio: str, tipo: str, data: Mapping[str, Any], t: datetime) -> dict[str, list]:
    """The facts an event means, by projection; {} for a known type reporting does not use.

    Raises KeyError for an event type reporting does not know, EventoInvalido for bad data.
    """
    lectura = LECTURAS.get((servicio, tipo))
    if lectura is None:
        if (servicio, tipo) in CONOCIDOS_SIN_USO:
            return {}
        raise KeyError((servicio, tipo))
    return {lectura.proyeccion: lectura.leer(data, t)}


def servicios_leidos() -> set[str]:
    return {s for s, _ in LECTURAS} | {s for s, _ in CONOCIDOS_SIN_USO}
