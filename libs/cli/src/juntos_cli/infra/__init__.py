"""Real local servers (PostgreSQL, Kafka, Zipkin, the services) started from packages, no Docker."""

from juntos_cli.infra.kafka import LocalKafka
from juntos_cli.infra.postgres import LocalPostgres
from juntos_cli.infra.process import InfraError, MissingToolError, PortInUseError, StartupError
from juntos_cli.infra.service import LocalService
from juntos_cli.infra.zipkin import LocalZipkin

__all__ = [
    "InfraError",
    "LocalKafka",
    "LocalPostgres",
    "LocalService",
    "LocalZipkin",
    "MissingToolError",
    "PortInUseError",
    "StartupError",
]
