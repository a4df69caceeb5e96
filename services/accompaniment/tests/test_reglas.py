"""The baseline questionnaire and the 45 LB rules: pure, no servers.

Boundaries are tested one day either side of the birthday that changes an LB (`nacido(...,
dias=-1)` is the day before that birthday); each case is a one-member family whose answers meet
everything (`integrante_completo`, `hogar_completo`) except what the case changes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from accompaniment.ejemplos import (
    DESPLAZADA_EJEMPLO,
    familia_ejemplo,
    hogar_completo,
    integrante_completo,
    nacido,
)
from accompaniment.linea_base import (
    VERSION,
    AsistenciaEducativa,
    DerechosGED,
    Desague,
    Documento,
    Espacio,
    EstadoDerechoGED,
    LineaBase,
    NecesidadesJuridicas,
    RespuestasHogar,
    RespuestasIntegrante,
    TenenciaTierra,
    TenenciaVivienda,
    aplicar_cambios,
)
from accompaniment.reglas import (
    FAMILIA,
    REGLAS,
    Miembro,
    ReglaIntegrantes,
    Resultado,
    edad_en_anios,
    edad_en_meses,
    evaluar,
)
from accompaniment.vocabulario import EstadoLogro
from juntos_catalogo import catalogo
from pydantic import ValidationError

HOY = date(2024, 6, 15)
A, P, N = EstadoLogro.ALCANZADO, EstadoLogro.POR_ALCANZAR, EstadoLogro.NO_APLICA
_COMPLETO = object()


def miembro(
    integrante_id: str = "x",
    sexo: str = "M",
    *,
    anios: int = 0,
    meses: int = 0,
    dias: int = 0,
    parentesco: str = "JEFE",
    **atributos: bool,
) -> Miembro:
    nacimiento = nacido(HOY, anios=anios, meses=meses, dias=dias)
    return Miembro(integrante_id, nacimiento, sexo, parentesco, **atributos)


def evaluar_familia(
    miembros: list[Miembro],
    respuestas: dict[str, RespuestasIntegrante] | None = None,
    *,
    hogar: RespuestasHogar | None = None,
    desplazada: bool = True,
    **opciones: Any,
) -> dict[str, Resultado]:
    """Members answer everything well unless `respuestas` says otherwise."""
    if respuestas is None:
        respuestas = {m.integrante_id: integrante_completo() for m in miembros}
    linea_base = LineaBase(hogar=hogar or hogar_completo(), integrantes=respuestas)
    return evaluar(linea_base, miembros, hoy=HOY, desplazada=desplazada, **opciones)


def uno(
    logro: str,
    m: Miembro,
    respuestas: dict[str, Any] | None = None,
    hogar: dict[str, Any] | None = None,
    **opciones: Any,
) -> Resultado:
    """One LB of a one-member family, the member's answers `respuestas` over the complete ones."""
    r = integrante_completo(**(respuestas or {}))
    familia = evaluar_familia(
        [m], {m.integrante_id: r}, hogar=hogar_completo(**(hogar or {})), **opciones
    )
    return familia[logro]


# --- the table covers the catalog --------------------------------------------------------------


def test_the_rules_table_covers_exactly_the_45_codes_of_the_catalog():
    codigos = [lb.codigo for lb in catalogo().logros_basicos]
    assert len(REGLAS) == 45
    assert sorted(r.codigo for r in REGLAS) == sorted(codigos)
    resultado = evaluar_familia([miembro(anios=30)])
    assert list(resultado) == codigos  # catalog order
    assert all(r.logro == codigo for codigo, r in resultado.items())


def test_every_question_feeds_a_rule_and_every_rule_reads_real_questions():
    preguntas = set(RespuestasHogar.model_fields) | set(RespuestasIntegrante.model_fields)
    leidas = {p for regla in REGLAS for p in regla.preguntas}
    assert leidas == preguntas
    por_logro = {r.codigo: r for r in REGLAS}
    for campo, info in {
        **RespuestasHogar.model_fields,
        **RespuestasIntegrante.model_fields,
    }.items():
        # each question's description names the LB that read it, and those rules list it
        nombrados = {c.strip() for c in (info.description or "").split(".")[0].split(",")}
        assert nombrados == {r.codigo for r in REGLAS if campo in r.preguntas}, campo
        assert all(campo in por_logro[c].preguntas for c in nombrados)


# --- ages --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nacimiento", "hoy", "anios", "meses"),
    [
        (date(2020, 6, 15), date(2024, 6, 14), 3, 47),
        (date(2020, 6, 15), date(2024, 6, 15), 4, 48),
        (date(2020, 2, 29), date(2021, 2, 28), 0, 11),  # no 29 February: reached on 1 March
        (date(2020, 2, 29), date(2021, 3, 1), 1, 12),
        (date(2024, 1, 31), date(2024, 2, 29), 0, 0),
        (date(2024, 1, 31), date(2024, 3, 1), 0, 1),
        (date(2024, 6, 15), date(2024, 6, 15), 0, 0),
    ],
)
def test_ages_in_completed_years_and_months(nacimiento, hoy, anios, meses):
    assert edad_en_anios(nacimiento, hoy) == anios
    assert edad_en_meses(nacimiento, hoy) == meses


def test_nacido_puts_the_birthday_where_the_tests_say():
    assert edad_en_anios(nacido(HOY, anios=18), HOY) == 18
    assert edad_en_anios(nacido(HOY, anios=18, dias=-1), HOY) == 17
    assert edad_en_meses(nacido(HOY, meses=6, dias=-1), HOY) == 5
    assert nacido(HOY, meses=6, dias=-1) == date(2023, 12, 16)  # 5 months and 30 days old


# --- applicability at the boundary ages --------------------------------------------------------

# (LB, sex, (years, months, days past that birthday), attributes, answers, household, expected)
LIMITES = [
    ("LB2", "H", (18, 0, -1), {}, {}, {}, N),
    ("LB2", "H", (18, 0, 0), {}, {}, {}, A),
    ("LB2", "H", (50, 0, 0), {}, {}, {}, A),
    ("LB2", "H", (51, 0, -1), {}, {}, {}, A),
    ("LB2", "H", (51, 0, 0), {}, {}, {}, N),
    ("LB2", "M", (30, 0, 0), {}, {}, {}, N),
    ("LB2", "H", (18, 0, 0), {}, {"libreta_militar": False}, {}, P),
    ("LB4", "M", (60, 0, -1), {}, {}, {}, N),
    ("LB4", "M", (60, 0, 0), {}, {}, {}, A),
    ("LB4", "M", (60, 0, 0), {}, {"fuentes_ingreso": []}, {}, P),
    ("LB5", "H", (15, 0, -1), {}, {}, {}, N),
    ("LB5", "H", (15, 0, 0), {}, {}, {}, A),
    ("LB6", "H", (15, 0, -1), {}, {"apoyo_laboral": "ACCEDE"}, {}, N),
    ("LB6", "H", (15, 0, 0), {}, {"apoyo_laboral": "ACCEDE"}, {}, A),
    ("LB8", "M", (5, 0, -1), {}, {}, {}, A),
    ("LB8", "M", (5, 0, 0), {}, {}, {}, N),
    ("LB8", "M", (0, 0, 10), {}, {"asistencia_educativa": "NO_ASISTE"}, {}, P),
    ("LB9", "H", (5, 0, -1), {}, {}, {}, N),
    ("LB9", "H", (5, 0, 0), {}, {}, {}, A),
    ("LB9", "H", (18, 0, -1), {}, {}, {}, A),
    ("LB9", "H", (18, 0, 0), {}, {}, {}, N),
    ("LB9", "H", (5, 0, -1), {"discapacidad": True}, {}, {}, N),
    ("LB9", "H", (23, 0, -1), {"discapacidad": True}, {}, {}, A),
    ("LB9", "H", (23, 0, 0), {"discapacidad": True}, {}, {}, N),
    ("LB10", "M", (18, 0, -1), {}, {}, {}, N),
    ("LB10", "M", (18, 0, 0), {}, {}, {}, A),
    ("LB10", "M", (66, 0, -1), {}, {}, {}, A),
    ("LB10", "M", (66, 0, 0), {}, {}, {}, N),
    ("LB12", "H", (15, 0, -1), {}, {}, {}, A),
    ("LB12", "H", (15, 0, 0), {}, {}, {}, N),
    ("LB15", "M", (12, 0, -1), {}, {}, {}, N),
    ("LB15", "M", (12, 0, 0), {}, {}, {}, A),
    ("LB16", "H", (0, 12, -1), {}, {}, {}, N),
    ("LB16", "H", (0, 12, 0), {}, {}, {}, A),
    ("LB16", "H", (6, 0, -1), {}, {}, {}, A),
    ("LB16", "H", (6, 0, 0), {}, {}, {}, N),
    ("LB18", "M", (10, 0, -1), {}, {}, {}, A),
    ("LB18", "M", (10, 0, 0), {}, {}, {}, N),
    ("LB19", "M", (25, 0, -1), {}, {}, {}, N),
    ("LB19", "M", (25, 0, 0), {}, {}, {}, A),
    ("LB19", "M", (70, 0, -1), {}, {}, {}, A),
    ("LB19", "M", (70, 0, 0), {}, {}, {}, N),
    ("LB19", "H", (50, 0, -1), {}, {}, {}, N),
    ("LB19", "H", (50, 0, 0), {}, {}, {}, A),
    ("LB19", "H", (85, 0, 0), {}, {}, {}, A),
    ("LB19", "H", (60, 0, 0), {}, {"tamizaje_cuello_uterino": None}, {}, A),  # not his
    ("LB23", "M", (0, 6, -1), {}, {}, {}, A),  # 5 months and 30 days
    ("LB23", "M", (0, 6, 0), {}, {}, {}, N),
    ("LB37", "M", (6, 0, -1), {}, {}, {}, A),
    ("LB37", "M", (6, 0, 0), {}, {}, {}, N),
    # the requirement, not the applicability, changes at these birthdays
    ("LB1", "M", (7, 0, -1), {}, {"documentos": ["REGISTRO_CIVIL"]}, {}, A),
    ("LB1", "M", (7, 0, 0), {}, {"documentos": ["REGISTRO_CIVIL"]}, {}, P),
    ("LB1", "M", (18, 0, -1), {}, {"documentos": ["TARJETA_IDENTIDAD"]}, {}, A),
    ("LB1", "M", (18, 0, 0), {}, {"documentos": ["TARJETA_IDENTIDAD"]}, {}, P),
    ("LB1", "M", (18, 0, 0), {}, {"documentos": ["CONTRASENA"]}, {}, A),
    ("LB12", "H", (5, 0, -1), {}, {"trabajo_infantil": None}, {}, A),  # under 5: not asked
    ("LB12", "H", (5, 0, 0), {}, {"trabajo_infantil": None}, {}, P),
    ("LB12", "H", (9, 0, 0), {}, {"trabajo_infantil": True}, {}, P),
    ("LB16", "H", (0, 12, 0), {}, {"dosis_srp": 0}, {}, P),  # first SRP at 12 months
    ("LB16", "H", (5, 0, -1), {}, {"dosis_srp": 1, "refuerzos_polio_dpt": 1}, {}, A),
    ("LB16", "H", (5, 0, 0), {}, {"dosis_srp": 1, "refuerzos_polio_dpt": 1}, {}, P),
    ("LB16", "H", (2, 0, 0), {}, {"dosis_pentavalente": 2}, {}, P),
    ("LB19", "M", (50, 0, -1), {}, {"tamizaje_mama": None}, {}, A),
    ("LB19", "M", (50, 0, 0), {}, {"tamizaje_mama": None}, {}, P),
    ("LB19", "M", (70, 0, -1), {}, {"tamizaje_mama": "SIN_RESULTADO"}, {}, P),
    ("LB21", "M", (5, 0, -1), {}, {}, {"alimentacion_menores_5": False}, P),
    ("LB21", "M", (5, 0, 0), {}, {}, {"alimentacion_menores_5": False}, A),
]


@pytest.mark.parametrize(
    ("logro", "sexo", "edad", "atributos", "respuestas", "hogar", "esperado"),
    LIMITES,
    ids=[
        f"{c[0]}-{c[1]}-{c[2][0]}a{c[2][1]}m{c[2][2]:+d}d-{'-'.join(c[3])}-{'-'.join(c[4])}"
        f"-{'-'.join(c[5])}"
        for c in LIMITES
    ],
)
def test_boundary_ages(logro, sexo, edad, atributos, respuestas, hogar, esperado):
    anios, meses, dias = edad
    m = miembro("x", sexo, anios=anios, meses=meses, dias=dias, **atributos)
    resultado = uno(logro, m, respuestas, hogar)
    assert resultado.estado == esperado, resultado.explicacion
    assert resultado.explicacion.startswith(f"{logro} {esperado}")
    if logro in ("LB21", "LB37"):  # household LB
        assert resultado.integrantes == ()
    else:
        assert resultado.integrantes == (() if esperado == N else ("x",))


# --- applicability that depends on attributes or answers ---------------------------------------

CASOS = [
    # LB7: legalisation only where the family is owner, possessor or occupant
    ("LB7", {"tenencia_vivienda": "ARRIENDO", "tenencia_tierra": "NO_USA"}, {}, N),
    ("LB7", {"tenencia_vivienda": "USUFRUCTO", "tenencia_tierra": "ARRIENDO"}, {}, N),
    ("LB7", {"tenencia_vivienda": "POSESION_SIN_TITULO"}, {}, P),
    ("LB7", {"tenencia_vivienda": "OCUPACION_DE_HECHO"}, {}, P),
    ("LB7", {"tenencia_vivienda": "ARRIENDO", "tenencia_tierra": "POSESION_SIN_TITULO"}, {}, P),
    ("LB7", {"tenencia_vivienda": "COLECTIVA", "tenencia_tierra": "COLECTIVA"}, {}, A),
    ("LB7", {"tenencia_vivienda": "ARRIENDO", "tenencia_tierra": "PROPIA_CON_TITULO"}, {}, A),
    # LB44: only families with legal needs
    ("LB44", {"necesidades_juridicas": "NO_TIENE"}, {}, N),
    ("LB44", {"necesidades_juridicas": "SIN_ATENDER"}, {}, P),
    ("LB44", {"necesidades_juridicas": "ATENDIDAS"}, {}, A),
    # LB39: only with a member with a disability (none here)
    ("LB39", {"cuidado_conjunto_discapacidad": None}, {}, N),
    # LB6: only those who report the need
    ("LB6", {}, {"apoyo_laboral": "NO_LO_REQUIERE"}, N),
    ("LB6", {}, {"apoyo_laboral": None}, N),
    ("LB6", {}, {"apoyo_laboral": "SIN_ACCESO"}, P),
    # LB11: only who passed 9th grade and wishes to go on
    ("LB11", {}, {"grado_aprobado": 9, "desea_continuar_estudios": None}, N),
    ("LB11", {}, {"grado_aprobado": 9, "desea_continuar_estudios": False}, N),
    ("LB11", {}, {"grado_aprobado": 8, "desea_continuar_estudios": True}, N),
    ("LB11", {}, {"grado_aprobado": 9, "desea_continuar_estudios": True}, A),  # media
    ("LB11", {}, {"grado_aprobado": 9, "desea_continuar_estudios": True,
                  "asistencia_educativa": "NO_ASISTE"}, P),
    ("LB11", {}, {"grado_aprobado": 11, "desea_continuar_estudios": True}, P),  # formal again
    ("LB11", {}, {"grado_aprobado": 11, "desea_continuar_estudios": True,
                  "asistencia_educativa": "FORMACION_PARA_EL_TRABAJO"}, A),
    # LB22: pregnant (attribute) or breastfeeding (answer)
    ("LB22", {}, {"en_lactancia": None}, N),
    ("LB22", {}, {"en_lactancia": True}, A),
    ("LB22", {}, {"en_lactancia": True, "suplementos_nutricionales": False}, P),
    ("LB22", {"acceso_alimentos": False}, {"en_lactancia": True}, P),
    ("LB17", {}, {}, N),  # not pregnant
    ("LB20", {}, {}, N),  # no disability
]  # fmt: skip


@pytest.mark.parametrize(("logro", "hogar", "respuestas", "esperado"), CASOS)
def test_applicability_and_requirement_by_answers(logro, hogar, respuestas, esperado):
    resultado = uno(logro, miembro(anios=30), respuestas, hogar)
    assert resultado.estado == esperado, resultado.explicacion


@pytest.mark.parametrize(
    ("atributos", "logro", "respuestas", "esperado"),
    [
        ({"gestante": True}, "LB17", {}, A),
        ({"gestante": True}, "LB17", {"controles_prenatales": False}, P),
        ({"gestante": True}, "LB22", {}, A),
        ({"gestante": True}, "LB22", {"suplementos_nutricionales": None}, P),
        ({"discapacidad": True}, "LB20", {}, A),
        ({"discapacidad": True}, "LB20", {"ayudas_tecnicas": "REQUIERE_SIN_ACCESO"}, P),
        ({"discapacidad": True}, "LB20", {"rehabilitacion": False}, P),
        ({"discapacidad": True}, "LB39", {}, A),
    ],
)
def test_pregnancy_and_disability_come_from_enrollment(atributos, logro, respuestas, esperado):
    assert uno(logro, miembro(anios=30, **atributos), respuestas).estado == esperado


def test_lb9_school_or_alternative_system():
    def lb9(anios: int, discapacidad: bool = False, **respuestas: Any) -> EstadoLogro:
        return uno("LB9", miembro(anios=anios, discapacidad=discapacidad), respuestas).estado

    assert lb9(16, grado_aprobado=9, asistencia_educativa="NO_ASISTE") == N  # basic cycle done
    assert lb9(16, grado_aprobado=8, asistencia_educativa="NO_ASISTE") == P
    assert lb9(10, asistencia_educativa="EDUCACION_ALTERNATIVA") == P
    assert lb9(10, True, asistencia_educativa="EDUCACION_ALTERNATIVA") == A
    assert lb9(20, True, asistencia_educativa="EDUCACION_ALTERNATIVA") == A
    assert lb9(5, asistencia_educativa="ATENCION_INTEGRAL") == P  # transición is formal
    assert lb9(12, asistencia_educativa=None) == P


def test_nobody_fits_makes_member_lb_not_applicable():
    resultado = evaluar_familia([], {})
    por_integrante = {r.codigo for r in REGLAS if isinstance(r, ReglaIntegrantes)}
    assert {c for c, r in resultado.items() if r.estado == N} == por_integrante | {"LB37", "LB39"}
    assert "ningún integrante" in resultado["LB2"].explicacion


def test_lb5_needs_one_member_with_income_among_those_15_or_older():
    miembros = [miembro("a", "H", anios=40), miembro("b", "M", anios=38), miembro("c", anios=15)]
    sin = integrante_completo(ocupacion="BUSCA_TRABAJO", fuentes_ingreso=["SUBSIDIO_ESTATAL"])
    respuestas = {"a": sin, "b": sin, "c": sin}
    pendiente = evaluar_familia(miembros, respuestas)["LB5"]
    assert pendiente.estado == P and pendiente.integrantes == ("a", "b", "c")
    respuestas["b"] = integrante_completo(ocupacion="OFICIOS_DEL_HOGAR", fuentes_ingreso=["RENTAS"])
    alcanzado = evaluar_familia(miembros, respuestas)["LB5"]
    assert alcanzado.estado == A and alcanzado.integrantes == ("a", "b", "c")
    assert "integrante b" in alcanzado.explicacion and "RENTAS" in alcanzado.explicacion


def test_lb28_crowding_counts_members_and_other_residents_and_minors_sleeping_apart():
    adultos = [miembro(f"a{i}", anios=30) for i in range(3)]
    nino = miembro("n", anios=4)

    def lb28(miembros: list[Miembro], **hogar: Any) -> Resultado:
        return evaluar_familia(miembros, hogar=hogar_completo(**hogar))["LB28"]

    assert lb28(adultos, cuartos=1).estado == A  # 3 in 1 room
    assert lb28([*adultos, nino], cuartos=1).estado == P  # a birth can crowd the dwelling
    assert lb28(adultos, cuartos=1, otras_personas=1).estado == P
    assert lb28(adultos, cuartos=0).estado == P
    assert lb28([*adultos, nino], cuartos=2, ninos_duermen_separados=False).estado == P
    assert lb28([*adultos, nino], cuartos=2, ninos_duermen_separados=None).estado == P
    assert lb28(adultos, cuartos=2, ninos_duermen_separados=None).estado == A  # no minors
    assert lb28([nino], cuartos=1, ninos_duermen_separados=None).estado == A  # no adults


@pytest.mark.parametrize(
    ("logro", "hogar", "esperado"),
    [
        ("LB24", {"agua_potable": "FUENTE_TRATADA", "desagues": "SOLUCION_ALTERNATIVA"}, A),
        ("LB24", {"agua_potable": "FUENTE_SIN_TRATAR"}, P),
        ("LB25", {"basuras": "TRANSFORMA"}, A),
        ("LB25", {"basuras": "QUEMA"}, P),
        ("LB26", {"energia": "ALTERNATIVA"}, A),
        ("LB26", {"energia": "NINGUNA"}, P),
        ("LB27", {"espacios": ["BANO", "COCINA", "DORMITORIO"]}, P),
        ("LB29", {"pisos_de_tierra": True}, P),
        ("LB30", {"implementos_dormir": False}, P),
        ("LB31", {"comunicaciones": []}, P),
        ("LB31", {"comunicaciones": ["COMUNITARIO"]}, A),
        ("LB32", {"paredes": "TAPIA_ADOBE_BAHAREQUE", "techo": "PAJA_O_PALMA"}, A),
        ("LB32", {"paredes": "DESECHOS"}, P),
        ("LB32", {"techo": "DESECHOS"}, P),
        ("LB32", {"riesgo_estructural": True}, P),
        ("LB33", {"ventilacion_natural": False}, P),
        ("LB36", {"participa_programas_locales": False}, P),
        ("LB40", {"ahorro": "EN_CASA"}, P),
        ("LB40", {"cuota_de_ahorro": False}, P),
        ("LB41", {"servicios_financieros": "NO_CUMPLE_REQUISITOS"}, A),
        ("LB41", {"servicios_financieros": "SIN_ACCESO"}, P),
        ("LB42", {"credito_usura": True}, P),
        ("LB43", {"conoce_ruta_justicia": False}, P),
        ("LB14", {"accede_promocion_salud": False}, P),
        ("LB35", {"conoce_servicios_violencia": False}, P),
        ("LB38", {"dialogo_y_normas": False}, P),
    ],
)
def test_household_requirements(logro, hogar, esperado):
    resultado = uno(logro, miembro(anios=30), {}, hogar)
    assert resultado.estado == esperado, resultado.explicacion
    assert resultado.integrantes == ()


def test_lb34_reads_the_plan_familiar_flag():
    assert uno("LB34", miembro(anios=30)).estado == P
    assert uno("LB34", miembro(anios=30), plan_familiar=True).estado == A


def test_lb45_displaced_families_follow_up_every_ged_right():
    seguidos = dict.fromkeys(DerechosGED.model_fields, EstadoDerechoGED.EN_SEGUIMIENTO)
    assert uno("LB45", miembro(anios=30), desplazada=False).estado == N
    assert uno("LB45", miembro(anios=30), {}, {"ged": None}).estado == P
    assert uno("LB45", miembro(anios=30), {}, {"ged": seguidos}).estado == A
    sin = {**seguidos, "reparacion": EstadoDerechoGED.SIN_SEGUIMIENTO}
    resultado = uno("LB45", miembro(anios=30), {}, {"ged": sin})
    assert resultado.estado == P
    assert "hogar.ged.reparacion = SIN_SEGUIMIENTO" in resultado.explicacion
    parcial = {"reunificacion_familiar": EstadoDerechoGED.GOZA}
    assert uno("LB45", miembro(anios=30), {}, {"ged": parcial}).estado == P


# --- explanations ------------------------------------------------------------------------------


def test_explanations_name_the_member_and_the_answer():
    m = miembro("7f3c2a1b", "H", anios=24)
    resultado = uno("LB2", m, {"libreta_militar": False})
    assert resultado.explicacion == (
        "LB2 POR_ALCANZAR: integrante 7f3c2a1b (hombre, 24 años): sin libreta militar"
        " (integrantes.7f3c2a1b.libreta_militar = NO)"
    )
    sin_responder = uno("LB2", m, {"libreta_militar": None})
    assert sin_responder.estado == P
    assert "integrantes.7f3c2a1b.libreta_militar = sin respuesta" in sin_responder.explicacion
    alcanzado = uno("LB2", m)
    assert "integrante 7f3c2a1b" in alcanzado.explicacion
    assert "libreta_militar = SÍ" in alcanzado.explicacion
    bebe = uno("LB23", miembro("b1", anios=0, meses=3), {"lactancia_materna_exclusiva": False})
    assert "integrante b1 (mujer, 3 meses)" in bebe.explicacion
    assert "integrantes.b1.lactancia_materna_exclusiva = NO" in bebe.explicacion
    hogar = uno("LB24", m, {}, {"agua_potable": "FUENTE_SIN_TRATAR"})
    assert hogar.explicacion == (
        "LB24 POR_ALCANZAR: hogar: agua no potable (hogar.agua_potable = FUENTE_SIN_TRATAR)"
    )
    no_aplica = uno("LB17", m)
    assert no_aplica.explicacion.startswith("LB17 NO_APLICA:")


def test_only_the_pending_members_are_listed_and_explained():
    miembros = [miembro("a", "H", anios=20), miembro("b", "H", anios=30), miembro("c", anios=20)]
    respuestas = {
        "a": integrante_completo(libreta_militar=False),
        "b": integrante_completo(),
        "c": integrante_completo(libreta_militar=False),  # a woman: never read
    }
    resultado = evaluar_familia(miembros, respuestas)["LB2"]
    assert resultado.estado == P and resultado.integrantes == ("a",)
    assert "integrante a " in resultado.explicacion
    assert "integrante b " not in resultado.explicacion
    assert "integrante c " not in resultado.explicacion
    respuestas["a"] = integrante_completo()
    assert evaluar_familia(miembros, respuestas)["LB2"].integrantes == ("a", "b")


# --- services delivered ------------------------------------------------------------------------


def test_a_delivered_service_meets_the_lb_for_that_member():
    miembros = [miembro("n1", anios=3), miembro("n2", anios=2), miembro("m", anios=30)]
    fuera = integrante_completo(asistencia_educativa="NO_ASISTE")
    respuestas = {"n1": fuera, "n2": fuera, "m": integrante_completo()}
    assert evaluar_familia(miembros, respuestas)["LB8"].integrantes == ("n1", "n2")
    uno_solo = evaluar_familia(miembros, respuestas, servicios={"LB8": frozenset({"n1"})})["LB8"]
    assert uno_solo.estado == P and uno_solo.integrantes == ("n2",)
    ambos = evaluar_familia(miembros, respuestas, servicios={"LB8": frozenset({"n1", "n2"})})
    assert ambos["LB8"].estado == A and ambos["LB8"].integrantes == ("n1", "n2")
    assert "servicio prestado (servicios.LB8 ∋ n1)" in ambos["LB8"].explicacion
    familia = evaluar_familia(miembros, respuestas, servicios={"LB8": frozenset({FAMILIA})})
    assert familia["LB8"].estado == A


def test_household_services_use_the_family_id_and_never_make_an_lb_apply():
    servicios = {
        "LB24": frozenset({FAMILIA}),
        "LB2": frozenset({"x", FAMILIA}),
        "LB44": frozenset({FAMILIA}),
        "LB25": frozenset({"x"}),
    }
    hogar = {"desagues": "SIN_SISTEMA", "basuras": "QUEMA", "necesidades_juridicas": "NO_TIENE"}
    familia = evaluar_familia(
        [miembro("x", "M", anios=30)],
        {"x": integrante_completo()},
        hogar=hogar_completo(**hogar),
        servicios=servicios,
    )
    assert familia["LB24"].estado == A
    assert "servicios.LB24 ∋ familia" in familia["LB24"].explicacion
    assert familia["LB25"].estado == P  # a household LB needs the family id
    assert familia["LB2"].estado == N  # a woman: a service does not make it apply
    assert familia["LB44"].estado == N


def test_a_service_reaches_lb5_through_any_member():
    m = miembro("x", "H", anios=40)
    sin = {"ocupacion": "BUSCA_TRABAJO", "fuentes_ingreso": []}
    assert uno("LB5", m, sin).estado == P
    assert uno("LB5", m, sin, servicios={"LB5": frozenset({"x"})}).estado == A


# --- members without answers -------------------------------------------------------------------


def test_a_newborn_not_in_the_baseline_makes_the_lb_that_apply_to_babies_pending():
    madre, bebe = miembro("madre", anios=28), miembro("bebe", anios=0, dias=10)
    hogar = hogar_completo(pautas_crianza_humanizada=None, alimentacion_menores_5=None)
    antes = evaluar_familia([madre], hogar=hogar)
    assert all(r.estado != P for r in antes.values() if r.logro != "LB34")
    despues = evaluar_familia([madre, bebe], {"madre": integrante_completo()}, hogar=hogar)
    de_bebes = {"LB1", "LB3", "LB8", "LB13", "LB18", "LB23"}
    for logro in de_bebes:
        assert despues[logro].estado == P, logro
        assert despues[logro].integrantes == ("bebe",)
        assert "integrante bebe (mujer, 0 meses)" in despues[logro].explicacion
        assert "sin respuestas aún para este integrante" in despues[logro].explicacion
    assert despues["LB12"].estado == A  # a baby is asked nothing about work
    assert despues["LB37"].estado == P and despues["LB21"].estado == P  # not asked yet
    assert despues["LB16"].estado == N  # under 12 months
    cambiados = {c for c in despues if despues[c].estado != antes[c].estado}
    assert cambiados == de_bebes | {"LB12", "LB21", "LB37"}  # LB12: from NO_APLICA


def test_a_new_adult_without_answers_counts_for_attribute_lb_but_reports_no_need():
    familia = evaluar_familia(
        [miembro("a", "M", anios=40), miembro("nuevo", "H", anios=30)],
        {"a": integrante_completo()},
    )
    assert familia["LB2"].estado == P and familia["LB2"].integrantes == ("nuevo",)
    assert familia["LB6"].estado == N  # a need nobody reported
    assert familia["LB11"].estado == N
    assert familia["LB5"].estado == A  # the other adult works


def test_answers_of_members_no_longer_in_the_family_are_ignored():
    familia = evaluar_familia(
        [miembro("a", anios=40)],
        {"a": integrante_completo(), "se_fue": integrante_completo(libreta_militar=False)},
    )
    assert familia["LB2"].estado == N
    assert familia["LB1"].integrantes == ("a",)


def test_bad_members_are_refused():
    lb = LineaBase(hogar=hogar_completo())
    with pytest.raises(ValueError, match="repetido"):
        evaluar(lb, [miembro("a"), miembro("a")], hoy=HOY, desplazada=False)
    futuro = Miembro("a", date(2025, 1, 1), "M", "JEFE")
    with pytest.raises(ValueError, match="después"):
        evaluar(lb, [futuro], hoy=HOY, desplazada=False)


# --- the sample family -------------------------------------------------------------------------


@pytest.mark.parametrize("hoy", [HOY, date(2024, 2, 29), None])
def test_the_sample_family_has_its_known_45_statuses(hoy):
    linea_base, miembros, esperado = familia_ejemplo(hoy)
    resultado = evaluar(
        linea_base, miembros, hoy=hoy or date.today(), desplazada=DESPLAZADA_EJEMPLO
    )
    assert {c: r.estado for c, r in resultado.items()} == esperado
    assert list(esperado) == [lb.codigo for lb in catalogo().logros_basicos]
    assert resultado["LB1"].integrantes == ("hijo",)
    assert resultado["LB5"].integrantes == ("jefe", "conyuge", "hermana", "abuela")
    assert resultado["LB22"].integrantes == ("hermana",)
    assert resultado["LB24"].integrantes == ()
    with_plan = evaluar(
        linea_base, miembros, hoy=hoy or date.today(), desplazada=False, plan_familiar=True
    )
    assert with_plan["LB34"].estado == A and with_plan["LB45"].estado == N


def test_a_complete_family_reaches_every_applicable_lb():
    miembros = [
        miembro("p", "H", anios=40),
        miembro("m", "M", anios=35, gestante=True),
        miembro("h", "H", anios=8, discapacidad=True),
        miembro("b", "M", anios=1),
    ]
    resultado = evaluar_familia(miembros, plan_familiar=True)
    assert {r.estado for r in resultado.values()} == {A, N}
    assert {c for c, r in resultado.items() if r.estado == N} == {"LB4", "LB6", "LB11", "LB23"}


# --- the questionnaire -------------------------------------------------------------------------


def test_the_questionnaire_is_frozen_strict_and_versioned():
    lb = LineaBase(hogar=hogar_completo(), integrantes={"a": integrante_completo()})
    assert lb.version == VERSION == 1
    with pytest.raises(ValidationError):
        lb.hogar.cuartos = 3  # type: ignore[misc]
    datos = lb.model_dump(mode="json")
    assert LineaBase.model_validate(datos) == lb
    assert LineaBase.model_validate_json(lb.model_dump_json()) == lb
    assert datos["integrantes"]["a"]["documentos"] == [
        "CEDULA",
        "CONTRASENA",
        "REGISTRO_CIVIL",
        "TARJETA_IDENTIDAD",
    ]  # sets serialize sorted: the same answers give the same JSON
    for malo in (
        {**datos, "version": 2},
        {**datos, "notas": "vive con su tía"},
        {**datos, "hogar": {**datos["hogar"], "observaciones": "x"}},
        {**datos, "hogar": {**datos["hogar"], "cuartos": -1}},
        {**datos, "integrantes": {"Juan Pérez": {}}},
        {**datos, "integrantes": {"a": {"nombre": "Juan"}}},
        {**datos, "integrantes": {"a": {"grado_aprobado": 12}}},
        {**datos, "integrantes": {"a": {"dosis_pentavalente": 4}}},
        {**datos, "integrantes": {"a": {"documentos": ["PASAPORTE"]}}},
    ):
        with pytest.raises(ValidationError):
            LineaBase.model_validate(malo)


def test_no_question_accepts_free_text():
    def cadenas(nodo: Any, ruta: str = "") -> list[str]:
        libres = []
        if isinstance(nodo, dict):
            if nodo.get("type") == "string" and not ({"enum", "pattern", "const"} & set(nodo)):
                libres.append(ruta)
            for clave, valor in nodo.items():
                libres += cadenas(valor, f"{ruta}/{clave}")
        elif isinstance(nodo, list):
            for i, valor in enumerate(nodo):
                libres += cadenas(valor, f"{ruta}/{i}")
        return libres

    esquema = LineaBase.model_json_schema()
    assert cadenas(esquema) == []
    assert list(esquema["properties"]["integrantes"]["patternProperties"]) == [
        r"^[A-Za-z0-9_.@-]+$"
    ]


# --- follow-up changes -------------------------------------------------------------------------


@pytest.fixture
def base() -> LineaBase:
    return LineaBase(
        hogar=hogar_completo(ged=None),
        integrantes={"a": integrante_completo(), "b": RespuestasIntegrante(documentos=[])},
    )


def test_aplicar_cambios_reports_the_changed_question_paths(base):
    nueva, rutas = aplicar_cambios(
        base,
        {
            "integrantes": {"a": {"libreta_militar": False, "sabe_leer_escribir": True}},
            "hogar": {"agua_potable": "FUENTE_TRATADA", "cuartos": base.hogar.cuartos},
        },
    )
    assert rutas == ["hogar.agua_potable", "integrantes.a.libreta_militar"]  # model order
    assert nueva.hogar.agua_potable == "FUENTE_TRATADA"
    assert nueva.integrantes["a"].libreta_militar is False
    assert nueva.integrantes["a"].sabe_leer_escribir is True
    assert base.integrantes["a"].libreta_militar is True  # the old baseline is untouched
    assert aplicar_cambios(base, {}) == (base, [])


def test_aplicar_cambios_on_sets_sub_objects_and_members(base):
    nueva, rutas = aplicar_cambios(
        base,
        {
            "integrantes": {
                "b": {"documentos": ["REGISTRO_CIVIL"], "crecimiento_desarrollo": True},
                "nuevo": {"documentos": ["REGISTRO_CIVIL"]},
                "vacio": {},
            },
            "hogar": {
                "ged": {"reunificacion_familiar": "GOZA"},
                "espacios": list(reversed(Espacio)),  # the same set, another order
                "alimentacion_menores_5": None,
            },
        },
    )
    assert nueva.integrantes["b"].documentos == {Documento.REGISTRO_CIVIL}
    assert rutas == [
        "hogar.alimentacion_menores_5",
        "hogar.ged.reunificacion_familiar",
        "integrantes.b.documentos",
        "integrantes.b.crecimiento_desarrollo",
        "integrantes.nuevo.documentos",
        "integrantes.vacio",
    ]
    sin_ged, rutas = aplicar_cambios(nueva, {"hogar": {"ged": None}, "integrantes": {"a": None}})
    assert sin_ged.hogar.ged is None and "a" not in sin_ged.integrantes
    assert rutas[0] == "hogar.ged.reunificacion_familiar"
    assert "integrantes.a.libreta_militar" in rutas and len(rutas) == 1 + sum(
        v is not None for v in base.integrantes["a"].model_dump().values()
    )


@pytest.mark.parametrize(
    "cambios",
    [
        {"hogar": {"agua_potable": "DE_LA_LLUVIA"}},
        {"hogar": {"agua_potable": None}},  # a required household answer
        {"hogar": {"comentario": "x"}},
        {"hogar": None},
        {"integrantes": {"a": {"libreta_militar": "tal vez"}}},
        {"integrantes": {"a": {"dosis_srp": 3}}},
        {"integrantes": {"a": {"nombre": "Ana"}}},
        {"integrantes": {"Ana María": {"libreta_militar": True}}},
        {"integrantes": None},
        {"version": 2},
        {"notas": "x"},
        ["hogar"],
    ],
)
def test_aplicar_cambios_refuses_what_the_model_refuses(base, cambios):
    with pytest.raises(ValidationError):
        aplicar_cambios(base, cambios)


def test_cambios_feed_a_reevaluation(base):
    miembros = [miembro("a", "H", anios=30), miembro("b", anios=1)]
    antes = evaluar(base, miembros, hoy=HOY, desplazada=False)
    assert antes["LB24"].estado == A
    nueva, rutas = aplicar_cambios(base, {"hogar": {"desagues": Desague.SIN_SISTEMA}})
    assert rutas == ["hogar.desagues"]
    assert evaluar(nueva, miembros, hoy=HOY, desplazada=False)["LB24"].estado == P


def test_sample_module_helpers_build_valid_answers():
    assert hogar_completo(tenencia_vivienda=TenenciaVivienda.ARRIENDO).tenencia_tierra == (
        TenenciaTierra.NO_USA
    )
    assert integrante_completo(asistencia_educativa=AsistenciaEducativa.NO_ASISTE)
    assert hogar_completo().necesidades_juridicas == NecesidadesJuridicas.ATENDIDAS
