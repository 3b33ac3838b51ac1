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
from rich.table import Table

from fieldkit import services
from fieldkit.cli.base import ctx_of, progress_bar
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _, ngettext
from fieldkit.sync.outcome import (
    EXIT_ERROR,
    OUTCOMES,
    SyncSummary,
    outbox_items,
    refusal_groups,
    status_counts,
    waiting_key_cases,
    waiting_keys_line,
)
from fieldkit.text import safe

console = Console()
PHASES = {"verify": N_("Verify"), "push": N_("Push"), "pull": N_("Pull")}
"""The sync's phases as its progress bar names them."""
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
                with progress_bar(
                    errors, lambda phase: _(PHASES.get(phase, phase.capitalize()))
                ) as progress:
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
        ngettext(
            "{n} change waiting to sync, {n2} refused by the server; last sync {last}",
            "{n} changes waiting to sync, {n2} refused by the server; last sync {last}",
            len(waiting),
        ).format(n=len(waiting), n2=len(refused), last=last or _("never"))
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
    run_sync_command(_path(ctx), as_json, print_summary, err_console, retry_all=True)


def print_summary(summary: SyncSummary) -> None:
    """The summary table of one sync, then a line per refusal, decision and problem."""
    table = Table(title=_("Sync"), show_header=False)
    table.add_column(_("what"))
    table.add_column(_("count"), justify="right")
    table.add_row(_("pushed"), str(summary.pushed))
    if summary.duplicates:
        table.add_row(_("already on the server"), str(summary.duplicates))
    table.add_row(_("pulled"), str(summary.pulled))
    table.add_row(_("case keys received"), str(summary.keys_received))
    table.add_row(_("conflicts to look at"), str(len(summary.conflicts)))
    table.add_row("  " + _("of which need a person to resolve"), str(summary.needs_resolution))
    table.add_row(
        _("approvals received"), _with_cases(summary.approvals_received, summary.approval_case_ids)
    )
    table.add_row(
        _("returned for changes"), _with_cases(summary.returns_received, summary.return_case_ids)
    )
    table.add_row(
        _("supervision sessions received"),
        _with_cases(summary.supervision_received, summary.supervision_case_ids),
    )
    table.add_row(_("rejected this sync"), str(len(summary.rejected)))
    if summary.retried:
        table.add_row(_("refused before, sent again"), str(summary.retried))
    table.add_row(_("still waiting to sync"), str(summary.waiting))
    console.print(table)
    _print_refusals(summary.rejected)
    for item in summary.keys_shared:
        console.print(
            _("[green]key shared[/] case {case_id} with {user}").format(
                case_id=item["case_id"], user=escape(item["user"])
            )
        )
    for case_id in summary.keys_rotated:
        console.print(
            _("[green]key rotated[/] case {case_id}: a new key for the team from now on").format(
                case_id=safe(case_id)
            )
        )
    for item in summary.keys_not_shared:
        console.print(
            _("[yellow]waiting for a key[/] {user} on case {case_id}: {why}").format(
                user=escape(item["user"]), case_id=item["case_id"], why=escape(item["why"])
            )
        )
    if summary.waiting_keys:
        console.print(
            _("[yellow]![/] {waiting_keys_line}").format(
                waiting_keys_line=waiting_keys_line(len(summary.waiting_keys))
            )
        )
    for item in summary.decisions_received:
        colour = "green" if item["decision"] in ("approved", "confirmed") else "yellow"
        line = _("case {case_id} {target} {target_id} by {who}").format(
            case_id=item["case_id"],
            target=item["target"],
            target_id=item["target_id"],
            who=item["by"],
        ) + (f": {item['comment']}" if item["comment"] else "")
        decision = _(DECISION_WORDS[item["decision"]]) if item["decision"] in DECISION_WORDS else ""
        console.print(f"[{colour}]{safe(decision or item['decision'])}[/] {safe(line)}")
    for conflict in summary.conflicts:
        label = _("needs resolution") if conflict["needs_resolution"] else _("kept both versions")
        console.print(
            _("[yellow]conflict[/] case {case_id} {entity} {entity_id}.{field}: {label}").format(
                case_id=conflict["case_id"],
                entity=conflict["entity"],
                entity_id=conflict["entity_id"],
                field=conflict["field"],
                label=label,
            )
        )
    for line in summary.team_problems + summary.local_problems:
        console.print(_("[yellow]![/] {line}").format(line=safe(line)))
    for group in refusal_groups(summary.refused_from_server)[:REFUSAL_LINES]:
        console.print(
            ngettext(
                "[red]not merged[/] {n} change of case {case_id}: {reason}",
                "[red]not merged[/] {n} changes of case {case_id}: {reason}",
                group.count,
            ).format(n=group.count, case_id=safe(group.case_id), reason=safe(group.reason))
        )
    if abs(summary.clock_offset_ms) > 10 * 60 * 1000:
        hours = summary.clock_offset_ms / 3_600_000
        console.print(
            _("[yellow]![/] this laptop's clock is {hours:.1f} h off the server's").format(
                hours=abs(hours)
            )
        )
    if summary.attachments_sent or summary.attachments_received:
        console.print(
            _("attachments: {attachments_sent} uploaded, {attachments_received} downloaded").format(
                attachments_sent=summary.attachments_sent,
                attachments_received=summary.attachments_received,
            )
        )
    for line in summary.attachment_problems:
        console.print(_("[yellow]![/] attachments: {line}").format(line=escape(line)))
    if summary.quarantined_total:
        console.print(
            ngettext(
                "{quarantined_total} change refused by the server is kept on "
                "this laptop: `fieldkit outbox` lists it",
                "{quarantined_total} changes refused by the server are kept on "
                "this laptop: `fieldkit outbox` lists them",
                summary.quarantined_total,
            ).format(quarantined_total=summary.quarantined_total)
        )
    if any(item.get("cause") == "fork" for item in summary.rejected):
        console.print(
            _(
                "[yellow]![/] this laptop's chain forks from the server's (restored "
                "from a backup?): ask your IT lead for a code and run `fieldkit "
                "enroll URL CODE --new-device`; nothing is lost"
            )
        )
    if summary.exit_code == 0:
        console.print(_("Everything on this laptop was sent and accepted."))


REFUSAL_LINES = 10
"""At most this many (reason, case) lines of refusals in a sync's summary; `fieldkit
outbox` lists every refused change, and `sync --json` every op id."""


def _print_refusals(rejected: list[dict[str, str]]) -> None:
    """The changes refused this sync, one line per reason and case with its count."""
    if not rejected:
        return
    console.print(
        ngettext(
            "[red]{n} change refused[/] by the server (kept, quarantined):",
            "[red]{n} changes refused[/] by the server (kept, quarantined):",
            len(rejected),
        ).format(n=len(rejected))
    )
    groups = refusal_groups(rejected)
    shown = groups[:REFUSAL_LINES]
    for group in shown:
        reason = group.reason
        if group.case_id and group.case_id not in reason:
            reason = _("case {case_id}: {reason}").format(case_id=group.case_id, reason=reason)
        later = _("sent again once that changes") if group.retryable else _("for good")
        console.print(
            _("  {reason} ({count}; {later})").format(
                reason=safe(reason), count=group.count, later=later
            )
        )
    rest = groups[REFUSAL_LINES:]
    if not rest:
        return
    more_cases = len({g.case_id for g in rest} - {g.case_id for g in shown})
    if more_cases:
        line = ngettext(
            "  … and {n} more case (`fieldkit outbox` lists them)",
            "  … and {n} more cases (`fieldkit outbox` lists them)",
            more_cases,
        ).format(n=more_cases)
    else:
        line = ngettext(
            "  … and {n} more reason (`fieldkit outbox` lists them)",
            "  … and {n} more reasons (`fieldkit outbox` lists them)",
            len(rest),
        ).format(n=len(rest))
    console.print(line)


DECISION_WORDS = {
    "approved": N_("approved"),
    "returned": N_("returned"),
    "rejected": N_("rejected"),
    "confirmed": N_("confirmed"),
    "disputed": N_("disputed"),
}
"""A supervisor's decision in words (the summary's JSON keeps the id)."""


def _with_cases(count: int, case_ids: list[str]) -> str:
    return f"{count} ({', '.join(case_ids)})" if case_ids else str(count)
