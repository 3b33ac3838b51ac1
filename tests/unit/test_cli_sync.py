"""`fieldkit sync` from a script: its stderr, a pipe, holds its answer and nothing else."""

from __future__ import annotations

from pathlib import Path

from fieldkit.store import Store
from tests.conftest import PASSPHRASE, run_cli

ENV = {"FIELDKIT_PASSPHRASE": PASSPHRASE}


def test_sync_errors_on_a_pipe_leave_no_blank_line_from_the_progress_bar(
    tmp_path: Path,
) -> None:
    """With stderr not a terminal, `sync` draws no progress bar: its error is stderr's only
    line. The transient bar, never drawn on a pipe, still wrote a blank line before it."""
    assert run_cli("init", "--user", "jsmith", env=ENV).returncode == 0
    not_enrolled = run_cli("sync", env=ENV)
    assert not_enrolled.returncode == 1
    assert not_enrolled.stderr.startswith("fieldkit: "), repr(not_enrolled.stderr)
    assert len(not_enrolled.stderr.splitlines()) == 1, repr(not_enrolled.stderr)

    store = Store.open(tmp_path / "home" / "default.fieldkit", PASSPHRASE)
    store.set_meta("sync_url", "http://127.0.0.1:9")  # nothing listens on the discard port
    store.close()
    offline = run_cli("sync", env=ENV)
    assert offline.returncode == 2  # offline, nothing lost
    assert offline.stderr.startswith("fieldkit: "), repr(offline.stderr)
    assert "" not in offline.stderr.splitlines(), repr(offline.stderr)
    assert "Traceback" not in offline.stderr
