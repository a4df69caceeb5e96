"""The closed vocabularies of territorial: CBT ratings, plan and action states, participation.

Values are the codes apps and partners send; keeping them in one module means the API schema,
the domain rules and the events cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum


class EstadoCondicion(StrEnum):
    """How a municipality meets one Condición Básica Territorial (CBT)."""

    CUMPLE = "CUMPLE"
    CUMPLE_PARCIALMENTE = "CUMPLE_PARCIALMENTE"
    NO_CUMPLE = "NO_CUMPLE"


class Clasificacion(StrEnum):
    """A dimension of the capacity map (scoring: `domain.capacidades`, README)."""

    FORTALEZA = "FORTALEZA"
    EN_DESARROLLO = "EN_DESARROLLO"
    DEBILIDAD = "DEBILIDAD"
    SIN_LINEA_BASE = "SIN_LINEA_BASE"  # no LBT yet: the capacity is unknown


class EstadoPlan(StrEnum):
    BORRADOR = "BORRADOR"  # the municipality is writing it; private, may change
    APROBADO = "APROBADO"  # approved by the Consejo Municipal de Política Social; frozen


class EstadoAccion(StrEnum):
    PENDIENTE = "PENDIENTE"
    EN_CURSO = "EN_CURSO"
    CUMPLIDA = "CUMPLIDA"
    CANCELADA = "CANCELADA"


ACCION_CERRADA = frozenset({EstadoAccion.CUMPLIDA, EstadoAccion.CANCELADA})


class TipoSesion(StrEnum):
    ORDINARIA = "ORDINARIA"
    EXTRAORDINARIA = "EXTRAORDINARIA"


class NivelGobierno(StrEnum):
    """The level of government that renders accounts to the community."""

    NACIONAL = "NACIONAL"
    DEPARTAMENTAL = "DEPARTAMENTAL"
    MUNICIPAL = "MUNICIPAL"


class EstadoCompromiso(StrEnum):
    PENDIENTE = "PENDIENTE"
    EN_CURSO = "EN_CURSO"
    CUMPLIDO = "CUMPLIDO"
    INCUMPLIDO = "INCUMPLIDO"


COMPROMISO_CERRADO = frozenset({EstadoCompromiso.CUMPLIDO, EstadoCompromiso.INCUMPLIDO})


class TipoEspacio(StrEnum):
    """Community participation spaces of the program in a municipality."""

    ASAMBLEA_COMUNITARIA = "ASAMBLEA_COMUNITARIA"
    MESA_DE_TRABAJO = "MESA_DE_TRABAJO"
    COMITE_DE_CONTROL_SOCIAL = "COMITE_DE_CONTROL_SOCIAL"
    ENCUENTRO_DE_FAMILIAS = "ENCUENTRO_DE_FAMILIAS"
    OTRO = "OTRO"


class CategoriaVeeduria(StrEnum):
    """What a citizen's report or complaint is about (published; the text never is)."""

    ACCESO_A_OFERTA = "ACCESO_A_OFERTA"
    ATENCION_DEL_COGESTOR = "ATENCION_DEL_COGESTOR"
    CALIDAD_DEL_SERVICIO = "CALIDAD_DEL_SERVICIO"
    TRANSPARENCIA = "TRANSPARENCIA"
    OTRO = "OTRO"


class EstadoVeeduria(StrEnum):
    RECIBIDA = "RECIBIDA"
    EN_TRAMITE = "EN_TRAMITE"
    RESUELTA = "RESUELTA"
