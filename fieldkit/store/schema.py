"""The profile file: its SQLite schema, connection settings, opening an existing file, and
SQLite failures turned into one-line errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fieldkit.changelog import Op
from fieldkit.errors import ProfileMissing, StoreError
from fieldkit.i18n import _

SCHEMA_VERSION = 6
"""1: the first profiles. 2: `summaries`, a sealed per-case summary for `due` and `case
list`. 3: an entity's `doc` holds each value once (`entities.pack_state`) and the view is
read from it; `view` stays NULL. 4: key generations — a case may hold several keys
(`generation`, newest is current), and entity rows and drafts name the key they are sealed
with (`add_key_generations`). 5: an op's `hash` and `prev_hash` are kept as 32 raw bytes
(hex is derived on read, `ops_from_rows`), the unused `ops_case` index is dropped, and an
entity row names in `vop` the op whose sealed body holds the values its doc leaves out
(`entities.pack_state`). 6: the `ops_sync` and `ops_hlc` indexes become one,
`ops_sync_hlc` (a save writes one index fewer; the clock's start is read from it,
`LATEST_HLC`). `StoreBase._migrate` brings a profile up once it is unlocked
(docs/decisions.md, "Each value stored twice", "One index for the outbox and the clock")."""

UPGRADES = """
CREATE TABLE IF NOT EXISTS sealed_cache (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""
"""Added since the first schema; run on every open (a no-op once in place): `sealed_cache`
holds derived data (the dashboard's rows) as one sealed BLOB per key."""

OPS_SYNC_HLC = "CREATE INDEX IF NOT EXISTS ops_sync_hlc ON ops (sync_state, hlc)"
"""The outbox (the ops in one sync state, in clock order) and the clock's start
(`LATEST_HLC`) read one index; it was two (`ops_sync`, `ops_hlc`) before schema 6, each
written by every save."""

LATEST_HLC = (
    "WITH RECURSIVE states(state) AS (SELECT min(sync_state) FROM ops"
    " UNION ALL SELECT (SELECT min(sync_state) FROM ops WHERE sync_state > states.state)"
    " FROM states WHERE states.state IS NOT NULL)"
    " SELECT max((SELECT max(hlc) FROM ops WHERE sync_state = states.state)) FROM states"
)
"""`SELECT max(hlc) FROM ops` as a few seeks of `ops_sync_hlc`, not a scan of every op:
the latest timestamp of each sync state (there are five), the greatest of them."""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS key_slots (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS case_keys (
    case_id TEXT NOT NULL, key_id TEXT NOT NULL, wrapped BLOB NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0, shared INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, key_id));
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, user TEXT NOT NULL, sign_pub BLOB NOT NULL,
    box_pub BLOB, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ops (
    op_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL,
    hlc TEXT NOT NULL, author TEXT NOT NULL, case_id TEXT NOT NULL, entity TEXT NOT NULL,
    entity_id TEXT NOT NULL, action TEXT NOT NULL, key_id TEXT NOT NULL, body BLOB NOT NULL,
    prev_hash BLOB NOT NULL, hash BLOB NOT NULL, sig BLOB NOT NULL,
    sync_state TEXT NOT NULL DEFAULT 'local', note TEXT,
    UNIQUE (device_id, seq));
CREATE INDEX IF NOT EXISTS ops_sync_hlc ON ops (sync_state, hlc);
CREATE TABLE IF NOT EXISTS entities (
    case_id TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
    status TEXT, date TEXT, deleted INTEGER NOT NULL DEFAULT 0, doc BLOB NOT NULL,
    view BLOB, key_id TEXT, vop INTEGER,
    PRIMARY KEY (case_id, entity, entity_id));
CREATE TABLE IF NOT EXISTS summaries (case_id TEXT PRIMARY KEY, doc BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS drafts (
    draft_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, updated TEXT NOT NULL, doc BLOB NOT NULL,
    key_id TEXT);
"""
    + UPGRADES
)


MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("CREATE TABLE IF NOT EXISTS summaries (case_id TEXT PRIMARY KEY, doc BLOB NOT NULL)",),
    5: ("DROP INDEX IF EXISTS ops_case",),
    6: ("DROP INDEX IF EXISTS ops_hlc", "DROP INDEX IF EXISTS ops_sync", OPS_SYNC_HLC),
}
"""The statements that bring a profile of the version before to each version."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection to a new or existing profile file, its tables in place."""
    try:
        conn = sqlite3.connect(
            str(path), timeout=3.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(entities)")}
        if "view" not in columns:
            conn.execute("ALTER TABLE entities ADD COLUMN view BLOB")
        if "vop" not in columns:
            conn.execute("ALTER TABLE entities ADD COLUMN vop INTEGER")
    except sqlite3.DatabaseError as exc:
        raise store_error(exc, path) from None
    return conn


def open_existing(path: Path) -> sqlite3.Connection:
    """A connection to an existing profile file (never creates one)."""
    if not path.exists():
        raise ProfileMissing(
            _("no fieldkit profile at {path}; create one with `fieldkit init`").format(path=path)
        )
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode=rw",
            uri=True,
            timeout=3.0,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA temp_store=MEMORY")
        if (
            conn.execute("SELECT count(*) FROM sqlite_master WHERE name='key_slots'").fetchone()[0]
            != 1
        ):
            conn.close()
            raise StoreError(_("{path} is not a fieldkit profile").format(path=path))
        columns = {r[1] for r in conn.execute("PRAGMA table_info(entities)")}
        if "view" not in columns:  # a profile made before entity views were kept
            conn.execute("ALTER TABLE entities ADD COLUMN view BLOB")
        if "vop" not in columns:  # before schema 5; only ever NULL until the unlock migrates
            conn.execute("ALTER TABLE entities ADD COLUMN vop INTEGER")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='sealed_cache'").fetchone():
            conn.executescript(UPGRADES)
    except sqlite3.DatabaseError as exc:
        raise store_error(exc, path) from None
    return conn


def add_key_generations(conn: sqlite3.Connection) -> None:
    """Schema 4, inside the migration's transaction: case keys gain generations (the one key
    a case had is generation 0, the team's) and entity rows and drafts name that key. Each
    part is skipped where it is already in place, so a profile is brought up from any
    earlier version."""
    key_columns = {r[1] for r in conn.execute("PRAGMA table_info(case_keys)")}
    if "generation" not in key_columns:
        conn.execute("ALTER TABLE case_keys RENAME TO case_keys_v1")
        conn.execute(
            "CREATE TABLE case_keys (case_id TEXT NOT NULL, key_id TEXT NOT NULL,"
            " wrapped BLOB NOT NULL, generation INTEGER NOT NULL DEFAULT 0,"
            " shared INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (case_id, key_id))"
        )
        conn.execute(
            "INSERT INTO case_keys (case_id, key_id, wrapped, generation, shared)"
            " SELECT case_id, key_id, wrapped, 0, 1 FROM case_keys_v1"
        )
        conn.execute("DROP TABLE case_keys_v1")
    for table in ("entities", "drafts"):
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if "key_id" not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN key_id TEXT")
            conn.execute(
                f"UPDATE {table} SET key_id=(SELECT key_id FROM case_keys"
                f" WHERE case_keys.case_id={table}.case_id ORDER BY generation, key_id LIMIT 1)"
            )


def hashes_to_bytes(conn: sqlite3.Connection) -> None:
    """Schema 5, inside the migration's transaction: every op's hex `hash` and `prev_hash`
    become their 32 raw bytes (half the size; `ops_from_rows` gives hex back)."""
    rows = conn.execute(
        "SELECT rowid, prev_hash, hash FROM ops WHERE typeof(hash)='text'"
    ).fetchall()
    updates = []
    for rowid, prev, digest in rows:
        try:
            updates.append((bytes.fromhex(prev), bytes.fromhex(digest), rowid))
        except (TypeError, ValueError):
            continue  # not hex (altered): kept as it is, for verify to name
    conn.executemany("UPDATE ops SET prev_hash=?, hash=? WHERE rowid=?", updates)


def op_row(op: Op) -> tuple[Any, ...]:
    """An op's fields in `OP_COLUMNS` order for an INSERT, its two hashes as raw bytes."""
    row = op.row()
    return (*row[:11], bytes.fromhex(op.prev_hash), bytes.fromhex(op.hash), op.sig)


def hex_of(value: Any) -> str:
    """A stored hash as hex: raw bytes since schema 5, hex text before (or if not migrated)."""
    return value.hex() if isinstance(value, bytes) else str(value)


def ops_from_rows(rows: Iterable[Sequence[Any]]) -> list[Op]:
    """Ops from rows selected with `OP_SELECT`."""
    return [
        Op(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            hex_of(row[11]),
            hex_of(row[12]),
            row[13],
        )
        for row in rows
    ]


def store_error(exc: sqlite3.DatabaseError, path: Path) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            _("the profile {name} is in use by another fieldkit; close it and try again").format(
                name=path.name
            )
        )
    if "full" in text:
        return StoreError(_("the disk is full: nothing was saved; free some space and try again"))
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(
            _("{path} is damaged or is not a fieldkit profile; restore it from a backup").format(
                path=path
            )
        )
    if "readonly" in text or "unable to open" in text:
        return StoreError(
            _("cannot write to {path}; check its permissions and free space").format(path=path)
        )
    return StoreError(_("the profile store failed ({exc}); nothing was saved").format(exc=exc))
