"""The 45 Logros Básicos as rules over a family's baseline; pure, no I/O.

`evaluar` reads the baseline (`accompaniment.linea_base`), the members as enrollment published
them (`Miembro`), the date, whether the family is displaced, whether it has a current Plan
Familiar, and the services entities delivered; it returns every LB of the catalog, in the
catalog's order, as ALCANZADO, POR_ALCANZAR or NO_APLICA with the members it concerns and a
readable explanation naming the member and the answer that decided it.

The rules are a table (`REGLAS`), one row per LB, of two kinds:

- per member (`ReglaIntegrantes`): who it applies to by age, sex, pregnancy or disability
  (`aplica`), then the member's answers decide; the LB is reached when every member it applies
  to meets it (`alguno=True`: when at least one does, LB5);
- household (`ReglaHogar`): the household's answers decide, some only when a member makes the
  LB apply (a child under 6, a member with a disability...).

Each row lists the questions it reads (`preguntas`); most questions are read the same way
everywhere (`_CHEQUEOS`: what meets the LB, how to say yes and no).

Conventions (the README lists every LB's choices):

- ages are completed years at `hoy` (months for the rules that count months), with enrollment's
  convention: a birthday on a day the month lacks (29 February) is reached the next day;
- "mayores de N" is N or more (as LB1's "mayores de 18 años tienen cédula"), "menores de N" is
  under N, "entre A y B" includes both;
- a question the rule needs and nobody answered makes the member (or household) POR_ALCANZAR,
  never ALCANZADO; a member without any answers (born or arrived after the baseline) is read
  as if nothing had been answered, so is POR_ALCANZAR ("sin respuestas aún") in every LB that
  applies to them and asks them something (a baby is asked nothing for LB12: met);
- where the LB is conditioned on a need or wish the family reports (LB6 "que lo requieran",
  LB11 "quienes lo deseen", LB22 "madres en lactancia", LB44 "con necesidades jurídicas"), an
  unanswered question means nothing was reported and the member is not counted;
- `servicios[LB]` holding a member id (or "familia", for every member and for household LB)
  meets the LB for them whatever the answers say: a delivered service is newer evidence.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from juntos_catalogo import catalogo

from accompaniment.linea_base import (
    AfiliacionSalud,
    AguaPotable,
    Ahorro,
    ApoyoLaboral,
    AsistenciaEducativa,
    AyudasTecnicas,
    DatosSisben,
    Desague,
    DisposicionBasuras,
    Documento,
    Espacio,
    EstadoDerechoGED,
    FuenteEnergia,
    FuenteIngreso,
    LineaBase,
    MaterialParedes,
    MaterialTecho,
    NecesidadesJuridicas,
    Ocupacion,
    RespuestasHogar,
    RespuestasIntegrante,
    ServiciosFinancieros,
    Tamizaje,
    TenenciaVivienda,
)
from accompaniment.vocabulario import EstadoLogro

FAMILIA = "familia"
"""The member id `servicios` uses for a service delivered to the whole family."""


@dataclass(frozen=True)
class Miembro:
    """A member as enrollment publishes them (`Integrante`: the attributes the rules need)."""

    integrante_id: str
    fecha_nacimiento: date
    sexo: str  # "H" / "M"
    parentesco: str
    discapacidad: bool = False
    gestante: bool = False


@dataclass(frozen=True)
class Resultado:
    logro: str
    estado: EstadoLogro
    integrantes: tuple[str, ...]
    """Pending members if POR_ALCANZAR, the members it applies to if ALCANZADO, () for
    household LB and for NO_APLICA."""
    explicar: Callable[[], str] = field(repr=False, compare=False)
    """The explanation, written when asked: deciding (every visit) needs only the states, and
    the text of 45 LB was most of what the rules cost beyond them."""

    @property
    def explicacion(self) -> str:
        return self.explicar()


# --- ages --------------------------------------------------------------------------------------


def edad_en_anios(nacimiento: date, hoy: date) -> int:
    """Completed years (the same arithmetic as enrollment's `edad`)."""
    return hoy.year - nacimiento.year - ((hoy.month, hoy.day) < (nacimiento.month, nacimiento.day))


def edad_en_meses(nacimiento: date, hoy: date) -> int:
    """Completed months: a month is complete on the day-of-month of the birth (or the next day
    when the month lacks that day)."""
    return (
        (hoy.year - nacimiento.year) * 12
        + hoy.month
        - nacimiento.month
        - (hoy.day < nacimiento.day)
    )


# --- findings and explanations -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Hallazgo:
    """One reason: what the answer at `ruta` says, and whether it meets the LB."""

    cumple: bool
    texto: str
    ruta: str = ""
    valor: object = None
    op: str = "="

    def __str__(self) -> str:
        return (
            f"{self.texto} ({self.ruta} {self.op} {_mostrar(self.valor)})"
            if self.ruta
            else self.texto
        )


def _mostrar(valor: object) -> str:
    if valor is None:
        return "sin respuesta"
    if isinstance(valor, bool):
        return "SÍ" if valor else "NO"
    if isinstance(valor, StrEnum):
        return valor.value
    if isinstance(valor, frozenset):
        return "{" + ", ".join(sorted(str(v) for v in valor)) + "}" if valor else "ninguno"
    return str(valor)


_SIN_NADA = RespuestasIntegrante()
_SIN_RESPUESTAS = _Hallazgo(
    False, "sin respuestas aún para este integrante (no está en la línea base)"
)


@dataclass(frozen=True, slots=True)
class _Persona:
    """A member with their ages at `hoy` and their answers."""

    id: str
    miembro: Miembro
    anios: int
    meses: int
    r: RespuestasIntegrante  # empty when the member is not in the baseline
    ausente: bool  # not in the baseline: no answers at all
    quien: str  # "integrante <id> (hombre, 24 años)", for explanations

    @property
    def hombre(self) -> bool:
        return self.miembro.sexo == "H"

    @property
    def mujer(self) -> bool:
        return self.miembro.sexo == "M"


def _describir(m: Miembro, anios: int, meses: int) -> str:
    edad = f"{meses} {'mes' if meses == 1 else 'meses'}" if anios < 2 else f"{anios} años"
    marcas = (", gestante" if m.gestante else "") + (", con discapacidad" if m.discapacidad else "")
    sexo = "hombre" if m.sexo == "H" else "mujer"
    return f"integrante {m.integrante_id} ({sexo}, {edad}{marcas})"


@dataclass(frozen=True, slots=True)
class _Contexto:
    hogar: RespuestasHogar
    personas: tuple[_Persona, ...]
    desplazada: bool
    plan_familiar: bool


Predicado = Callable[[object], bool]


def _es(*buenos: object) -> Predicado:
    return frozenset(buenos).__contains__


def _no_es(*malos: object) -> Predicado:
    conjunto = frozenset(malos)
    return lambda v: v not in conjunto


def _al_menos(n: int) -> Predicado:
    return lambda v: isinstance(v, int) and v >= n


_SI = _es(True)
_NO = _es(False)
_NO_VACIO: Predicado = bool

# The usual reading of each question: what meets the LB, and how to say yes and no. Rules whose
# reading depends on the member (documents by age, vaccines by age, schooling) build their own.
_CHEQUEOS: dict[str, tuple[Predicado, str, str]] = {
    # members
    "libreta_militar": (_SI, "tiene libreta militar", "sin libreta militar"),
    "datos_sisben": (
        _es(DatosSisben.COINCIDEN),
        "datos del SISBEN iguales al documento",
        "datos del SISBEN distintos del documento o sin registrar",
    ),
    "fuentes_ingreso": (_NO_VACIO, "tiene algún medio de ingreso", "sin ningún medio de ingreso"),
    "sabe_leer_escribir": (_SI, "sabe leer y escribir", "no sabe leer y escribir"),
    "trabajo_infantil": (_NO, "no trabaja", "vinculado a actividades laborales"),
    "afiliacion_salud": (
        _no_es(AfiliacionSalud.NO_AFILIADO),
        "afiliado al SGSSS",
        "no afiliado al SGSSS",
    ),
    "conoce_planificacion_familiar": (
        _SI,
        "conoce métodos de planificación familiar",
        "no conoce métodos de planificación familiar",
    ),
    "controles_prenatales": (
        _SI,
        "asiste a controles prenatales",
        "no asiste a controles prenatales",
    ),
    "crecimiento_desarrollo": (
        _SI,
        "asiste a crecimiento y desarrollo",
        "no asiste a crecimiento y desarrollo",
    ),
    "rehabilitacion": (_SI, "accede a rehabilitación", "sin acceso a rehabilitación"),
    "ayudas_tecnicas": (
        _es(AyudasTecnicas.NO_REQUIERE, AyudasTecnicas.TIENE),
        "con las ayudas técnicas que necesita",
        "sin las ayudas técnicas que necesita",
    ),
    "suplementos_nutricionales": (
        _SI,
        "consume suplementos",
        "no consume los suplementos que requiere",
    ),
    "lactancia_materna_exclusiva": (
        _SI,
        "lactancia materna exclusiva",
        "sin lactancia materna exclusiva",
    ),
    # household
    "accede_promocion_salud": (
        _SI,
        "accede a promoción de la salud",
        "no accede a promoción de la salud",
    ),
    "acceso_alimentos": (_SI, "accede a alimentos", "sin acceso suficiente a alimentos"),
    "habitos_alimentarios": (
        _SI,
        "hábitos saludables con los alimentos",
        "sin hábitos saludables con los alimentos",
    ),
    "alimentacion_menores_5": (
        _SI,
        "menores de 5 años bien alimentados",
        "menores de 5 años sin alimentación adecuada",
    ),
    "agua_potable": (
        _es(AguaPotable.ACUEDUCTO, AguaPotable.FUENTE_TRATADA),
        "agua potable",
        "agua no potable",
    ),
    "desagues": (_no_es(Desague.SIN_SISTEMA), "con sistema de desagüe", "sin sistema de desagüe"),
    "basuras": (
        _es(
            DisposicionBasuras.RECOLECCION,
            DisposicionBasuras.ENTIERRA,
            DisposicionBasuras.TRANSFORMA,
        ),
        "dispone o transforma las basuras",
        "no dispone ni transforma las basuras",
    ),
    "energia": (
        _no_es(FuenteEnergia.NINGUNA),
        "con energía",
        "sin energía convencional ni alternativa",
    ),
    "espacios": (
        frozenset(Espacio).issubset,
        "con baño, cocina, lavadero y dormitorios diferenciados",
        "sin todos los espacios diferenciados (baño, cocina, lavadero, dormitorios)",
    ),
    "ninos_duermen_separados": (
        _SI,
        "los niños duermen separados de los adultos",
        "los niños duermen con adultos",
    ),
    "pisos_de_tierra": (_NO, "sin pisos de tierra", "con pisos de tierra"),
    "implementos_dormir": (
        _SI,
        "implementos para dormir",
        "sin implementos para dormir para todos",
    ),
    "implementos_alimentarse": (
        _SI,
        "implementos para alimentarse",
        "sin implementos para alimentarse para todos",
    ),
    "comunicaciones": (_NO_VACIO, "con acceso a comunicaciones", "sin acceso a comunicaciones"),
    "paredes": (
        _no_es(MaterialParedes.DESECHOS, MaterialParedes.SIN_PAREDES),
        "paredes adecuadas",
        "paredes inadecuadas",
    ),
    "techo": (_no_es(MaterialTecho.DESECHOS), "techo adecuado", "techo inadecuado"),
    "riesgo_estructural": (_NO, "sin riesgo estructural", "con riesgo estructural"),
    "iluminacion_natural": (_SI, "con iluminación natural", "sin iluminación natural"),
    "ventilacion_natural": (_SI, "con ventilación natural", "sin ventilación natural"),
    "privacidad": (_SI, "con privacidad", "sin privacidad"),
    "conoce_servicios_violencia": (
        _SI,
        "conoce los servicios ante la violencia intrafamiliar y sexual",
        "no conoce los servicios ante la violencia intrafamiliar y sexual",
    ),
    "conoce_programas_locales": (
        _SI,
        "conoce los programas locales",
        "no todos conocen los programas locales",
    ),
    "participa_programas_locales": (_SI, "participa en alguno", "no participa en ninguno"),
    "pautas_crianza_humanizada": (
        _SI,
        "aplica pautas de crianza humanizada",
        "no aplica pautas de crianza humanizada",
    ),
    "dialogo_y_normas": (
        _SI,
        "diálogo y normas de convivencia",
        "sin diálogo ni normas de convivencia",
    ),
    "cuidado_conjunto_discapacidad": (
        _SI,
        "la familia comparte el cuidado",
        "la familia no comparte el cuidado",
    ),
    "ahorro": (
        _es(Ahorro.MECANISMO_FINANCIERO),
        "ahorra en un mecanismo financiero",
        "no ahorra en un mecanismo financiero",
    ),
    "cuota_de_ahorro": (_SI, "con cuota de ahorro", "sin cuota de ahorro"),
    "conoce_servicios_financieros": (
        _SI,
        "conoce los servicios financieros",
        "no conoce los servicios financieros",
    ),
    "servicios_financieros": (
        _no_es(ServiciosFinancieros.SIN_ACCESO),
        "accede cuando los necesita",
        "los necesita y no accede",
    ),
    "credito_usura": (_NO, "sin crédito de usura", "con crédito de usura"),
    "conoce_necesidades_juridicas": (
        _SI,
        "conoce sus necesidades jurídicas",
        "no conoce sus necesidades jurídicas",
    ),
    "conoce_ruta_justicia": (_SI, "conoce la ruta de justicia", "no conoce la ruta de justicia"),
    "conoce_derechos_deberes": (
        _SI,
        "conoce sus derechos y deberes",
        "no conoce sus derechos y deberes",
    ),
    "necesidades_juridicas": (
        _es(NecesidadesJuridicas.ATENDIDAS),
        "necesidades jurídicas atendidas",
        "necesidades jurídicas sin atender",
    ),
}


def _respuesta(
    objeto: object, base: str, campo: str, cumple: Predicado, si: str, no: str
) -> _Hallazgo:
    valor = getattr(objeto, campo)
    ruta = f"{base}.{campo}"
    if valor is None:
        return _Hallazgo(False, "pregunta sin responder", ruta, None)
    ok = bool(cumple(valor))
    return _Hallazgo(ok, si if ok else no, ruta, valor)


def _i(
    p: _Persona, campo: str, cumple: Predicado | None = None, si: str = "", no: str = ""
) -> _Hallazgo:
    """A member's answer, read as `_CHEQUEOS` says unless `cumple`, `si`, `no` are given."""
    if cumple is None:
        cumple, si, no = _CHEQUEOS[campo]
    return _respuesta(p.r, f"integrantes.{p.id}", campo, cumple, si, no)


def _h(c: _Contexto, campo: str) -> _Hallazgo:
    """A household answer, read as `_CHEQUEOS` says."""
    return _respuesta(c.hogar, "hogar", campo, *_CHEQUEOS[campo])


# --- the rules' shapes -------------------------------------------------------------------------

EvaluaIntegrante = Callable[[_Persona, RespuestasIntegrante, _Contexto], "list[_Hallazgo] | None"]
EvaluaHogar = Callable[[_Contexto], "list[_Hallazgo] | str"]


@dataclass(frozen=True, slots=True)
class ReglaIntegrantes:
    """An LB over members: `aplica` by attributes; `evalua` reads the member's answers and
    returns the findings, or None when an answer excludes the member (no reported need or
    wish, a completed cycle); `alguno`: one member meeting it is enough. A member without
    answers is read as if nothing had been answered, and explained as such."""

    codigo: str
    quienes: str
    preguntas: tuple[str, ...]
    aplica: Callable[[_Persona], bool]
    evalua: EvaluaIntegrante
    alguno: bool = False

    def evaluar(self, c: _Contexto, servicios: frozenset[str]) -> Resultado:
        contados: list[tuple[_Persona, list[_Hallazgo], bool]] = []
        for p in c.personas:
            if not self.aplica(p):
                continue
            hallazgos = self.evalua(p, p.r, c)
            if hallazgos is None:
                continue
            if p.ausente and not all(h.cumple for h in hallazgos):
                hallazgos = [_SIN_RESPUESTAS]
            if p.id in servicios or FAMILIA in servicios:
                quien = p.id if p.id in servicios else FAMILIA
                hallazgos = [_servicio(self.codigo, quien)]
            contados.append((p, hallazgos, all(h.cumple for h in hallazgos)))
        if not contados:
            return Resultado(
                self.codigo,
                EstadoLogro.NO_APLICA,
                (),
                lambda: (
                    f"{self.codigo} NO_APLICA: aplica a {self.quienes}; ningún integrante lo es"
                ),
            )
        cumplen = [fila for fila in contados if fila[2]]
        pendientes = [fila for fila in contados if not fila[2]]
        if cumplen if self.alguno else not pendientes:
            estado, integrantes, filas = EstadoLogro.ALCANZADO, contados, cumplen
        else:
            estado, integrantes, filas = EstadoLogro.POR_ALCANZAR, pendientes, pendientes

        def explicar() -> str:
            partes = (
                f"{p.quien}: " + ", ".join(str(h) for h in hs if ok or not h.cumple)
                for p, hs, ok in filas
            )
            return f"{self.codigo} {estado}: " + "; ".join(partes)

        return Resultado(self.codigo, estado, tuple(p.id for p, _, _ in integrantes), explicar)


@dataclass(frozen=True, slots=True)
class ReglaHogar:
    """A household LB: `evalua` returns the findings, or why the LB does not apply."""

    codigo: str
    quienes: str
    preguntas: tuple[str, ...]
    evalua: EvaluaHogar

    def evaluar(self, c: _Contexto, servicios: frozenset[str]) -> Resultado:
        hallazgos = self.evalua(c)
        if isinstance(hallazgos, str):
            por_que = hallazgos
            return Resultado(
                self.codigo,
                EstadoLogro.NO_APLICA,
                (),
                lambda: f"{self.codigo} NO_APLICA: {por_que}",
            )
        if FAMILIA in servicios:
            hallazgos = [_servicio(self.codigo, FAMILIA)]
        ok = all(h.cumple for h in hallazgos)
        estado = EstadoLogro.ALCANZADO if ok else EstadoLogro.POR_ALCANZAR
        leidos = hallazgos

        def explicar() -> str:
            razones = ", ".join(str(h) for h in leidos if ok or not h.cumple)
            return f"{self.codigo} {estado}: hogar: {razones}"

        return Resultado(self.codigo, estado, (), explicar)


Regla = ReglaIntegrantes | ReglaHogar


def _servicio(codigo: str, quien: str) -> _Hallazgo:
    return _Hallazgo(True, "servicio prestado", f"servicios.{codigo}", quien, "∋")


def _por_integrante(
    codigo: str, quienes: str, aplica: Callable[[_Persona], bool], *campos: str
) -> ReglaIntegrantes:
    """A member LB met when each of the member's answers to `campos` meets its usual reading."""

    def evalua(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo]:
        return [_i(p, campo) for campo in campos]

    return ReglaIntegrantes(codigo, quienes, campos, aplica, evalua)


def _del_hogar(codigo: str, *campos: str) -> ReglaHogar:
    """A household LB of every family, met when each answer meets its usual reading."""

    def evalua(c: _Contexto) -> list[_Hallazgo]:
        return [_h(c, campo) for campo in campos]

    return ReglaHogar(codigo, "toda familia", campos, evalua)


# --- the rules with a reading of their own -----------------------------------------------------


def _lb1(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo]:
    if p.anios < 7:
        requeridos, nombre = {Documento.REGISTRO_CIVIL}, "registro civil"
    elif p.anios < 18:
        requeridos, nombre = {Documento.TARJETA_IDENTIDAD}, "tarjeta de identidad"
    else:
        requeridos, nombre = {Documento.CEDULA, Documento.CONTRASENA}, "cédula o contraseña"
    return [_i(p, "documentos", requeridos.intersection, f"tiene {nombre}", f"sin {nombre}")]


_REMUNERADAS = frozenset(
    {
        Ocupacion.EMPLEADO,
        Ocupacion.EMPLEADO_DOMESTICO,
        Ocupacion.JORNALERO,
        Ocupacion.CUENTA_PROPIA,
        Ocupacion.PATRON,
    }
)
_AUTONOMAS = frozenset(
    {
        FuenteIngreso.TRABAJO,
        FuenteIngreso.PENSION,
        FuenteIngreso.RENTAS,
        FuenteIngreso.PRODUCCION_PROPIA,
    }
)


def _lb5(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo]:
    ocupacion = _i(
        p,
        "ocupacion",
        _REMUNERADAS.__contains__,
        "ocupación remunerada",
        "sin ocupación remunerada",
    )
    if ocupacion.cumple:
        return [ocupacion]
    fuentes = _i(
        p,
        "fuentes_ingreso",
        _AUTONOMAS.intersection,
        "fuente de ingresos autónoma",
        "sin fuente de ingresos autónoma",
    )
    return [fuentes] if fuentes.cumple else [ocupacion, fuentes]


def _lb6(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo] | None:
    if r.apoyo_laboral in (None, ApoyoLaboral.NO_LO_REQUIERE):
        return None
    return [
        _i(
            p,
            "apoyo_laboral",
            _es(ApoyoLaboral.ACCEDE),
            "accede al apoyo laboral que requiere",
            "requiere apoyo laboral y no accede",
        )
    ]


# Tenure for which legalisation "corresponds" (TenenciaTierra shares these values; StrEnum
# members equal their values, so one set serves both questions).
_CORRESPONDE = frozenset(
    {
        TenenciaVivienda.PROPIA_CON_TITULO,
        TenenciaVivienda.COLECTIVA,
        TenenciaVivienda.POSESION_SIN_TITULO,
        TenenciaVivienda.OCUPACION_DE_HECHO,
    }
)
_LEGALIZADA = frozenset({TenenciaVivienda.PROPIA_CON_TITULO, TenenciaVivienda.COLECTIVA})


def _legalizada(tenencia: object) -> bool:
    return tenencia in _LEGALIZADA


def _lb7(c: _Contexto) -> list[_Hallazgo] | str:
    h = c.hogar
    hallazgos = [
        _respuesta(h, "hogar", campo, _legalizada, f"{que} legalizada", f"{que} sin legalizar")
        for campo, que in (
            ("tenencia_vivienda", "vivienda"),
            ("tenencia_tierra", "tierra productiva"),
        )
        if getattr(h, campo) in _CORRESPONDE
    ]
    if not hallazgos:
        return (
            "la familia no es dueña, poseedora ni ocupante de su vivienda ni de tierra"
            f" productiva (hogar.tenencia_vivienda = {h.tenencia_vivienda},"
            f" hogar.tenencia_tierra = {h.tenencia_tierra})"
        )
    return hallazgos


def _lb8(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo]:
    return [
        _i(
            p,
            "asistencia_educativa",
            _es(AsistenciaEducativa.ATENCION_INTEGRAL, AsistenciaEducativa.EDUCACION_FORMAL),
            "en atención integral a la primera infancia",
            "sin atención integral a la primera infancia",
        )
    ]


def _lb9_aplica(p: _Persona) -> bool:
    return 5 <= p.anios <= 17 or (p.miembro.discapacidad and 5 <= p.anios <= 22)


def _lb9(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo] | None:
    if r.grado_aprobado is not None and r.grado_aprobado >= 9:
        return None  # finished the basic cycle: LB11's concern
    if p.miembro.discapacidad:
        return [
            _i(
                p,
                "asistencia_educativa",
                _es(
                    AsistenciaEducativa.EDUCACION_FORMAL, AsistenciaEducativa.EDUCACION_ALTERNATIVA
                ),
                "atendido por educación formal o alternativa",
                "sin educación formal ni alternativa",
            )
        ]
    return [
        _i(
            p,
            "asistencia_educativa",
            _es(AsistenciaEducativa.EDUCACION_FORMAL),
            "asiste a educación formal",
            "no asiste a educación formal",
        )
    ]


def _lb11(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo] | None:
    grado = r.grado_aprobado
    if grado is None or grado < 9 or r.desea_continuar_estudios is not True:
        return None
    buenos = {AsistenciaEducativa.EDUCACION_SUPERIOR, AsistenciaEducativa.FORMACION_PARA_EL_TRABAJO}
    if grado < 11:
        buenos.add(AsistenciaEducativa.EDUCACION_FORMAL)  # media
    return [
        _i(
            p,
            "asistencia_educativa",
            buenos.__contains__,
            f"continúa estudios tras el grado {grado}",
            f"desea continuar tras el grado {grado} y no está vinculado",
        )
    ]


def _lb12(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo]:
    if p.anios < 5:
        return [_Hallazgo(True, "menor de 5 años (no se pregunta)")]
    return [_i(p, "trabajo_infantil")]


def _lb16(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo]:
    cinco = p.anios >= 5
    hallazgos = [
        _i(
            p,
            "dosis_pentavalente",
            _al_menos(3),
            "3 dosis de pentavalente",
            "sin las 3 dosis de pentavalente",
        ),
        _i(p, "dosis_srp", _al_menos(2), "SRP con refuerzo", "sin el refuerzo de SRP")
        if cinco
        else _i(p, "dosis_srp", _al_menos(1), "dosis de SRP", "sin la dosis de SRP"),
    ]
    if cinco:
        hallazgos.append(
            _i(
                p,
                "refuerzos_polio_dpt",
                _al_menos(2),
                "2 refuerzos de polio y DPT",
                "sin los 2 refuerzos de polio y DPT",
            )
        )
    return hallazgos


def _lb19_aplica(p: _Persona) -> bool:
    return (p.mujer and 25 <= p.anios <= 69) or (p.hombre and p.anios >= 50)


def _lb19(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo]:
    if p.hombre:
        campos = [("tamizaje_prostata", "tamizaje de próstata")]
    else:
        campos = [("tamizaje_cuello_uterino", "citología")]
        if 50 <= p.anios <= 69:
            campos.append(("tamizaje_mama", "tamizaje de mama"))
    con_resultado = _es(Tamizaje.CON_RESULTADO)
    return [
        _i(p, campo, con_resultado, f"{que} con resultado", f"sin {que} con resultado conocido")
        for campo, que in campos
    ]


def _alimentos(c: _Contexto) -> list[_Hallazgo]:
    return [_h(c, "acceso_alimentos"), _h(c, "habitos_alimentarios")]


def _lb21(c: _Contexto) -> list[_Hallazgo]:
    extra = [_h(c, "alimentacion_menores_5")] if any(p.anios < 5 for p in c.personas) else []
    return _alimentos(c) + extra


def _lb22(p: _Persona, r: RespuestasIntegrante, c: _Contexto) -> list[_Hallazgo] | None:
    if not p.miembro.gestante and r.en_lactancia is not True:
        return None
    return [_i(p, "suplementos_nutricionales"), *_alimentos(c)]


def _lb28(c: _Contexto) -> list[_Hallazgo]:
    h, n = c.hogar, len(c.personas)
    personas = n + h.otras_personas
    ok = h.cuartos > 0 and personas <= 3 * h.cuartos
    hallazgos = [
        _Hallazgo(
            ok,
            f"{personas} personas ({n} integrantes + hogar.otras_personas = {h.otras_personas}),"
            f" {'no más' if ok else 'más'} de 3 por cuarto",
            "hogar.cuartos",
            h.cuartos,
        )
    ]
    if any(p.anios < 18 for p in c.personas) and any(p.anios >= 18 for p in c.personas):
        hallazgos.append(_h(c, "ninos_duermen_separados"))
    return hallazgos


def _lb34(c: _Contexto) -> list[_Hallazgo]:
    ok = c.plan_familiar
    texto = "con Plan Familiar vigente" if ok else "sin Plan Familiar vigente"
    return [_Hallazgo(ok, texto, "plan_familiar", ok)]


def _si_hay(condicion: Callable[[_Persona], bool], nadie: str, campo: str) -> EvaluaHogar:
    """A household answer that is read only when some member meets `condicion`."""

    def evalua(c: _Contexto) -> list[_Hallazgo] | str:
        return [_h(c, campo)] if any(condicion(p) for p in c.personas) else nadie

    return evalua


def _lb44(c: _Contexto) -> list[_Hallazgo] | str:
    if c.hogar.necesidades_juridicas == NecesidadesJuridicas.NO_TIENE:
        return "la familia no tiene necesidades jurídicas (hogar.necesidades_juridicas = NO_TIENE)"
    return [_h(c, "necesidades_juridicas")]


def _lb45(c: _Contexto) -> list[_Hallazgo] | str:
    if not c.desplazada:
        return "la familia no está en situación de desplazamiento"
    ged = c.hogar.ged
    if ged is None:
        return [_Hallazgo(False, "derechos GED sin revisar", "hogar.ged", None)]
    seguido = _no_es(EstadoDerechoGED.SIN_SEGUIMIENTO)
    return [
        _respuesta(ged, "hogar.ged", campo, seguido, "goza o en seguimiento", "sin seguimiento")
        for campo in type(ged).model_fields
    ]


def _todos(p: _Persona) -> bool:
    return True


# --- the table ---------------------------------------------------------------------------------

_ESCOLARIDAD = ("grado_aprobado", "asistencia_educativa")

REGLAS: tuple[Regla, ...] = (
    ReglaIntegrantes("LB1", "personas de cualquier edad", ("documentos",), _todos, _lb1),
    _por_integrante("LB2", "hombres de 18 a 50 años", lambda p: p.hombre and 18 <= p.anios <= 50,
                    "libreta_militar"),
    _por_integrante("LB3", "personas de cualquier edad", _todos, "datos_sisben"),
    _por_integrante("LB4", "adultos de 60 años o más", lambda p: p.anios >= 60, "fuentes_ingreso"),
    ReglaIntegrantes("LB5", "personas de 15 años o más", ("ocupacion", "fuentes_ingreso"),
                     lambda p: p.anios >= 15, _lb5, alguno=True),
    ReglaIntegrantes("LB6", "personas de 15 años o más que requieren apoyo laboral",
                     ("apoyo_laboral",), lambda p: p.anios >= 15, _lb6),
    ReglaHogar("LB7", "familias dueñas, poseedoras u ocupantes de su vivienda o tierra productiva",
               ("tenencia_vivienda", "tenencia_tierra"), _lb7),
    ReglaIntegrantes("LB8", "menores de 5 años", ("asistencia_educativa",), lambda p: p.anios < 5,
                     _lb8),
    ReglaIntegrantes("LB9", "personas de 5 a 17 años (con discapacidad, 5 a 22) sin 9° grado",
                     _ESCOLARIDAD, _lb9_aplica, _lb9),
    _por_integrante("LB10", "adultos de 18 a 65 años", lambda p: 18 <= p.anios <= 65,
                    "sabe_leer_escribir"),
    ReglaIntegrantes("LB11", "personas con 9° grado aprobado que desean continuar estudios",
                     (*_ESCOLARIDAD, "desea_continuar_estudios"), _todos, _lb11),
    ReglaIntegrantes("LB12", "menores de 15 años", ("trabajo_infantil",), lambda p: p.anios < 15,
                     _lb12),
    _por_integrante("LB13", "personas de cualquier edad", _todos, "afiliacion_salud"),
    _del_hogar("LB14", "accede_promocion_salud"),
    _por_integrante("LB15", "personas de 12 años o más", lambda p: p.anios >= 12,
                    "conoce_planificacion_familiar"),
    ReglaIntegrantes("LB16", "niños de 12 meses a 5 años",
                     ("dosis_pentavalente", "dosis_srp", "refuerzos_polio_dpt"),
                     lambda p: p.meses >= 12 and p.anios <= 5, _lb16),
    _por_integrante("LB17", "mujeres gestantes", lambda p: p.miembro.gestante,
                    "controles_prenatales"),
    _por_integrante("LB18", "menores de 10 años", lambda p: p.anios < 10, "crecimiento_desarrollo"),
    ReglaIntegrantes("LB19", "mujeres de 25 a 69 años y hombres de 50 años o más",
                     ("tamizaje_cuello_uterino", "tamizaje_mama", "tamizaje_prostata"),
                     _lb19_aplica, _lb19),
    _por_integrante("LB20", "personas en situación de discapacidad",
                    lambda p: p.miembro.discapacidad, "rehabilitacion", "ayudas_tecnicas"),
    ReglaHogar("LB21", "toda familia",
               ("acceso_alimentos", "habitos_alimentarios", "alimentacion_menores_5"), _lb21),
    ReglaIntegrantes("LB22", "mujeres gestantes o en lactancia",
                     ("en_lactancia", "suplementos_nutricionales", "acceso_alimentos",
                      "habitos_alimentarios"),
                     lambda p: p.miembro.gestante or p.mujer, _lb22),
    _por_integrante("LB23", "bebés menores de 6 meses", lambda p: p.meses < 6,
                    "lactancia_materna_exclusiva"),
    _del_hogar("LB24", "agua_potable", "desagues"),
    _del_hogar("LB25", "basuras"),
    _del_hogar("LB26", "energia"),
    _del_hogar("LB27", "espacios"),
    ReglaHogar("LB28", "toda familia", ("cuartos", "otras_personas", "ninos_duermen_separados"),
               _lb28),
    _del_hogar("LB29", "pisos_de_tierra"),
    _del_hogar("LB30", "implementos_dormir", "implementos_alimentarse"),
    _del_hogar("LB31", "comunicaciones"),
    _del_hogar("LB32", "paredes", "techo", "riesgo_estructural"),
    _del_hogar("LB33", "iluminacion_natural", "ventilacion_natural", "privacidad"),
    ReglaHogar("LB34", "toda familia", (), _lb34),
    _del_hogar("LB35", "conoce_servicios_violencia"),
    _del_hogar("LB36", "conoce_programas_locales", "participa_programas_locales"),
    ReglaHogar("LB37", "familias con menores de 6 años", ("pautas_crianza_humanizada",),
               _si_hay(lambda p: p.anios < 6, "ningún integrante menor de 6 años",
                       "pautas_crianza_humanizada")),
    _del_hogar("LB38", "dialogo_y_normas"),
    ReglaHogar("LB39", "familias con alguna persona en situación de discapacidad",
               ("cuidado_conjunto_discapacidad",),
               _si_hay(lambda p: p.miembro.discapacidad,
                       "ningún integrante en situación de discapacidad",
                       "cuidado_conjunto_discapacidad")),
    _del_hogar("LB40", "ahorro", "cuota_de_ahorro"),
    _del_hogar("LB41", "conoce_servicios_financieros", "servicios_financieros"),
    _del_hogar("LB42", "credito_usura"),
    _del_hogar("LB43", "conoce_necesidades_juridicas", "conoce_ruta_justicia",
               "conoce_derechos_deberes"),
    ReglaHogar("LB44", "familias con necesidades jurídicas", ("necesidades_juridicas",), _lb44),
    ReglaHogar("LB45", "familias en situación de desplazamiento", ("ged",), _lb45),
)  # fmt: skip
"""One rule per LB; `_tabla()` orders them as the catalog and checks they cover it exactly."""


@functools.cache
def _tabla() -> tuple[Regla, ...]:
    """The rules in catalog order; refuses a table that does not cover exactly the catalog."""
    codigos = [lb.codigo for lb in catalogo().logros_basicos]
    por_codigo = {regla.codigo: regla for regla in REGLAS}
    if len(por_codigo) != len(REGLAS) or set(por_codigo) != set(codigos):
        raise RuntimeError("the rules table does not cover exactly the catalog's Logros Básicos")
    return tuple(por_codigo[codigo] for codigo in codigos)


_SIN_SERVICIOS: Mapping[str, frozenset[str]] = MappingProxyType({})


def evaluar(
    linea_base: LineaBase,
    miembros: Sequence[Miembro],
    *,
    hoy: date,
    desplazada: bool,
    plan_familiar: bool = False,
    servicios: Mapping[str, frozenset[str]] = _SIN_SERVICIOS,
) -> dict[str, Resultado]:
    """All 45 LB, keyed by code, in catalog order.

    `miembros` are the family's current members; answers of members no longer in it are
    ignored, members without answers make the LB that apply to them POR_ALCANZAR.
    `servicios`: LB code -> member ids (or "familia") a delivered service meets it for.
    Raises ValueError on a member born after `hoy` or a repeated integrante_id."""
    personas = []
    vistos: set[str] = set()
    for m in miembros:
        if m.integrante_id in vistos:
            raise ValueError(f"integrante_id repetido: {m.integrante_id}")
        if m.fecha_nacimiento > hoy:
            raise ValueError(f"integrante {m.integrante_id} nacido después de {hoy}")
        vistos.add(m.integrante_id)
        anios, meses = (
            edad_en_anios(m.fecha_nacimiento, hoy),
            edad_en_meses(m.fecha_nacimiento, hoy),
        )
        respuestas = linea_base.integrantes.get(m.integrante_id)
        personas.append(
            _Persona(
                m.integrante_id,
                m,
                anios,
                meses,
                _SIN_NADA if respuestas is None else respuestas,
                respuestas is None,
                _describir(m, anios, meses),
            )
        )
    contexto = _Contexto(linea_base.hogar, tuple(personas), desplazada, plan_familiar)
    vacio: frozenset[str] = frozenset()
    return {
        regla.codigo: regla.evaluar(contexto, frozenset(servicios.get(regla.codigo, vacio)))
        for regla in _tabla()
    }
