"""Appending accepted ops: one function, three strategies (SQLite insert; PostgreSQL
pipelined insert under the cursor lock; PostgreSQL COPY for big batches)."""

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


_COPY_SQL = f"COPY ops ({', '.join(_OP_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# The type of each appended column, in `_OP_COLUMNS` order, as the database has it (a
# binary COPY must send each value in its column's own binary format).
_COLUMN_TYPES_SQL = (
    "SELECT a.atttypid::int FROM unnest(%s::text[]) WITH ORDINALITY AS c(name, n)"
    " JOIN pg_attribute AS a ON a.attrelid = 'ops'::regclass AND a.attname = c.name"
    " ORDER BY c.n"
)
_TYPES_KEY = "fieldkit_ops_copy_types"


def _lock_and_copy(conn: Connection, ops: list[Op], now: int, head: Head | None) -> None:
    """PostgreSQL: move the device's head and take the cursor lock in one round trip (a
    pipeline), then one binary COPY for a big batch of accepted ops, in the push's
    transaction.

    Binary, not text: psycopg formats a row in a third of the CPU (no hex for the body and
    signature, no escaping of text) and PostgreSQL parses none of it, and both happen
    while this push holds the cursor lock. The column types are read once per pooled
    connection (in the same pipeline), so they follow the schema the connection sees."""
    record = conn.connection
    raw = record.driver_connection
    assert raw is not None
    types: list[int] | None = record.info.get(_TYPES_KEY)
    with raw.cursor() as cur, raw.cursor() as columns:
        with raw.pipeline():
            if types is None:
                columns.execute(_COLUMN_TYPES_SQL, (list(_OP_COLUMNS),))
            if head is not None:
                cur.execute(_HEAD_SQL, (head.last_seq, head.head_hash, head.device_id))
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (PG_CURSOR_LOCK,))
        if types is None:
            types = [oid for (oid,) in columns.fetchall()]
            if len(types) != len(_OP_COLUMNS):
                raise RuntimeError("the ops table lacks a column this server appends")
            record.info[_TYPES_KEY] = types
        with cur.copy(_COPY_SQL) as copy:
            copy.set_types(types)
            for op in ops:
                copy.write_row((*op.row(), now))


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
        _lock_and_copy(conn, ops, now, head)
        return
    if head is not None:
        _move_head(conn, head)
    if not ops:
        return
    if pg:
        _lock_and_copy(conn, ops, now, None)
    else:
        rows: list[dict[str, Any]] = [
            {**dict(zip(OP_COLUMNS, op.row(), strict=True)), "received_ms": now} for op in ops
        ]
        conn.execute(insert(OPS), rows)
