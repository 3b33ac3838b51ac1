"""The field app's unlock begins before the rest of the command loads.

`fieldkit` with no command opens the app; when the passphrase is in the environment
(FIELDKIT_PASSPHRASE or FIELDKIT_PASSPHRASE_FILE), Argon2id starts in a thread here, at
the top of `fieldkit.cli`, and runs while Typer, Rich, Textual and the screens load (it
releases the GIL). Any command, `--help` or an unknown option: nothing starts here.
"""

from __future__ import annotations

import os
import sys


def begin_app_unlock(argv: list[str] | None = None) -> None:
    """Start unlocking the profile the app will open, if this run opens the app."""
    argv = sys.argv if argv is None else argv
    # `fieldkit …`, or `python -m fieldkit.cli …` (argv[0] is "-m" while the package loads).
    if not argv or os.path.basename(argv[0]) not in ("fieldkit", "-m"):
        return
    # local: fieldkit.cli loads this module before anything else of fieldkit (the commands
    # import services a moment later anyway)
    from fieldkit import services
    from fieldkit.hardening import disable_core_dumps

    options = services.app_options(argv[1:])
    if options is None:
        return
    disable_core_dumps()  # before any key is in memory
    directory = services.data_dir(options.get("--data-dir"))
    services.begin_early_unlock(
        services.profile_path(directory, options.get("--profile", services.DEFAULT_PROFILE))
    )
