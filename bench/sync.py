"""Benchmark: end-of-day sync, server ingest rate, a bare baseline, 200 devices at once.

Prints one JSON line. Uses PostgreSQL at 127.0.0.1:5432 (a throwaway database) when it
answers, else a SQLite file; every server runs as a real process on loopback.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fieldkit.sync import admin
from fieldkit.sync.client import SyncClient, assign_case, enroll, run_sync
from fieldkit.sync.db import open_database
from fieldkit.sync.protocol import auth_header, new_nonce, now_ms, push_body, request_message

from fieldkit import services
from fieldkit.store import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import FAST_ARGON, sample_case, transfer_doc  # noqa: E402

PASSPHRASE = "bench passphrase"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the server answers its health check."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
    raise SystemExit("the benchmark server did not start")


def start_server(db: str, workers: int = 1) -> tuple[str, subprocess.Popen[bytes]]:
    """`fieldkit server` (one process, or `--workers N` sharing the database)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldkit.cli",
            "server",
            "--db",
            db,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        # The benchmark enrolls hundreds of laptops from one address within a minute.
        env={**os.environ, "FIELDKIT_SERVER_ENROLL_PER_MINUTE": "100000"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc)
    return url, proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, so uvicorn stops its workers and their signature-check helpers."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pg_database() -> str | None:
    """A throwaway PostgreSQL database, or None when PostgreSQL does not answer."""
    try:
        import psycopg

        name = f"fieldkit_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name
    except Exception:
        return None


def drop_pg(name: str) -> None:
    """Drop the throwaway database."""
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def laptop(home: Path, engine: Any, url: str, user: str) -> Store:
    """A new enrolled profile."""
    store = Store.create(
        home / f"{user}-{uuid.uuid4().hex[:8]}.fieldkit", PASSPHRASE, user, argon=FAST_ARGON
    )
    code = admin.enroll_code(engine, user)
    enroll(store, url, code.code, PASSPHRASE, argon=FAST_ARGON)
    return store


def end_of_day(home: Path, engine: Any, url: str) -> dict[str, Any]:
    """A worker's sync of 5,000 ops written that day, and the server's ingest rate."""
    sup = laptop(home, engine, url, "akhan")
    worker = laptop(home, engine, url, "jsmith")
    services.import_cases(sup, transfer_doc(sample_case("C-EOD")))
    assign_case(sup, "C-EOD", "jsmith")
    run_sync(sup)
    run_sync(worker)
    with worker.transaction():
        for n in range(5000):
            worker.record("C-EOD", "visit", f"v{n % 50}", {"notes": "x" * 200, "n": n})
    phases: dict[str, float] = {}
    marks: dict[str, float] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        marks.setdefault(phase, time.perf_counter())

    start = time.perf_counter()
    summary = run_sync(worker, progress)
    total = time.perf_counter() - start
    phases["push_s"] = round(marks.get("pull", start) - marks.get("push", start), 3)
    assert summary.pushed == 5000 and summary.waiting == 0, summary
    start = time.perf_counter()
    got = run_sync(sup)
    pull_s = time.perf_counter() - start
    assert got.pulled == 5000
    sup.close()
    worker.close()
    return {
        "end_of_day_5000_ops_s": round(total, 3),
        **phases,
        "supervisor_pull_5000_ops_s": round(pull_s, 3),
    }


def verify_floor_us(count: int = 2000) -> float:
    """The floor of a signature check: one bare Ed25519 verify, in microseconds (OpenSSL's,
    through `cryptography`: the floor the goals were set against, docs/decisions.md)."""
    from fieldkit.crypto import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    items = [(os.urandom(32).hex().encode(), b"") for _ in range(count)]
    items = [(m, key.sign(m)) for m, _ in items]
    start = time.perf_counter()
    for message, sig in items:
        public.verify(sig, message)
    return (time.perf_counter() - start) / count * 1e6


def first_sync(home: Path, engine: Any, url: str, cases: int = 50) -> dict[str, Any]:
    """A new laptop's first sync of a caseload, in process, beside its floor: hashing,
    checking the signature of and decrypting each op it receives."""
    admin.add_user(engine, "fresh", "worker", "akhan")
    sup = laptop(home, engine, url, "akhan")
    worker = laptop(home, engine, url, "fresh")
    for n in range(cases):
        case_id = f"C-FS{n}"
        services.import_cases(sup, transfer_doc(sample_case(case_id)))
        assign_case(sup, case_id, "fresh")
    run_sync(sup)
    start = time.perf_counter()
    summary = run_sync(worker)
    took = time.perf_counter() - start
    pulled = [op for op in worker.ops() if op.device_id != worker.device_id]
    keys = {d: k for d, k in worker.device_keys().items()}
    from fieldkit.crypto import ed25519_public_from_bytes

    parsed = {d: ed25519_public_from_bytes(k) for d, k in keys.items()}
    start = time.perf_counter()
    for op in pulled:
        op.compute_hash()
        parsed[op.device_id].verify(op.sig, op.hash.encode())  # OpenSSL's, as verify_floor_us
        worker.open_body(op)
    floor = time.perf_counter() - start
    worker.close()
    sup.close()
    return {
        "first_sync_cases": cases,
        "first_sync_ops": summary.pulled,
        "first_sync_s": round(took, 3),
        "first_sync_floor_hash_verify_decrypt_s": round(floor, 3),
        "first_sync_ratio_to_floor": round(took / floor, 2) if floor else None,
    }


def _cpu_s(pids: list[int]) -> float | None:
    """CPU time (user + system) of these processes so far, from /proc; None off Linux or
    when one cannot be read (PostgreSQL on another host)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _with_children(pid: int) -> list[int]:
    """A process and its descendants (the server's signature-check helpers), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def _backends(engine: Any) -> list[int]:
    """The PostgreSQL backends of the benchmark's database (none on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        return [
            int(pid)
            for (pid,) in conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
        ]


def _signed_push(store: Store, offset_ms: int, body: bytes) -> dict[str, str]:
    """The headers of a signed push of `body`, as the laptop's transport writes them."""
    ts, nonce = now_ms() + offset_ms, new_nonce()
    sig = store.device_sign_key.sign(request_message("POST", "/v1/push", ts, nonce, body))
    return {
        "content-type": "application/json",
        "authorization": auth_header(store.device_id, ts, nonce, sig),
    }


def ingest_rate(
    home: Path,
    engine: Any,
    url: str,
    server_pid: int | None = None,
    devices: int = 4,
    per: int = 2500,
) -> dict[str, Any]:
    """Ops/s one server process stores with every signature and chain link checked, and
    the CPU per op of the server process and of its PostgreSQL backends meanwhile.

    Each laptop's request bytes (body and signed headers) are made before the timer, as a
    laptop makes them on its own machine: the timed part is the requests alone, not the
    bench's four clients encoding JSON on the two cores the server and PostgreSQL use
    (docs/decisions.md)."""
    stores = []
    for i in range(devices):
        admin.add_user(engine, f"ing{i}", "worker", "akhan")
    sup = laptop(home, engine, url, "akhan")
    for i in range(devices):
        store = laptop(home, engine, url, f"ing{i}")
        case_id = f"C-ING{i}"
        services.import_cases(sup, transfer_doc(sample_case(case_id)))
        assign_case(sup, case_id, f"ing{i}")
        stores.append((store, case_id))
    run_sync(sup)
    requests: list[list[tuple[bytes, dict[str, str], int]]] = []
    for store, case_id in stores:
        run_sync(store)
        with store.transaction():
            for n in range(per):
                store.record(case_id, "visit", f"v{n % 20}", {"notes": "y" * 200, "n": n})
        ops = store.ops("local")
        with SyncClient(store) as client:
            client.hello()
            offset = client.offset_ms
        batches = [ops[i : i + 500] for i in range(0, len(ops), 500)]
        bodies = [push_body(batch) for batch in batches]
        requests.append(
            [
                (b, _signed_push(store, offset, b), len(o))
                for b, o in zip(bodies, batches, strict=True)
            ]
        )

    def push_all(sends: list[tuple[bytes, dict[str, str], int]]) -> int:
        with httpx.Client(base_url=url, timeout=120) as http:
            for body, headers, _count in sends:
                answer = http.post("/v1/push", content=body, headers=headers)
                answer.raise_for_status()
                assert all(r["status"] == "accepted" for r in answer.json()["results"])
        return sum(count for _b, _h, count in sends)

    server = _with_children(server_pid) if server_pid else []
    backends = _backends(engine)
    server_before, pg_before = _cpu_s(server), _cpu_s(backends)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(devices) as pool:
        count = sum(pool.map(push_all, requests))
    elapsed = time.perf_counter() - start
    server_after = _cpu_s(server)
    # A backend that started during the run counts whole (all its CPU is the run's).
    new = [pid for pid in _backends(engine) if pid not in backends]
    pg_after, pg_new = _cpu_s(backends), _cpu_s(new)
    for store, _ in stores:
        store.close()
    sup.close()

    def per_op(before: float | None, after: float | None, extra: float = 0.0) -> float | None:
        if before is None or after is None:
            return None
        return round((after - before + extra) / count * 1e6, 1)

    return {
        "rate": count / elapsed,
        "server_cpu_us": per_op(server_before, server_after) if server else None,
        "pg_cpu_us": per_op(pg_before, pg_after, pg_new or 0.0) if backends else None,
    }


BARE_APP = """
import sqlite3, sys
from fastapi import FastAPI, Request
import uvicorn
db = sqlite3.connect(sys.argv[1], check_same_thread=False, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS ops (op_id TEXT PRIMARY KEY, body BLOB)")
app = FastAPI()
@app.get("/healthz")
def health(): return {"status": "ok"}
@app.post("/bare")
async def bare(request: Request):
    ops = (await request.json())["ops"]
    db.execute("BEGIN")
    db.executemany("INSERT INTO ops VALUES (?, ?)", [(o["op_id"], o["body"]) for o in ops])
    db.execute("COMMIT")
    return {"n": len(ops)}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def bare_rate(home: Path, devices: int = 4, per: int = 2500) -> float:
    """Ops/s of a bare FastAPI endpoint inserting unchecked 400-byte ops into SQLite."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(home / "bare.sqlite"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, proc)
        body = base64.b64encode(os.urandom(300)).decode()  # 400 bytes as text
        # Request bytes made before the timer, as for the checked ingest.
        bodies = [
            [
                json.dumps(
                    {"ops": [{"op_id": str(uuid.uuid4()), "body": body} for _ in range(500)]}
                ).encode()
                for _b in range(per // 500)
            ]
            for _d in range(devices)
        ]
        headers = {"content-type": "application/json"}

        def push(sends: list[bytes]) -> int:
            with httpx.Client(base_url=url) as client:
                for content in sends:
                    client.post("/bare", content=content, headers=headers).raise_for_status()
            return per

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(devices) as pool:
            count = sum(pool.map(push, bodies))
        return count / (time.perf_counter() - start)
    finally:
        proc.kill()
        proc.wait()


def crowd_child() -> None:
    """One client process of the crowd: its laptops sync in threads from `start_at` on."""
    job = json.loads(sys.stdin.readline())
    stores = [Store.open(Path(p), PASSPHRASE) for p in job["paths"]]
    ready = time.process_time()
    # Started and its profiles open: the crowd's start is set once every process is here,
    # so no process's start-up (imports, 25 unlocks) runs among the others' syncs.
    print("ready", flush=True)
    job["start_at"] = float(sys.stdin.readline())
    late = time.time() - job["start_at"]

    def one(store: Store) -> float:
        time.sleep(max(0.0, job["start_at"] - time.time()))
        start = time.perf_counter()
        for attempt in range(5):
            try:
                run_sync(store)
                break
            except Exception:
                if attempt == 4:
                    raise
                time.sleep(0.2)
        return time.perf_counter() - start

    with concurrent.futures.ThreadPoolExecutor(len(stores)) as pool:
        latencies = list(pool.map(one, stores))
    waiting = [s.outbox_count() for s in stores]
    for store in stores:
        store.close()
    print(
        json.dumps(
            {
                "latencies": latencies,
                "waiting": waiting,
                "cpu_ready_s": ready,
                "cpu_syncs_s": time.process_time() - ready,
                "late_s": late,
            }
        )
    )


def many_devices(
    home: Path,
    engine: Any,
    db: str,
    count: int = 200,
    per: int = 20,
    server_workers: int = 4,
    client_processes: int = 8,
) -> dict[str, Any]:
    """`count` laptops syncing at once from `client_processes` processes against a
    `fieldkit server --workers N` on the same database: all complete, none lost, p95."""
    url, proc = start_server(db, workers=server_workers)
    try:
        return _crowd(home, engine, url, count, per, server_workers, client_processes)
    finally:
        stop_server(proc)


def _crowd(
    home: Path,
    engine: Any,
    url: str,
    count: int,
    per: int,
    server_workers: int,
    client_processes: int,
) -> dict[str, Any]:
    workers = [f"crowd{i}" for i in range(20)]
    for name in workers:
        admin.add_user(engine, name, "worker", "akhan")
    sup = laptop(home, engine, url, "akhan")
    for name in workers:
        code = admin.enroll_code(engine, name)
        first = Store.create(home / f"{name}-first.fieldkit", PASSPHRASE, name, argon=FAST_ARGON)
        enroll(first, url, code.code, PASSPHRASE, argon=FAST_ARGON)
        first.close()
        services.import_cases(sup, transfer_doc(sample_case(f"C-{name}")))
        assign_case(sup, f"C-{name}", name)
    run_sync(sup)
    sup.close()
    paths: list[str] = []
    expected: set[str] = set()
    for i in range(count):
        name = workers[i % len(workers)]
        store = laptop(home, engine, url, name)
        run_sync(store)
        with store.transaction():
            for n in range(per):
                store.record(f"C-{name}", "visit", f"d{i}-{n % 5}", {"notes": "z" * 100, "n": n})
        expected |= {op.op_id for op in store.ops("local")}
        paths.append(str(store.path))
        store.close()
    children = []
    for k in range(client_processes):
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "crowd-child"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None
        child.stdin.write(json.dumps({"paths": paths[k::client_processes]}).encode() + b"\n")
        child.stdin.flush()
        children.append(child)
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != b"ready":
            raise SystemExit("a crowd client process failed to start")
    start_at = time.time() + 0.5
    for child in children:
        assert child.stdin is not None
        child.stdin.write(f"{start_at}\n".encode())
        child.stdin.close()
    latencies: list[float] = []
    waiting: list[int] = []
    for child in children:
        assert child.stdout is not None
        out = child.stdout.read()
        if child.wait(timeout=600) != 0:
            raise SystemExit("a crowd client process failed")
        report = json.loads(out)
        latencies += report["latencies"]
        waiting += report["waiting"]
    wall = time.time() - start_at
    latencies.sort()
    with engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT op_id FROM ops").all()]
    return {
        "devices": count,
        "client_processes": client_processes,
        "server_workers": server_workers,
        "devices_complete": sum(1 for w in waiting if w == 0),
        "ops_lost": len(expected - set(stored)),
        "ops_duplicated": len(stored) - len(set(stored)),
        "p50_latency_s": round(latencies[int(0.50 * (len(latencies) - 1))], 3),
        "p95_latency_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3),
        "wall_s": round(wall, 3),
    }


def main(crowd: int = 200) -> None:
    """Run every figure against one server process and print one JSON line
    (`--crowd N`: N laptops at once, 0 to leave that figure out)."""
    os.environ.pop("FIELDKIT_SERVER_DB", None)
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
            admin.add_user(engine, "jsmith", "worker", "akhan")
            figures: dict[str, Any] = {
                "bench": "sync",
                "database": "postgresql" if pg else "sqlite",
            }
            figures.update(end_of_day(home, engine, url))
            figures.update(first_sync(home, engine, url))
            ingest = ingest_rate(home, engine, url, proc.pid)
            checked = ingest["rate"]
            bare = bare_rate(home)
            verify_us = verify_floor_us()
            figures["ingest_ops_per_s_per_process"] = round(checked)
            figures["bare_sqlite_ops_per_s"] = round(bare)
            figures["ingest_vs_bare_ratio"] = round(checked / bare, 3)
            figures["ingest_ratio_to_floor"] = round(bare / checked, 2)
            figures["ed25519_verify_us_per_op"] = round(verify_us, 1)
            figures["ingest_us_per_op"] = round(1e6 / checked, 1)
            figures["ingest_server_cpu_us_per_op"] = ingest["server_cpu_us"]
            figures["ingest_postgres_cpu_us_per_op"] = ingest["pg_cpu_us"]
            figures["ingest_us_per_op_ratio_to_verify_floor"] = round(1e6 / checked / verify_us, 2)
            bare_5000 = 5000 / bare
            figures["bare_insert_5000_ops_s"] = round(bare_5000, 3)
            figures["end_of_day_ratio_to_floor"] = round(
                figures["end_of_day_5000_ops_s"] / bare_5000, 2
            )
            figures["supervisor_pull_ratio_to_floor"] = round(
                figures["supervisor_pull_5000_ops_s"] / bare_5000, 2
            )
            if crowd:
                figures["concurrent"] = many_devices(home, engine, db, count=crowd)
        finally:
            stop_server(proc)
            engine.dispose()
            if pg:
                drop_pg(pg)
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:] == ["crowd-child"]:
        crowd_child()
    else:
        args = sys.argv[1:]
        main(int(args[args.index("--crowd") + 1]) if "--crowd" in args else 200)
