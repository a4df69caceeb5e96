"""The Red JUNTOS reference catalog, loaded from the package's own data files.

logros.yaml is the single source for dimensions, Logros Básicos (LB), territorial basic
conditions (CBT) and the program's figures; divipola.csv for DANE's department and municipality
codes. Code reads them from here and never retypes them.
"""

from juntos_catalogo.catalogo import (
    Catalogo,
    CondicionTerritorial,
    Dimension,
    LogroBasico,
    catalogo,
)
from juntos_catalogo.divipola import Departamento, Divipola, Municipio, divipola

__all__ = [
    "Catalogo",
    "CondicionTerritorial",
    "Departamento",
    "Dimension",
    "Divipola",
    "LogroBasico",
    "Municipio",
    "catalogo",
    "divipola",
]
