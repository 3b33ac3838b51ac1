"""Benchmark: a durable, encrypted, signed save of a visit-sized record vs the same save in clear.

Prints one JSON line. Not a test: figures go to the README's performance section.
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from fieldkit.crypto import ARGON2_DEFAULTS
from fieldkit.store import Store

ROUNDS = 2000
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


def timed_saves(stores: list[Store], rounds: int) -> list[list[float]]:
    """Seconds per save for each store, saves alternating between them so noise hits both."""
    for store in stores:
        store.record("C-1", "case", "C-1", {"id": "C-1", "kind": "in-home-cps"})
    times: list[list[float]] = [[] for _ in stores]
    for n in range(rounds):
        fields = visit_fields(n)
        for store, bucket in zip(stores, times, strict=True):
            start = time.perf_counter()
            store.record("C-1", "visit", f"v{n % 50}", fields)
            bucket.append(time.perf_counter() - start)
    return times


def p99(values: list[float]) -> float:
    """99th percentile."""
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.99) - 1]


def main() -> None:
    """Interleave encrypted and plaintext rounds so machine noise hits both alike."""
    with tempfile.TemporaryDirectory() as tmp:
        enc = Store.create(Path(tmp) / "enc.fieldkit", "bench passphrase", "bench", argon=FAST)
        clear = Store.create(
            Path(tmp) / "clear.fieldkit",
            "bench passphrase",
            "bench",
            argon=FAST,
            benchmark_plaintext=True,
        )
        enc_times, clear_times = timed_saves([enc, clear], ROUNDS)
        enc.close()
        clear.close()
        path = Path(tmp) / "unlock.fieldkit"
        Store.create(path, "bench passphrase", "bench").close()
        unlocks = []
        for _ in range(5):
            start = time.perf_counter()
            Store.open(path, "bench passphrase").close()
            unlocks.append(time.perf_counter() - start)
    enc_median = statistics.median(enc_times)
    clear_median = statistics.median(clear_times)
    print(
        json.dumps(
            {
                "bench": "store",
                "save_encrypted_signed_median_ms": round(enc_median * 1000, 3),
                "save_encrypted_signed_p99_ms": round(p99(enc_times) * 1000, 3),
                "save_plaintext_median_ms": round(clear_median * 1000, 3),
                "save_plaintext_p99_ms": round(p99(clear_times) * 1000, 3),
                "ratio_encrypted_to_plaintext": round(enc_median / clear_median, 3),
                "unlock_median_s": round(statistics.median(unlocks), 3),
                "argon2id": ARGON2_DEFAULTS,
                "saves_each": len(enc_times),
                "machine": f"{platform.machine()} {platform.system()} "
                f"py{platform.python_version()}",
            }
        )
    )


if __name__ == "__main__":
    main()
