"""The closed vocabularies of offer: levels of government, program reach, slot reasons, periods.

Values are the codes entities' systems send; keeping them in one module means the API schema,
the events and the RUAF reader cannot drift apart. LB and dimension codes are not retyped here:
they come from `juntos_catalogo.catalogo()`, municipality codes from `divipola()`.
"""

from __future__ import annotations

from enum import StrEnum

PERIODO = r"^\d{4}(-S[12])?$"
"""A slot period: a year ("2026") or a semester ("2026-S1"); periods sort as strings."""

ID = r"^[A-Za-z0-9_.@-]+$"
"""Pseudonymous ids of other services (families, members) and entity codes."""


class NivelGobierno(StrEnum):
    NACIONAL = "NACIONAL"
    DEPARTAMENTAL = "DEPARTAMENTAL"
    MUNICIPAL = "MUNICIPAL"
    PRIVADO = "PRIVADO"


class Alcance(StrEnum):
    """Whom one slot serves: a person (a place in a day-care) or a whole family (a home repair)."""

    INTEGRANTE = "INTEGRANTE"
    FAMILIA = "FAMILIA"


class Sexo(StrEnum):
    H = "H"
    M = "M"


class EstadoLogro(StrEnum):
    """Accompaniment's statuses of an LB on a family's board."""

    ALCANZADO = "ALCANZADO"
    POR_ALCANZAR = "POR_ALCANZAR"
    NO_APLICA = "NO_APLICA"


class MotivoLiberacion(StrEnum):
    RECHAZADO = "RECHAZADO"  # the family declined the slot
    VENCIDO = "VENCIDO"  # the slot was not taken up in time
    FAMILIA_EGRESADA = "FAMILIA_EGRESADA"  # the family left JUNTOS (enrollment's exit events)


class MotivoLiberacionManual(StrEnum):
    """The reasons a user gives; FAMILIA_EGRESADA only comes from enrollment's exits."""

    RECHAZADO = "RECHAZADO"
    VENCIDO = "VENCIDO"


class EstadoCupo(StrEnum):
    ASIGNADO = "ASIGNADO"
    LIBERADO = "LIBERADO"


class Vulnerabilidad(StrEnum):
    """The conditions the batch assignment counts, in the order it names them."""

    DESPLAZADA = "DESPLAZADA"
    DISCAPACIDAD = "DISCAPACIDAD"
    MENOR_DE_5 = "MENOR_DE_5"


class TipoDocumento(StrEnum):
    """Document types a RUAF row may carry (the same codes enrollment uses)."""

    CC = "CC"
    TI = "TI"
    RC = "RC"
    CE = "CE"
    PA = "PA"
    PEP = "PEP"
    PPT = "PPT"
    NUIP = "NUIP"
    MS = "MS"
    AS = "AS"
