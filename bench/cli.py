"""Benchmark: whole-command timings of `fieldkit due`, `case list` and `verify` on a 40- and a
2,000-case profile, beside floors measured in the same run; prints one JSON line.

Each command runs as its own process, several times, in turn with its floors (A B C A B C
…), and the median is quoted. The floors: `python -c pass` (an interpreter), `import
fieldkit.cli` (the command's imports) and the unlock alone (opening the profile with the
passphrase: Argon2id at the real cost, and the sealed settings). The profiles are made
with `fieldkit init` and `fieldkit demo-seed`, the same generator `make demo` uses.
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

PASSPHRASE = "bench passphrase for the command line"
TODAY = "2026-11-26"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "40,2000").split(","))
COMMANDS = tuple(os.environ.get("BENCH_COMMANDS", "due,due_json,case_list,verify").split(","))
"""Which commands to time (BENCH_COMMANDS=due,case_list leaves out the long `verify`)."""
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
    figures["floor"] = "unlock alone: interpreter + imports of the store + Argon2id + settings"
    figures["targets"] = {"due_and_case_list_2000_s": 0.7, "40_cases_over_unlock_s": 0.25}
    figures["machine"] = (
        f"{platform.machine()} {platform.system()} py{platform.python_version()} "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
