"""The server database: SQLite by default (no set-up), PostgreSQL by URL; Alembic migrations."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    String,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, OperationalError

from fieldkit.errors import FieldkitError
from fieldkit.hardening import private_dir, private_file

ENV_DB = "FIELDKIT_SERVER_DB"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
# Taken by every process that migrates or appends to the op log on PostgreSQL.
PG_MIGRATE_LOCK = 0x46_4B_4D  # "FKM"
PG_CURSOR_LOCK = 0x46_4B_43  # "FKC"


class ServerDbError(FieldkitError):
    """The server database could not be opened or migrated."""


def default_sqlite_path() -> Path:
    """Where `fieldkit server` keeps its SQLite file when no URL is given."""
    home = os.environ.get("FIELDKIT_HOME")
    base = Path(home).expanduser() if home else Path(platformdirs.user_data_dir("fieldkit"))
    return base / "server" / "fieldkit-server.sqlite"


def server_url(url: str | None = None) -> str:
    """--db, then FIELDKIT_SERVER_DB, then the default SQLite file."""
    chosen = url or os.environ.get(ENV_DB)
    if chosen:
        return chosen
    path = default_sqlite_path()
    private_dir(path.parent)
    return f"sqlite:///{path}"


def make_engine(url: str | None = None, pool_size: int = 10) -> Engine:
    """An engine with durable settings: WAL + synchronous=FULL and write locks up front."""
    resolved = server_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError:
        raise ServerDbError(f"{resolved!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database).expanduser())  # 0600 in a 0700 directory
        engine = create_engine(
            resolved,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the lock at BEGIN so two of them never deadlock on upgrade.
            if conn.get_execution_options().get("fieldkit_read"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No overflow: a connection above the pool size was opened for one request and closed
    # after it (a new PostgreSQL backend each time under load); a request now waits for
    # a pooled connection instead (a 503 after `pool_timeout`).
    engine = create_engine(resolved, pool_size=pool_size, max_overflow=0)
    _ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
IDLE_PING_S = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only when it sat idle for `IDLE_PING_S`.

    A connection is lost when the database restarts or drops it, which happens to idle
    connections; one in steady use needs no ping (`pool_pre_ping` paid a round trip on
    every checkout, two per push). A ping that fails hands out a new connection
    (`DisconnectionError`). A connection lost while in use fails that request with a
    503, and SQLAlchemy then replaces every pooled connection older than the failure."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection was lost: {exc}") from exc


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (safe with several processes)."""
    # local: Alembic adds ~150 ms (-X importtime) to everything that imports this module (a
    # laptop's sync, through the admin views); only a migration needs it
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATE_LOCK})")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise ServerDbError(f"cannot open the server database: {_first_line(exc)}") from None


def open_database(url: str | None = None, pool_size: int = 10) -> Engine:
    """An engine on a migrated database."""
    engine = make_engine(url, pool_size)
    migrate(engine)
    return engine


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def among(conn: Connection, key: Any, ids: list[str]) -> Any:
    """`key` is one of `ids`, as one bound value probed through `key`'s unique index:
    PostgreSQL `= ANY(ARRAY(SELECT json_array_elements_text(…)))`, SQLite a join with
    `json_each`. The ids travel as one JSON text: no list of thousands of parameters to
    parse and plan, and no array built element by element in Python (psycopg's array
    dumper cost more than the look-up itself for a push of 1,000 ops)."""
    doc = bindparam(None, json.dumps(ids), type_=String)
    if conn.dialect.name == "postgresql":
        listed = select(func.json_array_elements_text(cast(doc, JSON))).scalar_subquery()
        return key == any_(func.array(listed))
    rows: Any = select(literal_column("value")).select_from(func.json_each(doc))
    return key.in_(rows.scalar_subquery())
