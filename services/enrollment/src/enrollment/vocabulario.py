"""The closed vocabularies of enrollment: registries, members' attributes, states and reasons.

Values are the codes partner files and apps send; keeping them in one module means the import
validator, the API schema and the events cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum


class Registro(StrEnum):
    """The two sources of the target population."""

    SISBEN = "SISBEN"  # households at SISBEN level 1
    RUPD = "RUPD"  # displaced households (Registro Único de Población Desplazada)


class TipoDocumento(StrEnum):
    CC = "CC"  # cédula de ciudadanía
    TI = "TI"  # tarjeta de identidad
    RC = "RC"  # registro civil
    CE = "CE"  # cédula de extranjería
    PA = "PA"  # pasaporte
    PEP = "PEP"  # permiso especial de permanencia
    PPT = "PPT"  # permiso por protección temporal
    NUIP = "NUIP"  # número único de identificación personal
    MS = "MS"  # menor sin identificación (registry-assigned number)
    AS = "AS"  # adulto sin identificación (registry-assigned number)


# RC, TI, CC and NUIP share the NUIP: a child's number stays the same when the document changes.
NUIP_FAMILY = frozenset({TipoDocumento.CC, TipoDocumento.TI, TipoDocumento.RC, TipoDocumento.NUIP})


class Sexo(StrEnum):
    H = "H"  # hombre
    M = "M"  # mujer


class Parentesco(StrEnum):
    JEFE = "JEFE"
    CONYUGE = "CONYUGE"
    HIJO = "HIJO"
    NIETO = "NIETO"
    PADRE_MADRE = "PADRE_MADRE"
    HERMANO = "HERMANO"
    OTRO_PARIENTE = "OTRO_PARIENTE"
    NO_PARIENTE = "NO_PARIENTE"


class Etnia(StrEnum):
    NINGUNA = "NINGUNA"
    INDIGENA = "INDIGENA"
    AFROCOLOMBIANO = "AFROCOLOMBIANO"
    RAIZAL = "RAIZAL"
    PALENQUERO = "PALENQUERO"
    ROM = "ROM"


class EstadoFamilia(StrEnum):
    PRESELECCIONADA = "PRESELECCIONADA"
    VINCULADA = "VINCULADA"
    NO_VINCULADA = "NO_VINCULADA"
    RETIRADA = "RETIRADA"
    PROMOVIDA = "PROMOVIDA"
    EGRESADA_POR_TIEMPO = "EGRESADA_POR_TIEMPO"


SALIDAS = frozenset(
    {EstadoFamilia.RETIRADA, EstadoFamilia.PROMOVIDA, EstadoFamilia.EGRESADA_POR_TIEMPO}
)
"""Exit states: the family accepts no command but a national coordinator's reopening."""


class MotivoNoVinculacion(StrEnum):
    NO_ACEPTA = "NO_ACEPTA"
    NO_LOCALIZADA = "NO_LOCALIZADA"
    NO_RESIDE_EN_EL_MUNICIPIO = "NO_RESIDE_EN_EL_MUNICIPIO"
    OTRO = "OTRO"


class MotivoRetiro(StrEnum):
    VOLUNTARIO = "VOLUNTARIO"
    TRASLADO_AL_EXTERIOR = "TRASLADO_AL_EXTERIOR"
    FALLECIMIENTO_DE_TODOS = "FALLECIMIENTO_DE_TODOS"
    DUPLICADO = "DUPLICADO"


class MotivoIngresoIntegrante(StrEnum):
    REGISTRO = "REGISTRO"  # came with the household from SISBEN or RUPD
    NACIMIENTO = "NACIMIENTO"
    LLEGADA_AL_HOGAR = "LLEGADA_AL_HOGAR"
    OMITIDO_EN_REGISTRO = "OMITIDO_EN_REGISTRO"


class MotivoRetiroIntegrante(StrEnum):
    FALLECIMIENTO = "FALLECIMIENTO"
    SALIDA_DEL_HOGAR = "SALIDA_DEL_HOGAR"
    ERROR_DE_REGISTRO = "ERROR_DE_REGISTRO"


class MotivoReapertura(StrEnum):
    SALIDA_POR_ERROR = "SALIDA_POR_ERROR"
    REINGRESO_AUTORIZADO = "REINGRESO_AUTORIZADO"
    DECISION_JUDICIAL = "DECISION_JUDICIAL"
