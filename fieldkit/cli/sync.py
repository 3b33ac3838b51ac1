"""Sync commands: `fieldkit server`, `fieldkit admin …`, `fieldkit enroll`, `fieldkit sync`.

Added to the `fieldkit` command by `fieldkit.cli`. Thin: parse, call fieldkit.sync, print.
Server-side modules are imported inside the commands that need them, so a laptop's
`fieldkit` starts without loading FastAPI.

Why one module: one command group, the sync commands (`server`, `admin …`, `enroll`,
`grant`, `sync`, `case assign|import`), each a thin parse, call, print; the server's modules
are imported inside its commands, so a laptop's start never loads them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fieldkit import i18n, services
from fieldkit.cli.admin_view import DbOption, admin_engine, register_admin_views, when
from fieldkit.cli.base import console, ctx_of, err_console
from fieldkit.cli.outbox import outbox_app, print_summary, run_sync_command
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, ngettext
from fieldkit.sync.outcome import import_refusal
from fieldkit.text import safe
from fieldkit.transfer import check_document

CreateOption = Annotated[
    bool,
    typer.Option("--create", help="Create the server database if there is none (never silently)."),
]


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
    from fieldkit.sync.db import server_url  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    # The server answers every laptop and writes its log in English, whatever LANG says.
    i18n.set_language(i18n.DEFAULT)
    from fieldkit.sync.server import serve  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    url = server_url(db)
    shown = url.split("@")[-1] if "@" in url else url
    err_console.print(
        _("fieldkit server on http://{host}:{port} · database {shown}").format(
            host=host, port=port, shown=shown
        )
    )
    serve(url, host, port, workers)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (the same as `fieldkit init --user`).")],
    role: Annotated[
        str, typer.Option(help="worker, supervisor, admin or auditor (verifies printed records).")
    ] = "worker",
    supervisor: Annotated[
        str | None, typer.Option(help="The worker's supervisor (a user already added).")
    ] = None,
    db: DbOption = None,
    create: CreateOption = False,
) -> None:
    """Add a person to the server."""
    from fieldkit.sync import admin  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    admin.add_user(admin_engine(db, create), name, role, supervisor)
    console.print(
        f"Added {name} as {role}" + (f", supervised by {supervisor}" if supervisor else "")
    )


@user_app.command("list")
def user_list(
    db: DbOption = None,
    create: CreateOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """List people and whether each has enrolled a laptop."""
    from fieldkit.sync import admin  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    rows = admin.users(admin_engine(db, create))
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=_("{n} people").format(n=len(rows)))
    for column in (_("user"), _("role"), _("supervisor"), _("key")):
        table.add_column(column)
    for r in rows:
        has_key = _("yes") if r["has_key"] else _("no")
        table.add_row(r["name"], r["role"], r["supervisor"] or "", has_key)
    console.print(table)


@admin_app.command("enroll-code")
def enroll_code(
    name: Annotated[str, typer.Argument(help="Whose laptop will enroll.")],
    hours: Annotated[float, typer.Option(help="How long the code stays valid.")] = 24.0,
    db: DbOption = None,
    create: CreateOption = False,
) -> None:
    """Issue a one-time, expiring enrollment code (shown once; only its hash is kept)."""
    from fieldkit.sync import admin  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    issued = admin.enroll_code(admin_engine(db, create), name, hours)
    console.print(
        _("Enrollment code for {name}: [bold]{code}[/]").format(name=name, code=issued.code)
    )
    console.print(_("Valid once, until {when}.").format(when=when(issued.expires_ms)))


@admin_app.command("revoke")
def revoke(
    device: Annotated[str, typer.Argument(help="Device id (or an unambiguous prefix).")],
    wipe: Annotated[
        bool,
        typer.Option(
            "--wipe",
            help="At its next contact the laptop sends its pending work, then erases its keys "
            "and profile.",
        ),
    ] = False,
    db: DbOption = None,
    create: CreateOption = False,
) -> None:
    """Refuse a lost or retired laptop from its next request on; its synced work stays."""
    from fieldkit.sync import admin  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    device_id = admin.revoke(admin_engine(db, create), device, wipe=wipe)
    if wipe:
        console.print(
            _(
                "Revoked device {device_id} with wipe: at its next sync it sends its "
                "pending work, then erases its keys and profile (`fieldkit admin "
                "audit` shows when)."
            ).format(device_id=device_id)
        )
    else:
        console.print(
            _("Revoked device {device_id}; it is refused from its next request.").format(
                device_id=device_id
            )
        )


@admin_app.command("devices")
def devices(
    db: DbOption = None,
    create: CreateOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """List enrolled devices: whose, last seen, ops synced, revoked."""
    from fieldkit.sync import admin  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up
    from fieldkit.sync.admin_view import short_ids  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    rows = admin.devices(admin_engine(db, create))
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return

    shown = short_ids([r["device_id"] for r in rows])
    table = Table(
        title=_("{n} devices (ids cut to a unique prefix; --json: full)").format(n=len(rows))
    )
    for column in (_("device"), _("user"), _("enrolled"), _("last seen"), _("ops"), _("status")):
        table.add_column(column)
    for r in rows:
        table.add_row(
            shown[r["device_id"]],
            r["user"],
            when(r["enrolled_ms"]),
            when(r["last_seen_ms"]),
            str(r["ops"]),
            "[red]" + _("revoked") + "[/]" if r["revoked"] else _("active"),
        )
    console.print(table)


@admin_app.command("recovery-key")
def recovery_key(
    file: Annotated[Path, typer.Argument(help="The agency recovery PUBLIC key (X25519).")],
    db: DbOption = None,
    create: CreateOption = False,
) -> None:
    """Set the agency recovery public key every case key is also wrapped to."""
    from fieldkit.sync import admin  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FieldkitError(
            _("cannot read {file}: {strerror}").format(file=file, strerror=exc.strerror)
        ) from None
    admin.set_recovery_key(admin_engine(db, create), text)
    console.print(_("Recovery key set; case keys assigned from now on are wrapped to it."))


# --- laptop side ------------------------------------------------------------------------


def enroll(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The agency server, e.g. https://sync.agency.org")],
    code: Annotated[str, typer.Argument(help="The one-time code from your admin.")],
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow plain http:// to a host other than this one."),
    ] = False,
    new_device: Annotated[
        bool,
        typer.Option(
            "--new-device",
            help="A restored laptop: take a new device id, carry unsynced changes over "
            "(signed, original authorship kept), enroll with this fresh code.",
        ),
    ] = False,
) -> None:
    """Register this laptop with the agency server (once; again with --new-device)."""
    from fieldkit.sync.carryover import reenroll  # local: httpx/pydantic, ~0.4 s of start-up
    from fieldkit.sync.client import (
        enroll as do_enroll,
    )  # local: httpx/pydantic, ~0.4 s of start-up
    from fieldkit.sync.userkey import own_fingerprint  # local: httpx/pydantic, ~0.4 s of start-up

    context = ctx_of(ctx)
    passphrase = services.ask_passphrase()
    store = services.open_store(context.path, passphrase)
    try:
        if new_device:
            old, carried = reenroll(store, url, code, passphrase, insecure=insecure)
            console.print(
                ngettext(
                    "This laptop is now device {device_id} (was {old}); {n} unsynced "
                    "change carried over; `fieldkit sync` sends it.",
                    "This laptop is now device {device_id} (was {old}); {n} unsynced "
                    "changes carried over; `fieldkit sync` sends them.",
                    len(carried),
                ).format(device_id=store.device_id, old=old, n=len(carried))
            )
            return
        reply = do_enroll(store, url, code, passphrase, insecure=insecure)

        device, print_ = store.device_id, own_fingerprint(store)
        holds = store.secret("sync_user_box_key") is not None
    finally:
        store.close()
    console.print(
        _("Enrolled this laptop for {user} ({role}) with {url}").format(
            user=safe(reply.user), role=reply.role, url=safe(url)
        )
    )
    console.print(
        _("This laptop: device {device}, fingerprint [bold]{print_}[/]").format(
            device=device, print_=print_
        )
    )
    if not holds:
        console.print(
            _(
                "[yellow]Your cases open here once a laptop of yours that already "
                "syncs runs[/] fieldkit grant {device} --fingerprint {print_}"
            ).format(device=device, print_=print_)
        )


def grant(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="The new laptop's device id.")],
    fingerprint: Annotated[
        str,
        typer.Option("--fingerprint", help="As the new laptop showed it when it enrolled."),
    ],
) -> None:
    """Give another laptop of yours your user key (after comparing its fingerprint)."""
    from fieldkit.sync.userkey import grant as do_grant  # local: httpx/pydantic, ~0.4 s of start-up

    store = services.open_store(ctx_of(ctx).path)
    try:
        do_grant(store, device_id, fingerprint)
    finally:
        store.close()
    console.print(
        _("Granted your user key to {device_id}; it opens your cases at its sync.").format(
            device_id=safe(device_id)
        )
    )


def sync(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object on stdout, errors included.")
    ] = False,
) -> None:
    """Verify, push the day's work, pull assignments, approvals and returns; merge.

    Exit codes: 0 everything sent and accepted; 1 usage or set-up error; 2 offline,
    nothing lost; 3 some changes refused by the server or still waiting (`fieldkit
    outbox`); 4 local integrity failure, nothing sent (`fieldkit verify`); 5 the server
    refused this laptop (revoked or unknown there).
    """
    run_sync_command(ctx_of(ctx).path, as_json, print_summary, err_console)


def case_assign(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    worker: Annotated[str, typer.Argument(help="The worker the case goes to.")],
    supervisor: Annotated[
        str | None, typer.Option(help="The case's supervisor (default: you).")
    ] = None,
) -> None:
    """Assign or reassign a case; its key is wrapped for the new team at the next sync."""
    from fieldkit.sync.case_teams import assign_case  # local: httpx/pydantic, ~0.4 s of start-up

    context = ctx_of(ctx)
    store = services.open_store(context.path)
    try:
        assign_case(store, case_id, worker, supervisor)
    finally:
        store.close()
    console.print(
        _("Case {case_id} assigned to {worker}; `fieldkit sync` sends it.").format(
            case_id=case_id, worker=worker
        )
    )


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
    from fieldkit.sync.case_teams import assign_case  # local: httpx/pydantic, ~0.4 s of start-up

    context = ctx_of(ctx)
    doc = services.read_transfer_file(file)
    cases = check_document(doc)
    store = services.open_store(context.path)
    try:
        refusal = import_refusal(store, assign)
        if refusal:
            raise FieldkitError(refusal)
        if assign:
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
    if assign:
        line = _("Imported {n} case(s): {ids}, assigned to {worker}; `fieldkit sync` sends them")
    else:
        line = _("Imported {n} case(s): {ids}")
    console.print(line.format(n=len(ids), ids=safe(", ".join(ids)), worker=safe(assign or "")))


def register(app: typer.Typer) -> None:
    """Add the sync commands to the `fieldkit` command."""
    app.command("server")(server)
    register_admin_views(admin_app)
    app.add_typer(admin_app, name="admin")
    app.command("enroll")(enroll)
    app.command("grant")(grant)
    app.command("sync")(sync)
    app.add_typer(outbox_app, name="outbox")


def register_case(case_app: typer.Typer) -> None:
    """Add `case import` and `case assign` (loaded by `fieldkit case`'s LazyGroup)."""
    case_app.command("import")(case_import)
    case_app.command("assign")(case_assign)
