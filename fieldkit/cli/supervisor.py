"""Supervisor commands: the review queue, approve/return, supervision, conflicts, PDF export.

The same decisions the console makes, for scripts and for a supervisor at a shell.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fieldkit import services
from fieldkit.cli.base import console, ctx_of, parse_day
from fieldkit.cli.freetext import read_free_text
from fieldkit.cli.practice import policy_for
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.pdf import visit_pdf
from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, review, visits
from fieldkit.text import json_text, safe

export_app = typer.Typer(help="Export records for the paper file.", no_args_is_help=True)
supervision_app = typer.Typer(help="Case supervision sessions (RV-1).", no_args_is_help=True)


def _store(ctx: typer.Context) -> Store:
    return services.open_store(ctx_of(ctx).path)


def _policy(store: Store) -> PolicyProfile:
    return policy_for(None, store.meta("policy"))


TARGETS = {
    "visit": "visit",
    "plan": "safety_plan",
    "safety-plan": "safety_plan",
    "service-plan": "service_plan",
    "closure": "closure",
}


def _target(kind: str) -> str:
    if kind not in TARGETS:
        raise FieldkitError(
            _("{kind}: review a visit, plan (safety plan), service-plan or closure").format(
                kind=repr(kind)
            )
        )
    return TARGETS[kind]


TEXT_SOURCE = "SOURCE: - reads stdin, @FILE a file; left out, you are asked."


def register(app: typer.Typer) -> None:
    """Add the supervisor's commands to the fieldkit CLI."""
    app.add_typer(export_app, name="export")
    app.add_typer(supervision_app, name="supervision")

    @app.command("review")
    def review_queue(
        ctx: typer.Context,
        as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    ) -> None:
        """The review queue: pending safety plans first, then signed visits, oldest first."""
        store = _store(ctx)
        try:
            policy = _policy(store)
            day = policy.today() if as_of is None else parse_day(as_of, "--as-of")
            queue = review.review_queue(store, policy, day)
        finally:
            store.close()
        if as_json:
            console.out(json_text([i.to_json() for i in queue]), highlight=False)
            return
        if not queue:
            console.print(_("Nothing waiting for review."))
            return
        table = Table(title=_("Review queue · {n} waiting").format(n=len(queue)))
        for column in (_("case"), _("record"), _("date"), _("worker"), _("flags")):
            table.add_column(column, overflow="fold")
        for item in queue:
            when = item.day.isoformat()
            if item.deadline:
                when += "\n" + _("document by {day}").format(day=item.deadline.isoformat())
            state = item.state_words
            title = f"{safe(item.title)}\n{safe(item.target_id)}" + (
                f"\n({safe(state)})" if state else ""
            )
            table.add_row(
                safe(item.case_id),
                title,
                when,
                safe(item.worker or ""),
                safe("\n".join(item.flags)) or "—",
            )
        console.print(table)

    @app.command("approve")
    def approve(
        ctx: typer.Context,
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        kind: Annotated[str, typer.Argument(help="visit, plan, service-plan or closure")],
        record_id: Annotated[str, typer.Argument(help="The visit's or plan's id.")],
        comment: Annotated[
            str | None, typer.Option("--comment", help=f"Optional note. {TEXT_SOURCE}")
        ] = None,
    ) -> None:
        """Approve a signed visit, alternative safety plan, service plan or closure, bound to
        its content."""
        note = read_free_text(comment, "--comment", "note")
        store = _store(ctx)
        try:
            review.decide(store, case_id, _target(kind), record_id, "approved", note)
        finally:
            store.close()
        console.print(
            _("Approved {kind} {record_id} of case {case_id}.").format(
                kind=kind, record_id=record_id, case_id=case_id
            )
        )

    @app.command("return")
    def return_visit(
        ctx: typer.Context,
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        visit_id: Annotated[str, typer.Argument(help="Visit id.")],
        comment: Annotated[
            str | None, typer.Option("--comment", help=f"What to correct. {TEXT_SOURCE}")
        ] = None,
    ) -> None:
        """Return a visit to the worker with a comment; they answer with an addendum."""
        note = read_free_text(comment, "--comment", "what to correct", required=True)
        store = _store(ctx)
        try:
            review.decide(store, case_id, "visit", visit_id, "returned", note)
        finally:
            store.close()
        console.print(
            _("Returned visit {visit_id} of case {case_id} to the worker.").format(
                visit_id=visit_id, case_id=case_id
            )
        )

    @app.command("reject")
    def reject(
        ctx: typer.Context,
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        plan_id: Annotated[str, typer.Argument(help="Alternative safety plan id.")],
        comment: Annotated[
            str | None, typer.Option("--comment", help=f"Why. {TEXT_SOURCE}")
        ] = None,
    ) -> None:
        """Reject an alternative safety plan (SA-2); it is never implemented."""
        note = read_free_text(comment, "--comment", "why", required=True)
        store = _store(ctx)
        try:
            review.decide(store, case_id, "safety_plan", plan_id, "rejected", note)
        finally:
            store.close()
        console.print(
            _("Rejected safety plan {plan_id} of case {case_id}.").format(
                plan_id=plan_id, case_id=case_id
            )
        )

    @app.command("addendum")
    def addendum(
        ctx: typer.Context,
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        visit_id: Annotated[str, typer.Argument(help="The signed visit it corrects.")],
        text: Annotated[
            str | None, typer.Option("--text", help=f"The correction. {TEXT_SOURCE}")
        ] = None,
    ) -> None:
        """Answer a return: a correction that points to the signed visit."""
        correction = read_free_text(text, "--text", "the correction", required=True)
        store = _store(ctx)
        try:
            if store.entity(case_id, "visit", visit_id) is None:
                raise FieldkitError(
                    _("no visit {visit_id} on case {case_id}").format(
                        visit_id=visit_id, case_id=case_id
                    )
                )
            visits.add_addendum(store, case_id, visit_id, correction, store.user, date.today())
        finally:
            store.close()
        console.print(_("Added an addendum to visit {visit_id}.").format(visit_id=visit_id))

    @app.command("conflicts")
    def conflicts(
        ctx: typer.Context,
        case_id: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    ) -> None:
        """Fields two people changed while offline; safety-critical ones need a person."""
        store = _store(ctx)
        try:
            found = review.open_conflicts(store, case_id)
        finally:
            store.close()
        doc = [services.conflict_json(c, c.case_id) for c in found]
        if as_json:
            console.out(json_text(doc), highlight=False)
            return
        if not doc:
            console.print(_("No conflicts."))
            return
        table = Table(title=_("Conflicts"))
        for column in (_("case"), _("record"), _("field"), _("versions")):
            table.add_column(column, overflow="fold")
        for c in doc:
            mark = "⚠ needs resolution" if c["needs_resolution"] else "kept (last writer shown)"
            versions = "\n".join(
                f"{v['by']}: {json.dumps(v['value'], default=str)}" for v in c["versions"]
            )
            table.add_row(
                safe(c["case"]),
                safe(f"{c['entity']} {c['entity_id']}"),
                f"{safe(c['field'])}\n{mark}",
                safe(versions),
            )
        console.print(table)

    @app.command("resolve")
    def resolve(
        ctx: typer.Context,
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        entity: Annotated[str, typer.Argument(help="Record kind, e.g. person, threat.")],
        entity_id: Annotated[str, typer.Argument(help="Record id.")],
        field_name: Annotated[str, typer.Argument(help="The field in conflict.")],
        value: Annotated[
            str | None,
            typer.Option("--value", help=f"The chosen value, as JSON. {TEXT_SOURCE}"),
        ] = None,
    ) -> None:
        """Choose or combine the versions of a field; the choice is an op like any other."""
        chosen = read_free_text(value, "--value", "the chosen value (JSON)", required=True)
        try:
            parsed = json.loads(chosen)
        except json.JSONDecodeError:
            raise FieldkitError(
                _('--value must be JSON, e.g. "foster" (with the quotes)')
            ) from None
        store = _store(ctx)
        try:
            review.resolve_conflict(store, case_id, entity, entity_id, field_name, parsed)
        finally:
            store.close()
        console.print(
            _("Resolved {entity} {entity_id} {field_name}.").format(
                entity=entity, entity_id=entity_id, field_name=field_name
            )
        )

    @supervision_app.command("record")
    def supervision_record(
        ctx: typer.Context,
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        decisions: Annotated[
            str | None, typer.Option("--decisions", help=f"What was decided. {TEXT_SOURCE}")
        ] = None,
        on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (today).")] = None,
        frequency_reviewed: Annotated[
            bool, typer.Option("--frequency-reviewed", help="Visit frequency was reviewed.")
        ] = False,
        high_risk: Annotated[
            bool | None,
            typer.Option("--high-risk/--not-high-risk", help="Set the case's risk level."),
        ] = None,
    ) -> None:
        """Record a case supervision session (RV-1); it moves the next supervision date."""
        decided = read_free_text(decisions, "--decisions", "what was decided")
        store = _store(ctx)
        try:
            day = _policy(store).today() if on is None else parse_day(on, "--date")
            review.record_supervision(store, case_id, day, decided, frequency_reviewed, high_risk)
        finally:
            store.close()
        console.print(
            _("Recorded supervision of case {case_id} on {day}.").format(
                case_id=case_id, day=day.isoformat()
            )
        )

    @export_app.command("visit")
    def export_visit(
        ctx: typer.Context,
        visit_id: Annotated[str, typer.Argument(help="Visit id.")],
        pdf: Annotated[Path, typer.Option("--pdf", help="Write the PDF here (plaintext).")],
    ) -> None:
        """A signed visit with its review, as a PDF for the paper file."""
        store = _store(ctx)
        try:
            visit_pdf(store, visit_id, pdf)
        finally:
            store.close()
        console.print(_("Wrote {pdf}").format(pdf=pdf))
