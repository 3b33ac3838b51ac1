"""The `fieldkit` command: thin; parses, calls a service, prints. Errors are one line.

Composed statically: `base` holds the Typer apps and shared options, each command module
adds its commands, in the order `fieldkit --help` lists them.
"""

from __future__ import annotations

from fieldkit.cli.early import begin_app_unlock

begin_app_unlock()  # Argon2id runs while the commands below (and Textual) load

from fieldkit.cli import (  # noqa: E402
    casework,
    core,
    evidence,
    policy,
    practice,
    supervisor,
    sync,
    visit,
)
from fieldkit.cli.base import Context, app, ctx_of, err_console  # noqa: E402
from fieldkit.errors import FieldkitError  # noqa: E402
from fieldkit.hardening import disable_core_dumps  # noqa: E402
from fieldkit.i18n import _  # noqa: E402

__all__ = ["Context", "app", "core", "ctx_of", "main"]

practice.register(app)
sync.register(app)
supervisor.register(app)
visit.register(app)
policy.register(app)
casework.register(app)
evidence.register(app)


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
