"""Benchmark: a state-sized server. Ingest rate and pull latency on an empty PostgreSQL
database, then again after a simulated agency's history is generated in bulk (many
laptops, millions of ops, tens of thousands of cases), with the server's memory per
worker and the plans PostgreSQL chooses for a push's and a pull's queries.

    python bench/scale.py [--ops N] [--devices N] [--explain]

Prints one JSON line (`--explain` also prints the plans, from EXPLAIN ANALYZE, for
docs/server.md) and its progress on stderr. The issue's agency is 3,000 laptops and
10,000,000 ops (`--ops 10000000`: ~5 minutes of generation and an 8 GB database); the
default is 1,000,000 ops so that `make bench` finishes in a few minutes on a shared
2-core machine: the size used is in the line. Needs PostgreSQL at 127.0.0.1:5432 (a
throwaway database is created and dropped).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldkit.sync import admin  # noqa: E402
from fieldkit.sync.client import SyncClient, assign_case, run_sync  # noqa: E402
from fieldkit.sync.db import open_database  # noqa: E402
from fieldkit.sync.server.pull import SERIAL_PAGE  # noqa: E402

from bench.sync import drop_pg, laptop, pg_database, start_server, stop_server  # noqa: E402
from fieldkit import services  # noqa: E402
from fieldkit.changelog import GENESIS  # noqa: E402
from fieldkit.store import Store  # noqa: E402
from tests.conftest import sample_case, transfer_doc  # noqa: E402

PG_DSN = "host=127.0.0.1 port=5432 user=postgres"
CASES_PER_DEVICE = 13
# Envelopes per bulk case: its worker's and the agency recovery key's.
ENVELOPES = ("worker", "@recovery")
_OP_COLUMNS = (
    "op_id, device_id, seq, hlc, author, case_id, entity, entity_id, action, key_id, body,"
    " prev_hash, hash, sig, received_ms"
)
_OP_TYPES = [
    "text", "text", "int4", "text", "text", "text", "text", "text", "text", "text",
    "bytea", "text", "text", "bytea", "int8",
]  # fmt: skip


def log(line: str) -> None:
    """Progress on stderr: a 10,000,000-op run takes a while."""
    print(time.strftime("%H:%M:%S"), line, file=sys.stderr, flush=True)


def bulk_ops(ops: int, devices: int) -> Iterator[tuple[Any, ...]]:
    """An agency's history: op i is device i mod `devices`'s op i div `devices` + 1, on one
    of its 13 cases in turn. Hashes, signatures and bodies are placeholders of the real
    sizes (the measuring laptops never pull these ops)."""
    bodies = [hashlib.sha256(str(n).encode()).digest() * 9 for n in range(997)]
    for i in range(ops):
        dev = i % devices
        seq = i // devices
        digest = f"{i:064x}"
        yield (
            f"bulk-op-{i}",
            f"bulk-dev-{dev}",
            seq + 1,
            f"{1700000000000 + i:013d}.000000",
            f"bulk-user-{dev}",
            f"BULK-{dev * CASES_PER_DEVICE + seq % CASES_PER_DEVICE}",
            "visit",
            f"v{i % 7}",
            "put",
            "k",
            bodies[i % 997],
            f"{i - devices:064x}" if seq else GENESIS,
            digest,
            bodies[i % 991][:64],
            1700000000000 + i,
        )


def bulk_history(dsn: str, ops: int, devices: int) -> float:
    """`ops` ops of `devices` laptops on `devices × 13` cases, each case on a team with its
    key envelopes, loaded with COPY into `ops` with its indexes dropped, then the same
    indexes built again and the tables analysed. The table stays logged, so what is
    measured after is a normal table. Seconds taken."""
    start = time.perf_counter()
    cases = devices * CASES_PER_DEVICE
    with psycopg.connect(dsn) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        # The ops table's indexes and constraints, to build again after the load.
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'ops'::regclass AND contype IN ('p', 'u') ORDER BY contype"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ops'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'ops'::regclass)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for name, _ in constraints:
            conn.execute(f'ALTER TABLE ops DROP CONSTRAINT "{name}"')
        conn.execute(
            'INSERT INTO case_team (case_id, "user", role, added_ms) '
            f"SELECT 'BULK-' || c, 'bulk-user-' || (c / {CASES_PER_DEVICE}), 'worker', 0 "
            f"FROM generate_series(0, {cases - 1}) AS c"
        )
        conn.execute(
            "INSERT INTO users (name, role, created_ms) "
            f"SELECT 'bulk-user-' || d, 'worker', 0 FROM generate_series(0, {devices - 1}) AS d"
        )
        conn.execute(
            'INSERT INTO devices (device_id, "user", sign_pub, box_pub, enrolled_ms, last_seq,'
            " head_hash) SELECT 'bulk-dev-' || d, 'bulk-user-' || d,"
            " sha256(d::text::bytea), sha256(d::text::bytea), 0, 0, '' "
            f"FROM generate_series(0, {devices - 1}) AS d"
        )
        for recipient in ENVELOPES:
            who = "'bulk-user-' || (c / 13)" if recipient == "worker" else f"'{recipient}'"
            conn.execute(
                "INSERT INTO case_keys (case_id, key_id, recipient, generation, wrapped,"
                f" by_device, created_ms) SELECT 'BULK-' || c, 'k', {who}, 0,"
                " sha512(c::text::bytea), 'bulk-dev-' || (c / 13), 0"
                f" FROM generate_series(0, {cases - 1}) AS c"
            )
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY ops ({_OP_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(_OP_TYPES)
            for row in bulk_ops(ops, devices):
                copy.write_row(row)
        log(f"{ops:,} ops copied; building the indexes")
        for name, definition in constraints:
            conn.execute(f'ALTER TABLE ops ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    log("indexes built, analysed")
    return time.perf_counter() - start


def measure(home: Path, engine: Any, url: str, tag: str) -> dict[str, Any]:
    """Ingest rate (4 laptops pushing 2,500 ops each at once) and pull latency (a
    supervisor's pull of 5,000 ops; an idle pull with nothing new)."""
    admin.add_user(engine, f"sup-{tag}", "supervisor")
    sup = laptop(home, engine, url, f"sup-{tag}")
    workers: list[tuple[Store, str]] = []
    for i in range(4):
        name = f"w{i}-{tag}"
        admin.add_user(engine, name, "worker", f"sup-{tag}")
        store = laptop(home, engine, url, name)
        case_id = f"C-{tag}-{i}"
        services.import_cases(sup, transfer_doc(sample_case(case_id)))
        assign_case(sup, case_id, name)
        workers.append((store, case_id))
    run_sync(sup)
    batches = []
    for store, case_id in workers:
        run_sync(store)
        with store.transaction():
            for n in range(2500):
                store.record(case_id, "visit", f"v{n % 20}", {"notes": "y" * 200, "n": n})
        ops = store.ops("local")
        batches.append((store, [ops[i : i + 1000] for i in range(0, len(ops), 1000)]))

    def push_all(item: tuple[Store, list[Any]]) -> int:
        store, chunks = item
        with SyncClient(store) as client:
            client.hello()
            for chunk in chunks:
                client.post("/v1/push", {"ops": [op.to_wire() for op in chunk]})
        return sum(len(c) for c in chunks)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(batches)) as pool:
        count = sum(pool.map(push_all, batches))
    ingest = count / (time.perf_counter() - start)
    for store, _ in workers:
        store.close()
    # The supervisor pulls 2 of the 4 workers' 10,000 ops: 5,000 ops.
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"DELETE FROM case_team WHERE \"user\"='sup-{tag}' AND case_id IN "
            f"('C-{tag}-2', 'C-{tag}-3')"
        )
    start = time.perf_counter()
    got = run_sync(sup)
    pull = time.perf_counter() - start
    assert got.pulled >= 5000, got.pulled
    idle = []
    with SyncClient(sup) as client:
        client.hello()
        cursor = int(sup.meta("sync_cursor") or 0)
        for _ in range(20):
            start = time.perf_counter()
            client.post("/v1/pull", {"cursor": cursor, "limit": 2000})
            idle.append(time.perf_counter() - start)
    sup.close()
    return {
        "ingest_ops_per_s": round(ingest),
        "pull_5000_ops_s": round(pull, 3),
        "idle_pull_ms": round(statistics.median(idle) * 1000, 1),
    }


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory of the server process (the one worker) and of its children (the
    signature-check helpers), in MB."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []

    def vmrss(p: int) -> int:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    helpers = [vmrss(int(c)) for c in children]
    return {
        "worker": round(vmrss(pid) / 1024, 1),
        "helpers": round(sum(helpers) / 1024, 1),
        "helper_count": len(helpers),
    }


EXPLAINS = {
    "pull: the newest cursor": "SELECT max(cursor) FROM ops",
    "pull: a user's cases after a cursor": (
        "SELECT ops.* FROM ops JOIN case_team ON case_team.case_id = ops.case_id"
        " AND case_team.\"user\" = 'sup-full0' WHERE ops.cursor > 0 AND ops.cursor <= {high}"
        " AND ops.device_id != 'x' ORDER BY ops.cursor LIMIT 2000"
    ),
    "pull: a bulk worker's 13 cases after a cursor": (
        "SELECT ops.* FROM ops JOIN case_team ON case_team.case_id = ops.case_id"
        " AND case_team.\"user\" = 'bulk-user-7' WHERE ops.cursor > 0 AND ops.cursor <= {high}"
        " AND ops.device_id != 'x' ORDER BY ops.cursor LIMIT 2000"
    ),
    "pull: a bulk worker with nothing new, others' ops after its cursor": (
        "SELECT ops.* FROM ops JOIN case_team ON case_team.case_id = ops.case_id"
        " AND case_team.\"user\" = 'bulk-user-7' WHERE ops.cursor > {high} - 100"
        " AND ops.cursor <= {high} AND ops.device_id != 'x' ORDER BY ops.cursor LIMIT 5001"
    ),
    "pull: one case, backfill": (
        "SELECT ops.* FROM ops JOIN case_team ON case_team.case_id = ops.case_id"
        " AND case_team.\"user\" = 'sup-full0' WHERE ops.cursor > 0 AND ops.cursor <= {high}"
        " AND ops.case_id = 'C-full0-0' ORDER BY ops.cursor LIMIT 2000"
    ),
    "sync: the caller's key envelopes": ("SELECT * FROM case_keys WHERE recipient = 'bulk-user-7'"),
    "push: the device row, locked": (
        "SELECT * FROM devices WHERE device_id = 'bulk-dev-7' FOR UPDATE"
    ),
    "push: ops already stored": (
        "SELECT op_id, hash FROM ops WHERE op_id = ANY(ARRAY['bulk-op-1','bulk-op-2'])"
    ),
    "push: refused before": (
        "SELECT op_id, hash, reason, cause FROM rejected_ops"
        " WHERE op_id = ANY(ARRAY['bulk-op-1','bulk-op-2'])"
    ),
    "push: the caller's cases among the batch's": (
        "SELECT case_id FROM case_team WHERE \"user\" = 'bulk-user-7'"
        " AND case_id IN ('BULK-91', 'BULK-92')"
    ),
}


def explain(engine: Any) -> dict[str, str]:
    """The plans PostgreSQL chooses at this size."""
    plans = {}
    with engine.connect() as conn:
        high = conn.exec_driver_sql("SELECT max(cursor) FROM ops").scalar() or 0
    for name, sql in EXPLAINS.items():
        with engine.begin() as conn:
            if name.startswith("pull"):
                # As the server runs a page: without parallel workers.
                conn.exec_driver_sql(SERIAL_PAGE)
            # ANALYZE runs the query: the plan shows the rows and time it really took.
            analyze = "" if "FOR UPDATE" in sql else "ANALYZE, "
            rows = conn.exec_driver_sql(
                f"EXPLAIN ({analyze}BUFFERS OFF) " + sql.format(high=high)
            ).all()
        plans[name] = "\n".join(r[0] for r in rows)
    with engine.connect() as conn:
        sizes = conn.exec_driver_sql(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid))"
            " FROM pg_stat_user_indexes WHERE relname IN ('ops', 'case_team', 'case_keys')"
            " ORDER BY indexrelname"
        ).all()
    plans["indexes"] = "\n".join(f"{n}: {s}" for n, s in sizes)
    return plans


def best(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The best of each figure over the rounds: the one least disturbed by other work."""
    return {
        "ingest_ops_per_s": max(r["ingest_ops_per_s"] for r in rounds),
        "pull_5000_ops_s": min(r["pull_5000_ops_s"] for r in rounds),
        "idle_pull_ms": min(r["idle_pull_ms"] for r in rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    empty_pg, full_pg = pg_database(), pg_database()
    if empty_pg is None or full_pg is None:
        raise SystemExit("PostgreSQL does not answer at 127.0.0.1:5432")
    figures: dict[str, Any] = {"bench": "scale", "ops": args.ops, "devices": args.devices}
    plans: dict[str, str] = {}
    servers: dict[str, tuple[Any, str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        try:
            # Two servers side by side, one on an empty database and one on the agency's
            # history, measured in turns: a change in the machine's load falls on both.
            for kind, pg in (("empty", empty_pg), ("full", full_pg)):
                db = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg}"
                engine = open_database(db)
                url, proc = start_server(db)
                servers[kind] = (engine, url, proc)
                # A first round warms the server (imports, pools, caches).
                measure(home, engine, url, f"warm-{kind}")
            log(f"generating {args.ops:,} ops of {args.devices:,} laptops")
            figures["bulk_generate_s"] = round(
                bulk_history(f"{PG_DSN} dbname={full_pg}", args.ops, args.devices), 1
            )
            with servers["full"][0].connect() as conn:
                size = conn.exec_driver_sql("SELECT pg_database_size(current_database())")
                figures["database_mb"] = round((size.scalar() or 0) / 2**20)
            rounds: dict[str, list[dict[str, Any]]] = {"empty": [], "full": []}
            for n in range(args.rounds):
                for kind in ("empty", "full") if n % 2 == 0 else ("full", "empty"):
                    engine, url, _ = servers[kind]
                    got = measure(home, engine, url, f"{kind}{n}")
                    rounds[kind].append(got)
                    log(f"{kind} round {n}: {got}")
            empty, full = best(rounds["empty"]), best(rounds["full"])
            figures.update(empty=empty, full=full, rounds=rounds)
            figures["rss_mb_empty"] = rss_mb(servers["empty"][2].pid)
            figures["rss_mb_full"] = rss_mb(servers["full"][2].pid)
            figures["ingest_full_vs_empty"] = round(
                full["ingest_ops_per_s"] / empty["ingest_ops_per_s"], 3
            )
            figures["pull_full_vs_empty"] = round(
                full["pull_5000_ops_s"] / empty["pull_5000_ops_s"], 3
            )
            figures["idle_pull_full_vs_empty"] = round(
                full["idle_pull_ms"] / empty["idle_pull_ms"], 3
            )
            if args.explain:
                plans = explain(servers["full"][0])
        finally:
            for engine, _, proc in servers.values():
                stop_server(proc)
                engine.dispose()
            drop_pg(empty_pg)
            drop_pg(full_pg)
    print(json.dumps(figures))
    for name, plan in plans.items():
        print(f"\n-- {name}\n{plan}")


if __name__ == "__main__":
    main()
