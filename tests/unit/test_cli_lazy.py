"""A command loads only its own module, and the lazy tables name every command (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from fieldkit.cli import app
from fieldkit.cli.base import CASE_COMMANDS, ROOT_COMMANDS, LazyGroup
from tests.conftest import PASSPHRASE, run_cli

ENV = {"FIELDKIT_PASSPHRASE": PASSPHRASE}


@pytest.mark.parametrize("table", [ROOT_COMMANDS, CASE_COMMANDS], ids=["root", "case"])
def test_every_loaded_command_is_in_its_table(table: dict[str, str | None]) -> None:
    """A module's command missing from the table would be listed last and never loaded by name."""
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    ctx = group.make_context("fieldkit", ["--help"], resilient_parsing=True)
    if table is CASE_COMMANDS:
        group = group.get_command(ctx, "case")
    for name in table:
        assert group.get_command(ctx, name) is not None, name
    assert list(group.commands) and set(group.commands) == set(table)
    assert group.list_commands(ctx) == list(table)


def test_due_loads_neither_other_commands_nor_pydantic(tmp_path: Path) -> None:
    assert run_cli("init", "--user", "jsmith", env=ENV).returncode == 0
    script = (
        "import sys; from fieldkit.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'"
        " or m in ('fieldkit.cli.sync', 'fieldkit.cli.visit', 'fieldkit.services.visits')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "due", "--as-of", "2026-11-26", "--profile", "default"],
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
