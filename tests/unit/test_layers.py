"""Import hygiene: the core imports no Textual; only `fieldkit` is an import name; every
module has a layer and imports none above it; no cycles; a local import says why."""

from __future__ import annotations

import ast
import io
import shutil
import subprocess
import sys
import tokenize
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
    "fieldkit/records.py",
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


# DESIGN.md's direction: faces → services → domain/practice → store/crypto/changelog/sync.
# A module may import its own layer or any layer below; never one above. Imports inside
# functions and under TYPE_CHECKING count like any other, relative ones and
# `from fieldkit import services` included. Every module under fieldkit/, sync/ and
# screens/ has a layer: an entry names a module or a package (and all it holds).
LAYERS: list[tuple[str, int]] = [
    # The process's entry: it starts the unlock, then runs the CLI; nothing imports it.
    ("fieldkit.launch", 4),
    # Faces: parse, prompt, render.
    ("fieldkit.cli", 3),
    ("fieldkit.screens", 3),
    # Services: the use cases both faces share.
    ("fieldkit.services", 2),
    ("fieldkit.pdf", 2),
    ("fieldkit.attachments", 2),
    ("fieldkit.acknowledgements", 2),
    ("fieldkit.contacts", 2),
    ("fieldkit.family_copy", 2),
    ("fieldkit.record_verify", 2),
    # Domain and practice: the case as data, its rules, its words and file formats.
    ("fieldkit.domain", 1),
    ("fieldkit.practice", 1),
    ("fieldkit.transfer", 1),
    ("fieldkit.records", 1),
    ("fieldkit.demo", 1),
    ("fieldkit.visit_record", 1),
    ("fieldkit.visit_render", 1),
    ("fieldkit.labels", 1),
    ("fieldkit.evidence", 1),
    ("fieldkit.keyfiles", 1),
    # Foundation: storage, crypto, the change log, sync, and helpers every layer uses.
    ("fieldkit.store", 0),
    ("fieldkit.crypto", 0),
    ("fieldkit.kdf", 0),
    ("fieldkit.changelog", 0),
    ("fieldkit.sync", 0),
    ("fieldkit.integrity", 0),
    ("fieldkit.sigcheck", 0),
    ("fieldkit.sigworker", 0),
    ("fieldkit.prefs", 0),
    ("fieldkit.hardening", 0),
    ("fieldkit.lazy", 0),
    ("fieldkit.errors", 0),
    ("fieldkit.i18n", 0),
    ("fieldkit.text", 0),
    ("fieldkit", 0),  # the package's own __init__ (its version) only, not what it holds
]
FACE_FORBIDDEN = ("fieldkit.store", "fieldkit.crypto", "fieldkit.changelog")


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] in ("sync", "screens"):
        parts.insert(0, "fieldkit")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int | None:
    for prefix, rank in LAYERS:
        if module == prefix or (prefix != "fieldkit" and module.startswith(prefix + ".")):
            return rank
    return None


def _all_imports(path: Path, me: str, known: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, module) of every fieldkit import, at any depth (functions and TYPE_CHECKING
    included), relative ones resolved; `from package import name` counts as the submodule
    when `name` is one."""
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((node.lineno, sub if sub in known else module))
    return sorted({(line, name) for line, name in found if name.split(".")[0] == "fieldkit"})


def layer_violations(root: Path = ROOT) -> list[str]:
    """Every import against the direction, and every face import of storage or crypto."""
    known = _module_names(root)
    problems = []
    for me, path in known.items():
        mine = _layer(me)
        if mine is None:
            continue
        for line, name in _all_imports(path, me, known):
            theirs = _layer(name)
            where = f"{path.relative_to(root)}:{line} imports {name}"
            if theirs is not None and theirs > mine:
                problems.append(f"{where} (a layer above)")
            elif mine == 3 and name.startswith(FACE_FORBIDDEN):
                problems.append(f"{where} (faces go through fieldkit.services)")
    return problems


def unlayered(root: Path = ROOT) -> list[str]:
    """Modules no entry of LAYERS covers: their imports would go unchecked."""
    return [
        str(path.relative_to(root))
        for name, path in _module_names(root).items()
        if _layer(name) is None
    ]


def test_every_module_has_a_layer() -> None:
    assert unlayered() == [], "add them to LAYERS (and to docs/architecture.md)"


def test_every_layer_names_a_module() -> None:
    known = _module_names(ROOT)
    stale = [prefix for prefix, _rank in LAYERS if prefix not in known]
    assert stale == []


def test_the_layer_check_sees_a_module_without_a_layer(tmp_path: Path) -> None:
    for folder in ("fieldkit", "sync", "screens"):
        (tmp_path / folder).mkdir()
    (tmp_path / "fieldkit" / "newcomer.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "fieldkit" / "i18n.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "sync" / "client.py").write_text("X = 1\n", encoding="utf-8")
    assert unlayered(tmp_path) == ["fieldkit/newcomer.py"]


def test_imports_follow_the_layers() -> None:
    assert layer_violations() == []


def test_the_layer_check_sees_a_local_upward_import(tmp_path: Path) -> None:
    """A face importing the store inside a function, and the store importing a service."""
    for folder in ("fieldkit", "sync", "screens"):
        (tmp_path / folder).mkdir()
    (tmp_path / "screens" / "bad.py").write_text(
        "def f() -> None:\n    from fieldkit.store import Store\n", encoding="utf-8"
    )
    (tmp_path / "fieldkit" / "store.py").write_text(
        "import fieldkit.services.visits\n", encoding="utf-8"
    )
    (tmp_path / "sync" / "client.py").write_text(
        "from fieldkit.screens.app import make_app\n", encoding="utf-8"
    )
    (tmp_path / "fieldkit" / "services.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "sync" / "wipe.py").write_text(
        "from fieldkit import services\nfrom ..screens import app\n", encoding="utf-8"
    )
    (tmp_path / "screens" / "app.py").write_text("X = 1\n", encoding="utf-8")
    problems = layer_violations(tmp_path)
    assert any("screens/bad.py:2 imports fieldkit.store" in p for p in problems), problems
    assert any("fieldkit/store.py:1 imports fieldkit.services.visits" in p for p in problems)
    assert any("sync/client.py:1 imports fieldkit.screens.app" in p for p in problems)
    assert any("sync/wipe.py:1 imports fieldkit.services" in p for p in problems), problems
    assert any("sync/wipe.py:2 imports fieldkit.screens.app" in p for p in problems), problems


# --- import cycles -------------------------------------------------------------------------
# Among fieldkit's own modules no import cycle, whether the import is at module level or
# inside a function (a local import only hides a cycle until the function runs). Imports
# under `if TYPE_CHECKING:` are annotations, never executed, and are not counted.


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def _module_names(root: Path) -> dict[str, Path]:
    names = {}
    for folder in ("fieldkit", "sync", "screens"):
        for path in sorted((root / folder).rglob("*.py")):
            names[_module_name(path, root)] = path
    return names


def _runtime_imports(path: Path, me: str, known: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, fieldkit module) of every import that runs, at any depth, relative ones
    resolved; `from package import name` counts as the submodule when `name` is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            typing_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in known:
                    found.append((node.lineno, f"{module}.{alias.name}"))
                elif module in known:
                    found.append((node.lineno, module))
    return found


def import_cycles(root: Path = ROOT, limit: int = 50) -> list[list[str]]:
    """Cycles among fieldkit modules (up to `limit`), as `module:line -> module` steps."""
    known = _module_names(root)
    edges: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        edges[name] = {}
        for line, target in _runtime_imports(path, name, known):
            # Importing a.b.c runs the __init__ of a.b first: a cycle can pass through it
            # (unless a.b is the importer's own package, which is already running).
            parts = target.split(".")
            for depth in range(2, len(parts) + 1):
                step = ".".join(parts[:depth])
                if step in known and step != name and not name.startswith(step + "."):
                    edges[name].setdefault(step, line)
    cycles: list[list[str]] = []
    done: set[str] = set()

    def walk(start: str, node: str, trail: list[str], seen: set[str]) -> None:
        for target, line in sorted(edges[node].items()):
            step = f"{node}:{line} -> {target}"
            if len(cycles) >= limit:
                return
            if target == start:
                cycles.append([*trail, step])
            elif target not in seen and target not in done:
                walk(start, target, [*trail, step], seen | {target})

    for start in sorted(edges):
        walk(start, start, [], {start})
        done.add(start)
    return cycles


def test_no_import_cycles() -> None:
    cycles = import_cycles()
    assert cycles == [], "\n".join(" ; ".join(c) for c in cycles[:10])


def test_the_cycle_check_sees_a_local_and_a_relative_import(tmp_path: Path) -> None:
    for folder in ("fieldkit", "sync", "screens"):
        (tmp_path / folder).mkdir()
    (tmp_path / "fieldkit" / "a.py").write_text("import fieldkit.b\n", encoding="utf-8")
    (tmp_path / "fieldkit" / "b.py").write_text(
        "def f() -> None:\n    from fieldkit import a\n", encoding="utf-8"
    )
    (tmp_path / "sync" / "client.py").write_text("from .wipe import erase\n", encoding="utf-8")
    (tmp_path / "sync" / "wipe.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .client import X\n"
        "def erase() -> None:\n    from . import client\n",
        encoding="utf-8",
    )
    (tmp_path / "sync" / "typing_only.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .client import X\n",
        encoding="utf-8",
    )
    cycles = [" ; ".join(c) for c in import_cycles(tmp_path)]
    assert "fieldkit.a:1 -> fieldkit.b ; fieldkit.b:2 -> fieldkit.a" in cycles, cycles
    wipe = "fieldkit.sync.client:1 -> fieldkit.sync.wipe ; fieldkit.sync.wipe:5 -> "
    assert wipe + "fieldkit.sync.client" in cycles, cycles
    assert not any("typing_only" in c for c in cycles), cycles


def test_the_cycle_check_sees_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    """routes imports server.common, which runs server/__init__, which imports routes."""
    (tmp_path / "fieldkit").mkdir()
    (tmp_path / "screens").mkdir()
    (tmp_path / "sync" / "server").mkdir(parents=True)
    (tmp_path / "sync" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "sync" / "server" / "__init__.py").write_text(
        "from fieldkit.sync.server.app import make\n", encoding="utf-8"
    )
    (tmp_path / "sync" / "server" / "app.py").write_text(
        "from fieldkit.sync.server.common import T\n"
        "def make() -> None:\n    from fieldkit.sync.routes import add\n",
        encoding="utf-8",
    )
    (tmp_path / "sync" / "server" / "common.py").write_text("T = 1\n", encoding="utf-8")
    (tmp_path / "sync" / "routes.py").write_text(
        "from fieldkit.sync.server.common import T\n", encoding="utf-8"
    )
    cycles = [" ; ".join(c) for c in import_cycles(tmp_path)]
    assert (
        "fieldkit.sync.routes:1 -> fieldkit.sync.server ; "
        "fieldkit.sync.server:1 -> fieldkit.sync.server.app ; "
        "fieldkit.sync.server.app:3 -> fieldkit.sync.routes" in cycles
    ), cycles


# --- imports at module level ----------------------------------------------------------------
# A function-local import hides what a module needs and can hide a cycle; one is kept only
# where it spares a measured start-up cost, and a comment on its line or the line above says
# so (a run of local imports, blank lines between groups included, shares the comment
# above its first). Imports under
# `if TYPE_CHECKING:` are annotations and exempt.


def _comment_lines(source: str) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {tok.start[0] for tok in tokens if tok.type == tokenize.COMMENT}


def unexplained_local_imports(root: Path = ROOT) -> list[str]:
    """`path:line` of every import inside a function with no comment saying why."""
    found = []
    for folder in ("fieldkit", "sync", "screens"):
        for path in sorted((root / folder).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
            typing_only: set[int] = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.If) and _is_type_checking(node.test):
                    typing_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
            local: dict[int, ast.stmt] = {}
            for func in ast.walk(tree):
                if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    for node in ast.walk(func):
                        if isinstance(node, ast.Import | ast.ImportFrom):
                            local[node.lineno] = node
            import_lines = {
                line
                for node in local.values()
                for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
            }
            comments = _comment_lines(source)
            lines = source.splitlines()

            def blank(number: int, lines: list[str] = lines) -> bool:
                return 0 < number <= len(lines) and not lines[number - 1].strip()

            for line, node in sorted(local.items()):
                if id(node) in typing_only:
                    continue
                above = line - 1
                while above in import_lines or (blank(above) and above - 1 in import_lines):
                    above -= 1
                own = range(line, (node.end_lineno or line) + 1)
                if above not in comments and not comments.intersection(own):
                    found.append(f"{path.relative_to(root)}:{line}")
    return found


def test_local_imports_say_why() -> None:
    assert unexplained_local_imports() == [], "move them to the top, or say why not"


def test_the_local_import_check_sees_an_unexplained_import(tmp_path: Path) -> None:
    for folder in ("fieldkit", "sync", "screens"):
        (tmp_path / folder).mkdir()
    (tmp_path / "fieldkit" / "pdf.py").write_text(
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "def render() -> None:\n"
        "    import json\n"  # 4: no comment
        "    # lazy: reportlab adds 60 ms to every start\n"
        "    from reportlab.lib import colors\n"
        "    from reportlab.platypus import Paragraph\n"  # 7: shares the comment above
        "\n"
        "    import fieldkit\n"  # 9: so does the next group of the run
        "    if TYPE_CHECKING:\n"
        "        from fieldkit.store import Store\n"  # 11: annotations only
        "    x = 1\n"
        "\n"
        "    import re\n"  # 14: the line above is blank, not a comment
        "    import segno  # lazy: only the QR code\n"
        "    from fieldkit.sync.client import (  # lazy: httpx\n"
        "        push,\n"
        "    )\n"
        "    from fieldkit.sync.protocol import (\n"  # 19: no comment of its own
        "        now_ms,\n"
        "    )\n",
        encoding="utf-8",
    )
    (tmp_path / "screens" / "app.py").write_text(
        "class App:\n    def run(self) -> None:\n        from fieldkit import services\n",
        encoding="utf-8",
    )
    assert unexplained_local_imports(tmp_path) == [
        "fieldkit/pdf.py:4",
        "fieldkit/pdf.py:14",
        "fieldkit/pdf.py:19",
        "screens/app.py:3",
    ]


# --- module size ----------------------------------------------------------------------------
# docs/architecture.md: no module over ~400 lines without a reason written at its top. One
# over LONG_MODULE lines says why in its docstring, in a paragraph that begins "Why one
# module:". Alembic migrations are generated and exempt.
LONG_MODULE = 450


def long_modules_without_a_reason(root: Path = ROOT) -> list[str]:
    """`path (N lines)` of every module over LONG_MODULE lines whose docstring gives no reason."""
    found = []
    for folder in ("fieldkit", "sync", "screens"):
        for path in sorted((root / folder).rglob("*.py")):
            if "migrations" in path.relative_to(root).parts:
                continue
            source = path.read_text(encoding="utf-8")
            lines = len(source.splitlines())
            if lines <= LONG_MODULE:
                continue
            docstring = ast.get_docstring(ast.parse(source)) or ""
            if "Why one module:" not in docstring:
                found.append(f"{path.relative_to(root)} ({lines} lines)")
    return found


def test_long_modules_say_why() -> None:
    assert long_modules_without_a_reason() == [], (
        "split them, or add a paragraph beginning 'Why one module:' to the module docstring"
    )


def test_the_size_check_sees_a_long_module_without_a_reason(tmp_path: Path) -> None:
    for folder in ("fieldkit", "screens", "sync/migrations/versions"):
        (tmp_path / folder).mkdir(parents=True)
    body = "X = 1\n" * LONG_MODULE
    (tmp_path / "fieldkit" / "long.py").write_text('"""Long."""\n' + body, encoding="utf-8")
    (tmp_path / "fieldkit" / "short.py").write_text(body, encoding="utf-8")
    (tmp_path / "screens" / "why.py").write_text(
        '"""Long.\n\nWhy one module: one format.\n"""\n' + body, encoding="utf-8"
    )
    (tmp_path / "sync" / "comment.py").write_text(
        "# Why one module: a comment is not the docstring.\n" + body, encoding="utf-8"
    )
    (tmp_path / "sync" / "migrations" / "versions" / "0001.py").write_text(body * 2)
    assert long_modules_without_a_reason(tmp_path) == [
        f"fieldkit/long.py ({LONG_MODULE + 1} lines)",
        f"sync/comment.py ({LONG_MODULE + 1} lines)",
    ]
