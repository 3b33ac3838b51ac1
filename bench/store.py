"""Benchmark: a durable, encrypted, signed save of a visit-sized record, beside its floor
measured in the same run, and the bytes a new visit costs on disk. Prints one JSON line.

The floor is what a save cannot do without: one durable SQLite commit of a row of the
same size (WAL, synchronous=FULL, like the profile), one AES-256-GCM seal of the record
and one Ed25519 signature. The three are timed one after another in the same loop as the
saves (save, floor, plaintext save, …) so machine noise hits them alike. Not a test:
figures go to docs/performance.md.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldkit.crypto import ARGON2_DEFAULTS
from fieldkit.store import Store

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2000"))
NEW_VISITS = 500
FAST = {"memory_kib": 1024, "iterations": 1, "lanes": 1}


def visit_fields(n: int) -> dict[str, object]:
    """About 1 KB: what a signed home visit holds."""
    return {
        "date": "2026-11-24",
        "announced": False,
        "seen": ["p1", "p2"],
        "private_interview": ["p2"],
        "observed": ["p1"],
        "notes": "Home visit; caregiver present; kitchen stocked; infant clean and alert. " * 6,
        "next_steps": "Confirm grandmother's evening schedule; daycare referral.",
        "n": n,
    }


class Floor:
    """A durable commit of one row + one AES-GCM seal + one Ed25519 signature."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        self.aead = AESGCM(os.urandom(32))
        self.key = Ed25519PrivateKey.generate()
        self.plain = json.dumps(visit_fields(0)).encode()

    def save(self, n: int) -> None:
        nonce = os.urandom(12)
        sealed = nonce + self.aead.encrypt(nonce, self.plain, b"fieldkit|ops|body|x")
        self.key.sign(sealed[:32])
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT OR REPLACE INTO t (id, body) VALUES (?, ?)", (n % 50, sealed))
        self.conn.execute("COMMIT")


def timed_saves(
    stores: list[Store], floor: Floor, rounds: int
) -> tuple[list[list[float]], list[list[float]]]:
    """Wall and CPU seconds per save for each store and the floor, interleaved so noise hits
    all alike. CPU time leaves out the wait for the disk, which on a loaded machine is most
    of a durable commit and hides the work around it."""
    for store in stores:
        store.record("C-1", "case", "C-1", {"id": "C-1", "kind": "in-home-cps"})
    times: list[list[float]] = [[] for _ in range(len(stores) + 1)]
    cpu: list[list[float]] = [[] for _ in range(len(stores) + 1)]
    for n in range(rounds):
        fields = visit_fields(n)
        for store, bucket, cpu_bucket in zip(stores, times, cpu, strict=False):
            start, start_cpu = time.perf_counter(), time.thread_time()
            store.record("C-1", "visit", f"v{n % 50}", fields)
            bucket.append(time.perf_counter() - start)
            cpu_bucket.append(time.thread_time() - start_cpu)
        start, start_cpu = time.perf_counter(), time.thread_time()
        floor.save(n)
        times[-1].append(time.perf_counter() - start)
        cpu[-1].append(time.thread_time() - start_cpu)
    return times, cpu


def bytes_per_new_visit(tmp: Path) -> tuple[float, int]:
    """Growth of the profile file (after a checkpoint) per new visit, and the visit's size."""
    path = tmp / "size.fieldkit"
    store = Store.create(path, "bench passphrase", "bench", argon=FAST)
    store.record("C-1", "case", "C-1", {"id": "C-1", "kind": "in-home-cps"})
    for n in range(50):  # the first pages of every table and index exist
        store.record("C-1", "visit", f"warm{n}", visit_fields(n))
    store.checkpoint()
    before = path.stat().st_size
    for n in range(NEW_VISITS):
        store.record("C-1", "visit", f"new{n}", visit_fields(n))
    store.checkpoint()
    after = path.stat().st_size
    store.close()
    size = len(json.dumps(visit_fields(0), separators=(",", ":")))
    return (after - before) / NEW_VISITS, size


def p99(values: list[float]) -> float:
    """99th percentile."""
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.99) - 1]


def main() -> None:
    """Interleave encrypted, plaintext and floor rounds so machine noise hits all alike."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        enc = Store.create(tmp / "enc.fieldkit", "bench passphrase", "bench", argon=FAST)
        clear = Store.create(
            tmp / "clear.fieldkit",
            "bench passphrase",
            "bench",
            argon=FAST,
            benchmark_plaintext=True,
        )
        floor = Floor(tmp / "floor.sqlite")
        (enc_times, clear_times, floor_times), cpu = timed_saves([enc, clear], floor, ROUNDS)
        enc.close()
        clear.close()
        per_visit, visit_size = bytes_per_new_visit(tmp)
        path = tmp / "unlock.fieldkit"
        Store.create(path, "bench passphrase", "bench").close()
        unlocks = []
        for _ in range(5):
            start = time.perf_counter()
            Store.open(path, "bench passphrase").close()
            unlocks.append(time.perf_counter() - start)
    enc_median = statistics.median(enc_times)
    clear_median = statistics.median(clear_times)
    floor_median = statistics.median(floor_times)
    print(
        json.dumps(
            {
                "bench": "store",
                "save_encrypted_signed_median_ms": round(enc_median * 1000, 3),
                "save_encrypted_signed_p99_ms": round(p99(enc_times) * 1000, 3),
                "floor_commit_seal_sign_median_ms": round(floor_median * 1000, 3),
                "save_ratio_to_floor": round(enc_median / floor_median, 2),
                "save_cpu_median_ms": round(statistics.median(cpu[0]) * 1000, 3),
                "floor_cpu_median_ms": round(statistics.median(cpu[2]) * 1000, 3),
                "save_cpu_ratio_to_floor": round(
                    statistics.median(cpu[0]) / statistics.median(cpu[2]), 2
                ),
                "save_plaintext_median_ms": round(clear_median * 1000, 3),
                "save_plaintext_p99_ms": round(p99(clear_times) * 1000, 3),
                "ratio_encrypted_to_plaintext": round(enc_median / clear_median, 3),
                "new_visit_json_bytes": visit_size,
                "new_visit_bytes_on_disk": round(per_visit),
                "new_visit_bytes_ratio_to_json": round(per_visit / visit_size, 2),
                "unlock_median_s": round(statistics.median(unlocks), 3),
                "argon2id": ARGON2_DEFAULTS,
                "saves_each": len(enc_times),
                "targets": {"save_ratio_to_floor": 1.5, "new_visit_bytes_on_disk": 2048},
                "machine": f"{platform.machine()} {platform.system()} "
                f"py{platform.python_version()}, load {os.getloadavg()[0]:.1f}",
            }
        )
    )


if __name__ == "__main__":
    main()
