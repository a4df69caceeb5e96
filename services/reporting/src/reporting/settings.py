"""Reporting's settings: the shared ones plus how often the projection lag is refreshed."""

from __future__ import annotations

from juntos_web import ServiceSettings
from pydantic import AliasChoices, Field


class ReportingSettings(ServiceSettings):
    retraso_cada_segundos: float = Field(
        5.0,
        gt=0,
        validation_alias=AliasChoices("REPORTING_LAG_REFRESH_SECONDS", "retraso_cada_segundos"),
        description="How often /metrics' projection lag re-reads the newest event times",
    )
