"""Case content stays in the encrypted store: not in argv, not in a core dump, not in clear
columns, not in files other users can read, not in a screenshot (THREAT_MODEL.md, local
user on the laptop)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fieldkit import services
from fieldkit.errors import FieldkitError
from fieldkit.store import Store
from tests.conftest import (
    FAST_ARGON,
    PASSPHRASE,
    run_cli,
    sample_case,
    signed_visit,
    transfer_doc,
)
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]
MARKER = "QQARGVMARK"


def _profile(tmp_path: Path) -> Path:
    path = tmp_path / "home" / "default.fieldkit"
    s = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(s, transfer_doc(sample_case("C-1")))
    signed_visit(s, "v1", case_id="C-1")
    s.set_meta("role", "supervisor")
    s.close()
    return path


def _ops(path: Path) -> int:
    conn = sqlite3.connect(path)
    count = int(conn.execute("SELECT count(*) FROM ops").fetchone()[0])
    conn.close()
    return count


@pytest.mark.parametrize(
    "command",
    [
        ("addendum", "C-1", "v1", "--text", MARKER),
        ("return", "C-1", "v1", "--comment", MARKER),
        ("approve", "C-1", "visit", "v1", "--comment", MARKER),
        ("supervision", "record", "C-1", "--decisions", MARKER),
        ("resolve", "C-1", "person", "p1", "name", "--value", f'"{MARKER}"'),
    ],
    ids=lambda c: c[0] if c[0] != "supervision" else "supervision",
)
def test_case_text_on_the_command_line_is_refused_and_nothing_is_written(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    path = _profile(tmp_path)
    before = _ops(path)
    result = run_cli(*command, env={"FIELDKIT_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "visible to every user" in result.stderr
    assert _ops(path) == before


def test_text_from_stdin_never_reaches_argv_and_the_child_cannot_dump_core(
    tmp_path: Path,
) -> None:
    path = _profile(tmp_path)
    env = {**os.environ, "FIELDKIT_PASSPHRASE": PASSPHRASE}
    child = subprocess.Popen(
        [sys.executable, "-m", "fieldkit.cli", "addendum", "C-1", "v1", "--text", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    proc = Path(f"/proc/{child.pid}")

    def core_limit_is_zero() -> bool:
        limits = (proc / "limits").read_text()
        line = next(ln for ln in limits.splitlines() if ln.startswith("Max core file size"))
        return line.split()[4:6] == ["0", "0"]

    try:
        until(core_limit_is_zero, "the child to turn core dumps off", within=30.0)
        cmdline = (proc / "cmdline").read_bytes()
        assert b"--text\x00-" in cmdline
        out, err = child.communicate(f"Grandmother lives there {MARKER}\n".encode(), timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err.decode()
    assert MARKER.encode() not in cmdline
    s = Store.open(path, PASSPHRASE)
    texts = [str(e.fields.get("text")) for e in s.entities("C-1", "addendum")]
    s.close()
    assert any(MARKER in t for t in texts), texts


def test_core_dumps_are_off_after_disable() -> None:
    """RLIMIT_CORE 0 and PR_SET_DUMPABLE 0, in a child that started able to dump."""
    script = (
        "import resource\n"
        "from fieldkit.hardening import disable_core_dumps, is_dumpable\n"
        "hard = resource.getrlimit(resource.RLIMIT_CORE)[1]\n"
        "if hard != 0:\n"
        "    soft = 1 << 20 if hard == resource.RLIM_INFINITY else min(hard, 1 << 20)\n"
        "    resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))\n"
        "    assert is_dumpable()\n"
        "disable_core_dumps()\n"
        "assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)\n"
        "assert not is_dumpable()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_profile_directory_and_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "default.fieldkit"
    s = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(s, transfer_doc(sample_case("C-1")))
    for file in path.parent.iterdir():
        assert file.stat().st_mode & 0o777 == 0o600, file
    s.close()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


def test_extra_transfer_keys_never_reach_the_clear_status_column(store: Store) -> None:
    case = sample_case("C-1")
    case["status"] = f"removed after abuse {MARKER}"
    with pytest.raises(FieldkitError, match="status"):
        services.import_cases(store, transfer_doc(case))  # an unknown case key is refused
    case = sample_case("C-1")
    case["history"]["visits"] = [
        {
            "id": "v-old",
            "date": "2026-10-01",
            "status": f"removed after abuse {MARKER}",
            "decision": f"{MARKER} disclosed",
        }
    ]  # visits are an open record kind: extra keys are kept, sealed
    services.import_cases(store, transfer_doc(case))
    rows = store._conn.execute("SELECT status, date FROM entities").fetchall()
    assert all(MARKER not in str(r) for r in rows), rows
    store.record("C-1", "visit", "v9", {"date": "2026-11-20", "approval": "pending"})
    status = store._conn.execute("SELECT status FROM entities WHERE entity_id='v9'").fetchone()[0]
    assert status == "pending"  # a whitelisted word still schedules without decrypting


async def test_the_app_has_no_screenshot_command(tmp_path: Path) -> None:
    from fieldkit.screens.app import make_app

    store = Store.create(tmp_path / "p.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    app = make_app(store=store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        titles = [c.title.lower() for c in app.get_system_commands(app.screen)]
        assert titles and not any("screenshot" in t for t in titles)
        app.action_screenshot(path=str(downloads))
        await pilot.pause()
    store.close()
    assert list(downloads.iterdir()) == []
