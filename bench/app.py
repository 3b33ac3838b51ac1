"""Benchmark: the field app in a real terminal, each figure beside a floor from the same run.

Every figure is the real `fieldkit` command in a tmux terminal (100×30), timed from launch
(or from the keystroke) until the expected text is on screen, polling `capture-pane` with
`time.perf_counter` every POLL_SECONDS (a start, a full load) or without a pause (a
keystroke's repaint). The passphrase is in FIELDKIT_PASSPHRASE (the real Argon2id cost).

- cold start, 2,000 cases (the sealed caseload cache from an earlier start in place) until
  the dashboard lists every case; floor: a bare Textual app that imports every module the
  fieldkit run had loaded (recorded from that run) and shows an empty table. A second floor,
  for information, is the same bare app deriving one Argon2id key in a thread from its
  first line, as the app does: what a start that unlocks cannot go below.
- first start after an import, 2,000 cases (a freshly imported profile); same floor.
- 10,000 cases fully loaded (every dashboard row computed and shown), with no cache (as
  on another day: every case read) and with the cache of an earlier start; max RSS
  (VmHWM) of the app; floor: the bare app's RSS.
- filter, 10,000 cases: keystroke → the filtered rows on screen; floor: a bare Textual app
  with the same filter (the same search keys, an Input and a virtual table) measured the
  same way in the same run.

Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldkit import services  # noqa: E402
from fieldkit.demo import demo_document  # noqa: E402
from fieldkit.store import Store  # noqa: E402

TODAY = date(2026, 11, 26)
PASSPHRASE = "bench passphrase"
SIZE = ("100", "30")
RUNS = 3
POLL_SECONDS = 0.01
"""Pause between two reads of the screen while a start is timed. Read without a pause, the
bench's own tmux clients keep one of the machine's two cores busy (about 270 reads a
second), so on an otherwise idle machine the measured program had one core: the app's
Argon2id threads then ran on its main thread's core, which a real start does not see.
Costs at most 10 ms of resolution, the same for the app and its floor."""

RECORD_MODULES = """
import atexit, sys
def _dump():
    with open({out!r}, "w") as f:
        f.write("\\n".join(sys.modules))
atexit.register(_dump)
sys.argv = ["fieldkit"]
from fieldkit.launch import main
main()
"""

BARE_START = """
import importlib, sys
for name in open({modules!r}).read().split():
    if name == "__main__" or name.endswith(".__main__") or name in sys.modules:
        continue
    try:
        importlib.import_module(name)
    except Exception:
        pass
from textual.app import App
from textual.widgets import DataTable, Footer
class Bare(App):
    def compose(self):
        yield DataTable()
        yield Footer()
    def on_mount(self):
        self.query_one(DataTable).add_columns("status", "case", "BASELINE-READY")
Bare().run()
"""

ARGON2ID_FIRST = """
import threading
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
KDF = Argon2id(salt=b"0" * 16, length=32, iterations=3, lanes=4, memory_cost=65536)
threading.Thread(target=KDF.derive, args=(b"bench passphrase",), daemon=True).start()
"""
"""The app's head start (`fieldkit.kdf.derive_early`: one Argon2id at the shipped cost in a
thread, from the process's first lines), put in front of the bare app for the second floor."""

BARE_FILTER = """
import sys
from datetime import date
sys.path.insert(0, {root!r})
from fieldkit.demo import demo_document
from rich.segment import Segment
from textual.app import App
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

ROWS = []
for case in demo_document({cases}, 7, date.fromisoformat({today!r}))["cases"]:
    names = [p["name"] for p in case["people"]]
    ROWS.append((" ".join([case["id"], *names]).casefold(), case["id"], names[0]))

class Table(ScrollView):
    rows = ROWS
    def show(self, rows):
        self.rows = rows
        self.virtual_size = Size(self.size.width, len(rows))
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()
    def render_line(self, y):
        i = y + self.scroll_offset.y
        if i >= len(self.rows):
            return Strip.blank(self.size.width)
        _, cid, fam = self.rows[i]
        return Strip([Segment(f"{{cid:<12}} {{fam:<18}}")]).crop_extend(0, self.size.width, None)

class Bare(App):
    def compose(self):
        yield Input(id="q")
        yield Static(f"{{len(ROWS)}} of {{len(ROWS)}} cases · BARE-READY", id="counts")
        yield Table()
    def on_mount(self):
        self.query_one(Table).show(ROWS)
    def on_input_changed(self, event):
        words = event.value.casefold().split()
        shown = [r for r in ROWS if all(w in r[0] for w in words)]
        self.query_one(Table).show(shown)
        self.query_one("#counts", Static).update(f"{{len(shown)}} of {{len(ROWS)}} cases")
Bare().run()
"""


class Term:
    """One program in its own tmux server, read back with capture-pane."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.socket = f"fk-bench-{uuid.uuid4().hex[:8]}"
        envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self.start = time.perf_counter()
        self._tmux("new-session", "-d", "-x", SIZE[0], "-y", SIZE[1], f"exec env {envs} {command}")

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def wait(
        self,
        needle: str,
        since: float | None = None,
        limit: float = 120.0,
        poll: float = POLL_SECONDS,
    ) -> float:
        """Seconds from `since` (default: launch) until `needle` is on screen, reading the
        screen every `poll` seconds."""
        since = self.start if since is None else since
        while time.perf_counter() - since < limit:
            if needle in self.screen():
                return time.perf_counter() - since
            time.sleep(poll)
        raise RuntimeError(f"{needle!r} never appeared:\n{self.screen()}")

    def keys(self, *keys: str) -> float:
        at = time.perf_counter()
        self._tmux("send-keys", *keys)
        return at

    def cpu_s(self) -> float:
        """CPU seconds (user + system, every thread) the program has used so far."""
        pid = self._tmux("display-message", "-p", "#{pane_pid}").strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def max_rss_mb(self) -> float:
        pid = self._tmux("display-message", "-p", "#{pane_pid}").strip()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self._tmux("kill-server")


def _env(home: Path) -> dict[str, str]:
    return {
        "FIELDKIT_HOME": str(home),
        "FIELDKIT_PASSPHRASE": PASSPHRASE,
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
    }


def _seed(home: Path, cases: int) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "default.fieldkit"
    store = Store.create(path, PASSPHRASE, "jsmith")
    services.import_cases(store, demo_document(cases, 7, TODAY))
    store.close()
    return path


def _copy_profile(src: Path, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", home / f"default.fieldkit{suffix}")


def _drop_cache(path: Path) -> None:
    """Forget the dashboard's sealed rows (an import seals them)."""
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM sealed_cache")
    conn.commit()
    conn.close()


CPU: dict[str, list[float]] = {"app": [], "bare": [], "bare_kdf": []}
"""CPU seconds each start had used when its screen showed (the machine may be loaded)."""


FIELDKIT = Path(sys.executable).with_name("fieldkit")
"""The `fieldkit` command as a worker runs it (`fieldkit.launch:main`, installed by pip)."""


def _run_app(home: Path, needle: str, linger: float = 0.0) -> tuple[float, float]:
    """Seconds until `needle` shows, and the app's max RSS (after `linger` seconds)."""
    term = Term(shlex.quote(str(FIELDKIT)), _env(home))
    try:
        seen = term.wait(needle)
        CPU["app"].append(term.cpu_s())
        time.sleep(linger)
        return seen, term.max_rss_mb()
    finally:
        term.close()


def _kdf_cpu_s() -> float:
    """CPU seconds of one Argon2id derivation at the shipped cost (all its threads)."""
    from fieldkit.crypto import ARGON2_DEFAULTS, derive_passphrase_key

    start = time.process_time()
    derive_passphrase_key(PASSPHRASE, b"0" * 16, dict(ARGON2_DEFAULTS))
    return time.process_time() - start


def _record_modules(tmp: Path, home: Path) -> Path:
    """The modules a fieldkit start loads, for the floor to import the same."""
    out = tmp / "modules.txt"
    script = tmp / "record.py"
    script.write_text(RECORD_MODULES.format(out=str(out)))
    term = Term(f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}", _env(home))
    try:
        term.wait("2000 of 2000 cases")
        time.sleep(1.0)
        term.keys("C-q")
        deadline = time.perf_counter() + 30
        while not out.exists() and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        term.close()
    return out


def start_figures(tmp: Path) -> dict[str, Any]:
    """Cold start (cache in place) and first start after an import, 2,000 cases, beside the
    bare app that imports the same modules."""
    seeded = _seed(tmp / "seed2k", 2000)
    firsts = []
    warm = tmp / "first0"
    for n in range(RUNS):
        home = tmp / f"first{n}"
        _copy_profile(seeded, home)
        firsts.append(_run_app(home, "2000 of 2000 cases", linger=3.0 if n == 0 else 0.0)[0])
    modules = _record_modules(tmp, warm)
    bare_script = tmp / "bare_start.py"
    bare_script.write_text(BARE_START.format(modules=str(modules)))
    kdf_script = tmp / "bare_start_argon2id.py"
    kdf_script.write_text(ARGON2ID_FIRST + BARE_START.format(modules=str(modules)))
    apps, bares, bare_rss, kdf_bares = [], [], [], []
    CPU["app"].clear()
    for _ in range(RUNS):
        apps.append(_run_app(warm, "2000 of 2000 cases")[0])
        seen, rss = _run_app_cmd(bare_script, "BASELINE-READY", warm)
        bares.append(seen)
        bare_rss.append(rss)
        kdf_bares.append(_run_app_cmd(kdf_script, "BASELINE-READY", warm, cpu="bare_kdf")[0])
    cold, bare, first = (statistics.median(x) for x in (apps, bares, firsts))
    bare_kdf = statistics.median(kdf_bares)
    return {
        "cold_start_2000_cases_s": round(cold, 3),
        "cold_start_floor_bare_same_imports_s": round(bare, 3),
        "cold_start_ratio_to_floor": round(cold / bare, 2),
        "first_start_after_import_2000_cases_s": round(first, 3),
        "first_start_after_import_ratio_to_floor": round(first / bare, 2),
        "bare_same_imports_max_rss_mb": round(statistics.median(bare_rss), 1),
        # CPU used by the time the screen showed: on a loaded machine wall time follows
        # CPU, and the app's includes one Argon2id derivation the floor does not make.
        "cold_start_cpu_s": round(statistics.median(CPU["app"]), 3),
        "cold_start_floor_cpu_s": round(statistics.median(CPU["bare"]), 3),
        "cold_start_cpu_ratio_to_floor": round(
            statistics.median(CPU["app"]) / statistics.median(CPU["bare"]), 2
        ),
        "argon2id_cpu_s": round(_kdf_cpu_s(), 3),
        # for information: the bare app with the app's Argon2id head start (under load the
        # key's CPU comes out of the start's one share of the machine, so even this floor
        # is above the bare one there)
        "cold_start_floor_with_argon2id_s": round(bare_kdf, 3),
        "cold_start_ratio_to_floor_with_argon2id": round(cold / bare_kdf, 2),
        "floor_with_argon2id_ratio_to_floor": round(bare_kdf / bare, 2),
        "cold_start_floor_with_argon2id_cpu_s": round(statistics.median(CPU["bare_kdf"]), 3),
        "modules_imported": len(modules.read_text().split()),
    }


def _run_app_cmd(script: Path, needle: str, home: Path, cpu: str = "bare") -> tuple[float, float]:
    term = Term(f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}", _env(home))
    try:
        seen = term.wait(needle)
        CPU[cpu].append(term.cpu_s())
        return seen, term.max_rss_mb()
    finally:
        term.close()


def full_load_figures(tmp: Path, seeded: Path) -> dict[str, Any]:
    """10,000 cases: until every row is computed and shown, with no cache, then cached."""
    home = tmp / "big"
    _copy_profile(seeded, home)
    _drop_cache(home / "default.fieldkit")  # as on another day: every case is read
    uncached, rss_uncached = _run_app(home, "10000 of 10000 cases", linger=3.0)
    cached_runs = [_run_app(home, "10000 of 10000 cases", linger=1.0) for _ in range(2)]
    cached = statistics.median(t for t, _ in cached_runs)
    rss = max([rss_uncached, *(r for _, r in cached_runs)])
    return {
        "full_load_10000_no_cache_s": round(uncached, 3),
        "full_load_10000_cached_s": round(cached, 3),
        "full_load_10000_max_rss_mb": round(rss, 1),
    }


def _filter_keys(rows: list[str]) -> list[tuple[str, int]]:
    """Keystrokes (tmux key names) and the count of rows each leaves on screen."""
    steps: list[tuple[str, int]] = []
    query = ""
    for word in ("ortiz", "maya", "c-2026-01"):
        for ch in word:
            query += ch
            steps.append((ch, _count(rows, query)))
        for _ in word:
            query = query[:-1]
            steps.append(("BSpace", _count(rows, query)))
    return steps


def _count(rows: list[str], query: str) -> int:
    words = query.casefold().split()
    return sum(1 for r in rows if all(w in r for w in words))


def _filter_run(command: str, ready: str, home: Path, rows: list[str]) -> list[float]:
    """Milliseconds from each keystroke to its filtered rows on screen (count changed)."""
    total = len(rows)
    term = Term(command, _env(home))
    try:
        term.wait(ready)
        term.wait(f"{total} of {total} cases")
        latencies = []
        shown = total
        for key, count in _filter_keys(rows):
            at = term.keys(key)
            if count != shown:
                seen = term.wait(f"{count} of {total} cases", since=at, poll=0.0)
                latencies.append(seen * 1000)
            else:  # nothing visible to wait for but the key itself: let it land
                time.sleep(0.05)
            shown = count
        return latencies
    finally:
        term.close()


def filter_figures(tmp: Path, cases: int) -> dict[str, Any]:
    """Key → repaint at 10,000 cases, fieldkit beside the bare app, alternating runs."""
    doc = demo_document(cases, 7, TODAY)
    rows = [" ".join([c["id"], *(p["name"] for p in c["people"])]).casefold() for c in doc["cases"]]
    script = tmp / "bare_filter.py"
    script.write_text(BARE_FILTER.format(root=str(ROOT), cases=cases, today=TODAY.isoformat()))
    home = tmp / "big"
    app_ms: list[float] = []
    bare_ms: list[float] = []
    py = shlex.quote(sys.executable)
    for _ in range(2):
        app_ms += _filter_run(shlex.quote(str(FIELDKIT)), "Caseload", home, rows)
        bare_ms += _filter_run(f"{py} {shlex.quote(str(script))}", "BARE-READY", home, rows)
    app_med, bare_med = statistics.median(app_ms), statistics.median(bare_ms)

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(0.95 * (len(xs) - 1))]

    return {
        "filter_10000_key_to_repaint_median_ms": round(app_med, 1),
        "filter_10000_key_to_repaint_p95_ms": round(p95(app_ms), 1),
        "filter_floor_bare_app_median_ms": round(bare_med, 1),
        "filter_floor_bare_app_p95_ms": round(p95(bare_ms), 1),
        "filter_ratio_to_floor": round(app_med / bare_med, 2),
        "filter_keystrokes_timed": len(app_ms),
    }


def main() -> None:
    """Print one JSON line of figures."""
    only = set(sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        result: dict[str, Any] = {"bench": "app", "date": time.strftime("%Y-%m-%d %H:%M")}
        result["load_average"] = round(os.getloadavg()[0], 1)
        if not only or "start" in only:
            result |= start_figures(tmp)
            print(json.dumps(result), file=sys.stderr, flush=True)
        if not only or only & {"full", "filter"}:
            seeded = _seed(tmp / "seed10k", 10_000)
            if not only or "full" in only:
                result |= full_load_figures(tmp, seeded)
                print(json.dumps(result), file=sys.stderr, flush=True)
            else:
                _copy_profile(seeded, tmp / "big")
                _run_app(tmp / "big", "10000 of 10000 cases", linger=3.0)
            if not only or "filter" in only:
                result |= filter_figures(tmp, 10_000)
        result["goals"] = {
            "cold_start_ratio_to_floor": 1.3,
            "first_start_after_import_s": 1.5,
            "full_load_10000_s": 2.0,
            "full_load_10000_max_rss_mb": 300,
            "filter_ratio_to_floor": 1.0,
        }
        result["load_average_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
