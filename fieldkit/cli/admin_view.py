"""`fieldkit admin audit` and `fieldkit admin sync-health`: what the IT lead reads."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fieldkit.cli.base import console, err_console
from fieldkit.i18n import _
from fieldkit.services.policies import stale_after_days

if TYPE_CHECKING:
    from sqlalchemy import Engine


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="FIELDKIT_SERVER_DB",
        help="Server database URL (default: a SQLite file in the data dir; "
        "postgresql+psycopg://… for PostgreSQL).",
    ),
]


def when(ms: int | None) -> str:
    if ms is None:
        return _("never")
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def admin_engine(db: str | None, create: bool = False) -> Engine:
    """The server database an admin command acts on; named on stderr, never made unasked."""
    from fieldkit.sync.admin_view import (
        admin_database,
    )  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    engine, shown = admin_database(db, create)
    err_console.print(
        _("database: {shown}").format(shown=shown), markup=False, highlight=False, soft_wrap=True
    )
    return engine


def audit(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Show the last N events.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """Enrollments (and refused ones, with the reason), revocations, refused ops, teams."""
    from fieldkit.sync import admin  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    events = admin.audit_events(admin_engine(db), limit)
    if as_json:
        sys.stdout.write(json.dumps(events, indent=2) + "\n")
        return
    table = Table(title=_("audit: last {n} events").format(n=len(events)))
    for column in (_("when"), _("who"), _("what"), _("detail")):
        table.add_column(column)
    for e in events:
        table.add_row(when(e["at_ms"]), escape(e["actor"]), e["action"], escape(e["detail"]))
    console.print(table)


def sync_health(
    db: DbOption = None,
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Flag a laptop not synced for more than this many days (default: the "
            "practice profile's [sync] stale_after_days).",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="The agency's practice profile (a shipped name or a TOML file) whose "
            "[sync] stale_after_days applies (default: ontario-std7).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """Per laptop: last sync, changes waiting, refused, cases waiting for keys, gone quiet."""
    from fieldkit.sync.admin_view import (
        sync_health as health,
    )  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up
    from fieldkit.sync.protocol import now_ms  # local: FastAPI/SQLAlchemy, ~0.5 s of start-up

    if days is None:
        days = stale_after_days(profile)
    engine = admin_engine(db)
    rows = health(engine, now_ms(), days)
    if as_json:
        sys.stdout.write(json.dumps({"stale_days": days, "devices": rows}, indent=2) + "\n")
        return
    table = Table(
        title=_("sync health ({n} laptops; quiet after {days} days)").format(n=len(rows), days=days)
    )
    for column in (
        _("device"),
        _("user"),
        _("last sync"),
        _("outcome"),
        _("waiting"),
        _("refused"),
        _("keys"),
        "",
    ):
        table.add_column(column)
    for r in rows:
        flag = "revoked" if r["revoked"] else ("[red]not seen[/]" if r["stale"] else "")
        table.add_row(
            r["device"],
            escape(r["user"]),
            when(r["last_sync_ms"]),
            r["outcome"] or "-",
            "-" if r["waiting"] is None else str(r["waiting"]),
            str(r["refused"]),
            "-" if r["waiting_keys"] is None else str(r["waiting_keys"]),
            flag,
        )
    console.print(table)


def register_admin_views(admin_app: typer.Typer) -> None:
    """Add the commands to `fieldkit admin`."""
    admin_app.command("audit")(audit)
    admin_app.command("sync-health")(sync_health)
