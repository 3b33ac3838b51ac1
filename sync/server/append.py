"""Appending accepted ops: one function, three strategies (SQLite insert; PostgreSQL
pipelined insert under the cursor lock; PostgreSQL COPY for big batches)."""

from __future__ import annotations

from typing import Any

from fieldkit.sync.db import PG_CURSOR_LOCK
from fieldkit.sync.models import OPS
from fieldkit.sync.server.common import COPY_FROM
from sqlalchemy import Connection, insert

from fieldkit.changelog import OP_COLUMNS, Op

_OP_COLUMNS = (*OP_COLUMNS, "received_ms")


def _copy_ops(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: one COPY for a big batch of accepted ops, in the push's transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY ops ({', '.join(_OP_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in _OP_COLUMNS])


_OP_TYPES = {
    "seq": "bigint",
    "received_ms": "bigint",
    "body": "bytea",
    "sig": "bytea",
}
_APPEND_SQL = (
    f"INSERT INTO ops ({', '.join(_OP_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{_OP_TYPES.get(c, 'text')}[]" for c in _OP_COLUMNS)
    + ")"
)


def _append_and_commit(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: take the cursor lock, append the batch and commit, in one pipeline.

    The three statements reach PostgreSQL together, so the transaction-scoped lock is
    released by the COMMIT right behind the insert; no other push waits while this
    request's thread is descheduled. The caller's transaction ends here (SQLAlchemy's
    own commit afterwards finds nothing to do).
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = [[row[c] for row in rows] for c in _OP_COLUMNS]
    with raw.pipeline(), raw.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (PG_CURSOR_LOCK,))
        cur.execute(_APPEND_SQL, columns)
        raw.commit()


def _row(op: Op, now: int) -> dict[str, Any]:
    return {**{c: getattr(op, c) for c in OP_COLUMNS}, "received_ms": now}


def append(conn: Connection, pg: bool, rows: list[dict[str, Any]]) -> None:
    """Write a push's accepted ops, in the push's transaction.

    Cursors are handed out in commit order, so a pull never skips an op that commits late
    (DESIGN.md "Sync").
    """
    if pg and len(rows) < COPY_FROM:
        # Lock, append and commit go to PostgreSQL in one pipeline: the lock is held for
        # PostgreSQL's own work only, never while this thread waits for the GIL in a busy
        # worker.
        _append_and_commit(conn, rows)
    elif pg:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_CURSOR_LOCK})")
        _copy_ops(conn, rows)
    else:
        conn.execute(insert(OPS), rows)
