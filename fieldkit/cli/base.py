"""The `fieldkit` command's root: the Typer apps every command module adds to, and the
options every command shares. Imports no command module: the root and `case` groups load
one when its command runs (`LazyGroup`, tables `ROOT_COMMANDS` and `CASE_COMMANDS`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import typer
import typer.main
from rich.console import Console
from typer.core import TyperGroup

from fieldkit import services
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.lazy import attribute

# emoji=False: a worker's text such as ":smile:" is data and prints as typed.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

ProgressFn = Callable[[str, int, int | None], None]
"""A progress callback: (what, done, total or None)."""


@contextmanager
def progress_bar(errors: Console, describe: Callable[[str], str]) -> Iterator[ProgressFn | None]:
    """A transient progress bar, one line per `what` named by `describe`, when `errors` is
    a terminal; elsewhere (a pipe, a log file) no bar and no callback: Rich's transient bar,
    never drawn there, still left a blank line before the command's one-line answer."""
    isatty = getattr(errors.file, "isatty", None)
    # not `Console.is_terminal`: FORCE_COLOR or TTY_COMPATIBLE (set in many CI runners)
    # make Rich call a pipe a terminal, and the bar would be drawn into the log
    if not (isatty and isatty()):
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn  # local: start-up time

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=errors,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(describe(what), total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield progress


_CASEWORK = "fieldkit.cli.casework:register"
_EVIDENCE = "fieldkit.cli.evidence:register"
_PRACTICE = "fieldkit.cli.practice:register"
_SUPERVISOR = "fieldkit.cli.supervisor:register"
_SYNC = "fieldkit.cli.sync:register"
ROOT_COMMANDS: dict[str, str | None] = {
    "init": None,
    "recovery-keygen": None,
    "verify": None,
    "language": None,
    "demo-seed": None,
    "due": _PRACTICE,
    "rules": _PRACTICE,
    "server": _SYNC,
    "enroll": _SYNC,
    "grant": _SYNC,
    "sync": _SYNC,
    "review": _SUPERVISOR,
    "approve": _SUPERVISOR,
    "return": _SUPERVISOR,
    "reject": _SUPERVISOR,
    "addendum": _SUPERVISOR,
    "conflicts": _SUPERVISOR,
    "resolve": _SUPERVISOR,
    "attach": _EVIDENCE,
    "attachments": _EVIDENCE,
    "acknowledge": _EVIDENCE,
    "family-copy": _EVIDENCE,
    "verify-record": _EVIDENCE,
    "case": None,
    "passphrase": None,
    "admin": _SYNC,
    "outbox": _SYNC,
    "export": _SUPERVISOR,
    "supervision": _SUPERVISOR,
    "visit": "fieldkit.cli.visit:register",
    "policy": "fieldkit.cli.policy:register",
    "assessment": _CASEWORK,
    "plan": _CASEWORK,
    "formal-review": _CASEWORK,
    "event": _CASEWORK,
    "facts": _CASEWORK,
    "closure": _CASEWORK,
    "contact": _EVIDENCE,
}
"""Every root command in the order `fieldkit --help` lists them, and the `module:function`
that registers it on a Typer app (None: `fieldkit.cli.core`, always loaded)."""
CASE_COMMANDS: dict[str, str | None] = {
    "export": None,
    "list": None,
    "show": None,
    "import": "fieldkit.cli.sync:register_case",
    "assign": "fieldkit.cli.sync:register_case",
}
"""The same for `fieldkit case`."""
_registered: dict[str, typer.Typer] = {}
"""Each loaded `module:function`'s Typer app: registered once a process (CliRunner runs
build the click group again for every invocation)."""


try:  # Typer's private coercion (0.29): without it, every parameter keeps Typer's own
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # pragma: no cover (another Typer: slower, never wrong)
    RuntimeParam = None  # type: ignore[assignment,misc]
_RuntimeBase: Any = object if RuntimeParam is None else RuntimeParam
_PLAIN = (str, bool)
"""Annotations whose value click already parses to the type: no coercion is left to do."""


@dataclass(frozen=True)
class _PlainParam(_RuntimeBase):  # type: ignore[misc]
    """A `str` or `bool` parameter's value as click parsed it. Typer (0.29) builds a
    pydantic TypeAdapter for every parameter, even one left out, and importing pydantic
    was 0.1 s of CPU of every command (issue 17); for a value already of the type its
    adapter returns it unchanged, as this does. Anything else goes to Typer's own."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is self.annotation:
            return value
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param, ctx)


def plain_params(command: Any, ctx: Any) -> None:  # click's Command and Context
    """Give `command`'s and its subcommands' plain `str` and `bool` parameters (`--help`
    too) `_PlainParam`: no pydantic for them. One with a parser, a file type or a
    coercion already built keeps Typer's."""
    if RuntimeParam is None:  # pragma: no cover
        return
    params = [*getattr(command, "params", ())]
    if hasattr(command, "get_help_option"):
        params.append(command.get_help_option(ctx))
    for param in params:
        described = getattr(param, "type_descriptor", None)
        if (
            described is not None
            and described.annotation in _PLAIN
            and described.file_annotation is None
            and described.parameter_info.parser is None
            and getattr(param, "_runtime_param", False) is None
        ):
            param._runtime_param = _PlainParam(described.parameter_info, described.annotation)
    for subcommand in getattr(command, "commands", {}).values():
        plain_params(subcommand, ctx)


class LazyGroup(TyperGroup):
    """A group that imports a command's module only when that command is asked for, so
    `fieldkit due` loads no sync, visit or evidence code (issue 17; docs/decisions.md).
    `--help` asks for every command, so it loads them all and lists each as before."""

    table: dict[str, str | None] = CASE_COMMANDS

    def list_commands(self, ctx: Any) -> list[str]:  # click's Context
        """Every command, loaded or not, in the table's order (one not in it last)."""
        listed = [name for name in self.table if name in self.commands or self.table[name]]
        return listed + [name for name in self.commands if name not in self.table]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:  # click's Context and Command
        """The command, its module registered on a Typer app of its own the first time."""
        where = self.table.get(cmd_name)
        if cmd_name not in self.commands and where is not None:
            if where not in _registered:
                module, function = where.split(":")
                commands = typer.Typer(rich_markup_mode="rich")
                attribute(module, function)(commands)
                _registered[where] = commands
            for name, command in typer.main.get_group(_registered[where]).commands.items():
                self.commands.setdefault(name, command)
        found = super().get_command(ctx, cmd_name)
        plain_params(found, ctx)
        return found


class _RootGroup(LazyGroup):
    """The root command: notes whether this run asked for `--json` (scripts get English)."""

    table = ROOT_COMMANDS

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's Context
        ctx.meta["fieldkit.json"] = "--json" in args
        plain_params(self, ctx)
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
case_app = typer.Typer(
    cls=LazyGroup, help="Import, export, list and show cases.", no_args_is_help=True
)
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
