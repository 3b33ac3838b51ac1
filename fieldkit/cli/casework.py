"""CLI forms for the case's own record: assessment, service plan, formal review, events, case
facts, closure, and the supervisor's approve/return of plans and closures.

Case content never sits in argv: free text comes from a form file (`--from FILE`, TOML or
JSON), from stdin (`--from -`), or from a prompt when a person is at the terminal. Argv holds
only ids, dates and fixed words. Every record is signed after the practice gates and content
rules pass; the command then prints what is due on the case now.

Why one module: one command group for the case's own record, sharing its steps: the form
reader (`read_form`: a file, stdin or a prompt, never argv), the tail that prints what was
signed and what is due now (`_after`), and the supervisor's approve/return
(`_approve_or_return`).
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from fieldkit import services
from fieldkit.cli.base import ctx_of, parse_day
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.practice import PolicyProfile, open_items
from fieldkit.services import Store, casework, policies, review
from fieldkit.text import check_text

console = Console()

FROM_HELP = "Form with the free text: a TOML or JSON file, or - for stdin (never argv)."
TEXT_HELP = "The text: a file, or - for stdin (never argv); asked at a prompt otherwise."

assessment_app = typer.Typer(
    help="Strengths-and-needs assessment (PL-1, CT-4).", no_args_is_help=True
)
plan_app = typer.Typer(
    help="Service plan: goals, objectives, activities (PL-1..PL-6).", no_args_is_help=True
)
formal_review_app = typer.Typer(
    help="Formal case review or plan update (RV-2, RV-4, RV-5, RV-6, PL-7).", no_args_is_help=True
)
event_app = typer.Typer(
    help="Events that re-plan the case (PL-7, EV-1, EV-2, RV-3, CT-2, FED-1).", no_args_is_help=True
)
facts_app = typer.Typer(
    help="Case facts: people and contact details, threats, safety-plan interventions.",
    no_args_is_help=True,
)
closure_app = typer.Typer(help="Case closure (CL-1, RV-6).", no_args_is_help=True)


# --- reading free text without argv ----------------------------------------------------------


def _read_source(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FieldkitError(_("no such file: {source}").format(source=source)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FieldkitError(
            _("cannot read {source}: {exc}").format(source=source, exc=exc)
        ) from None


def read_form(source: str | None, prompts: dict[str, str]) -> dict[str, Any]:
    """A form from a file or stdin (TOML, or JSON when it starts with `{`), or asked field by
    field at the terminal. Refused in one line when it cannot be read."""
    if source is None:
        if not sys.stdin.isatty():
            keys = ", ".join(prompts)
            raise FieldkitError(
                _("give the form ({keys}) with --from FILE or --from -").format(keys=keys)
            )
        answers = {
            key: typer.prompt(_(question), default="", show_default=False)
            for key, question in prompts.items()
        }
        check_text(answers, "form")
        return answers
    text = _read_source(source)
    name = "stdin" if source == "-" else Path(source).name
    if text.lstrip().startswith("{"):
        try:
            form = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FieldkitError(
                _("{name} line {lineno}: not valid JSON ({msg})").format(
                    name=name, lineno=exc.lineno, msg=exc.msg
                )
            ) from None
    else:
        try:
            form = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FieldkitError(
                _("{name}: not a valid TOML form ({exc})").format(name=name, exc=exc)
            ) from None
    if not isinstance(form, dict):
        raise FieldkitError(_("{name}: expected a form of keys and values").format(name=name))
    check_text(form, name)
    return form


def read_text(source: str | None, question: str) -> str:
    """One free text from a file, stdin or a prompt."""
    if source is None:
        if not sys.stdin.isatty():
            raise FieldkitError(_("give the text with --text FILE or --text -"))
        text = str(typer.prompt(question, default="", show_default=False))
    else:
        text = _read_source(source).strip()
    check_text(text, "--text")
    return text


@contextmanager
def _opened(ctx: typer.Context) -> Iterator[tuple[Store, PolicyProfile]]:
    store = services.open_store(ctx_of(ctx).path)
    try:
        yield store, policies.current_profile(store)
    finally:
        store.close()


def _after(store: Store, case_id: str, profile: PolicyProfile, done: str) -> None:
    """What was signed, then what is due on the case now (the engine re-planned)."""
    console.print(escape(done), highlight=False, soft_wrap=True)
    items = open_items(casework.due_after(store, case_id, profile, profile.today()))
    if not items:
        console.print(_("Nothing due on this case now."))
        return
    for item in items:
        console.print(
            f"  {item.status:<9} {item.due.isoformat()}  {item.rule:<6} {escape(item.what)}",
            highlight=False,
        )


def _approve_or_return(
    ctx: typer.Context, case_id: str, target: str, record_id: str, text: str | None, returned: bool
) -> None:
    with _opened(ctx) as (store, _policy):
        if returned:
            comment = read_text(text, _("What should the worker change?"))
            review.return_for_changes(store, case_id, record_id, comment, target=target)
        else:
            comment = read_text(text, _("Comment (optional)")) if text is not None else ""
            review.decide(store, case_id, target, record_id, "approved", comment)
    if returned:
        line = _("Returned {kind} {record_id} of case {case_id} to the worker.")
    else:
        line = _("Approved {kind} {record_id} of case {case_id}.")
    console.print(
        line.format(
            kind=target.replace("_", " "), record_id=escape(record_id), case_id=escape(case_id)
        )
    )


def _flag(form: dict[str, Any], key: str) -> bool | None:
    value = form.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "y", "true", "no", "n", "false"):
        return value.strip().lower() in ("yes", "y", "true")
    raise FieldkitError(_("{key}: answer yes or no").format(key=key))


def _names(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise FieldkitError(_("participants: expected a list of names"))


CaseArg = Annotated[str, typer.Argument(help="Case id.")]
FromOpt = Annotated[str | None, typer.Option("--from", help=FROM_HELP)]
TextOpt = Annotated[str | None, typer.Option("--text", help=TEXT_HELP)]


def register(app: typer.Typer) -> None:
    """Add the case-record commands to the fieldkit CLI."""
    app.add_typer(assessment_app, name="assessment")
    app.add_typer(plan_app, name="plan")
    app.add_typer(formal_review_app, name="formal-review")
    app.add_typer(event_app, name="event")
    app.add_typer(facts_app, name="facts")
    app.add_typer(closure_app, name="closure")


@assessment_app.command("record")
def assessment_record(
    ctx: typer.Context,
    case_id: CaseArg,
    completed: Annotated[str, typer.Option("--completed", help="YYYY-MM-DD")],
    discussed: Annotated[
        bool,
        typer.Option(
            "--discussed/--not-discussed", help="Results discussed with the family (PL-1)."
        ),
    ],
    source: FromOpt = None,
) -> None:
    """Sign a strengths-and-needs assessment (form keys: strengths, needs)."""
    form = read_form(source, {"strengths": N_("Strengths"), "needs": N_("Needs")})
    with _opened(ctx) as (store, profile):
        record_id = casework.record_assessment(
            store,
            case_id,
            parse_day(completed, "--completed"),
            form.get("strengths", ""),
            form.get("needs", ""),
            discussed,
        )
        _after(store, case_id, profile, f"Signed assessment {record_id} of case {case_id}.")


@plan_app.command("record")
def plan_record(
    ctx: typer.Context,
    case_id: CaseArg,
    completed: Annotated[str, typer.Option("--completed", help="YYYY-MM-DD")],
    source: Annotated[str, typer.Option("--from", help=FROM_HELP)],
) -> None:
    """Sign a service plan or a new version of it; it goes to the supervisor's queue.

    Form: family_agreement, participants, [[goals]] text, [[goals.objectives]] text,
    [[goals.objectives.activities]] text, who, where, how, when, measure."""
    form = read_form(source, {})
    plan = casework.PlanForm.from_form(parse_day(completed, "--completed"), form)
    with _opened(ctx) as (store, profile):
        plan_id = casework.record_service_plan(store, case_id, plan, profile)
        _after(
            store,
            case_id,
            profile,
            f"Signed service plan {plan_id} of case {case_id}; waiting for the supervisor.",
        )


@plan_app.command("approve")
def plan_approve(ctx: typer.Context, case_id: CaseArg, plan_id: str, text: TextOpt = None) -> None:
    """Supervisor: approve exactly this version of the service plan."""
    _approve_or_return(ctx, case_id, "service_plan", plan_id, text, returned=False)


@plan_app.command("return")
def plan_return(ctx: typer.Context, case_id: CaseArg, plan_id: str, text: TextOpt = None) -> None:
    """Supervisor: send the plan back with what to change (answered by a new version)."""
    _approve_or_return(ctx, case_id, "service_plan", plan_id, text, returned=True)


@formal_review_app.command("record")
def formal_review_record(
    ctx: typer.Context,
    case_id: CaseArg,
    on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    kind: Annotated[str, typer.Option("--kind", help="formal or plan-update")] = "formal",
    source: FromOpt = None,
) -> None:
    """Sign a formal review (form keys: notes, prognosis, participants)."""
    form = read_form(
        source,
        {
            "notes": N_("Review notes"),
            "prognosis": N_("Prognosis for reunification (RV-4; blank if no child is in care)"),
            "participants": N_("Who took part (comma-separated)"),
        },
    )
    with _opened(ctx) as (store, profile):
        record_id = casework.record_review(
            store,
            case_id,
            profile,
            parse_day(on, "--date"),
            kind,
            prognosis=str(form.get("prognosis") or ""),
            notes=str(form.get("notes") or ""),
            participants=_names(form.get("participants")),
        )
        _after(store, case_id, profile, f"Signed {kind} review {record_id} of case {case_id}.")


@event_app.command("record")
def event_record(
    ctx: typer.Context,
    case_id: CaseArg,
    kind: Annotated[str, typer.Argument(help="placement-change, removal, reunification, ...")],
    on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    person: Annotated[str | None, typer.Option("--person", help="The child's person id.")] = None,
    setting: Annotated[str, typer.Option("--setting", help="foster, kinship, group ...")] = "",
    source: FromOpt = None,
) -> None:
    """Record an event (form keys: note, address of a new placement)."""
    form = read_form(source, {"note": N_("Note"), "address": N_("Placement address (if any)")})
    with _opened(ctx) as (store, profile):
        record_id = casework.record_event(
            store,
            case_id,
            kind,
            parse_day(on, "--date"),
            note=str(form.get("note") or ""),
            person=person,
            setting=setting,
            address=str(form.get("address") or ""),
        )
        _after(store, case_id, profile, f"Recorded {kind} event {record_id} on case {case_id}.")


@facts_app.command("person")
def facts_person(
    ctx: typer.Context,
    case_id: CaseArg,
    person_id: Annotated[str, typer.Argument(help="Person id (e.g. p3).")],
    source: FromOpt = None,
) -> None:
    """Change a person's details (form keys: name, relationship, phone, email, address, notes;
    only the keys given change)."""
    form = read_form(source, {"phone": N_("Phone"), "address": N_("Address")})
    form = {k: v for k, v in form.items() if v != "" or source is not None}
    with _opened(ctx) as (store, _policy):
        casework.update_person(store, case_id, person_id, form)
    console.print(
        _("Updated {person_id} on case {case_id}.").format(
            person_id=escape(person_id), case_id=escape(case_id)
        )
    )


@facts_app.command("add-person")
def facts_add_person(
    ctx: typer.Context,
    case_id: CaseArg,
    role: Annotated[str, typer.Option("--role", help="child, caregiver or other")],
    verbal: Annotated[
        bool,
        typer.Option("--verbal/--non-verbal", help="A child who can be interviewed (VI-2/VI-3)."),
    ] = True,
    victim: Annotated[bool, typer.Option("--victim", help="A child victim (VI-2).")] = False,
    source: FromOpt = None,
) -> None:
    """Add a person (form keys: name, dob, relationship, phone, email, address, notes)."""
    form = read_form(
        source, {"name": N_("Name"), "relationship": N_("Relationship"), "phone": N_("Phone")}
    )
    with _opened(ctx) as (store, _policy):
        person_id = casework.add_person(store, case_id, role, form, verbal=verbal, victim=victim)
    console.print(
        _("Added {person_id} to case {case_id}.").format(
            person_id=person_id, case_id=escape(case_id)
        )
    )


@facts_app.command("threat")
def facts_threat(
    ctx: typer.Context,
    case_id: CaseArg,
    threat_id: Annotated[
        str | None, typer.Option("--id", help="Reword or close this threat.")
    ] = None,
    active: Annotated[
        bool, typer.Option("--active/--inactive", help="Still a threat (SA-1).")
    ] = True,
    source: FromOpt = None,
) -> None:
    """Name a new threat or reword one (form key: text)."""
    form = read_form(source, {"text": N_("Threat, in words")})
    with _opened(ctx) as (store, profile):
        tid = casework.set_threat(
            store, case_id, str(form.get("text") or ""), threat_id, active, profile.today()
        )
    console.print(
        _("Recorded threat {tid} on case {case_id}.").format(tid=tid, case_id=escape(case_id))
    )


@facts_app.command("intervention")
def facts_intervention(
    ctx: typer.Context,
    case_id: CaseArg,
    threat_id: Annotated[str, typer.Option("--threat", help="The threat it controls.")],
    source: FromOpt = None,
) -> None:
    """Set the safety plan's intervention for one threat (form keys: text, who)."""
    form = read_form(source, {"text": N_("Intervention"), "who": N_("Who carries it out")})
    with _opened(ctx) as (store, _policy):
        casework.set_intervention(
            store, case_id, threat_id, str(form.get("text") or ""), str(form.get("who") or "")
        )
    console.print(
        _("Safety plan of case {case_id}: intervention for {threat_id} set.").format(
            case_id=escape(case_id), threat_id=escape(threat_id)
        )
    )


@closure_app.command("record")
def closure_record(
    ctx: typer.Context,
    case_id: CaseArg,
    on: Annotated[str, typer.Option("--date", help="End date, YYYY-MM-DD")],
    source: FromOpt = None,
) -> None:
    """Sign the case's closure (form keys: reason, supports, goals_met); it goes to the
    supervisor's queue; after the end date nothing is due (CL-1)."""
    form = read_form(
        source,
        {
            "reason": N_("Why the case closes"),
            "supports": N_("Supports in place for the family"),
            "goals_met": N_("Were the plan's goals met? (yes/no)"),
        },
    )
    with _opened(ctx) as (store, profile):
        record_id = casework.record_closure(
            store,
            case_id,
            profile,
            parse_day(on, "--date"),
            str(form.get("reason") or ""),
            str(form.get("supports") or ""),
            _flag(form, "goals_met"),
        )
        _after(
            store,
            case_id,
            profile,
            f"Signed closure {record_id} of case {case_id}; waiting for the supervisor.",
        )


@closure_app.command("approve")
def closure_approve(
    ctx: typer.Context, case_id: CaseArg, closure_id: str, text: TextOpt = None
) -> None:
    """Supervisor: approve the closure as signed."""
    _approve_or_return(ctx, case_id, "closure", closure_id, text, returned=False)


@closure_app.command("return")
def closure_return(
    ctx: typer.Context, case_id: CaseArg, closure_id: str, text: TextOpt = None
) -> None:
    """Supervisor: send the closure back (the case stays open; the worker signs a new one)."""
    _approve_or_return(ctx, case_id, "closure", closure_id, text, returned=True)
