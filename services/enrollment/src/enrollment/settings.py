"""Enrollment's own settings: the keys that protect personal data and the cogestor load."""

from __future__ import annotations

from juntos_web import ServiceSettings
from pydantic import AliasChoices, Field, SecretStr


class EnrollmentSettings(ServiceSettings):
    keks: SecretStr | None = Field(None, validation_alias=AliasChoices("ENROLLMENT_KEKS", "keks"))
    """Key-encryption keys (Fernet, comma-separated, newest first): they wrap each family's data
    key. Older keys stay listed until `juntos enrollment rotate-keys` has rewrapped everything."""
    document_pepper: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ENROLLMENT_DOCUMENT_PEPPER", "document_pepper")
    )
    """Secret of the keyed hash that finds a person by document without storing the number."""
    capacidad_cogestor: int = Field(
        200,
        ge=1,
        validation_alias=AliasChoices("ENROLLMENT_CAPACIDAD_COGESTOR", "capacidad_cogestor"),
    )
    """Default maximum families per cogestor (1.5 M families / ~7,700 cogestores ≈ 195)."""
    importadores_sisben: frozenset[str] = Field(
        frozenset({"dnp"}),
        validation_alias=AliasChoices("ENROLLMENT_IMPORTADORES_SISBEN", "importadores_sisben"),
    )
    """Partner entities whose systems may import SISBEN files (besides national staff)."""
    importadores_rupd: frozenset[str] = Field(
        frozenset({"uariv"}),
        validation_alias=AliasChoices("ENROLLMENT_IMPORTADORES_RUPD", "importadores_rupd"),
    )
    egresos_cada_segundos: float = Field(
        3600.0,
        gt=0,
        validation_alias=AliasChoices("ENROLLMENT_EGRESOS_CADA", "egresos_cada_segundos"),
    )
    """How often the 5-year exit job looks for families past their limit."""
