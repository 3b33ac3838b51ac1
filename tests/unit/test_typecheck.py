"""The type checker sees all three packages: a wrong call planted in screens/ or sync/ fails.

Before tools/typecheck.py, every `fieldkit.sync.*` and `fieldkit.screens.*` import was
unresolved and silently Any, so calls like these passed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLANTS = {
    # A face calling the sync client with nonsense.
    "screens/status_bar.py": (
        "\n\ndef _planted_in_screens() -> None:\n"
        "    from fieldkit.sync.client import run_sync\n\n"
        "    run_sync(42, 'not a callback', 3.5)\n"
    ),
    # The server calling another sync module with the wrong types.
    "sync/admin.py": (
        "\n\ndef _planted_in_sync() -> None:\n"
        "    from fieldkit.sync.db import open_database\n\n"
        "    open_database(42, pool_size='two')\n"
    ),
}


def _typecheck(root: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "tools/typecheck.py", str(root), "--cache-dir", str(cache)],
        cwd=root,
        capture_output=True,
        text=True,
    )


@pytest.mark.xdist_group("mypy")
def test_mypy_catches_a_wrong_call_in_screens_and_in_sync(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    for name in ("fieldkit", "sync", "screens", "tools"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root)
    cache = tmp_path / "cache"

    clean = _typecheck(root, cache)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    for name, text in PLANTS.items():
        with (root / name).open("a", encoding="utf-8") as f:
            f.write(text)
    planted = _typecheck(root, cache)
    assert planted.returncode != 0
    errors = [line for line in planted.stdout.splitlines() if ": error:" in line]
    assert any("screens/status_bar.py" in e and "run_sync" in e for e in errors), errors
    assert any("sync/admin.py" in e and "open_database" in e for e in errors), errors
