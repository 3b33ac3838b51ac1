"""The `fieldkit` command's root: the Typer apps every command module adds to, and the
options every command shares. Imports no command module (the package composes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from fieldkit import services
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _

# emoji=False: a worker's text such as ":smile:" is data and prints as typed.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


class _RootGroup(TyperGroup):
    """The root command: notes whether this run asked for `--json` (scripts get English)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's Context
        ctx.meta["fieldkit.json"] = "--json" in args
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RootGroup,
    name="fieldkit",
    help="The caseworker's kit: encrypted offline case records, guided home visits, "
    "signed change log and sync.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
case_app = typer.Typer(help="Import, export, list and show cases.", no_args_is_help=True)
passphrase_app = typer.Typer(help="Change the profile's passphrase.", no_args_is_help=True)
app.add_typer(case_app, name="case")
app.add_typer(passphrase_app, name="passphrase")


@dataclass
class Context:
    """Global options every command shares."""

    data_dir: Path
    profile: str

    @property
    def path(self) -> Path:
        """The profile's SQLite file."""
        return services.profile_path(self.data_dir, self.profile)


def ctx_of(ctx: typer.Context) -> Context:
    """The shared options of this invocation."""
    obj: Context = ctx.find_root().obj
    return obj


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD option's date; anything else is one line naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldkitError(
            _("{option} {value} is not a date; write YYYY-MM-DD").format(
                option=option, value=repr(value)
            )
        ) from None
