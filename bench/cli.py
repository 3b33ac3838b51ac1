"""Benchmark: whole-command timings of `fieldkit due`, `case list` and `verify` on a 40- and a
2,000-case profile, beside floors measured in the same run; prints one JSON line.

Each command runs as its own process, several times, in turn with its floors (A B C A B C
…), and the median is quoted. The floors: `python -c pass` (an interpreter), `import
fieldkit.cli` (the command's imports) and the unlock alone (opening the profile with the
passphrase: Argon2id at the real cost, and the sealed settings). The profiles are made
with `fieldkit init` and `fieldkit demo-seed`, the same generator `make demo` uses.

`verify --full` and the incremental `verify` (after a sealed mark) are also timed on a
store of BENCH_VERIFY_OPS (100,000; 0 leaves them out) real signed ops: `demo-seed`, then
edits of its visits up to the count. Their floor is the bare check of the same ops on one
core, in this process, in turn with the commands: each op's SHA-256 and Ed25519 verify.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PASSPHRASE = "bench passphrase for the command line"
TODAY = "2026-11-26"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "40,2000").split(","))
COMMANDS = tuple(os.environ.get("BENCH_COMMANDS", "due,due_json,case_list,verify").split(","))
"""Which commands to time (BENCH_COMMANDS=due,case_list leaves out the long `verify`)."""
VERIFY_OPS = int(os.environ.get("BENCH_VERIFY_OPS", "100000"))
VERIFY_RUNS = int(os.environ.get("BENCH_VERIFY_RUNS", "3"))
UNLOCK = (
    "import sys; from fieldkit.store import Store; "
    "Store.open(__import__('pathlib').Path(sys.argv[1]), sys.argv[2]).close()"
)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDKIT_")}
    env.update(FIELDKIT_HOME=str(home), FIELDKIT_PASSPHRASE=PASSPHRASE, COLUMNS="120")
    return env


def make_profile(home: Path, cases: int) -> Path:
    """A profile of `cases` synthetic cases, seeded through the normal commands."""
    fieldkit = [sys.executable, "-m", "fieldkit.cli"]
    env = _env(home)
    subprocess.run(
        [*fieldkit, "init", "--user", "jsmith"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [*fieldkit, "demo-seed", "--cases", str(cases), "--seed", "7", "--today", TODAY],
        env=env,
        check=True,
        capture_output=True,
    )
    return home / "default.fieldkit"


def _once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system, every thread) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # `due` and `verify` may exit 1 by design
        raise RuntimeError(f"{argv} failed: {done.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def timed(
    commands: dict[str, list[str]], env: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU seconds of each command, run in turn so noise hits all alike.
    On a loaded machine the CPU figures hold better: they leave out the wait for a core."""
    for argv in commands.values():  # warm-up: page cache, .pyc
        _once(argv, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, argv in commands.items():
            wall, cpu = _once(argv, env)
            times[name].append(wall)
            cpus[name].append(cpu)
    return (
        {name: statistics.median(values) for name, values in times.items()},
        {name: statistics.median(values) for name, values in cpus.items()},
    )


def make_ops_profile(home: Path, ops: int) -> Path:
    """A profile of exactly `ops` signed ops: `demo-seed` (about 19.5 ops a case), then
    edits of its visits in one transaction, each a real signed op, up to the count."""
    from fieldkit.store import Store

    path = make_profile(home, max(1, ops * 2 // 41))
    store = Store.open(path, PASSPHRASE)
    try:
        with store._lock:
            have = store._conn.execute("SELECT count(*) FROM ops").fetchone()[0]
            visits = store._conn.execute(
                "SELECT case_id, entity_id FROM entities WHERE entity='visit'"
                " ORDER BY case_id, entity_id"
            ).fetchall()
        with store.transaction():
            for n in range(ops - have):
                case_id, visit_id = visits[n % len(visits)]
                store.record(case_id, "visit", visit_id, {"notes": f"Follow-up note {n}."})
    finally:
        store.close()
    return path


def check_floor(ops: list[Any], keys: dict[str, Any]) -> tuple[float, float]:
    """Wall and CPU seconds to hash and Ed25519-verify every op on one core: what a full
    check cannot do without. The verify is OpenSSL's (`cryptography`), the floor the goal
    was set against, though fieldkit now asks libsodium first (docs/decisions.md)."""
    from cryptography.exceptions import InvalidSignature

    start, cpu = time.perf_counter(), time.process_time()
    for op in ops:
        try:
            if op.compute_hash() != op.hash:
                raise InvalidSignature
            keys[op.device_id].verify(op.sig, op.hash.encode())
        except InvalidSignature:
            raise RuntimeError(f"op {op.op_id} fails its check") from None
    return time.perf_counter() - start, time.process_time() - cpu


def sodium_floor(ops: list[Any], raw_keys: dict[str, bytes]) -> float:
    """The same floor with libsodium's verify (PyNaCl), which fieldkit now asks first: wall
    seconds on one core, for information beside the goal's floor."""
    from nacl.bindings import crypto_sign_open

    start = time.perf_counter()
    for op in ops:
        if op.compute_hash() != op.hash:
            raise RuntimeError(f"op {op.op_id} fails its check")
        crypto_sign_open(op.sig + op.hash.encode(), raw_keys[op.device_id])
    return time.perf_counter() - start


def verify_figures(tmp: Path, fieldkit: list[str], ops: int) -> dict[str, object]:
    """`verify --full` and `verify` (incremental) on `ops` ops, each run in turn with the
    one-core floor and the unlock; medians."""
    from fieldkit.crypto import ed25519_public_from_bytes
    from fieldkit.store import Store

    home = tmp / f"ops{ops}"
    path = make_ops_profile(home, ops)
    env = _env(home)
    store = Store.open(path, PASSPHRASE)
    try:
        log = store.ops()
        raw_keys = store.device_keys()
        keys = {dev: ed25519_public_from_bytes(k) for dev, k in raw_keys.items()}
    finally:
        store.close()
    assert len(log) == ops, len(log)
    commands = {
        "verify_full": [*fieldkit, "verify", "--full"],
        "verify_incremental": [*fieldkit, "verify"],
        "unlock": [sys.executable, "-c", UNLOCK, str(path), PASSPHRASE],
    }
    for argv in commands.values():  # warm-up; the first `verify --full` seals the mark
        _once(argv, env)
    walls: dict[str, list[float]] = {name: [] for name in (*commands, "floor", "sodium")}
    cpus: dict[str, list[float]] = {name: [] for name in (*commands, "floor")}
    for _ in range(VERIFY_RUNS):
        wall, cpu_s = check_floor(log, keys)
        walls["floor"].append(wall)
        cpus["floor"].append(cpu_s)
        walls["sodium"].append(sodium_floor(log, raw_keys))
        for name, argv in commands.items():
            wall, cpu = _once(argv, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    got = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    n = f"{ops}_ops"
    figures: dict[str, object] = {
        f"floor_hash_ed25519_one_core_{n}_s": round(got["floor"], 3),
        f"floor_hash_ed25519_one_core_{n}_cpu_s": round(cpu["floor"], 3),
        f"floor_unlock_{n}_s": round(got["unlock"], 3),
    }
    for name in ("verify_full", "verify_incremental"):
        figures[f"{name}_{n}_s"] = round(got[name], 3)
        figures[f"{name}_{n}_cpu_s"] = round(cpu[name], 3)
        figures[f"{name}_{n}_ratio_to_floor"] = round(got[name] / got["floor"], 3)
        figures[f"{name}_{n}_cpu_ratio_to_floor"] = round(cpu[name] / cpu["floor"], 3)
    figures[f"verify_incremental_{n}_ratio_to_unlock"] = round(
        got["verify_incremental"] / got["unlock"], 2
    )
    figures[f"floor_hash_ed25519_libsodium_one_core_{n}_s"] = round(got["sodium"], 3)
    figures[f"verify_full_{n}_ratio_to_libsodium_floor"] = round(
        got["verify_full"] / got["sodium"], 3
    )
    figures[f"verify_full_{n}_per_run_ratios"] = [
        round(w / f, 3) for w, f in zip(walls["verify_full"], walls["floor"], strict=True)
    ]
    return figures


def entry_point() -> list[str]:
    """The `fieldkit` command as installed: its entry point (`fieldkit.launch` where there
    is one, which starts the unlock before the command's modules import)."""
    if importlib.util.find_spec("fieldkit.launch") is not None:
        return [sys.executable, "-c", "from fieldkit.launch import main; main()"]
    return [sys.executable, "-c", "from fieldkit.cli import main; main()"]


def main() -> None:
    """Seed each profile, time the commands and their floors, print one JSON line."""
    py = sys.executable
    fieldkit = entry_point()
    figures: dict[str, object] = {"bench": "cli", "runs": RUNS}
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            home = Path(tmp) / f"p{size}"
            path = make_profile(home, size)
            env = _env(home)
            commands = {
                "due": [*fieldkit, "due", "--as-of", TODAY],
                "due_json": [*fieldkit, "due", "--as-of", TODAY, "--json"],
                "case_list": [*fieldkit, "case", "list"],
                "verify": [*fieldkit, "verify"],
            }
            got, cpu = timed(
                {
                    "python_pass": [py, "-c", "pass"],
                    "import_cli": [py, "-c", "import fieldkit.cli"],
                    "unlock": [py, "-c", UNLOCK, str(path), PASSPHRASE],
                    **{name: commands[name] for name in COMMANDS},
                },
                env,
            )
            n = f"{size}_cases"
            for floor in ("python_pass", "import_cli", "unlock"):
                figures[f"floor_{floor}_{n}_s"] = round(got[floor], 3)
                figures[f"floor_{floor}_{n}_cpu_s"] = round(cpu[floor], 3)
            for command in COMMANDS:
                figures[f"{command}_{n}_s"] = round(got[command], 3)
                figures[f"{command}_{n}_ratio_to_floor"] = round(got[command] / got["unlock"], 2)
                figures[f"{command}_{n}_over_unlock_s"] = round(got[command] - got["unlock"], 3)
                figures[f"{command}_{n}_cpu_s"] = round(cpu[command], 3)
                figures[f"{command}_{n}_cpu_ratio_to_floor"] = round(
                    cpu[command] / cpu["unlock"], 2
                )
        if VERIFY_OPS:
            figures.update(verify_figures(Path(tmp), fieldkit, VERIFY_OPS))
    figures["floor"] = "unlock alone: interpreter + imports of the store + Argon2id + settings"
    figures["verify_floor"] = "SHA-256 + Ed25519 verify of every op, one core, same run"
    figures["targets"] = {
        "due_and_case_list_2000_s": 0.7,
        "40_cases_over_unlock_s": 0.25,
        "verify_full_ratio_to_floor": 0.6,
    }
    figures["machine"] = (
        f"{platform.machine()} {platform.system()} py{platform.python_version()} "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
