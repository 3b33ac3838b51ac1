"""Appending accepted ops: one function, three strategies (SQLite insert; PostgreSQL
pipelined insert under the cursor lock; for big batches, a PostgreSQL COPY into a staging
table, then the pipelined append from it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldkit.sync.db import PG_CURSOR_LOCK
from fieldkit.sync.models import DEVICES, OPS
from fieldkit.sync.server.common import COPY_FROM
from sqlalchemy import Connection, insert, update

from fieldkit.changelog import OP_COLUMNS, Op

_OP_COLUMNS = (*OP_COLUMNS, "received_ms")


@dataclass(frozen=True)
class Head:
    """Where a device's chain stands after a push: written with the push's ops."""

    device_id: str
    last_seq: int
    head_hash: str


_COLUMNS_SQL = ", ".join(_OP_COLUMNS)
# A big batch is copied into the session's staging table first, outside the cursor lock.
# ON COMMIT DELETE ROWS empties it at the commit of every push that filled it, and the
# rows of a push rolled back were never visible: each push finds it empty.
_STAGE_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS ops_stage ON COMMIT DELETE ROWS AS"
    f" SELECT {_COLUMNS_SQL} FROM ops WITH NO DATA"
)
_COPY_SQL = f"COPY ops_stage ({_COLUMNS_SQL}) FROM STDIN (FORMAT BINARY)"
_FROM_STAGE_SQL = (
    f"INSERT INTO ops ({_COLUMNS_SQL}) SELECT {_COLUMNS_SQL} FROM ops_stage ORDER BY seq"
)
# The type of each appended column, in `_OP_COLUMNS` order, as the database has it (a
# binary COPY must send each value in its column's own binary format).
_COLUMN_TYPES_SQL = (
    "SELECT a.atttypid::int FROM unnest(%s::text[]) WITH ORDINALITY AS c(name, n)"
    " JOIN pg_attribute AS a ON a.attrelid = 'ops'::regclass AND a.attname = c.name"
    " ORDER BY c.n"
)
# Kept on a pooled connection once a push on it has committed: the column types, and
# so the staging table exists.
_TYPES_KEY = "fieldkit_ops_copy_types"


def _stage_and_commit(conn: Connection, ops: list[Op], now: int, head: Head | None) -> None:
    """PostgreSQL, a big batch: one binary COPY of the accepted ops into the session's
    staging table; then the device's new head, the cursor lock, the append from the
    staging table and the COMMIT in one pipeline.

    Binary, not text: psycopg formats a row in a third of the CPU (no hex for the body and
    signature, no escaping of text) and PostgreSQL parses none of it. Staged, not copied
    into `ops` under the lock: the lock is held for PostgreSQL's own work only (the insert
    and the commit), never across this thread's round trips, each of which waits for the
    GIL in a busy worker while every other push waits for the lock. The caller's
    transaction ends here (SQLAlchemy's own commit afterwards finds nothing to do)."""
    record = conn.connection
    raw = record.driver_connection
    assert raw is not None
    types: list[int] | None = record.info.get(_TYPES_KEY)
    with raw.cursor() as cur:
        if types is None:
            cur.execute(_STAGE_SQL)
            cur.execute(_COLUMN_TYPES_SQL, (list(_OP_COLUMNS),))
            types = [oid for (oid,) in cur.fetchall()]
            if len(types) != len(_OP_COLUMNS):
                raise RuntimeError("the ops table lacks a column this server appends")
        with cur.copy(_COPY_SQL) as copy:
            copy.set_types(types)
            for op in ops:
                copy.write_row((*op.row(), now))
        with raw.pipeline():
            if head is not None:
                cur.execute(_HEAD_SQL, (head.last_seq, head.head_hash, head.device_id))
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (PG_CURSOR_LOCK,))
            cur.execute(_FROM_STAGE_SQL)
            raw.commit()
    # Only once committed: a push rolled back after creating the table leaves none.
    record.info[_TYPES_KEY] = types


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
_HEAD_SQL = "UPDATE devices SET last_seq = %s, head_hash = %s WHERE device_id = %s"


def _append_and_commit(conn: Connection, ops: list[Op], now: int, head: Head | None) -> None:
    """PostgreSQL: move the device's head, take the cursor lock, append the batch and
    commit, in one pipeline.

    The statements reach PostgreSQL together, so the transaction-scoped lock is released
    by the COMMIT right behind the insert; no other push waits while this request's thread
    is descheduled, and the push pays one round trip for its writes. The caller's
    transaction ends here (SQLAlchemy's own commit afterwards finds nothing to do).
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    rows = [(*op.row(), now) for op in ops]
    columns = [list(column) for column in zip(*rows, strict=True)]
    with raw.pipeline(), raw.cursor() as cur:
        if head is not None:
            cur.execute(_HEAD_SQL, (head.last_seq, head.head_hash, head.device_id))
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (PG_CURSOR_LOCK,))
        cur.execute(_APPEND_SQL, columns)
        raw.commit()


def _move_head(conn: Connection, head: Head) -> None:
    conn.execute(
        update(DEVICES)
        .where(DEVICES.c.device_id == head.device_id)
        .values(last_seq=head.last_seq, head_hash=head.head_hash)
    )


def append(conn: Connection, pg: bool, ops: list[Op], now: int, head: Head | None) -> None:
    """Write a push's accepted ops (stamped `now`) and the device's new chain head (None:
    unchanged), in the push's transaction.

    Cursors are handed out in commit order, so a pull never skips an op that commits late
    (DESIGN.md "Sync").
    """
    if pg and 0 < len(ops) < COPY_FROM:
        # Head, lock, append and commit go to PostgreSQL in one pipeline: the lock is held
        # for PostgreSQL's own work only, never while this thread waits for the GIL in a
        # busy worker.
        _append_and_commit(conn, ops, now, head)
        return
    if pg and ops:
        _stage_and_commit(conn, ops, now, head)
        return
    if head is not None:
        _move_head(conn, head)
    if ops:
        rows: list[dict[str, Any]] = [
            {**dict(zip(OP_COLUMNS, op.row(), strict=True)), "received_ms": now} for op in ops
        ]
        conn.execute(insert(OPS), rows)
