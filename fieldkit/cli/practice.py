"""`fieldkit due` and `fieldkit rules`: thin commands over fieldkit.practice (PRACTICE.md ids)."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from fieldkit import i18n, services
from fieldkit.cli.base import console, ctx_of, parse_day
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import (
    OPEN_STATUSES,
    STATUS_HELP,
    CaseFacts,
    PolicyProfile,
    ProfileError,
    due_list,
    group_by_worker,
    list_profiles,
    load_profile,
    print_due,
    print_rules,
    worker_counts,
)
from fieldkit.text import json_text, safe

PROFILE_HELP = "Policy profile: a shipped name (" + ", ".join(list_profiles()) + ") or a TOML file."


def policy_for(name: str | None, stored: str | None = None) -> PolicyProfile:
    """--profile wins; else the policy the local profile was created with; else ontario-std7."""
    try:
        return load_profile(name or stored)
    except ProfileError as exc:
        raise FieldkitError(str(exc)) from None


def register(app: typer.Typer) -> None:
    """Add `due` and `rules` to the fieldkit CLI."""

    @app.command("due", epilog=STATUS_HELP)
    def due(
        ctx: typer.Context,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                help="Compute as of this day, YYYY-MM-DD (default: today in the agency's "
                "time zone).",
            ),
        ] = None,
        case_id: Annotated[str | None, typer.Option("--case", help="Only this case id.")] = None,
        worker: Annotated[
            str | None, typer.Option("--worker", help="Only this worker's cases.")
        ] = None,
        team: Annotated[
            bool, typer.Option("--team", help="Per worker: overdue, due and due-soon counts.")
        ] = False,
        profile: Annotated[str | None, typer.Option("--profile", help=PROFILE_HELP)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="A JSON list for scripts.")] = False,
        show_all: Annotated[
            bool, typer.Option("--all", help="Also list upcoming and done items.")
        ] = False,
    ) -> None:
        """What the practice rules make due on each case: overdue first, with rule and reason."""
        store = services.open_store(ctx_of(ctx).path)
        try:
            policy = policy_for(profile, store.meta("policy"))
            cases = services.rules_cases(store)
        finally:
            store.close()
        if case_id is not None and not any(c.id == case_id for c in cases):
            # an error, on stderr: stdout (the --json list) never carries a sentence
            raise FieldkitError(
                _("no case {case_id} in this profile; `fieldkit case list` shows them").format(
                    case_id=case_id
                )
            )
        if worker is not None:
            cases = [c for c in cases if c.worker == worker]
            if case_id is not None and not any(c.id == case_id for c in cases):
                # the case is in the profile, another worker's: an error on stderr, as above
                raise FieldkitError(
                    _("case {case_id} is not {worker}'s; leave out --worker to see it").format(
                        case_id=case_id, worker=worker
                    )
                )
        day = policy.today() if as_of is None else parse_day(as_of, "--as-of")
        # JSON is for scripts: its words stay English whatever the worker's language.
        with i18n.using("en") if as_json else contextlib.nullcontext():
            if team:
                _print_team(cases, policy, day, as_json, show_all)
                return
            code = print_due(
                console, cases, policy, day, case_id=case_id, as_json=as_json, show_all=show_all
            )
        if code:
            raise typer.Exit(code)

    @app.command("rules")
    def rules(
        profile: Annotated[str | None, typer.Option("--profile", help=PROFILE_HELP)] = None,
    ) -> None:
        """Every practice rule: what it requires, this profile's numbers, how it is checked."""
        print_rules(console, policy_for(profile))


def _print_team(
    cases: list[CaseFacts], policy: PolicyProfile, day: date, as_json: bool, show_all: bool
) -> None:
    """Team compliance: each worker's items, with counts by status."""
    items = due_list(cases, policy, day, statuses=None if show_all else OPEN_STATUSES)
    groups = group_by_worker(items)
    rows = worker_counts(items)
    if as_json:
        doc = [
            {
                "worker": worker,
                "counts": counts,
                "cases": n_cases,
                "items": [i.to_json() for i in groups[worker]],
            }
            for worker, counts, n_cases in rows
        ]
        console.out(json_text(doc), highlight=False)
        return
    table = Table(title=_("Team compliance as of {day}").format(day=day.isoformat()))
    columns = (_("worker"), _("⚠ overdue"), _("● due"), _("○ due soon"), _("cases"))
    for column in columns:
        table.add_column(column)
    for worker, counts, n_cases in rows:
        table.add_row(
            safe(worker) if worker else _("(unassigned)"),
            str(counts["overdue"]),
            str(counts["due"]),
            str(counts["due-soon"]),
            str(n_cases),
        )
    console.print(table)
