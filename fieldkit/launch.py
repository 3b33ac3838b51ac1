"""The `fieldkit` command's process entry: the unlock starts before the command loads.

When the passphrase is in the environment (FIELDKIT_PASSPHRASE or the first line of
FIELDKIT_PASSPHRASE_FILE), the profile's passphrase slots are read (parameters and salt,
nothing secret) and Argon2id starts in a thread (`fieldkit.crypto.derive_early`) while
Typer, Rich and the command modules import; the store's unlock then takes the key. The
passphrase typed at a prompt, a profile that is not there, anything unexpected here: the
command runs exactly as it does without this, deriving the key when it unlocks.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


def _passphrase() -> str | None:
    value = os.environ.get("FIELDKIT_PASSPHRASE")
    if value:
        return value
    file = os.environ.get("FIELDKIT_PASSPHRASE_FILE")
    if file:
        text = Path(file).read_text(encoding="utf-8")
        return text.splitlines()[0] if text else None
    return None


def _profile_path(argv: list[str]) -> Path | None:
    """The profile the root options name (those before the command), as the CLI reads them."""
    data_dir: str | None = None
    profile = "default"
    args = iter(argv)
    for arg in args:
        if not arg.startswith("-"):
            break  # the command: options after it are the command's own
        name, eq, value = arg.partition("=")
        if name in ("--data-dir", "--profile", "--theme") and not eq:
            value = next(args, "")
        if name == "--data-dir":
            data_dir = value
        elif name == "--profile":
            profile = value
    if data_dir:
        home = Path(data_dir).expanduser()
    elif os.environ.get("FIELDKIT_HOME"):
        home = Path(os.environ["FIELDKIT_HOME"]).expanduser()
    else:
        # local: launch is the process's first module and stays lean; platformdirs (~5 ms)
        # only when no option or FIELDKIT_HOME names the directory
        import platformdirs

        home = Path(platformdirs.user_data_dir("fieldkit", appauthor=False))
    return home / f"{profile}.fieldkit"


def start_unlock(argv: list[str]) -> None:
    """Start deriving the passphrase key of the profile this command will open, if known."""
    if "--help" in argv or "init" in argv[:1]:
        return
    passphrase = _passphrase()
    path = _profile_path(argv)
    if not passphrase or path is None or not path.is_file():
        return
    # local, to stay lean: json, sqlite3 and crypto are ~30 ms (-X importtime) that only a run
    # with the passphrase in the environment needs here, never `--help` or a prompt
    import json
    import sqlite3

    from fieldkit.crypto import KeySlot, argon_params, derive_early, unb64

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
    try:
        rows = conn.execute("SELECT data FROM key_slots WHERE kind='passphrase'").fetchall()
    finally:
        conn.close()
    for (data,) in rows[:1]:
        slot = KeySlot.from_json(json.loads(data))
        derive_early(passphrase, unb64(slot.params["salt"]), argon_params(slot))


def main() -> None:
    """Entry point of the `fieldkit` command."""
    with contextlib.suppress(Exception):  # only a head start: the unlock derives the key
        start_unlock(sys.argv[1:])
    # after the head start: the CLI (Typer, Rich, the commands) loads while Argon2id runs
    from fieldkit.cli import main as cli_main

    cli_main()
