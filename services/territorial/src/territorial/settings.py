"""Territorial's own settings."""

from __future__ import annotations

from juntos_web import ServiceSettings
from pydantic import AliasChoices, Field


class TerritorialSettings(ServiceSettings):
    publicar_catalogo: bool = Field(
        True,
        validation_alias=AliasChoices("TERRITORIAL_PUBLICAR_CATALOGO", "publicar_catalogo"),
    )
    """Publish the DIVIPOLA catalogue (only what the store lacks) when the backbone starts."""
    reintento_catalogo_segundos: float = Field(
        5.0,
        gt=0,
        validation_alias=AliasChoices(
            "TERRITORIAL_REINTENTO_CATALOGO", "reintento_catalogo_segundos"
        ),
    )
    """Pause before trying the start-up publication again when the database is not there."""
