"""Sync commands: `fieldkit server`, `fieldkit admin …`, `fieldkit enroll`, `fieldkit sync`.

Registered by `fieldkit.cli._register_optional()`. Thin: parse, call fieldkit.sync, print.
Server-side modules are imported inside the commands that need them, so a laptop's
`fieldkit` starts without loading FastAPI.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from fieldkit import services
from fieldkit.errors import FieldkitError, OfflineError

if TYPE_CHECKING:
    from fieldkit.sync.client import SyncSummary

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="FIELDKIT_SERVER_DB",
        help="Server database URL (default: a SQLite file in the data dir; "
        "postgresql+psycopg://… for PostgreSQL).",
    ),
]


def _context(ctx: typer.Context) -> Any:
    from fieldkit.cli import ctx_of

    return ctx_of(ctx)


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _engine(db: str | None) -> Any:
    from fieldkit.sync.db import open_database

    return open_database(db, pool_size=2)


# --- server and admin -------------------------------------------------------------------

admin_app = typer.Typer(
    help="Agency admin on the server host: people, enrollment codes, devices.",
    no_args_is_help=True,
)
user_app = typer.Typer(help="Add and list people.", no_args_is_help=True)
admin_app.add_typer(user_app, name="user")


def server(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8750,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (stateless; share one database).")
    ] = 1,
) -> None:
    """Run the agency sync server (migrates the database first; OpenAPI at /docs)."""
    from fieldkit.sync.db import server_url
    from fieldkit.sync.server import serve

    url = server_url(db)
    shown = url.split("@")[-1] if "@" in url else url
    err_console.print(f"fieldkit server on http://{host}:{port} · database {shown}")
    serve(url, host, port, workers)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (the same as `fieldkit init --user`).")],
    role: Annotated[str, typer.Option(help="worker, supervisor or admin.")] = "worker",
    supervisor: Annotated[
        str | None, typer.Option(help="The worker's supervisor (a user already added).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a person to the server."""
    from fieldkit.sync import admin

    admin.add_user(_engine(db), name, role, supervisor)
    console.print(
        f"Added {name} as {role}" + (f", supervised by {supervisor}" if supervisor else "")
    )


@user_app.command("list")
def user_list(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """List people and whether each has enrolled a laptop."""
    from fieldkit.sync import admin

    rows = admin.users(_engine(db))
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=f"{len(rows)} people")
    for column in ("user", "role", "supervisor", "key"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["name"], r["role"], r["supervisor"] or "", "yes" if r["has_key"] else "no")
    console.print(table)


@admin_app.command("enroll-code")
def enroll_code(
    name: Annotated[str, typer.Argument(help="Whose laptop will enroll.")],
    hours: Annotated[float, typer.Option(help="How long the code stays valid.")] = 24.0,
    db: DbOption = None,
) -> None:
    """Issue a one-time, expiring enrollment code (shown once; only its hash is kept)."""
    from fieldkit.sync import admin

    issued = admin.enroll_code(_engine(db), name, hours)
    console.print(f"Enrollment code for {name}: [bold]{issued.code}[/]")
    console.print(f"Valid once, until {_when(issued.expires_ms)}.")


@admin_app.command("revoke")
def revoke(
    device: Annotated[str, typer.Argument(help="Device id (or an unambiguous prefix).")],
    db: DbOption = None,
) -> None:
    """Refuse a lost or retired laptop from its next request on; its synced work stays."""
    from fieldkit.sync import admin

    device_id = admin.revoke(_engine(db), device)
    console.print(f"Revoked device {device_id}; it is refused from its next request.")


@admin_app.command("devices")
def devices(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """List enrolled devices: whose, last seen, ops synced, revoked."""
    from fieldkit.sync import admin

    rows = admin.devices(_engine(db))
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=f"{len(rows)} devices")
    for column in ("device", "user", "enrolled", "last seen", "ops", "status"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["device_id"],
            r["user"],
            _when(r["enrolled_ms"]),
            _when(r["last_seen_ms"]),
            str(r["ops"]),
            "[red]revoked[/]" if r["revoked"] else "active",
        )
    console.print(table)


@admin_app.command("recovery-key")
def recovery_key(
    file: Annotated[Path, typer.Argument(help="The agency recovery PUBLIC key (X25519).")],
    db: DbOption = None,
) -> None:
    """Set the agency recovery public key every case key is also wrapped to."""
    from fieldkit.sync import admin

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FieldkitError(f"cannot read {file}: {exc.strerror}") from None
    admin.set_recovery_key(_engine(db), text)
    console.print("Recovery key set; case keys assigned from now on are wrapped to it.")


# --- laptop side ------------------------------------------------------------------------


def enroll(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The agency server, e.g. https://sync.agency.org")],
    code: Annotated[str, typer.Argument(help="The one-time code from your admin.")],
) -> None:
    """Register this laptop with the agency server (once)."""
    from fieldkit.sync.client import enroll as do_enroll

    context = _context(ctx)
    passphrase = services.ask_passphrase()
    store = services.open_store(context.path, passphrase)
    try:
        reply = do_enroll(store, url, code, passphrase)
    finally:
        store.close()
    console.print(f"Enrolled this laptop for {reply.user} ({reply.role}) with {url}")


def sync(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON summary for scripts.")] = False,
) -> None:
    """Verify, push the day's work, pull assignments, approvals and returns; merge."""
    from fieldkit.sync.client import run_sync

    context = _context(ctx)
    store = services.open_store(context.path)
    try:
        if as_json:
            summary = run_sync(store)
        else:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                console=err_console,
                transient=True,
            ) as bar:
                tasks: dict[str, TaskID] = {}

                def progress(phase: str, done: int, total: int | None) -> None:
                    if phase not in tasks:
                        tasks[phase] = bar.add_task(phase[:1].upper() + phase[1:], total=total)
                    bar.update(tasks[phase], completed=done, total=total)

                summary = run_sync(store, progress)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        _print_summary(summary)
    if summary.attachment_chunks_waiting and summary.attachment_problems:
        raise OfflineError(
            f"the text is synced; {summary.attachment_chunks_waiting} attachment chunk(s) "
            "are still waiting to upload (nothing lost): run `fieldkit sync` again"
        )


def _print_summary(summary: SyncSummary) -> None:
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
    table.add_row("still waiting to sync", str(summary.waiting))
    console.print(table)
    for item in summary.rejected:
        console.print(
            f"[red]rejected[/] op {item['op_id']}: {escape(item['reason'])} (kept, quarantined)"
        )
    for item in summary.decisions_received:
        colour = "green" if item["decision"] in ("approved", "confirmed") else "yellow"
        line = f"case {item['case_id']} {item['target']} {item['target_id']} by {item['by']}" + (
            f": {item['comment']}" if item["comment"] else ""
        )
        console.print(f"[{colour}]{item['decision']}[/] {escape(line)}")
    for conflict in summary.conflicts:
        label = "needs resolution" if conflict["needs_resolution"] else "kept both versions"
        console.print(
            f"[yellow]conflict[/] case {conflict['case_id']} {conflict['entity']} "
            f"{conflict['entity_id']}.{conflict['field']}: {label}"
        )
    for line in summary.team_problems + summary.local_problems:
        console.print(f"[yellow]![/] {line}")
    for item in summary.refused_from_server:
        console.print(f"[red]not merged[/] op {item['op_id']}: {item['reason']}")
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


def _with_cases(count: int, case_ids: list[str]) -> str:
    return f"{count} ({', '.join(case_ids)})" if case_ids else str(count)


def outbox(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """What is waiting to sync, and every change the server refused, with its reason."""
    context = _context(ctx)
    store = services.open_store(context.path)
    try:
        refused = [{"op_id": o, "reason": r} for o, r in store.quarantined()]
        report: dict[str, Any] = {
            "waiting": store.outbox_count(),
            "last_sync": store.meta("last_sync"),
            "quarantined": refused,
        }
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    console.print(
        f"{report['waiting']} change(s) waiting to sync; last sync {report['last_sync'] or 'never'}"
    )
    for item in refused:
        console.print(f"[red]refused[/] op {item['op_id']}: {item['reason']}")


def case_assign(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    worker: Annotated[str, typer.Argument(help="The worker the case goes to.")],
    supervisor: Annotated[
        str | None, typer.Option(help="The case's supervisor (default: you).")
    ] = None,
) -> None:
    """Assign or reassign a case; its key is wrapped for the new team at the next sync."""
    from fieldkit.sync.client import assign_case

    context = _context(ctx)
    store = services.open_store(context.path)
    try:
        assign_case(store, case_id, worker, supervisor)
    finally:
        store.close()
    console.print(f"Case {case_id} assigned to {worker}; `fieldkit sync` sends it.")


def case_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A fieldkit.case-transfer/1 JSON file.")],
    assign: Annotated[
        str | None,
        typer.Option(
            "--assign", help="Give the imported cases to this worker (you supervise them)."
        ),
    ] = None,
) -> None:
    """Import cases; a bad file is refused whole, naming the case and key."""
    from fieldkit.transfer import check_document

    context = _context(ctx)
    doc = services.read_transfer_file(file)
    cases = check_document(doc)
    store = services.open_store(context.path)
    try:
        if assign:
            from fieldkit.sync.client import assign_case

            for case in cases:
                case["worker"] = assign
                case["supervisor"] = store.user
            with store.transaction():
                ids = services.import_cases(store, doc)
                for case_id in ids:
                    assign_case(store, case_id, assign, store.user)
        else:
            ids = services.import_cases(store, doc)
    finally:
        store.close()
    suffix = f", assigned to {assign}; `fieldkit sync` sends them" if assign else ""
    console.print(f"Imported {len(ids)} case(s): {', '.join(ids)}{suffix}")


def register(app: typer.Typer) -> None:
    """Add the sync commands to the `fieldkit` command."""
    app.command("server")(server)
    app.add_typer(admin_app, name="admin")
    app.command("enroll")(enroll)
    app.command("sync")(sync)
    app.command("outbox")(outbox)
    for group in app.registered_groups:
        if group.name == "case" and group.typer_instance is not None:
            case_group = group.typer_instance
            case_group.registered_commands = [
                c for c in case_group.registered_commands if c.name != "import"
            ]
            case_group.command("import")(case_import)
            case_group.command("assign")(case_assign)
