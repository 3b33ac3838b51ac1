"""Save the README screenshots: the caseload dashboard and a visit step (demo data, fixed day)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from fieldkit.screens.app import make_app  # noqa: E402

from fieldkit import services  # noqa: E402
from fieldkit.demo import demo_document  # noqa: E402
from fieldkit.store import Store  # noqa: E402

TODAY = date(2026, 11, 26)


async def main() -> None:
    """Dashboard, then the private-interview step of a visit, at 100×30."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(
            Path(tmp) / "demo.fieldkit",
            "screenshot passphrase",
            "jsmith",
            argon={"memory_kib": 1024, "iterations": 1, "lanes": 1},
        )
        services.import_cases(store, demo_document(40, 7, TODAY))
        app = make_app(store=store, today=TODAY)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            app.save_screenshot("dashboard.svg", str(HERE))
            await pilot.press("enter")
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            await pilot.press("v")
            await pilot.pause()
            for _ in range(3):
                await pilot.press("ctrl+n")
                await pilot.pause()
            await pilot.press("tab", "tab", "enter", "tab", *"bedroom")
            await pilot.pause(0.5)
            app.save_screenshot("visit.svg", str(HERE))
        store.close()


if __name__ == "__main__":
    asyncio.run(main())
