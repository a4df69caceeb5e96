"""Sample baselines (tests, benchmarks, the simulator): answers that meet every LB, and a
sample family whose 45 statuses are known by hand (`familia_ejemplo`).

Birth dates are computed from the evaluation date, so the sample keeps its ages (and its
expected statuses) whatever day the tests run: evaluate it with the same `hoy`, with
`desplazada=DESPLAZADA_EJEMPLO`, no Plan Familiar and no services.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from accompaniment.linea_base import (
    AfiliacionSalud,
    AguaPotable,
    Ahorro,
    ApoyoLaboral,
    AsistenciaEducativa,
    AyudasTecnicas,
    DatosSisben,
    DerechosGED,
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
    MedioComunicacion,
    NecesidadesJuridicas,
    Ocupacion,
    RespuestasHogar,
    RespuestasIntegrante,
    ServiciosFinancieros,
    Tamizaje,
    TenenciaTierra,
    TenenciaVivienda,
)
from accompaniment.reglas import Miembro
from accompaniment.vocabulario import EstadoLogro

DESPLAZADA_EJEMPLO = True


def nacido(hoy: date, *, anios: int = 0, meses: int = 0, dias: int = 0) -> date:
    """The birth date of someone who is exactly `anios` years and `meses` months old at `hoy`,
    moved `dias` days earlier: `dias=-1` is one day before that birthday (a year or month less),
    `dias=1` one day after it."""
    total = hoy.year * 12 + hoy.month - 1 - anios * 12 - meses
    anio, mes = divmod(total, 12)
    dia = min(hoy.day, calendar.monthrange(anio, mes + 1)[1])
    return date(anio, mes + 1, dia) - timedelta(days=dias)


def hogar_completo(**cambios: Any) -> RespuestasHogar:
    """Household answers that meet every household LB (conditional questions answered too)."""
    respuestas: dict[str, Any] = {
        "tenencia_vivienda": TenenciaVivienda.PROPIA_CON_TITULO,
        "tenencia_tierra": TenenciaTierra.NO_USA,
        "accede_promocion_salud": True,
        "acceso_alimentos": True,
        "habitos_alimentarios": True,
        "alimentacion_menores_5": True,
        "agua_potable": AguaPotable.ACUEDUCTO,
        "desagues": Desague.ALCANTARILLADO,
        "basuras": DisposicionBasuras.RECOLECCION,
        "energia": FuenteEnergia.RED_ELECTRICA,
        "espacios": frozenset(Espacio),
        "cuartos": 10,
        "otras_personas": 0,
        "ninos_duermen_separados": True,
        "pisos_de_tierra": False,
        "implementos_dormir": True,
        "implementos_alimentarse": True,
        "comunicaciones": frozenset({MedioComunicacion.CELULAR}),
        "paredes": MaterialParedes.BLOQUE_LADRILLO_CONCRETO,
        "techo": MaterialTecho.TEJA,
        "riesgo_estructural": False,
        "iluminacion_natural": True,
        "ventilacion_natural": True,
        "privacidad": True,
        "conoce_servicios_violencia": True,
        "conoce_programas_locales": True,
        "participa_programas_locales": True,
        "pautas_crianza_humanizada": True,
        "dialogo_y_normas": True,
        "cuidado_conjunto_discapacidad": True,
        "ahorro": Ahorro.MECANISMO_FINANCIERO,
        "cuota_de_ahorro": True,
        "conoce_servicios_financieros": True,
        "servicios_financieros": ServiciosFinancieros.USA_ALGUNO,
        "credito_usura": False,
        "conoce_necesidades_juridicas": True,
        "conoce_ruta_justicia": True,
        "conoce_derechos_deberes": True,
        "necesidades_juridicas": NecesidadesJuridicas.ATENDIDAS,
        "ged": DerechosGED(**dict.fromkeys(DerechosGED.model_fields, EstadoDerechoGED.GOZA)),
    }
    return RespuestasHogar.model_validate({**respuestas, **cambios})


def integrante_completo(**cambios: Any) -> RespuestasIntegrante:
    """Answers that meet every member LB at any age (a need or a wish is never reported)."""
    respuestas: dict[str, Any] = {
        "documentos": frozenset(Documento),
        "libreta_militar": True,
        "datos_sisben": DatosSisben.COINCIDEN,
        "fuentes_ingreso": frozenset({FuenteIngreso.TRABAJO}),
        "ocupacion": Ocupacion.EMPLEADO,
        "apoyo_laboral": ApoyoLaboral.NO_LO_REQUIERE,
        "asistencia_educativa": AsistenciaEducativa.EDUCACION_FORMAL,
        "sabe_leer_escribir": True,
        "trabajo_infantil": False,
        "afiliacion_salud": AfiliacionSalud.SUBSIDIADO,
        "conoce_planificacion_familiar": True,
        "dosis_pentavalente": 3,
        "dosis_srp": 2,
        "refuerzos_polio_dpt": 2,
        "controles_prenatales": True,
        "crecimiento_desarrollo": True,
        "tamizaje_cuello_uterino": Tamizaje.CON_RESULTADO,
        "tamizaje_mama": Tamizaje.CON_RESULTADO,
        "tamizaje_prostata": Tamizaje.CON_RESULTADO,
        "rehabilitacion": True,
        "ayudas_tecnicas": AyudasTecnicas.NO_REQUIERE,
        "en_lactancia": False,
        "suplementos_nutricionales": True,
        "lactancia_materna_exclusiva": True,
    }
    return RespuestasIntegrante.model_validate({**respuestas, **cambios})


def familia_ejemplo(
    hoy: date | None = None,
) -> tuple[LineaBase, list[Miembro], dict[str, EstadoLogro]]:
    """A displaced family of seven and the status of each LB at `hoy` (default: today).

    Head (34, day labourer, no libreta militar, needs job support), spouse (30, breastfeeding
    the 4-month-old baby), his sister (19, pregnant, no prenatal care, in 10th grade), a boy
    of 8 with only a registro civil, a girl of 3, the baby, and a grandmother of 63 with a
    disability who cannot read. They rent, burn their waste, have no sewage, earth floors,
    two rooms, and save at home."""
    hoy = hoy or date.today()
    miembros = [
        Miembro("jefe", nacido(hoy, anios=34, dias=100), "H", "JEFE"),
        Miembro("conyuge", nacido(hoy, anios=30, dias=50), "M", "CONYUGE"),
        Miembro("hermana", nacido(hoy, anios=19, dias=120), "M", "HERMANO", gestante=True),
        Miembro("hijo", nacido(hoy, anios=8, dias=200), "H", "HIJO"),
        Miembro("hija", nacido(hoy, anios=3, dias=20), "M", "HIJO"),
        Miembro("bebe", nacido(hoy, meses=4, dias=3), "M", "HIJO"),
        Miembro("abuela", nacido(hoy, anios=63, dias=10), "M", "PADRE_MADRE", discapacidad=True),
    ]
    sisben = {"datos_sisben": DatosSisben.COINCIDEN, "afiliacion_salud": AfiliacionSalud.SUBSIDIADO}
    cedula = frozenset({Documento.REGISTRO_CIVIL, Documento.CEDULA})
    integrantes = {
        "jefe": RespuestasIntegrante(
            **sisben,
            documentos=cedula,
            libreta_militar=False,
            fuentes_ingreso=frozenset({FuenteIngreso.TRABAJO}),
            ocupacion=Ocupacion.JORNALERO,
            apoyo_laboral=ApoyoLaboral.SIN_ACCESO,
            grado_aprobado=5,
            asistencia_educativa=AsistenciaEducativa.NO_ASISTE,
            sabe_leer_escribir=True,
            conoce_planificacion_familiar=True,
        ),
        "conyuge": RespuestasIntegrante(
            **sisben,
            documentos=cedula,
            fuentes_ingreso=frozenset(),
            ocupacion=Ocupacion.OFICIOS_DEL_HOGAR,
            apoyo_laboral=ApoyoLaboral.NO_LO_REQUIERE,
            grado_aprobado=9,
            desea_continuar_estudios=False,
            asistencia_educativa=AsistenciaEducativa.NO_ASISTE,
            sabe_leer_escribir=True,
            conoce_planificacion_familiar=True,
            tamizaje_cuello_uterino=Tamizaje.SIN_RESULTADO,
            en_lactancia=True,
            suplementos_nutricionales=True,
        ),
        "hermana": RespuestasIntegrante(
            **sisben,
            documentos=cedula,
            fuentes_ingreso=frozenset(),
            ocupacion=Ocupacion.ESTUDIA,
            grado_aprobado=9,
            desea_continuar_estudios=True,
            asistencia_educativa=AsistenciaEducativa.EDUCACION_FORMAL,
            sabe_leer_escribir=True,
            conoce_planificacion_familiar=True,
            controles_prenatales=False,
            suplementos_nutricionales=False,
        ),
        "hijo": RespuestasIntegrante(
            **sisben,
            documentos=frozenset({Documento.REGISTRO_CIVIL}),
            grado_aprobado=2,
            asistencia_educativa=AsistenciaEducativa.EDUCACION_FORMAL,
            trabajo_infantil=False,
            crecimiento_desarrollo=False,
        ),
        "hija": RespuestasIntegrante(
            **sisben,
            documentos=frozenset({Documento.REGISTRO_CIVIL}),
            asistencia_educativa=AsistenciaEducativa.ATENCION_INTEGRAL,
            dosis_pentavalente=3,
            dosis_srp=1,
            refuerzos_polio_dpt=1,
            crecimiento_desarrollo=True,
        ),
        "bebe": RespuestasIntegrante(
            **sisben,
            documentos=frozenset({Documento.REGISTRO_CIVIL}),
            asistencia_educativa=AsistenciaEducativa.ATENCION_INTEGRAL,
            dosis_pentavalente=2,
            crecimiento_desarrollo=True,
            lactancia_materna_exclusiva=True,
        ),
        "abuela": RespuestasIntegrante(
            **sisben,
            documentos=cedula,
            fuentes_ingreso=frozenset({FuenteIngreso.SUBSIDIO_ESTATAL}),
            ocupacion=Ocupacion.INCAPACITADO,
            grado_aprobado=0,
            asistencia_educativa=AsistenciaEducativa.NO_ASISTE,
            sabe_leer_escribir=False,
            conoce_planificacion_familiar=True,
            tamizaje_cuello_uterino=Tamizaje.CON_RESULTADO,
            tamizaje_mama=Tamizaje.CON_RESULTADO,
            rehabilitacion=True,
            ayudas_tecnicas=AyudasTecnicas.REQUIERE_SIN_ACCESO,
        ),
    }
    hogar = hogar_completo(
        tenencia_vivienda=TenenciaVivienda.ARRIENDO,
        accede_promocion_salud=False,
        desagues=Desague.SIN_SISTEMA,
        basuras=DisposicionBasuras.QUEMA,
        espacios=frozenset({Espacio.BANO, Espacio.COCINA, Espacio.DORMITORIO}),
        cuartos=2,
        pisos_de_tierra=True,
        paredes=MaterialParedes.MADERA_BURDA_GUADUA_O_VEGETAL,
        privacidad=False,
        participa_programas_locales=False,
        ahorro=Ahorro.EN_CASA,
        conoce_servicios_financieros=False,
        servicios_financieros=ServiciosFinancieros.NO_LOS_NECESITA,
        necesidades_juridicas=NecesidadesJuridicas.NO_TIENE,
        ged=DerechosGED(
            subsistencia_minima=EstadoDerechoGED.GOZA,
            reunificacion_familiar=EstadoDerechoGED.GOZA,
            retorno_o_reubicacion=EstadoDerechoGED.EN_SEGUIMIENTO,
            proteccion=EstadoDerechoGED.GOZA,
            participacion=EstadoDerechoGED.GOZA,
            reparacion=EstadoDerechoGED.EN_SEGUIMIENTO,
        ),
    )
    a, p, n = EstadoLogro.ALCANZADO, EstadoLogro.POR_ALCANZAR, EstadoLogro.NO_APLICA
    # fmt: off
    esperado = {
        "LB1": p,   # the boy of 8 has no tarjeta de identidad
        "LB2": p,   # the head has no libreta militar
        "LB3": a,
        "LB4": a,   # the grandmother gets a subsidy
        "LB5": a,   # the head is a day labourer
        "LB6": p,   # the head needs job support and has none
        "LB7": n,   # they rent and use no land
        "LB8": a,   # the girl and the baby are in early-childhood programmes
        "LB9": a,   # the boy goes to school
        "LB10": p,  # the grandmother cannot read
        "LB11": a,  # the sister passed 9th grade, wants to go on and is in 10th
        "LB12": a,
        "LB13": a,
        "LB14": p,
        "LB15": a,
        "LB16": a,  # the girl of 3 (the baby is under 12 months)
        "LB17": p,  # the sister has no prenatal care
        "LB18": p,  # the boy misses growth-and-development checks
        "LB19": p,  # the spouse does not know her cytology result
        "LB20": p,  # the grandmother lacks the technical aids she needs
        "LB21": a,
        "LB22": p,  # the sister takes no supplements (the breastfeeding spouse does)
        "LB23": a,
        "LB24": p,  # no sewage
        "LB25": p,  # they burn their waste
        "LB26": a,
        "LB27": p,  # no laundry space
        "LB28": p,  # 7 people in 2 rooms
        "LB29": p,
        "LB30": a,
        "LB31": a,
        "LB32": a,
        "LB33": p,  # no privacy
        "LB34": p,  # no Plan Familiar yet
        "LB35": a,
        "LB36": p,
        "LB37": a,
        "LB38": a,
        "LB39": a,
        "LB40": p,  # they save at home
        "LB41": p,
        "LB42": a,
        "LB43": a,
        "LB44": n,  # no legal needs
        "LB45": a,  # every GED right enjoyed or followed up
    }
    # fmt: on
    return LineaBase(hogar=hogar, integrantes=integrantes), miembros, esperado
