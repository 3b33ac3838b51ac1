"""Profile the server's push path in process: `authenticate` + the push handler, the very
functions `/v1/push` calls, on PostgreSQL (or SQLite), without HTTP in between.

    python tools/push_profile.py [--devices 4] [--per 2500] [--batch 500] [--profile]

Prints the ops/s of the loop and, with --profile, cProfile's top entries by total time.
"""

from __future__ import annotations

import cProfile
import importlib.util
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fieldkit.sync import admin
from fieldkit.sync.client import assign_case, run_sync
from fieldkit.sync.db import open_database
from fieldkit.sync.protocol import auth_header, new_nonce, now_ms, request_message
from fieldkit.sync.server.app import _push_json
from fieldkit.sync.server.service import SyncServer

from fieldkit import services

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import sample_case, transfer_doc  # noqa: E402

# The sync benchmark's helpers (its server, throwaway database and laptops), by path.
_spec = importlib.util.spec_from_file_location("bench_sync", ROOT / "bench" / "sync.py")
assert _spec is not None and _spec.loader is not None
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
drop_pg, laptop, pg_database = _bench.drop_pg, _bench.laptop, _bench.pg_database
start_server, stop_server = _bench.start_server, _bench.stop_server


def _arg(name: str, default: int) -> int:
    args = sys.argv[1:]
    return int(args[args.index(name) + 1]) if name in args else default


def main() -> None:
    devices, per, batch = _arg("--devices", 4), _arg("--per", 2500), _arg("--batch", 500)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        pg = pg_database()
        db = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg}"
            if pg
            else f"sqlite:///{home / 'server.sqlite'}"
        )
        engine = open_database(db)
        url, proc = start_server(db)
        try:
            admin.add_user(engine, "akhan", "supervisor")
            sup = laptop(home, engine, url, "akhan")
            stores = []
            for i in range(devices):
                admin.add_user(engine, f"ing{i}", "worker", "akhan")
                store = laptop(home, engine, url, f"ing{i}")
                services.import_cases(sup, transfer_doc(sample_case(f"C-ING{i}")))
                assign_case(sup, f"C-ING{i}", f"ing{i}")
                stores.append((store, f"C-ING{i}"))
            run_sync(sup)
            work: list[tuple[Any, list[bytes]]] = []
            for store, case_id in stores:
                run_sync(store)
                with store.transaction():
                    for n in range(per):
                        store.record(case_id, "visit", f"v{n % 20}", {"notes": "y" * 200, "n": n})
                ops = store.ops("local")
                bodies = [
                    json.dumps(
                        {"ops": [op.to_wire() for op in ops[i : i + batch]]}, separators=(",", ":")
                    ).encode()
                    for i in range(0, len(ops), batch)
                ]
                work.append((store, bodies))
        finally:
            stop_server(proc)
        service = SyncServer(engine)
        requests = []
        for store, bodies in work:
            for body in bodies:
                ts, nonce = now_ms(), new_nonce()
                sig = store.device_sign_key.sign(
                    request_message("POST", "/v1/push", ts, nonce, body)
                )
                requests.append((auth_header(store.device_id, ts, nonce, sig), body))
        # Interleave the devices' batches as the bench's threads would.
        order = [requests[i :: len(work[0][1])] for i in range(len(work[0][1]))]
        flat = [r for group in order for r in group]
        profiler = cProfile.Profile() if "--profile" in sys.argv else None
        cpu, start = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for header, body in flat:
            who = service.authenticate("POST", "/v1/push", header, body)
            _push_json(service, who, body)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        count = devices * per
        print(
            json.dumps(
                {
                    "ops": count,
                    "ops_per_s": round(count / wall),
                    "wall_s": round(wall, 3),
                    "cpu_s": round(cpu, 3),
                    "cpu_us_per_op": round(cpu / count * 1e6, 1),
                }
            )
        )
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(45)
        for store, _ in work:
            store.close()
        sup.close()
        engine.dispose()
        if pg:
            drop_pg(pg)


if __name__ == "__main__":
    main()
