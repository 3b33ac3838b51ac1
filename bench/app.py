"""Benchmark: field app cold start (2,000 cases) and dashboard filtering (10,000); one JSON line.

Cold start is the real `fieldkit` command in a tmux terminal, from launch to the dashboard
listing every case, with the passphrase in FIELDKIT_PASSPHRASE (real Argon2id cost). The
baseline is a bare Textual app importing the same libraries and showing an empty table.
Filtering types a search into the dashboard, key by key, through Textual's Pilot.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldkit import services  # noqa: E402
from fieldkit.demo import demo_document  # noqa: E402
from fieldkit.store import Store  # noqa: E402

TODAY = date(2026, 11, 26)
PASSPHRASE = "bench passphrase"
BASELINE = """
import fieldkit.store, fieldkit.services, fieldkit.practice, fieldkit.services.visits
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


def _seed(path: Path, cases: int, fast: bool) -> Store:
    argon = {"memory_kib": 1024, "iterations": 1, "lanes": 1} if fast else None
    store = Store.create(path, PASSPHRASE, "jsmith", argon=argon)
    services.import_cases(store, demo_document(cases, 7, TODAY))
    return store


def _tmux_time(command: str, needle: str, env: dict[str, str], linger: float = 0.0) -> float:
    """Seconds from launching `command` in a fresh terminal until `needle` is on screen.

    `linger` keeps the program running afterwards (so the first start finishes its work).
    """
    socket = f"fk-bench-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    try:
        start = time.perf_counter()
        subprocess.run(
            [*tmux, "new-session", "-d", "-x", "120", "-y", "40", f"exec env {envs} {command}"],
            check=True,
        )
        while time.perf_counter() - start < 60:
            shown = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True
            ).stdout
            if needle in shown:
                seen = time.perf_counter() - start
                time.sleep(linger)
                return seen
            time.sleep(0.01)
        raise RuntimeError(f"{needle!r} never appeared")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def cold_start(tmp: Path) -> tuple[float, float, float]:
    """The first start after import (nothing cached), then the median of 3 cold starts of
    `fieldkit` on 2,000 cases (the sealed caseload cache in place), and the bare baseline."""
    home = tmp / "home"
    _seed(home / "default.fieldkit", 2000, fast=False).close()
    env = {
        "FIELDKIT_HOME": str(home),
        "FIELDKIT_PASSPHRASE": PASSPHRASE,
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
    }
    py = shlex.quote(sys.executable)
    script = tmp / "baseline.py"
    script.write_text(BASELINE)
    first = _tmux_time(f"{py} -m fieldkit.cli", "of 2000 cases", env, linger=10.0)
    app = [_tmux_time(f"{py} -m fieldkit.cli", "of 2000 cases", env) for _ in range(3)]
    bare = [_tmux_time(f"{py} {shlex.quote(str(script))}", "BASELINE-READY", env) for _ in range(3)]
    return first, statistics.median(app), statistics.median(bare)


async def _filter(store: Store) -> tuple[float, float]:
    from fieldkit.screens.app import make_app
    from fieldkit.screens.dashboard import DashboardScreen

    app = make_app(store=store, today=TODAY)
    per_key: list[float] = []
    handler: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(600):
            await pilot.pause(0.1)
            screen = app.screen
            if isinstance(screen, DashboardScreen) and screen.rows:
                break
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        original = screen.apply_filter

        def timed() -> None:
            t = time.perf_counter()
            original()
            handler.append(time.perf_counter() - t)

        screen.apply_filter = timed  # type: ignore[method-assign]
        for word in ("ortiz", "c-2026-01", "maya"):
            for ch in word:
                t = time.perf_counter()
                await pilot.press("minus" if ch == "-" else ch)
                per_key.append(time.perf_counter() - t)
            await pilot.press(*["backspace"] * len(word))
    return statistics.median(per_key) * 1000, statistics.median(handler) * 1000


def main() -> None:
    """Print one JSON line of figures."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        first_s, app_s, bare_s = cold_start(tmp)
        store = _seed(tmp / "big.fieldkit", 10_000, fast=True)
        key_ms, handler_ms = asyncio.run(_filter(store))
        store.close()
    print(
        json.dumps(
            {
                "bench": "app",
                "first_start_after_import_2000_cases_s": round(first_s, 3),
                "cold_start_2000_cases_s": round(app_s, 3),
                "bare_textual_baseline_s": round(bare_s, 3),
                "cold_start_ratio": round(app_s / bare_s, 2),
                "filter_10000_keystroke_median_ms": round(key_ms, 2),
                "filter_10000_handler_median_ms": round(handler_ms, 2),
                "targets": {"cold_start_s": 1.5, "ratio": 1.3, "filter_ms": 16},
            }
        )
    )


if __name__ == "__main__":
    main()
