"""Import hygiene: the core imports no Textual; only `fieldkit` is an import name."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = [
    "fieldkit/store",
    "fieldkit/crypto.py",
    "fieldkit/changelog.py",
    "fieldkit/domain.py",
    "fieldkit/transfer.py",
    "fieldkit/services",
    "fieldkit/practice",
    "sync",
]


def _modules(entry: str) -> list[Path]:
    path = ROOT / entry
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path] if path.exists() else []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("entry", CORE)
def test_the_core_imports_no_textual(entry: str) -> None:
    for path in _modules(entry):
        bad = sorted(n for n in _imports(path) if n == "textual" or n.startswith("textual."))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_nothing_imports_top_level_sync_or_screens() -> None:
    for path in sorted(ROOT.glob("*/**/*.py")):
        if ".venv" in path.parts:
            continue
        bad = [n for n in _imports(path) if n.split(".")[0] in ("sync", "screens")]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_cli_and_store_load_without_textual() -> None:
    code = (
        "import sys, fieldkit.cli, fieldkit.store, fieldkit.practice; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.xdist_group("wheel")
def test_built_wheel_installs_only_fieldkit(tmp_path: Path) -> None:
    """sync/ and screens/ must land as fieldkit.sync and fieldkit.screens, .tcss included."""
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests"
        ),
    )
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("fieldkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    roots = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert roots == {"fieldkit"}
    for folder, prefix in (("sync", "fieldkit/sync"), ("screens", "fieldkit/screens")):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".tcss", ".ini", ".mako") and "__pycache__" not in path.parts:
                rel = path.relative_to(ROOT / folder).as_posix()
                assert f"{prefix}/{rel}" in names, f"{prefix}/{rel} missing from the wheel"
    for path in (ROOT / "fieldkit").rglob("*"):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            rel = path.relative_to(ROOT).as_posix()
            assert rel in names, f"{rel} missing from the wheel"
