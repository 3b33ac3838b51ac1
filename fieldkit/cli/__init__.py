"""The `fieldkit` command: thin; parses, calls a service, prints. Errors are one line.

`base` holds the Typer apps and shared options, `core` the root's own commands; every
other command module is loaded by `base.LazyGroup` when one of its commands runs (its
table lists them in the order `fieldkit --help` does), so a command imports only its own.
"""

from __future__ import annotations

from fieldkit.cli.early import begin_app_unlock

begin_app_unlock()  # Argon2id runs while the commands below (and Textual) load

from fieldkit.cli import core  # noqa: E402
from fieldkit.cli.base import Context, app, ctx_of, err_console  # noqa: E402
from fieldkit.errors import FieldkitError  # noqa: E402
from fieldkit.hardening import disable_core_dumps  # noqa: E402
from fieldkit.i18n import _  # noqa: E402

__all__ = ["Context", "app", "core", "ctx_of", "main"]


def main() -> None:
    """Entry point: run the command; a user's mistake is one line and a non-zero exit."""
    disable_core_dumps()  # before any key or case text is in memory
    try:
        app()
    except FieldkitError as exc:
        err_console.print(f"fieldkit: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("fieldkit: " + _("interrupted; nothing was lost"))
        raise SystemExit(130) from None
