"""Real local servers (PostgreSQL, Kafka, Zipkin, Prometheus, services) from packages, no Docker."""

from juntos_cli.infra.kafka import LocalKafka
from juntos_cli.infra.postgres import LocalPostgres
from juntos_cli.infra.process import InfraError, MissingToolError, PortInUseError, StartupError
from juntos_cli.infra.prometheus import LocalPrometheus
from juntos_cli.infra.service import LocalService
from juntos_cli.infra.zipkin import LocalZipkin

__all__ = [
    "InfraError",
    "LocalKafka",
    "LocalPostgres",
    "LocalPrometheus",
    "LocalService",
    "LocalZipkin",
    "MissingToolError",
    "PortInUseError",
    "StartupError",
]
