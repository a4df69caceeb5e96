"""What every service reads from its environment, validated once at start-up.

OpenTelemetry is configured by the SDK's own variables (OTEL_SERVICE_NAME, OTEL_TRACES_EXPORTER,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_ZIPKIN_ENDPOINT, ...): they pass through untouched, so
operators use the names the OpenTelemetry documentation gives
(see `juntos_events.telemetry`).
"""

from __future__ import annotations

import os
from typing import Any, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ASYNC_DRIVER = "postgresql+asyncpg://"
_SYNC_SCHEMES = ("postgresql://", "postgres://")


def _env(name: str, field: str) -> Any:
    """Read from the environment variable `name`, or from `field` when built in code."""
    return AliasChoices(name, field)


class ServiceSettings(BaseSettings):
    """Settings shared by the five services; subclass only to add service-specific ones."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = Field(validation_alias=_env("SERVICE_NAME", "service_name"))
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:55432/postgres",
        validation_alias=_env("DATABASE_URL", "database_url"),
    )
    kafka_bootstrap: str = Field(
        "127.0.0.1:59092", validation_alias=_env("KAFKA_BOOTSTRAP", "kafka_bootstrap")
    )
    jwt_secret: SecretStr | None = Field(
        None, validation_alias=_env("JUNTOS_JWT_SECRET", "jwt_secret")
    )
    jwt_public_key: str | None = Field(
        None, validation_alias=_env("JUNTOS_JWT_PUBLIC_KEY", "jwt_public_key")
    )
    jwt_private_key: SecretStr | None = Field(
        None, validation_alias=_env("JUNTOS_JWT_PRIVATE_KEY", "jwt_private_key")
    )
    """Only where a service issues tokens itself (offer's partner clients), paired with the public
    key; with the HS256 dev secret no private key is needed."""
    jwt_issuer: str = Field("juntos", validation_alias=_env("JUNTOS_JWT_ISSUER", "jwt_issuer"))
    jwt_audience: str = Field(
        "juntos-api", validation_alias=_env("JUNTOS_JWT_AUDIENCE", "jwt_audience")
    )
    jwt_leeway_seconds: float = Field(
        30.0, ge=0, validation_alias=_env("JUNTOS_JWT_LEEWAY_SECONDS", "jwt_leeway_seconds")
    )
    run_backbone: bool = Field(True, validation_alias=_env("JUNTOS_RUN_BACKBONE", "run_backbone"))
    """Migrations, outbox relay and consumers in this process; off for HTTP-only test apps."""
    consumer_group: str | None = Field(
        None, validation_alias=_env("JUNTOS_CONSUMER_GROUP", "consumer_group")
    )
    """The Kafka consumer group (default: the service's name). A new group reads the topics
    from their start; the inbox stays keyed by the service, so nothing is applied twice."""
    readiness_timeout_seconds: float = Field(
        2.0, gt=0, validation_alias=_env("JUNTOS_READINESS_TIMEOUT", "readiness_timeout_seconds")
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Operators paste libpq URLs; the engine needs asyncpg, and any other driver is a bug."""
        for scheme in _SYNC_SCHEMES:
            if url.startswith(scheme):
                return _ASYNC_DRIVER + url.removeprefix(scheme)
        if not url.startswith(_ASYNC_DRIVER):
            raise ValueError(f"DATABASE_URL must start with {_ASYNC_DRIVER}")
        return url

    @field_validator("jwt_public_key")
    @classmethod
    def _pem_newlines(cls, key: str | None) -> str | None:
        """Environment files often carry a PEM on one line with literal '\\n'."""
        return key.replace("\\n", "\n") if key else None

    @field_validator("jwt_private_key")
    @classmethod
    def _private_pem_newlines(cls, key: SecretStr | None) -> SecretStr | None:
        return SecretStr(key.get_secret_value().replace("\\n", "\n")) if key else None

    @property
    def jwt_algorithm(self) -> str:
        """RS256 as soon as a public key is configured, so dev HS256 tokens stop working."""
        return "RS256" if self.jwt_public_key else "HS256"

    @property
    def jwt_verification_key(self) -> str | None:
        if self.jwt_public_key:
            return self.jwt_public_key
        return self.jwt_secret.get_secret_value() if self.jwt_secret else None

    @classmethod
    def for_service(cls, name: str, **values: Any) -> Self:
        """Settings of service `name`; a SERVICE_NAME in the environment still wins (replicas)."""
        values.setdefault("service_name", os.environ.get("SERVICE_NAME") or name)
        return cls(**values)
