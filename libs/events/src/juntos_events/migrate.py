"""Schema migrations: the backbone's Alembic branch plus the service's own, applied together.

Every service keeps only its revision files (`<service>/migrations/versions`); the environment
and the backbone tables come from here, so no service copies an env.py.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS = Path(str(files("juntos_events") / "migrations"))


def alembic_config(service_versions: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions")]
    if service_versions is not None:
        locations.append(str(service_versions))
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    return config


async def upgrade(database_url: str, service_versions: Path | None = None) -> None:
    """Bring the database to the newest revision of every branch (`alembic upgrade heads`)."""
    config = alembic_config(service_versions)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, config)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")
