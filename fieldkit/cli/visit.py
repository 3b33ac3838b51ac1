"""`fieldkit visit start|check|sign`: the guided visit without the full-screen app.

`check` and `sign` read a visit written as `fieldkit.visit/1` JSON (docs/formats/visit.md)
and run exactly the checks of the wizard (`visits.check_record`); `start` asks the wizard's
steps as plain line prompts (a screen reader, a slow SSH link, a terminal the TUI draws
badly on).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from fieldkit import services
from fieldkit.cli.base import ctx_of
from fieldkit.domain import Case
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import PolicyProfile
from fieldkit.practice.visit_checks import VisitCheck
from fieldkit.services import Store, caseload, visits
from fieldkit.visit_record import (
    NOT_SEEN_REASONS,
    OUTCOMES,
    ChildObservation,
    PrivateInterview,
    VisitRecord,
    new_record,
)
from fieldkit.visit_render import names_of, visit_text

visit_app = typer.Typer(
    help="A home visit without the full-screen app: line prompts, or a fieldkit.visit/1 file.",
    no_args_is_help=True,
)


def read_visit_file(path: Path) -> VisitRecord:
    """A `fieldkit.visit/1` file; any problem is one line naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FieldkitError(
            _("cannot read {path}: {strerror}").format(path=path, strerror=exc.strerror)
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FieldkitError(
            _("{path} line {lineno}: not JSON ({msg})").format(
                path=path, lineno=exc.lineno, msg=exc.msg
            )
        ) from None
    try:
        return VisitRecord.from_doc(doc)
    except FieldkitError as exc:
        raise FieldkitError(f"{path}: {exc}") from None


def _context(store: Store, record: VisitRecord) -> tuple[Case, PolicyProfile]:
    case = services.load_case(store, record.case)
    return case, caseload.policy_of(store)


def _print_checks(checks: list[VisitCheck]) -> None:
    for check in checks:
        if check.override is not None:
            mark = "overridden"
        else:
            mark = "blocks" if check.blocking else "warns"
        line = f"{mark:10} {check.id}  {check.message}"
        if check.override is not None:
            line += f" — reason: {check.override}"
        sys.stdout.write(line + "\n")


def register(app: typer.Typer) -> None:
    """Add `visit start|check|sign` to the fieldkit CLI."""
    app.add_typer(visit_app, name="visit")

    @visit_app.command("check")
    def check(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="A visit in fieldkit.visit/1 JSON.")],
        as_json: Annotated[bool, typer.Option("--json", help="A JSON list of checks.")] = False,
    ) -> None:
        """Every check the wizard would run on this visit; exit 1 while any blocks."""
        record = read_visit_file(file)
        store = services.open_store(ctx_of(ctx).path)
        try:
            case, policy = _context(store, record)
            checks = visits.check_record(case, record, policy, policy.today())
        finally:
            store.close()
        if as_json:
            sys.stdout.write(json.dumps([c.to_json() for c in checks], indent=2) + "\n")
        elif checks:
            _print_checks(checks)
        else:
            sys.stdout.write(_("no checks: the visit can be signed\n"))
        if any(c.blocking for c in checks):
            raise typer.Exit(1)

    @visit_app.command("sign")
    def sign(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="A visit in fieldkit.visit/1 JSON.")],
    ) -> None:
        """Sign the visit and print its id; exit 1 listing the blocking checks."""
        record = read_visit_file(file)
        store = services.open_store(ctx_of(ctx).path)
        try:
            case, policy = _context(store, record)
            if not record.visit_id:
                record.visit_id = visits.new_visit_id()
            now = datetime.now(UTC)
            for given in record.overrides:
                given.author = given.author or store.user
                given.at = given.at or now.isoformat(timespec="seconds")
            checks = visits.check_record(case, record, policy, policy.today())
            blocking = [c for c in checks if c.blocking]
            if blocking:
                listed = "; ".join(f"{c.id}: {c.message}" for c in blocking)
                raise FieldkitError(
                    _("not signed, {n} check(s) block: {listed}").format(
                        n=len(blocking), listed=listed
                    )
                )
            visits.sign_visit(store, case, record, policy, policy.today(), now)
        finally:
            store.close()
        sys.stdout.write(record.visit_id + "\n")

    @visit_app.command("start")
    def start(
        ctx: typer.Context,
        case_id: Annotated[str, typer.Argument(help="The case visited.")],
    ) -> None:
        """Ask the visit's steps as plain line prompts, show the record, sign on `y`."""
        store = services.open_store(ctx_of(ctx).path)
        try:
            case = services.load_case(store, case_id)
            policy = caseload.policy_of(store)
            today = policy.today()
            record = new_record(
                case.id,
                visits.new_visit_id(),
                [c.id for c in case.children],
                store.user,
                today,
            )
            LinePrompts(case, policy).ask(record)
            while True:
                checks = visits.check_record(case, record, policy, today)
                sys.stdout.write("\n" + visit_text(record, names_of(case)) + "\n\n")
                if not checks:
                    sys.stdout.write(_("Nothing is missing.\n"))
                _print_checks(checks)
                open_gates = [c for c in checks if c.gate and c.override is None and c.blocking]
                if any(c.blocking for c in checks) and not open_gates:
                    raise FieldkitError(
                        _("not signed: content is missing (not overridable); run the visit again")
                    )
                if open_gates:
                    gate = open_gates[0]
                    reason = _ask(
                        _("Override {id} ({message})? Reason, or empty to stop").format(
                            id=gate.id, message=gate.message
                        )
                    )
                    if not reason:
                        raise FieldkitError(_("not signed: a blocking check is unanswered"))
                    visits.add_override(record, gate, reason, store.user, datetime.now(UTC))
                    continue
                break
            if _ask(_("Sign this record exactly as shown? y to sign")).lower() != "y":
                raise FieldkitError(_("not signed; nothing was written"))
            visits.sign_visit(store, case, record, policy, today)
        finally:
            store.close()
        sys.stdout.write(_("signed {visit_id}\n").format(visit_id=record.visit_id))


def _ask(question: str) -> str:
    """One line from the terminal (or a pipe); end of input stops without signing."""
    sys.stdout.write(question + ": ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        raise FieldkitError(_("input ended; nothing was signed"))
    return line.strip()


YES = ("y", "yes", "o", "oui", "s", "si", "sí")
NO = ("n", "no", "non")
"""Answers a person may type, in each shipped language (y/n always work)."""


def _yes_no(question: str) -> bool | None:
    """y / n, or empty for "not recorded"."""
    while True:
        answer = _ask(_("{question} [y/n, empty: not recorded]").format(question=question)).lower()
        if answer in ("", *YES, *NO):
            return None if answer == "" else answer in YES
        sys.stdout.write(_("answer y, n, or leave empty\n"))


def _one_of(question: str, options: tuple[str, ...]) -> str | None:
    """A numbered list; empty for "not recorded"."""
    listed = ", ".join(f"{n} {o}" for n, o in enumerate(options, 1))
    while True:
        answer = _ask(
            _("{question} ({listed}; empty: not recorded)").format(question=question, listed=listed)
        )
        if answer == "":
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return options[int(answer) - 1]
        if answer in options:
            return answer
        sys.stdout.write(_("answer a number from 1 to {n}\n").format(n=len(options)))


class LinePrompts:
    """The wizard's steps as questions, one per line, filling the same VisitRecord."""

    def __init__(self, case: Case, policy: PolicyProfile) -> None:
        self.case = case
        self.policy = policy

    def ask(self, record: VisitRecord) -> None:
        """Kind, outcome, date, announced; present; each child; safety; progress; notes."""
        case = self.case
        if case.unannounced.required:
            why = case.unannounced.reason or _("reason not recorded")
            sys.stdout.write(
                _("This case requires UNANNOUNCED visits (VI-4): {why}\n").format(why=why)
            )
        record.kind = _one_of(_("Kind of contact"), self.policy.contact_kinds)
        record.outcome = _one_of(_("Outcome"), OUTCOMES)
        record.date = (
            _ask(_("Date of the visit YYYY-MM-DD [{date}]").format(date=record.date)) or record.date
        )
        if record.outcome is not None and record.outcome != "completed":
            record.attempt_time = _ask(_("Time of the attempt HH:MM"))
            record.attempt_action = _ask(_("What was done"))
            record.notes = _ask(_("Notes"))
            return
        record.announced = _yes_no(_("Was the visit announced"))
        for person in case.people:
            if (
                _yes_no(_("Is {name} ({id}) present").format(name=person.name, id=person.id))
                is True
            ):
                record.present.append(person.id)
        record.others_present = _ask(_("Anyone else present (names and roles)"))
        record.location = _ask(_("Where does the visit take place"))
        for child in case.children:
            self._child(record, child.id, child.name, child.verbal)
        safety = record.safety
        safety.changed = _yes_no(_("Have safety threats or circumstances changed"))
        if safety.changed:
            threats = _ask(_("New safety threats, separated by ;"))
            safety.new_threats = [t.strip() for t in threats.split(";") if t.strip()]
            if safety.new_threats:
                safety.interventions = "\n".join(
                    line.strip()
                    for line in _ask(_("Alternative plan interventions, separated by ;")).split(";")
                    if line.strip()
                )
        plan = case.service_plan
        if plan is not None:
            for goal in plan.goals:
                record.progress[goal.id] = _ask(
                    _('Progress on the goal "{text}"').format(text=goal.text)
                )
        record.notes = _ask(_("Visit notes"))
        record.next_steps = _ask(_("Next steps"))
        record.next_visit = _ask(_("Next visit date YYYY-MM-DD"))

    def _child(self, record: VisitRecord, pid: str, name: str, verbal: bool) -> None:
        contact = record.contact(pid)
        if pid not in record.present:
            sys.stdout.write(
                _("{name} is not present, so cannot be recorded as seen.\n").format(name=name)
            )
            contact.seen = False
        else:
            contact.seen = _yes_no(_("Was {name} seen").format(name=name))
        if contact.seen is False:
            contact.not_seen_reason = (
                _one_of(_("Why was {name} not seen").format(name=name), NOT_SEEN_REASONS) or ""
            )
            if contact.not_seen_reason == "other":
                contact.not_seen_detail = _ask(_("The reason in words"))
            return
        if contact.seen is None:
            return
        if verbal:
            if _yes_no(
                _("Was {name} interviewed privately, face to face (VI-2)").format(name=name)
            ):
                contact.private_interview = PrivateInterview(
                    alone=_yes_no(_("Seen alone, with no caregiver in the room")),
                    could_be_overheard=_yes_no(_("Could anyone overhear")),
                    where=_ask(_("Where was the child interviewed")),
                    words=_ask(_("What the child said (their words)")),
                )
        elif _yes_no(_("Was {name} directly observed with the caregiver (VI-3)").format(name=name)):
            contact.observation = ChildObservation(
                where=_ask(_("Where was the child observed")),
                interaction=_ask(_("Interaction with the caregiver")),
                condition=_ask(_("The child's condition")),
                environment=_ask(_("The home environment")),
            )
