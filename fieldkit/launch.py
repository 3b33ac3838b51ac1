"""The `fieldkit` command's process entry: the unlock starts before the command loads.

When the passphrase is in the environment (FIELDKIT_PASSPHRASE or the first line of
FIELDKIT_PASSPHRASE_FILE), the profile's passphrase slots are read (parameters and salt,
nothing secret) and Argon2id starts in a thread (`fieldkit.kdf.derive_early`, before the
rest of `cryptography` loads) while Typer, Rich and the command modules import; the store's
unlock then takes the key. The
passphrase typed at a prompt, a profile that is not there, anything unexpected here: the
command runs exactly as it does without this, deriving the key when it unlocks.
"""

from __future__ import annotations

import contextlib
import gc
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
    # local, to stay lean: json, sqlite3 and Argon2id alone (fieldkit.kdf, not the rest of
    # `cryptography` that fieldkit.crypto loads: the KDF starts that much sooner) are what
    # only a run with the passphrase in the environment needs here, never `--help` or a prompt
    import binascii
    import json
    import sqlite3

    from fieldkit.kdf import COST_KEYS, derive_early

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
    try:
        rows = conn.execute("SELECT data FROM key_slots WHERE kind='passphrase'").fetchall()
    finally:
        conn.close()
    for (data,) in rows[:1]:
        # the slot as `crypto.KeySlot.from_json`, `crypto.unb64` and `crypto.argon_params`
        # read it: the unlock takes the key only for the same salt and cost
        params = json.loads(data)["params"]
        salt = binascii.a2b_base64(params["salt"].encode("ascii").translate(_FROM_URLSAFE))
        derive_early(passphrase, salt, {k: int(v) for k, v in params.items() if k in COST_KEYS})


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def open_app(argv: list[str]) -> bool:
    """`fieldkit [--data-dir D] [--profile P] [--theme T]` in a terminal: the field app,
    opened without the command line (Typer and its pydantic, every command module: about a
    fifth of the start's CPU). False for anything else (a command, `--help`, `--lang`, no
    terminal, no profile): the CLI runs and says what it says today."""
    # local: the app's modules load after the head start, while Argon2id runs
    from fieldkit import services
    from fieldkit.errors import FieldkitError
    from fieldkit.hardening import disable_core_dumps
    from fieldkit.i18n import _
    from fieldkit.services import caseload

    options = services.app_options(argv)
    if options is None or not sys.stdout.isatty():
        return False
    directory = services.data_dir(options.get("--data-dir"))
    path = services.profile_path(directory, options.get("--profile", services.DEFAULT_PROFILE))
    if not path.exists():
        return False
    disable_core_dumps()  # before the store's keys are in memory
    # takes the key derived by the head start, then reads what the first frame shows
    pending = services.begin_unlock(path, then=caseload.start_read)
    # local: Textual and the screens, for this run only
    from fieldkit.screens.app import make_app

    try:
        make_app(profile_path=path, theme=options.get("--theme"), pending=pending).run()
    except FieldkitError as exc:  # as the CLI says it (fieldkit.cli.main)
        print(f"fieldkit: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        print("fieldkit: " + _("interrupted; nothing was lost"), file=sys.stderr)
        raise SystemExit(130) from None
    return True


def main() -> None:
    """Entry point of the `fieldkit` command."""
    # The start's objects are modules, classes and widgets that live as long as the process:
    # the cyclic collector would walk them again and again while they load (about 0.07 s of
    # the app's main thread before its first frame, a full pass among it). It is off until the
    # app's first frame (`FieldkitApp` turns it back on), or until the command line takes over.
    gc.disable()
    try:
        with contextlib.suppress(Exception):  # only a head start: the unlock derives the key
            start_unlock(sys.argv[1:])
        if open_app(sys.argv[1:]):
            return
    finally:
        gc.enable()
    # after the head start: the CLI (Typer, Rich, the commands) loads while Argon2id runs
    from fieldkit.cli import main as cli_main

    cli_main()
