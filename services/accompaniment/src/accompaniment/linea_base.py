"""The baseline questionnaire (línea base): what the cogestor asks a family, as validated data.

One `LineaBase` per family: the household's answers (`hogar`) and each member's answers
(`integrantes`, keyed by the pseudonymous integrante_id enrollment publishes). Every question
feeds at least one Logro Básico rule in `accompaniment.reglas` (see the README's table); answers
are enums, booleans or bounded integers, never free text, so the questionnaire cannot carry
names, documents or notes. Member questions that only concern some members (by age, sex,
pregnancy, disability) are optional: `None` means "not asked". Household questions are required,
except the few that only exist when a member makes them relevant (children under 5 or 6, minors
living with adults, a member with a disability, a displaced family).

The questionnaire is versioned (`VERSION`, and `LineaBase.version`): a change that is not
backwards compatible gets a new version and a new model, and old baselines keep their meaning.
Follow-up visits change answers with `aplicar_cambios`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from juntos_events.json_types import JsonBool, JsonInt, json_int_between
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
)

VERSION = 1

T = TypeVar("T", bound=StrEnum)


def _ordenado(valores: frozenset[StrEnum]) -> list[str]:
    return sorted(v.value for v in valores)


# A set of enum values; serialized sorted, so the same answers always give the same JSON.
Conjunto = Annotated[
    frozenset[T], PlainSerializer(_ordenado, return_type=list[str], when_used="json")
]

IntegranteId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]+$", min_length=1, max_length=64)
]
"""The pseudonymous member id enrollment publishes (same pattern as enrollment's ids)."""


# --- vocabularies ------------------------------------------------------------------------------


class Documento(StrEnum):
    """Identity documents a member holds (LB1)."""

    REGISTRO_CIVIL = "REGISTRO_CIVIL"
    TARJETA_IDENTIDAD = "TARJETA_IDENTIDAD"
    CEDULA = "CEDULA"  # cédula de ciudadanía
    CONTRASENA = "CONTRASENA"  # contraseña certificada: the Registraduría's receipt while issuing


class DatosSisben(StrEnum):
    """Whether SISBEN has the member's personal data exactly as in their current document (LB3)."""

    COINCIDEN = "COINCIDEN"
    NO_COINCIDEN = "NO_COINCIDEN"
    NO_REGISTRADO = "NO_REGISTRADO"  # the member is not in the household's SISBEN record


class FuenteIngreso(StrEnum):
    """The member's means of income, money or in kind (LB4, LB5)."""

    TRABAJO = "TRABAJO"  # wages, fees or profits of their own work
    PENSION = "PENSION"  # a contributory pension
    RENTAS = "RENTAS"  # rents, interest
    PRODUCCION_PROPIA = "PRODUCCION_PROPIA"  # crops, animals or goods they produce (in kind)
    SUBSIDIO_ESTATAL = "SUBSIDIO_ESTATAL"  # Familias en Acción, Colombia Mayor, humanitarian aid
    AYUDA_DE_OTROS_HOGARES = "AYUDA_DE_OTROS_HOGARES"  # remittances, relatives living elsewhere


class Ocupacion(StrEnum):
    """What the member mainly did last month (LB5)."""

    EMPLEADO = "EMPLEADO"  # obrero o empleado (private or public)
    EMPLEADO_DOMESTICO = "EMPLEADO_DOMESTICO"
    JORNALERO = "JORNALERO"  # jornalero o peón
    CUENTA_PROPIA = "CUENTA_PROPIA"  # independent worker, small farmer or trader
    PATRON = "PATRON"  # employer
    TRABAJADOR_SIN_REMUNERACION = "TRABAJADOR_SIN_REMUNERACION"  # unpaid family worker
    BUSCA_TRABAJO = "BUSCA_TRABAJO"
    ESTUDIA = "ESTUDIA"
    OFICIOS_DEL_HOGAR = "OFICIOS_DEL_HOGAR"
    INCAPACITADO = "INCAPACITADO"  # permanently unable to work
    OTRA_INACTIVIDAD = "OTRA_INACTIVIDAD"


class ApoyoLaboral(StrEnum):
    """Need of, and access to, labour intermediation, technical assistance, support for
    enterprises or associations, job training or certification of skills (LB6)."""

    NO_LO_REQUIERE = "NO_LO_REQUIERE"
    ACCEDE = "ACCEDE"  # requires it and accesses one of those services
    SIN_ACCESO = "SIN_ACCESO"  # requires it and does not access any


class AsistenciaEducativa(StrEnum):
    """What the member currently attends (LB8, LB9, LB11)."""

    NO_ASISTE = "NO_ASISTE"
    ATENCION_INTEGRAL = "ATENCION_INTEGRAL"  # early childhood care: hogar comunitario, CDI, FAMI
    EDUCACION_FORMAL = "EDUCACION_FORMAL"  # preescolar, básica or media (flexible models, CLEI)
    EDUCACION_ALTERNATIVA = "EDUCACION_ALTERNATIVA"  # special/alternative system (disability)
    EDUCACION_SUPERIOR = "EDUCACION_SUPERIOR"  # técnica profesional, tecnológica, universitaria
    FORMACION_PARA_EL_TRABAJO = "FORMACION_PARA_EL_TRABAJO"  # SENA and similar programmes


class AfiliacionSalud(StrEnum):
    """Affiliation to the Sistema General de Seguridad Social en Salud (LB13)."""

    CONTRIBUTIVO = "CONTRIBUTIVO"
    SUBSIDIADO = "SUBSIDIADO"
    ESPECIAL = "ESPECIAL"  # special or excepted regimes (armed forces, teachers, Ecopetrol)
    NO_AFILIADO = "NO_AFILIADO"


class Tamizaje(StrEnum):
    """A cancer screening within the interval the norm sets (LB19)."""

    NO_REALIZADO = "NO_REALIZADO"
    SIN_RESULTADO = "SIN_RESULTADO"  # done, but the member does not know the result yet
    CON_RESULTADO = "CON_RESULTADO"  # done and the member knows the result


class AyudasTecnicas(StrEnum):
    """Technical aids a member with a disability needs for autonomy (LB20)."""

    NO_REQUIERE = "NO_REQUIERE"
    TIENE = "TIENE"
    REQUIERE_SIN_ACCESO = "REQUIERE_SIN_ACCESO"


class TenenciaVivienda(StrEnum):
    """How the family holds the dwelling (LB7)."""

    PROPIA_CON_TITULO = "PROPIA_CON_TITULO"  # registered title deed
    COLECTIVA = "COLECTIVA"  # resguardo or collective territory with its title
    POSESION_SIN_TITULO = "POSESION_SIN_TITULO"  # held as owner, title not legalised
    OCUPACION_DE_HECHO = "OCUPACION_DE_HECHO"  # occupied without the owner's permission
    ARRIENDO = "ARRIENDO"
    USUFRUCTO = "USUFRUCTO"  # lent or ceded with the owner's permission


class TenenciaTierra(StrEnum):
    """How the family holds land it uses productively (LB7)."""

    NO_USA = "NO_USA"  # the family uses no land productively
    PROPIA_CON_TITULO = "PROPIA_CON_TITULO"
    COLECTIVA = "COLECTIVA"
    POSESION_SIN_TITULO = "POSESION_SIN_TITULO"
    OCUPACION_DE_HECHO = "OCUPACION_DE_HECHO"
    ARRIENDO = "ARRIENDO"
    USUFRUCTO = "USUFRUCTO"


class AguaPotable(StrEnum):
    """Drinking-water supply (LB24)."""

    ACUEDUCTO = "ACUEDUCTO"  # public or community aqueduct with treated water
    FUENTE_TRATADA = (
        "FUENTE_TRATADA"  # well, rain, river, tanker... boiled, filtered or chlorinated
    )
    FUENTE_SIN_TRATAR = "FUENTE_SIN_TRATAR"


class Desague(StrEnum):
    """Wastewater and excreta disposal (LB24)."""

    ALCANTARILLADO = "ALCANTARILLADO"
    POZO_SEPTICO = "POZO_SEPTICO"
    SOLUCION_ALTERNATIVA = "SOLUCION_ALTERNATIVA"  # dry latrine, biodigester, rural sanitary unit
    SIN_SISTEMA = "SIN_SISTEMA"  # open air, river, ravine, sea


class DisposicionBasuras(StrEnum):
    """What the family does with its waste (LB25)."""

    RECOLECCION = "RECOLECCION"  # collection service
    ENTIERRA = "ENTIERRA"
    TRANSFORMA = "TRANSFORMA"  # compost, recycling, animal feed
    QUEMA = "QUEMA"
    A_CIELO_ABIERTO = "A_CIELO_ABIERTO"  # yard, lot, river, ravine


class FuenteEnergia(StrEnum):
    """The dwelling's energy for lighting and appliances (LB26)."""

    RED_ELECTRICA = "RED_ELECTRICA"
    ALTERNATIVA = "ALTERNATIVA"  # solar panel, generator, micro hydro
    NINGUNA = "NINGUNA"  # candles, kerosene lamps


class Espacio(StrEnum):
    """Differentiated spaces of the dwelling (LB27)."""

    BANO = "BANO"
    COCINA = "COCINA"
    LAVADERO = "LAVADERO"
    DORMITORIO = "DORMITORIO"


class MaterialParedes(StrEnum):
    """Main material of the outer walls (LB32)."""

    BLOQUE_LADRILLO_CONCRETO = "BLOQUE_LADRILLO_CONCRETO"  # also stone
    MADERA_PULIDA_O_PREFABRICADO = "MADERA_PULIDA_O_PREFABRICADO"
    TAPIA_ADOBE_BAHAREQUE = "TAPIA_ADOBE_BAHAREQUE"
    MADERA_BURDA_GUADUA_O_VEGETAL = "MADERA_BURDA_GUADUA_O_VEGETAL"  # plank, guadua, cane, palm
    DESECHOS = "DESECHOS"  # zinc sheets, cloth, cardboard, tins, plastic
    SIN_PAREDES = "SIN_PAREDES"


class MaterialTecho(StrEnum):
    """Main material of the roof (LB32)."""

    PLANCHA_CONCRETO = "PLANCHA_CONCRETO"
    TEJA = "TEJA"  # clay, zinc, fibre cement tiles
    PAJA_O_PALMA = "PAJA_O_PALMA"  # traditional thatch
    DESECHOS = "DESECHOS"  # cardboard, plastic, tarpaulin


class MedioComunicacion(StrEnum):
    """Communication systems the family can use (LB31)."""

    CELULAR = "CELULAR"
    TELEFONO_FIJO = "TELEFONO_FIJO"
    INTERNET = "INTERNET"
    COMUNITARIO = "COMUNITARIO"  # community phone, telecentre, radio-telephone


class Ahorro(StrEnum):
    """Where the family keeps its savings (LB40)."""

    NO_AHORRA = "NO_AHORRA"
    EN_CASA = "EN_CASA"
    MECANISMO_FINANCIERO = "MECANISMO_FINANCIERO"  # self-help group, communal bank, co-op, bank


class ServiciosFinancieros(StrEnum):
    """Access to financial services: savings, credit, micro-insurance... (LB41)."""

    USA_ALGUNO = "USA_ALGUNO"
    NO_LOS_NECESITA = "NO_LOS_NECESITA"
    NO_CUMPLE_REQUISITOS = "NO_CUMPLE_REQUISITOS"  # needs one but does not meet its requirements
    SIN_ACCESO = "SIN_ACCESO"  # needs one, meets the requirements and has no access


class NecesidadesJuridicas(StrEnum):
    """The family's legal needs and whether justice attended them (LB44)."""

    NO_TIENE = "NO_TIENE"
    ATENDIDAS = "ATENDIDAS"  # timely attention by justice operators or MASC
    SIN_ATENDER = "SIN_ATENDER"


class EstadoDerechoGED(StrEnum):
    """A displaced family's right (Goce Efectivo de Derechos) as reviewed with the cogestor."""

    GOZA = "GOZA"  # the family enjoys the right
    EN_SEGUIMIENTO = (
        "EN_SEGUIMIENTO"  # not yet enjoyed; referred to and followed up with the entity
    )
    SIN_SEGUIMIENTO = "SIN_SEGUIMIENTO"  # not enjoyed and nobody follows it up


# --- answers -----------------------------------------------------------------------------------


class _Respuestas(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _p(logros: str, pregunta: str, por_defecto: Any = None, **restricciones: Any) -> Any:
    """A question: `...` as `por_defecto` makes it required; its description starts with the LB."""
    return Field(por_defecto, description=f"{logros}. {pregunta}", **restricciones)


class DerechosGED(_Respuestas):
    """The rights of displaced families (Goce Efectivo de Derechos: Corte Constitucional, T-025 de
    2004 and its autos 109 and 233 de 2007, 116 de 2008) that no other LB already follows;
    identity, health, education, food, housing and income are the other dimensions' LB."""

    subsistencia_minima: EstadoDerechoGED | None = _p(
        "LB45", "Humanitarian aid (minimum subsistence)."
    )
    reunificacion_familiar: EstadoDerechoGED | None = _p("LB45", "Family reunification.")
    retorno_o_reubicacion: EstadoDerechoGED | None = _p("LB45", "Voluntary return or relocation.")
    proteccion: EstadoDerechoGED | None = _p("LB45", "Life, integrity, liberty and security.")
    participacion: EstadoDerechoGED | None = _p("LB45", "Participation.")
    reparacion: EstadoDerechoGED | None = _p("LB45", "Truth, justice and reparation.")


class RespuestasHogar(_Respuestas):
    """The household's answers; each description starts with the LB the question feeds."""

    tenencia_vivienda: TenenciaVivienda = _p("LB7", "How the family holds the dwelling.", ...)
    tenencia_tierra: TenenciaTierra = _p("LB7", "How it holds land of productive use.", ...)
    accede_promocion_salud: JsonBool = _p(
        "LB14", "The family uses the health-promotion interventions its SGSSS plan gives.", ...
    )
    acceso_alimentos: JsonBool = _p(
        "LB21, LB22", "Last month nobody went without eating for lack of money or food.", ...
    )
    habitos_alimentarios: JsonBool = _p(
        "LB21, LB22", "Healthy handling and preparation of food (hands, safe water, storage).", ...
    )
    alimentacion_menores_5: JsonBool | None = _p(
        "LB21", "Asked when a member is under 5: they are fed as fits their age."
    )
    agua_potable: AguaPotable = _p("LB24", "Drinking-water supply.", ...)
    desagues: Desague = _p("LB24", "Wastewater and excreta disposal.", ...)
    basuras: DisposicionBasuras = _p("LB25", "What the family does with its waste.", ...)
    energia: FuenteEnergia = _p("LB26", "Energy of the dwelling.", ...)
    espacios: Conjunto[Espacio] = _p("LB27", "Differentiated spaces the dwelling has.", ...)
    cuartos: JsonInt = _p(
        "LB28",
        "Rooms of the dwelling, without kitchen, bathrooms, garage or shop (DANE's NBI count).",
        ...,
        ge=0,
        le=50,
    )
    otras_personas: JsonInt = _p(
        "LB28", "People living in the dwelling who are not members of the family.", ..., ge=0, le=50
    )
    ninos_duermen_separados: JsonBool | None = _p(
        "LB28", "Asked when minors live with adults: no minor shares a bed with an adult."
    )
    pisos_de_tierra: JsonBool = _p(
        "LB29", "Some part of the dwelling has earth or sand floors.", ...
    )
    implementos_dormir: JsonBool = _p(
        "LB30", "Every member has a bed, mattress or hammock, and bedding.", ...
    )
    implementos_alimentarse: JsonBool = _p("LB30", "Every member has plate, cup and cutlery.", ...)
    comunicaciones: Conjunto[MedioComunicacion] = _p(
        "LB31", "Communication systems the family can use (empty: none).", ...
    )
    paredes: MaterialParedes = _p("LB32", "Main material of the outer walls.", ...)
    techo: MaterialTecho = _p("LB32", "Main material of the roof.", ...)
    riesgo_estructural: JsonBool = _p(
        "LB32", "Cracks, sinking or collapse, or the dwelling is in a non-mitigable risk zone.", ...
    )
    iluminacion_natural: JsonBool = _p("LB33", "Daylight reaches the rooms.", ...)
    ventilacion_natural: JsonBool = _p("LB33", "The rooms have natural ventilation.", ...)
    privacidad: JsonBool = _p("LB33", "Bathroom and sleeping areas give privacy.", ...)
    conoce_servicios_violencia: JsonBool = _p(
        "LB35",
        "The family knows where to detect, report and recover from domestic or sexual violence"
        " (comisaría de familia, ICBF, health services, lines 141/155).",
        ...,
    )
    conoce_programas_locales: JsonBool = _p(
        "LB36",
        "Every member knows the local programmes and community, cultural, sport spaces.",
        ...,
    )
    participa_programas_locales: JsonBool = _p(
        "LB36", "The family takes part in at least one of them.", ...
    )
    pautas_crianza_humanizada: JsonBool | None = _p(
        "LB37", "Asked when a member is under 6: the family knows and applies humanized parenting."
    )
    dialogo_y_normas: JsonBool = _p(
        "LB38", "Spaces of dialogue, norms of coexistence and conflict resolution at home.", ...
    )
    cuidado_conjunto_discapacidad: JsonBool | None = _p(
        "LB39", "Asked when a member has a disability: the family shares their care and inclusion."
    )
    ahorro: Ahorro = _p("LB40", "Where the family keeps its savings.", ...)
    cuota_de_ahorro: JsonBool = _p("LB40", "The family sets itself a savings amount.", ...)
    conoce_servicios_financieros: JsonBool = _p(
        "LB41",
        "Knows what savings, credit, micro-insurance and transfers are and how they work.",
        ...,
    )
    servicios_financieros: ServiciosFinancieros = _p(
        "LB41", "Access to financial services when needed.", ...
    )
    credito_usura: JsonBool = _p(
        "LB42", "The family owes to usurers (gota a gota, pagadiario, informal lenders).", ...
    )
    conoce_necesidades_juridicas: JsonBool = _p(
        "LB43", "The family identifies its legal needs.", ...
    )
    conoce_ruta_justicia: JsonBool = _p(
        "LB43", "Knows the institutional route among the justice system's alternatives.", ...
    )
    conoce_derechos_deberes: JsonBool = _p("LB43", "Knows its citizens' rights and duties.", ...)
    necesidades_juridicas: NecesidadesJuridicas = _p(
        "LB44", "Legal needs, and whether justice operators or MASC attended them.", ...
    )
    ged: DerechosGED | None = _p("LB45", "Asked of displaced families: the GED rights.")


class RespuestasIntegrante(_Respuestas):
    """One member's answers; `None` = not asked. Each description names the LB and whom the
    question is for; an answer for someone outside that group is kept but never read."""

    documentos: Conjunto[Documento] | None = _p("LB1", "Identity documents the member holds.")
    libreta_militar: JsonBool | None = _p("LB2", "Men 18-50: has the libreta militar.")
    datos_sisben: DatosSisben | None = _p(
        "LB3", "SISBEN has the member's data exactly as in their current identity document."
    )
    fuentes_ingreso: Conjunto[FuenteIngreso] | None = _p(
        "LB4, LB5", "The member's means of income, money or in kind (empty: none)."
    )
    ocupacion: Ocupacion | None = _p("LB5", "15 and older: main occupation last month.")
    apoyo_laboral: ApoyoLaboral | None = _p(
        "LB6", "15 and older: needs and accesses employment services, training or support."
    )
    grado_aprobado: json_int_between(0, 11) | None = _p(
        "LB9, LB11",
        "Last grade of basic or media education passed (0 = none, 9 ends the"
        " basic cycle, 11 ends media).",
    )
    asistencia_educativa: AsistenciaEducativa | None = _p(
        "LB8, LB9, LB11", "What the member currently attends."
    )
    desea_continuar_estudios: JsonBool | None = _p(
        "LB11",
        "Asked when grado_aprobado >= 9: wishes to go on to media, technical, higher"
        " education or job training.",
    )
    sabe_leer_escribir: JsonBool | None = _p("LB10", "Adults 18-65: can read and write.")
    trabajo_infantil: JsonBool | None = _p(
        "LB12", "Children 5-14: take part in work, paid or not, beyond age-fit chores."
    )
    afiliacion_salud: AfiliacionSalud | None = _p("LB13", "Affiliation to the SGSSS.")
    conoce_planificacion_familiar: JsonBool | None = _p(
        "LB15", "12 and older: knows family-planning methods."
    )
    dosis_pentavalente: json_int_between(0, 3) | None = _p(
        "LB16", "12 months to 5 years: doses of pentavalent (DPT, HB, Hib) received."
    )
    dosis_srp: json_int_between(0, 2) | None = _p(
        "LB16", "12 months to 5 years: doses of SRP/MMR received (first, booster at 5)."
    )
    refuerzos_polio_dpt: json_int_between(0, 2) | None = _p(
        "LB16", "12 months to 5 years: polio and DPT boosters received."
    )
    controles_prenatales: JsonBool | None = _p(
        "LB17", "Pregnant women: enrolled in and attending prenatal care."
    )
    crecimiento_desarrollo: JsonBool | None = _p(
        "LB18", "Under 10: enrolled in and attending growth-and-development checks."
    )
    tamizaje_cuello_uterino: Tamizaje | None = _p("LB19", "Women 25-69: cervical cytology.")
    tamizaje_mama: Tamizaje | None = _p("LB19", "Women 50-69: breast-cancer screening.")
    tamizaje_prostata: Tamizaje | None = _p("LB19", "Men 50 and older: prostate screening.")
    rehabilitacion: JsonBool | None = _p(
        "LB20", "Members with a disability: access rehabilitation (community-based included)."
    )
    ayudas_tecnicas: AyudasTecnicas | None = _p(
        "LB20", "Members with a disability: the technical aids they need."
    )
    en_lactancia: JsonBool | None = _p("LB22", "Women: breastfeeding a child.")
    suplementos_nutricionales: JsonBool | None = _p(
        "LB22", "Pregnant or breastfeeding: take the nutritional supplements they need."
    )
    lactancia_materna_exclusiva: JsonBool | None = _p(
        "LB23", "Babies under 6 months: exclusively breastfed."
    )


class LineaBase(_Respuestas):
    """A family's baseline, as a follow-up last left it."""

    version: Literal[1] = VERSION
    hogar: RespuestasHogar
    integrantes: dict[IntegranteId, RespuestasIntegrante] = Field(default_factory=dict)


# --- follow-up ---------------------------------------------------------------------------------

_CAMBIOS = TypeAdapter(dict[str, Any])


def aplicar_cambios(lb: LineaBase, cambios: dict) -> tuple[LineaBase, list[str]]:
    """A follow-up's partial update: `cambios` is shaped like the model (members by id) and
    holds only what changed. Returns the new, validated baseline and the paths of the questions
    whose answer changed ("hogar.agua_potable", "integrantes.<id>.libreta_militar"), in the
    model's order, then members. `None` clears an optional answer (or the whole GED block);
    `{"integrantes": {"<id>": None}}` drops a member's answers (the member left the household).
    Raises pydantic's ValidationError on anything the model refuses."""
    cambios = _CAMBIOS.validate_python(cambios)
    antes = lb.model_dump()
    fusion = dict(antes)
    for clave, valor in cambios.items():
        if clave == "integrantes" and isinstance(valor, Mapping):
            integrantes = dict(antes["integrantes"])
            for integrante_id, respuestas in valor.items():
                if respuestas is None:
                    integrantes.pop(integrante_id, None)
                else:
                    integrantes[integrante_id] = _fusionar(
                        integrantes.get(integrante_id, {}), respuestas
                    )
            fusion[clave] = integrantes
        else:
            fusion[clave] = _fusionar(antes.get(clave), valor)
    nueva = LineaBase.model_validate(fusion)
    rutas: list[str] = []
    _diferencias(antes, nueva.model_dump(), "", rutas)
    return nueva, rutas


def _fusionar(base: Any, cambios: Any) -> Any:
    """`cambios` over `base`, key by key where both are objects; otherwise `cambios` wins."""
    if not isinstance(cambios, Mapping) or not isinstance(base, Mapping):
        return cambios
    return {**base, **{k: _fusionar(base.get(k), v) for k, v in cambios.items()}}


def _hojas(valor: Any, ruta: str, rutas: list[str]) -> None:
    """The answered questions under `ruta` (the container itself if none is answered)."""
    inicio = len(rutas)
    if isinstance(valor, Mapping):
        for clave, v in valor.items():
            if isinstance(v, Mapping):
                _hojas(v, f"{ruta}.{clave}", rutas)
            elif v is not None:
                rutas.append(f"{ruta}.{clave}")
    if len(rutas) == inicio:
        rutas.append(ruta)


def _diferencias(antes: Any, despues: Any, ruta: str, rutas: list[str]) -> None:
    if antes == despues:  # most of a baseline is the same after a follow-up: skip it whole
        return
    if isinstance(antes, Mapping) and isinstance(despues, Mapping):
        for clave in [*despues, *(k for k in antes if k not in despues)]:
            sub = f"{ruta}.{clave}" if ruta else str(clave)
            if clave not in antes:
                _hojas(despues[clave], sub, rutas)
            elif clave not in despues:
                _hojas(antes[clave], sub, rutas)
            else:
                _diferencias(antes[clave], despues[clave], sub, rutas)
    elif isinstance(antes, Mapping) or isinstance(despues, Mapping):
        _hojas(despues if isinstance(despues, Mapping) else antes, ruta, rutas)
    elif antes != despues:
        rutas.append(ruta)
