"""Type-check fieldkit as it is installed: `fieldkit`, `fieldkit.sync` and `fieldkit.screens`.

The source tree keeps sync/ and screens/ beside fieldkit/ (pyproject's package-dir maps
them into the package), so mypy run on the folders would not see `fieldkit.sync.*` and
`fieldkit.screens.*` at all. This links the installed layout under build/typecheck/ and
runs mypy on it (pyproject's `mypy_path`). Usage: python tools/typecheck.py [ROOT] [MYPY ARGS]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

MAPPED = {"sync": "sync", "screens": "screens"}  # fieldkit.<name> → folder at the root


def link_tree(root: Path) -> Path:
    """build/typecheck/fieldkit: every entry of fieldkit/ plus sync/ and screens/, linked."""
    tree = root / "build" / "typecheck"
    if tree.exists():
        shutil.rmtree(tree)
    package = tree / "fieldkit"
    package.mkdir(parents=True)
    for entry in sorted((root / "fieldkit").iterdir()):
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(os.path.relpath(entry, package))
    for name, folder in MAPPED.items():
        (package / name).symlink_to(os.path.relpath(root / folder, package))
    return tree


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv and not argv[0].startswith("-") else Path.cwd()
    args = argv[1:] if argv and not argv[0].startswith("-") else argv
    link_tree(root)
    mypy = Path(sys.executable).with_name("mypy")
    command = [str(mypy)] if mypy.exists() else [sys.executable, "-m", "mypy"]
    return subprocess.run([*command, *args], cwd=root).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
