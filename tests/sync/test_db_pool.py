"""The PostgreSQL connection pool: a connection idle long enough is pinged before it is
handed out, one in steady use is not (`db._ping_when_idle`)."""

from __future__ import annotations

import psycopg
import pytest
from fieldkit.sync import db
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from tests.sync.conftest import PG_DSN

pytestmark = pytest.mark.postgres


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())


def _terminate(pid: int) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_idle_connection_lost_to_the_database_is_replaced_before_use(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.make_engine(pg_url, pool_size=1)
    try:
        lost = _backend(engine)
        _terminate(lost)
        monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every pooled connection counts as idle
        assert _backend(engine) != lost  # the ping failed: a new connection, no error
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(pg_url: str) -> None:
    engine = db.make_engine(pg_url, pool_size=1)
    try:
        lost = _backend(engine)
        _terminate(lost)
        # Checked in a moment ago: handed out without a ping, so the loss shows on use...
        with pytest.raises(OperationalError):
            _backend(engine)
        # ...and the pool then replaces it.
        assert _backend(engine) != lost
    finally:
        engine.dispose()
