"""The Red JUNTOS reference catalog, loaded from the package's own copy of logros.yaml.

The YAML is the single source: code reads dimensions, Logros Básicos (LB), territorial basic
conditions (CBT) and the program's figures from it and never retypes them.
"""

from juntos_catalogo.catalogo import (
    Catalogo,
    CondicionTerritorial,
    Dimension,
    LogroBasico,
    catalogo,
)

__all__ = ["Catalogo", "CondicionTerritorial", "Dimension", "LogroBasico", "catalogo"]
