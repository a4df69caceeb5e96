"""Offer's own settings: how to reach enrollment to match RUAF rows to JUNTOS members, and the
life of partner systems' tokens."""

from __future__ import annotations

from juntos_web import ServiceSettings
from pydantic import AliasChoices, Field, SecretStr


class OfferSettings(ServiceSettings):
    enrollment_url: str = Field(
        "http://127.0.0.1:8001",
        validation_alias=AliasChoices("OFFER_ENROLLMENT_URL", "enrollment_url"),
    )
    """Enrollment's base URL (its `POST /v1/familias/busqueda/lote` finds members by document)."""
    enrollment_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OFFER_ENROLLMENT_TOKEN", "enrollment_token")
    )
    """Bearer token offer presents to enrollment (an ENTIDAD or NACIONAL service account)."""
    enrollment_timeout_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias=AliasChoices("OFFER_ENROLLMENT_TIMEOUT", "enrollment_timeout_seconds"),
    )
    """Seconds one look-up request (up to 1,000 documents) may take before the import is 503."""
    enrollment_concurrencia: int = Field(
        8,
        ge=1,
        le=64,
        validation_alias=AliasChoices("OFFER_ENROLLMENT_CONCURRENCIA", "enrollment_concurrencia"),
    )
    """How many look-up requests (1,000 documents each) a RUAF import keeps in flight."""
    oauth_token_ttl_seconds: int = Field(
        900,
        ge=1,
        le=3600,
        validation_alias=AliasChoices("OFFER_OAUTH_TOKEN_TTL", "oauth_token_ttl_seconds"),
    )
    """Life of the tokens partner systems get for their client credentials (short: a revoked
    client's last token runs out soon)."""
