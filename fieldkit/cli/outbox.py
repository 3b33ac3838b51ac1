"""`fieldkit sync` (its exit codes and `--json` contract) and `fieldkit outbox [retry]`.

`sync --json` prints exactly one JSON object on stdout whatever happens: the summary, or
`{"outcome", "exit_code", "message", …}` for an error, so a script never parses nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from fieldkit import services
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _

console = Console()
PHASES = {"verify": N_("Verify"), "push": N_("Push"), "pull": N_("Pull")}
"""The sync's phases as its progress bar names them."""
err_console = Console(stderr=True)

outbox_app = typer.Typer(
    help="What is waiting to sync, and every change the server refused, with its reason.",
    invoke_without_command=True,
)


def _path(ctx: typer.Context) -> Path:
    from fieldkit.cli.base import ctx_of

    path: Path = ctx_of(ctx).path
    return path


def _counts(path: Path) -> dict[str, Any]:
    """What waits on this laptop, for the JSON of a failed sync (None where unknown)."""
    from fieldkit.sync.outcome import status_counts

    try:
        store = services.open_store(path)
    except FieldkitError:
        return {"waiting": None, "refused": None, "waiting_keys": None}
    try:
        waiting, refused, keys = status_counts(store)
    finally:
        store.close()
    return {"waiting": waiting, "refused": refused, "waiting_keys": keys}


def run_sync_command(
    path: Path,
    as_json: bool,
    print_summary: Callable[[Any], None],
    errors: Console,
    retry_all: bool = False,
) -> None:
    """Run one sync as `fieldkit sync` does; exit with the code its outcome names."""
    from fieldkit.services.sync import run_sync
    from fieldkit.sync.outcome import EXIT_ERROR, OUTCOMES

    try:
        store = services.open_store(path)
        try:
            if as_json:
                summary = run_sync(store, retry_all=retry_all)
            else:
                with Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    console=errors,
                    transient=True,
                ) as bar:
                    tasks: dict[str, TaskID] = {}

                    def progress(phase: str, done: int, total: int | None) -> None:
                        if phase not in tasks:
                            tasks[phase] = bar.add_task(
                                _(PHASES.get(phase, phase.capitalize())), total=total
                            )
                        bar.update(tasks[phase], completed=done, total=total)

                    summary = run_sync(store, progress, retry_all=retry_all)
        finally:
            store.close()
    except FieldkitError as exc:
        if not as_json:
            raise
        code = exc.exit_code if exc.exit_code in OUTCOMES else EXIT_ERROR
        report = {"outcome": OUTCOMES[code], "exit_code": code, "message": str(exc)}
        report.update(_counts(path))
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        errors.print(f"fieldkit: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None
    if as_json:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        print_summary(summary)
    if summary.exit_code:
        if not as_json:
            errors.print(
                _(
                    "fieldkit: not everything was accepted: {quarantined_total} refused, "
                    "{waiting} waiting; `fieldkit outbox` lists them"
                ).format(quarantined_total=summary.quarantined_total, waiting=summary.waiting),
                markup=False,
                highlight=False,
            )
        raise typer.Exit(summary.exit_code)


@outbox_app.callback()
def outbox(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """What is waiting to sync, and every change the server refused, with its reason."""
    if ctx.invoked_subcommand is not None:
        return
    from fieldkit.sync.outcome import outbox_items, waiting_key_cases, waiting_keys_line

    store = services.open_store(_path(ctx))
    try:
        items = outbox_items(store)
        keys = waiting_key_cases(store)
        last = store.meta("last_sync")
    finally:
        store.close()
    waiting = [i for i in items if i.state == "waiting"]
    refused = [i for i in items if i.state == "refused"]
    if as_json:
        report = {
            "waiting": len(waiting),
            "refused": len(refused),
            "last_sync": last,
            "items": [i.to_json() for i in items],
            "quarantined": [{"op_id": i.op_id, "reason": i.reason} for i in refused],
            "waiting_keys": keys,
        }
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    console.print(
        _("{n} change(s) waiting to sync, {n2} refused by the server; last sync {last}").format(
            n=len(waiting), n2=len(refused), last=last or _("never")
        )
    )
    for item in waiting:
        console.print(
            _("waiting  {label}  op {op_id}").format(label=escape(item.label), op_id=item.op_id)
        )
    for item in refused:
        later = _("sent again once that changes") if item.retryable else _("kept for good")
        console.print(
            _("[red]refused[/]  {label}  op {op_id}: {reason} ({later})").format(
                label=escape(item.label), op_id=item.op_id, reason=escape(item.reason), later=later
            )
        )
    if keys:
        console.print(
            _("[yellow]![/] {waiting_keys_line}: {keys}").format(
                waiting_keys_line=waiting_keys_line(len(keys)), keys=", ".join(keys)
            )
        )
    if any(i.retryable for i in refused):
        console.print(_("`fieldkit outbox retry` sends the refused changes that may now pass."))


@outbox_app.command("retry")
def retry(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object on stdout, errors included.")
    ] = False,
) -> None:
    """Send again every refused change whose cause can go away (then sync as usual).

    Changes refused for good (altered or forged) stay quarantined with their reason.
    Exit codes as `fieldkit sync`.
    """
    from fieldkit.cli.sync import _print_summary

    run_sync_command(_path(ctx), as_json, _print_summary, err_console, retry_all=True)
