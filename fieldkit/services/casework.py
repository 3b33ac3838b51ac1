"""Case work beyond the visit: assessment, service plan, formal review, events, case facts,
closure. Each is an op like any other (signed, synced, merged); the practice gates and
content rules run before a record is signed. No Textual and no SQL here: the CLI
(`cli_casework.py`) and the case screens call these.

Signed records never change: a revised plan is a new version, a returned closure is answered
by a new closure. Supervisor approval (service plans, closures) goes through `review.decide`,
bound to the content hash like visits and alternative safety plans.

Why one module: the case's own records are written one way: `_sign_new` (a put of every
field, then the sign op over the content) after the practice gates and content rules, with
the content a supervisor's approval binds to (`plan_content_of`, `closure_content_of`); each
record kind is a short use case over those shared steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fieldkit import changelog, services
from fieldkit.domain import EVENT_KINDS, REVIEW_KINDS, Case
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import (
    GateCheck,
    PolicyProfile,
    blocking,
    due_items,
    review_content_problems,
    service_plan_content_problems,
    service_plan_gate,
)
from fieldkit.records import Record, service_plan_from, unsaved
from fieldkit.store import Store
from fieldkit.text import check_text

PLACEMENT_EVENTS = ("placement-change", "removal")
"""Events that put a child in (another) out-of-home placement (SA-4, FED-1, PL-7)."""


class NotReady(FieldkitError):
    """A record cannot be signed while a blocking check is unmet; str() lists them, rule first."""

    def __init__(self, what: str, checks: list[GateCheck]) -> None:
        self.checks = checks
        listed = "; ".join(f"{c.rule}: {c.message}" for c in checks)
        super().__init__(f"the {what} cannot be signed yet: {listed}")


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="seconds")


def _new_id(prefix: str) -> str:
    return f"{prefix}-{changelog.uuid7()}"


def _text(value: Any, what: str, required: bool = True) -> str:
    """Free text from a form: stripped; refused in one line when it must be written."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldkitError(_("{what}: expected text").format(what=what))
    text = value.strip()
    if required and not text:
        raise FieldkitError(_("write the {what}").format(what=what))
    check_text(text, what)
    return text


def _sign_new(
    store: Store,
    case_id: str,
    kind: str,
    prefix: str,
    fields: dict[str, Any],
    content: dict[str, Any] | None = None,
) -> str:
    """A new record: one put of every field, then the sign op over the content (as visits
    are signed), in one transaction; its id."""
    record_id = _new_id(prefix)
    with store.transaction():
        store.record(case_id, kind, record_id, fields)
        store.sign(case_id, kind, record_id, content if content is not None else fields)
    return record_id


def _case(store: Store, case_id: str) -> Case:
    case = services.load_case(store, case_id)
    if case.closure is not None:
        raise FieldkitError(
            _("case {case_id} was closed on {date}; nothing more is recorded on it").format(
                case_id=case_id, date=case.closure.date.isoformat()
            )
        )
    return case


# --- assessment (PL-1, CT-4) ----------------------------------------------------------------


def record_assessment(
    store: Store,
    case_id: str,
    completed: date,
    strengths: str,
    needs: str,
    discussed_with_family: bool,
    now: datetime | None = None,
) -> str:
    """Rule PL-1: the strengths-and-needs assessment; a second one is CT-4's reassessment."""
    case = _case(store, case_id)
    fields = {
        "completed": completed.isoformat(),
        "strengths": _text(strengths, "family's and child's strengths"),
        "needs": _text(needs, "needs"),
        "discussed_with_family": bool(discussed_with_family),
        "kind": "reassessment" if case.assessment is not None else "initial",
        "author": store.user,
        "signed_at": _now(now),
    }
    return _sign_new(store, case_id, "assessment", "as", fields)


# --- service plan (PL-1, PL-3, PL-4, PL-6) --------------------------------------------------


@dataclass
class PlanForm:
    """A service plan as the worker writes it: goals → objectives → activities (PL-4)."""

    completed: date
    """Rule PL-2: the day the plan was completed with the family."""
    family_agreement: str = ""
    """Rule PL-6: the family's agreement or disagreement, in their words."""
    participants: list[str] = field(default_factory=list)
    """Rule PL-3: who took part in the planning conference."""
    goals: list[dict[str, Any]] = field(default_factory=list)
    """Rule PL-4: goals, each with objectives, each with activities (WHO/WHERE/HOW/WHEN)."""

    @classmethod
    def from_form(cls, completed: date, form: dict[str, Any]) -> PlanForm:
        """From a TOML/JSON form: `[[goals]] text, [[goals.objectives]] text,
        [[goals.objectives.activities]] text, who, where, how, when, measure`."""
        goals = form.get("goals") or []
        if not isinstance(goals, list) or not all(isinstance(g, dict) for g in goals):
            raise FieldkitError(_("goals: expected a list of goals, each with text and objectives"))
        participants = form.get("participants") or []
        if not isinstance(participants, list) or not all(isinstance(p, str) for p in participants):
            raise FieldkitError(_("participants: expected a list of names"))
        return cls(
            completed=completed,
            family_agreement=_text(form.get("family_agreement"), "family agreement", False),
            participants=[p.strip() for p in participants if p.strip()],
            goals=goals,
        )


def _plan_records(plan_id: str, form: PlanForm) -> list[tuple[str, str, dict[str, Any]]]:
    """The goal, objective and activity records of one plan version, ids scoped by plan."""
    records: list[tuple[str, str, dict[str, Any]]] = []
    for g, goal in enumerate(form.goals, start=1):
        goal_id = f"{plan_id}-g{g}"
        records.append(
            ("goal", goal_id, {"plan": plan_id, "text": _text(goal.get("text"), "goal")})
        )
        for o, objective in enumerate(goal.get("objectives") or [], start=1):
            if not isinstance(objective, dict):
                raise FieldkitError(_("objectives: expected objects with text and activities"))
            objective_id = f"{goal_id}-o{o}"
            records.append(
                (
                    "objective",
                    objective_id,
                    {
                        "plan": plan_id,
                        "goal": goal_id,
                        "text": _text(objective.get("text"), "objective"),
                    },
                )
            )
            for a, activity in enumerate(objective.get("activities") or [], start=1):
                if not isinstance(activity, dict):
                    raise FieldkitError(
                        _("activities: expected objects with text, who, where, ...")
                    )
                values = {
                    key: _text(activity.get(key), key, False)
                    for key in ("who", "where", "how", "when", "measure")
                }
                records.append(
                    (
                        "activity",
                        f"{objective_id}-a{a}",
                        {
                            "plan": plan_id,
                            "objective": objective_id,
                            "text": _text(activity.get("text"), "activity"),
                            **values,
                        },
                    )
                )
    return records


def plan_checks(
    store: Store, case_id: str, form: PlanForm, profile: PolicyProfile
) -> list[GateCheck]:
    """Rules PL-1 (assessment first), PL-4 and PL-6 (content) for a plan about to be signed."""
    case = services.load_case(store, case_id)
    plan_id = "draft"
    head = {"completed": form.completed.isoformat(), "family_agreement": form.family_agreement}
    by_kind: dict[str, list[Record]] = {
        "service_plan": [unsaved(case_id, "service_plan", plan_id, head)]
    }
    for kind, record_id, values in _plan_records(plan_id, form):
        by_kind.setdefault(kind, []).append(unsaved(case_id, kind, record_id, values))
    plan = service_plan_from(by_kind)
    assert plan is not None
    return service_plan_gate(case, profile) + service_plan_content_problems(plan, profile)


def record_service_plan(
    store: Store, case_id: str, form: PlanForm, profile: PolicyProfile, now: datetime | None = None
) -> str:
    """Sign a service plan (or a new version of it) and send it to the supervisor's queue.
    Refused while PL-1 (assessment before plan) or a PL-4/PL-6 content rule is unmet."""
    _case(store, case_id)
    unmet = blocking(plan_checks(store, case_id, form, profile))
    if unmet:
        raise NotReady(_("service plan"), unmet)
    plan_id = _new_id("sp")
    fields = {
        "completed": form.completed.isoformat(),
        "family_agreement": form.family_agreement,
        "participants": form.participants,
        "approval": "pending",
        "author": store.user,
        "signed_at": _now(now),
    }
    records = _plan_records(plan_id, form)
    with store.transaction():
        for kind, record_id, values in records:
            store.record(case_id, kind, record_id, values)
        store.record(case_id, "service_plan", plan_id, fields)
        store.sign(case_id, "service_plan", plan_id, plan_content_of(store, case_id, plan_id))
    return plan_id


def plan_content_of(store: Store, case_id: str, plan_id: str) -> dict[str, Any]:
    """What an approval of a service plan covers: the plan and its goals, objectives and
    activities (PL-4), as stored."""
    plan = store.entity(case_id, "service_plan", plan_id)
    if plan is None:
        raise FieldkitError(
            _("no service plan {plan_id} on case {case_id}").format(
                plan_id=plan_id, case_id=case_id
            )
        )
    parts = {
        kind: sorted(
            (
                {"id": e.entity_id, **e.fields}
                for e in store.entities(case_id, kind)
                if e.fields.get("plan") == plan_id
            ),
            key=lambda f: str(f["id"]),
        )
        for kind in ("goal", "objective", "activity")
    }
    fields = {k: v for k, v in plan.fields.items() if k != "approval"}
    return {"plan": fields, **parts}


def closure_content_of(store: Store, case_id: str, closure_id: str) -> dict[str, Any]:
    """What an approval of a closure covers: the closure record as signed (CL-1)."""
    closure = store.entity(case_id, "closure", closure_id)
    if closure is None:
        raise FieldkitError(
            _("no closure {closure_id} on case {case_id}").format(
                closure_id=closure_id, case_id=case_id
            )
        )
    return {"closure": {k: v for k, v in closure.fields.items() if k != "approval"}}


# --- formal review (RV-2, RV-4, RV-5, RV-6) ---------------------------------------------------


def review_checks(
    case: Case, profile: PolicyProfile, on: date, kind: str, prognosis: str
) -> list[GateCheck]:
    """Rule RV-6 (what the record holds) and RV-4 (prognosis for reunification when a child
    has been placed out of home) before a formal review is signed."""
    checks = list(review_content_problems(case, profile, on)) if kind == "formal" else []
    in_care = any(c.placement is not None for c in case.children) or case.removal_date is not None
    in_care = in_care or any(e.kind == "removal" for e in case.events)
    if kind == "formal" and in_care and not prognosis.strip() and profile.applies("RV-4"):
        checks.append(
            GateCheck("RV-4", "record the prognosis for reunification (concurrent planning)", True)
        )
    return checks


def record_review(
    store: Store,
    case_id: str,
    profile: PolicyProfile,
    on: date,
    kind: str = "formal",
    prognosis: str = "",
    notes: str = "",
    participants: list[str] | None = None,
    now: datetime | None = None,
) -> str:
    """A formal case review (RV-2, RV-5) or a plan update after an event (PL-7)."""
    if kind not in REVIEW_KINDS:
        raise FieldkitError(
            _("review kind {kind}: choose {review_kinds}").format(
                kind=repr(kind), review_kinds=" or ".join(REVIEW_KINDS)
            )
        )
    case = _case(store, case_id)
    unmet = blocking(review_checks(case, profile, on, kind, prognosis))
    if unmet:
        raise NotReady(_("{kind} review").format(kind=kind), unmet)
    checklist = [need for need in profile.review_record_requires] if kind == "formal" else []
    fields = {
        "date": on.isoformat(),
        "kind": kind,
        "prognosis": _text(prognosis, "prognosis", False),
        "notes": _text(notes, "review notes"),
        "participants": [p.strip() for p in participants or [] if p.strip()],
        "checklist": checklist,
        "author": store.user,
        "signed_at": _now(now),
    }
    return _sign_new(store, case_id, "review", "rv", fields)


# --- events (PL-7, EV-1, EV-2, RV-3, CT-2, FED-1) ----------------------------------------------


def record_event(
    store: Store,
    case_id: str,
    kind: str,
    on: date,
    note: str = "",
    person: str | None = None,
    setting: str = "",
    address: str = "",
    now: datetime | None = None,
) -> str:
    """Something that happened; the due list re-plans from it as the engine says. A removal
    or placement change moves the child's placement (SA-4); reunification ends it; a case
    that became CPS changes kind (CT-2) and needs its reason written."""
    if kind not in EVENT_KINDS:
        raise FieldkitError(
            _("event kind {kind}: choose one of {event_kinds}").format(
                kind=repr(kind), event_kinds=", ".join(EVENT_KINDS)
            )
        )
    case = _case(store, case_id)
    child_ids = {c.id for c in case.children}
    if kind in (*PLACEMENT_EVENTS, "reunification"):
        if person is None:
            raise FieldkitError(_("a {kind} event names the child (--person)").format(kind=kind))
        if person not in child_ids:
            raise FieldkitError(
                _("{person} is not a child on case {case_id}").format(
                    person=repr(person), case_id=case_id
                )
            )
    elif person is not None and person not in {p.id for p in case.people}:
        raise FieldkitError(
            _("{person} is not a person on case {case_id}").format(
                person=repr(person), case_id=case_id
            )
        )
    placement = None
    if kind in PLACEMENT_EVENTS:
        placement = {
            "setting": _text(setting, "placement setting (e.g. foster, kinship)"),
            "since": on.isoformat(),
            "address": _text(address, "placement address", False) or None,
        }
    if kind == "became-cps":
        note = _text(note, "reason the case became CPS (CT-2)")
    fields: dict[str, Any] = {
        "kind": kind,
        "date": on.isoformat(),
        "note": _text(note, "note", False),
        "person": person,
        "author": store.user,
    }
    if placement is not None:
        fields["placement"] = placement
    record_id = _new_id("ev")
    with store.transaction():
        store.record(case_id, "event", record_id, fields)
        if placement is not None and person is not None:
            store.record(case_id, "person", person, {"placement": placement})
        if kind == "reunification" and person is not None:
            store.record(case_id, "person", person, {"placement": None})
        if kind == "became-cps" and case.kind.value == "child-welfare":
            store.record(case_id, "case", case_id, {"kind": "in-home-cps"})
    return record_id


# --- case facts: people, contact details, threats, safety-plan interventions -----------------

PERSON_FIELDS = ("name", "relationship", "phone", "email", "address", "notes")


def update_person(store: Store, case_id: str, person_id: str, values: dict[str, Any]) -> None:
    """A new phone number, address or name: only the fields given change (an op each)."""
    _case(store, case_id)
    if store.entity(case_id, "person", person_id) is None:
        raise FieldkitError(
            _("no person {person_id} on case {case_id}").format(
                person_id=person_id, case_id=case_id
            )
        )
    unknown = sorted(set(values) - set(PERSON_FIELDS))
    if unknown:
        raise FieldkitError(
            _("person fields are {person_fields}; not {value}").format(
                person_fields=", ".join(PERSON_FIELDS), value=unknown[0]
            )
        )
    changes = {k: _text(v, k, k == "name") or None for k, v in values.items()}
    if changes:
        services.record_change(store, case_id, "person", person_id, changes)


def add_person(
    store: Store,
    case_id: str,
    role: str,
    values: dict[str, Any],
    verbal: bool = True,
    victim: bool = False,
) -> str:
    """A person newly known on the case (a relative, an absent parent, a new baby)."""
    case = _case(store, case_id)
    if role not in ("child", "caregiver", "other"):
        raise FieldkitError(
            _("role {role}: choose child, caregiver or other").format(role=repr(role))
        )
    unknown = sorted(set(values) - set(PERSON_FIELDS) - {"dob"})
    if unknown:
        raise FieldkitError(
            _("person fields are {person_fields}, dob; not {value}").format(
                person_fields=", ".join(PERSON_FIELDS), value=unknown[0]
            )
        )
    taken = {p.id for p in case.people}
    n = len(taken) + 1
    while f"p{n}" in taken:
        n += 1
    person_id = f"p{n}"
    fields: dict[str, Any] = {
        "id": person_id,
        "role": role,
        "name": _text(values.get("name"), "name"),
        "_order": len(taken),
    }
    for key in PERSON_FIELDS[1:]:
        if values.get(key):
            fields[key] = _text(values[key], key)
    if values.get("dob"):
        fields["dob"] = date.fromisoformat(str(values["dob"])).isoformat()
    if role == "child":
        fields.update(verbal=verbal, victim=victim)
    store.record(case_id, "person", person_id, fields)
    return person_id


def set_threat(
    store: Store,
    case_id: str,
    text: str,
    threat_id: str | None = None,
    active: bool = True,
    on: date | None = None,
) -> str:
    """Rule SA-1: a threat named or reworded, or marked no longer active (safety-critical:
    a concurrent change on another device waits for a person to choose)."""
    case = _case(store, case_id)
    if threat_id is None:
        taken = {t.id for t in case.threats}
        n = len(taken) + 1
        while f"t{n}" in taken:
            n += 1
        threat_id = f"t{n}"
        fields: dict[str, Any] = {
            "id": threat_id,
            "text": _text(text, "threat"),
            "active": active,
            "identified": (on or date.today()).isoformat(),
        }
    else:
        if threat_id not in {t.id for t in case.threats}:
            raise FieldkitError(
                _("no threat {threat_id} on case {case_id}").format(
                    threat_id=threat_id, case_id=case_id
                )
            )
        fields = {"active": active}
        if text.strip():
            fields["text"] = text.strip()
    services.record_change(store, case_id, "threat", threat_id, fields)
    return threat_id


def set_intervention(
    store: Store, case_id: str, threat_id: str, text: str, who: str = ""
) -> list[dict[str, Any]]:
    """Rule SA-1: what controls one threat in the safety plan in force, and who carries it
    out (replaces that threat's intervention; other threats' stay)."""
    case = _case(store, case_id)
    if threat_id not in {t.id for t in case.threats}:
        raise FieldkitError(
            _("no threat {threat_id} on case {case_id}").format(
                threat_id=threat_id, case_id=case_id
            )
        )
    plan = store.entity(case_id, "safety_plan", "plan")
    current = list((plan.fields.get("interventions") if plan else None) or [])
    kept = [i for i in current if i.get("threat") != threat_id]
    item: dict[str, Any] = {"threat": threat_id, "text": _text(text, "intervention")}
    if who.strip():
        item["who"] = who.strip()
    interventions = [*kept, item]
    services.record_change(store, case_id, "safety_plan", "plan", {"interventions": interventions})
    return interventions


# --- closure (CL-1, RV-6) -----------------------------------------------------------------------


def closure_checks(case: Case, profile: PolicyProfile, on: date) -> list[GateCheck]:
    """Rule RV-6 at termination: what the record holds before a closure is signed."""
    return list(review_content_problems(case, profile, on))


def record_closure(
    store: Store,
    case_id: str,
    profile: PolicyProfile,
    on: date,
    reason: str,
    supports: str,
    goals_met: bool | None = None,
    now: datetime | None = None,
) -> str:
    """Rule CL-1: safe closure with supports in place and an end date; goes to the
    supervisor's queue. After the end date nothing is due on the case."""
    case = _case(store, case_id)
    unmet = blocking(closure_checks(case, profile, on))
    if unmet:
        raise NotReady(_("closure"), unmet)
    fields = {
        "date": on.isoformat(),
        "reason": _text(reason, "reason for closing the case (CL-1)"),
        "supports": _text(supports, "supports in place for the family (CL-1)"),
        "goals_met": goals_met,
        "approval": "pending",
        "author": store.user,
        "signed_at": _now(now),
    }
    return _sign_new(store, case_id, "closure", "cl", fields, closure_content_for(fields))


def closure_content_for(fields: dict[str, Any]) -> dict[str, Any]:
    """The approval content of a closure from its fields (see `closure_content_of`)."""
    return {"closure": {k: v for k, v in fields.items() if k != "approval"}}


def due_after(store: Store, case_id: str, profile: PolicyProfile, as_of: date) -> list[Any]:
    """The case's due list as the engine now computes it (what a command prints after)."""
    return due_items(services.load_case(store, case_id), profile, as_of)
