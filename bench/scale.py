"""Benchmark: a state-sized server. Ingest rate and pull latency on an empty PostgreSQL
database, then again after a simulated agency's history is generated in bulk (many
laptops, millions of ops, tens of thousands of cases), with the server's memory per
worker and the plans PostgreSQL chooses for a push's and a pull's queries.

    python bench/scale.py [--ops N] [--devices N] [--explain]

Prints one JSON line (`--explain` also prints the plans, for docs/server.md). The issue's
agency is 3,000 laptops and 10,000,000 ops; the default here is 1,000,000 ops so that a
run finishes in a few minutes on a shared 2-core machine: the size used is in the line.
Needs PostgreSQL at 127.0.0.1:5432 (a throwaway database is created and dropped).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldkit.sync import admin  # noqa: E402
from fieldkit.sync.client import SyncClient, assign_case, run_sync  # noqa: E402
from fieldkit.sync.db import open_database  # noqa: E402

from bench.sync import drop_pg, laptop, pg_database, start_server, stop_server  # noqa: E402
from fieldkit import services  # noqa: E402
from fieldkit.store import Store  # noqa: E402
from tests.conftest import sample_case, transfer_doc  # noqa: E402

CASES_PER_DEVICE = 13


def bulk_history(engine: Any, ops: int, devices: int) -> float:
    """`ops` ops of `devices` laptops on `devices × 13` cases, each case on a team, written
    by PostgreSQL itself (the ops are never pulled by the measuring laptops, so their
    hashes and signatures are placeholders). Seconds taken."""
    start = time.perf_counter()
    cases = devices * CASES_PER_DEVICE
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'INSERT INTO case_team (case_id, "user", role, added_ms) '
            f"SELECT 'BULK-' || c, 'bulk-user-' || (c / {CASES_PER_DEVICE}), 'worker', 0 "
            f"FROM generate_series(0, {cases - 1}) AS c"
        )
        d, k, last = devices, CASES_PER_DEVICE, ops - 1
        conn.exec_driver_sql(
            "INSERT INTO ops (op_id, device_id, seq, hlc, author, case_id, entity, entity_id,"
            " action, key_id, body, prev_hash, hash, sig, received_ms) "
            f"SELECT 'bulk-op-' || i, 'bulk-dev-' || (i %% {d}), i / {d} + 1,"
            " lpad((1700000000000 + i)::text, 13, '0') || '.000000',"
            f" 'bulk-user-' || (i %% {d}), 'BULK-' || ((i %% {d}) * {k} + (i / {d}) %% {k}),"
            " 'visit', 'v' || (i %% 7), 'put', 'k',"
            " convert_to(repeat(md5(i::text), 9), 'UTF8'),"
            f" md5((i - {d})::text) || md5((i - {d})::text),"
            " md5(i::text) || md5(i::text), convert_to(md5(i::text) || md5(i::text), 'UTF8'),"
            f" 1700000000000 + i FROM generate_series(0, {last}) AS i"
        )
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("ANALYZE")
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


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the server and its helpers)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


EXPLAINS = {
    "pull (a user's cases after a cursor)": (
        "EXPLAIN SELECT ops.* FROM ops JOIN case_team ON case_team.case_id = ops.case_id"
        " AND case_team.\"user\" = 'sup-full' WHERE ops.cursor > 0 AND ops.cursor <= {high}"
        " AND ops.device_id != 'x' ORDER BY ops.cursor LIMIT 2000"
    ),
    "pull (one case, backfill)": (
        "EXPLAIN SELECT ops.* FROM ops JOIN case_team ON case_team.case_id = ops.case_id"
        " AND case_team.\"user\" = 'sup-full' WHERE ops.cursor > 0 AND ops.cursor <= {high}"
        " AND ops.case_id = 'C-full-0' ORDER BY ops.cursor LIMIT 2000"
    ),
    "push: ops already stored": (
        "EXPLAIN SELECT op_id, hash FROM ops WHERE op_id = ANY(ARRAY['bulk-op-1','bulk-op-2'])"
    ),
    "push: refused before": (
        "EXPLAIN SELECT op_id, hash, reason, cause FROM rejected_ops"
        " WHERE op_id = ANY(ARRAY['bulk-op-1','bulk-op-2'])"
    ),
}


def explain(engine: Any) -> dict[str, str]:
    """The plans PostgreSQL chooses at this size."""
    plans = {}
    with engine.connect() as conn:
        high = conn.exec_driver_sql("SELECT max(cursor) FROM ops").scalar() or 0
        for name, sql in EXPLAINS.items():
            rows = conn.exec_driver_sql(sql.format(high=high)).all()
            plans[name] = "\n".join(r[0] for r in rows)
        sizes = conn.exec_driver_sql(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid))"
            " FROM pg_stat_user_indexes WHERE relname IN ('ops', 'case_team')"
            " ORDER BY indexrelname"
        ).all()
    plans["indexes"] = "\n".join(f"{n}: {s}" for n, s in sizes)
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    pg = pg_database()
    if pg is None:
        raise SystemExit("PostgreSQL does not answer at 127.0.0.1:5432")
    db = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg}"
    figures: dict[str, Any] = {"bench": "scale", "ops": args.ops, "devices": args.devices}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        engine = open_database(db)
        url, proc = start_server(db)
        try:
            empty = measure(home, engine, url, "empty")
            figures["empty"] = empty
            figures["rss_mb_empty"] = rss_mb(proc.pid)
            figures["bulk_generate_s"] = round(bulk_history(engine, args.ops, args.devices), 1)
            with engine.connect() as conn:
                size = conn.exec_driver_sql("SELECT pg_database_size(current_database())")
                figures["database_mb"] = round((size.scalar() or 0) / 2**20)
            full = measure(home, engine, url, "full")
            figures["full"] = full
            figures["rss_mb_per_worker"] = rss_mb(proc.pid)
            figures["ingest_full_vs_empty"] = round(
                full["ingest_ops_per_s"] / empty["ingest_ops_per_s"], 3
            )
            figures["pull_full_vs_empty"] = round(
                full["pull_5000_ops_s"] / empty["pull_5000_ops_s"], 3
            )
            figures["idle_pull_full_vs_empty"] = round(
                full["idle_pull_ms"] / empty["idle_pull_ms"], 3
            )
            plans = explain(engine) if args.explain else {}
        finally:
            stop_server(proc)
            engine.dispose()
            drop_pg(pg)
    print(json.dumps(figures))
    for name, plan in plans.items():
        print(f"\n-- {name}\n{plan}")


if __name__ == "__main__":
    main()
