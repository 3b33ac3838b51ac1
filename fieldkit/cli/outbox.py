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
from rich.table import Table

from fieldkit import services
from fieldkit.cli.base import ctx_of
from fieldkit.errors import FieldkitError
from fieldkit.sync.outcome import (
    EXIT_ERROR,
    OUTCOMES,
    SyncSummary,
    outbox_items,
    status_counts,
    waiting_key_cases,
    waiting_keys_line,
)
from fieldkit.text import safe

console = Console()
err_console = Console(stderr=True)

outbox_app = typer.Typer(
    help="What is waiting to sync, and every change the server refused, with its reason.",
    invoke_without_command=True,
)


def _path(ctx: typer.Context) -> Path:
    path: Path = ctx_of(ctx).path
    return path


def _counts(path: Path) -> dict[str, Any]:
    """What waits on this laptop, for the JSON of a failed sync (None where unknown)."""
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
    from fieldkit.services.sync import run_sync  # local: httpx/pydantic, ~0.4 s of start-up

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
                            tasks[phase] = bar.add_task(phase.capitalize(), total=total)
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
                f"fieldkit: not everything was accepted: {summary.quarantined_total} refused, "
                f"{summary.waiting} waiting; `fieldkit outbox` lists them",
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
        f"{len(waiting)} change(s) waiting to sync, {len(refused)} refused by the server; "
        f"last sync {last or 'never'}"
    )
    for item in waiting:
        console.print(f"waiting  {escape(item.label)}  op {item.op_id}")
    for item in refused:
        later = "sent again once that changes" if item.retryable else "kept for good"
        console.print(
            f"[red]refused[/]  {escape(item.label)}  op {item.op_id}: "
            f"{escape(item.reason)} ({later})"
        )
    if keys:
        console.print(f"[yellow]![/] {waiting_keys_line(len(keys))}: {', '.join(keys)}")
    if any(i.retryable for i in refused):
        console.print("`fieldkit outbox retry` sends the refused changes that may now pass.")


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
    run_sync_command(_path(ctx), as_json, print_summary, err_console, retry_all=True)


def print_summary(summary: SyncSummary) -> None:
    """The summary table of one sync, then a line per refusal, decision and problem."""
    table = Table(title="Sync", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("pushed", str(summary.pushed))
    if summary.duplicates:
        table.add_row("already on the server", str(summary.duplicates))
    table.add_row("pulled", str(summary.pulled))
    table.add_row("case keys received", str(summary.keys_received))
    table.add_row("conflicts to look at", str(len(summary.conflicts)))
    table.add_row("  of which need a person to resolve", str(summary.needs_resolution))
    table.add_row(
        "approvals received", _with_cases(summary.approvals_received, summary.approval_case_ids)
    )
    table.add_row(
        "returned for changes", _with_cases(summary.returns_received, summary.return_case_ids)
    )
    table.add_row(
        "supervision sessions received",
        _with_cases(summary.supervision_received, summary.supervision_case_ids),
    )
    table.add_row("rejected this sync", str(len(summary.rejected)))
    if summary.retried:
        table.add_row("refused before, sent again", str(summary.retried))
    table.add_row("still waiting to sync", str(summary.waiting))
    console.print(table)
    for item in summary.rejected:
        later = " it is sent again once that changes" if item.get("retryable") == "yes" else ""
        console.print(
            f"[red]rejected[/] op {safe(item['op_id'])}: {safe(item['reason'])} "
            f"(kept, quarantined;{later or ' for good'})"
        )
    for item in summary.keys_shared:
        console.print(f"[green]key shared[/] case {item['case_id']} with {escape(item['user'])}")
    for case_id in summary.keys_rotated:
        console.print(
            f"[green]key rotated[/] case {safe(case_id)}: a new key for the team from now on"
        )
    for item in summary.keys_not_shared:
        console.print(
            f"[yellow]waiting for a key[/] {escape(item['user'])} on case {item['case_id']}: "
            f"{escape(item['why'])}"
        )
    if summary.waiting_keys:
        console.print(f"[yellow]![/] {waiting_keys_line(len(summary.waiting_keys))}")
    for item in summary.decisions_received:
        colour = "green" if item["decision"] in ("approved", "confirmed") else "yellow"
        line = f"case {item['case_id']} {item['target']} {item['target_id']} by {item['by']}" + (
            f": {item['comment']}" if item["comment"] else ""
        )
        console.print(f"[{colour}]{safe(item['decision'])}[/] {safe(line)}")
    for conflict in summary.conflicts:
        label = "needs resolution" if conflict["needs_resolution"] else "kept both versions"
        console.print(
            f"[yellow]conflict[/] case {conflict['case_id']} {conflict['entity']} "
            f"{conflict['entity_id']}.{conflict['field']}: {label}"
        )
    for line in summary.team_problems + summary.local_problems:
        console.print(f"[yellow]![/] {safe(line)}")
    for item in summary.refused_from_server:
        console.print(f"[red]not merged[/] op {safe(item['op_id'])}: {safe(item['reason'])}")
    if abs(summary.clock_offset_ms) > 10 * 60 * 1000:
        hours = summary.clock_offset_ms / 3_600_000
        console.print(f"[yellow]![/] this laptop's clock is {abs(hours):.1f} h off the server's")
    if summary.attachments_sent or summary.attachments_received:
        console.print(
            f"attachments: {summary.attachments_sent} uploaded, "
            f"{summary.attachments_received} downloaded"
        )
    for line in summary.attachment_problems:
        console.print(f"[yellow]![/] attachments: {escape(line)}")
    if summary.quarantined_total:
        console.print(
            f"{summary.quarantined_total} change(s) refused by the server are kept on this "
            "laptop: `fieldkit outbox` lists them"
        )
    if any(item.get("cause") == "fork" for item in summary.rejected):
        console.print(
            "[yellow]![/] this laptop's chain forks from the server's (restored from a "
            "backup?): ask your IT lead for a code and run "
            "`fieldkit enroll URL CODE --new-device`; nothing is lost"
        )
    if summary.exit_code == 0:
        console.print("Everything on this laptop was sent and accepted.")


def _with_cases(count: int, case_ids: list[str]) -> str:
    return f"{count} ({', '.join(case_ids)})" if case_ids else str(count)
