"""Stored entities as the rest of fieldkit reads them, and the domain built from them.

The one place between the store and everything else: an entity (`EntityState` or
`EntityView`) becomes a typed `Record` — its kind, id, fields and its own signature marks —
and records become the domain `Case`, `Visit` and `ServicePlan`. Whether a record is signed
or was altered after signing is read from the entity's marks, never assumed; a record
that is not stored (a form about to be signed) says so with `unsaved()`. Fields whose
name starts with `_` are bookkeeping (`transfer.py` keeps a record's place in its file)
and never shown.

Why one module: it is the one mapping between the store and the rest: building a `Case`
reads records of every kind, and keeping every entity-to-record step here is what guarantees
`signed` and `altered_after_signing` are read from an entity's marks everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fieldkit.domain import (
    Activity,
    ApprovalState,
    Assessment,
    Case,
    CaseEvent,
    CaseKind,
    ChildContact,
    Closure,
    Goal,
    Intervention,
    Objective,
    Person,
    Placement,
    Review,
    SafetyPlan,
    SafetyThreat,
    ServicePlan,
    Supervision,
    Track,
    Unannounced,
    Visit,
    parse_date,
)
from fieldkit.store import EntityState, EntityView


@dataclass(frozen=True)
class Record:
    """One stored entity: what it is, its fields, and the marks its own ops left on it."""

    case_id: str
    kind: str
    id: str
    fields: Mapping[str, Any]
    signed: bool
    """A signature op covers this entity (from the store's fold, never a field)."""
    altered_after_signing: bool
    """A change arrived after that signature (another device's edit)."""

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        """One field, as `dict.get`."""
        return self.fields.get(key, default)

    @property
    def public(self) -> dict[str, Any]:
        """The fields without fieldkit's own bookkeeping (keys starting with `_`)."""
        return {k: v for k, v in self.fields.items() if not k.startswith("_")}

    def to_json(self) -> dict[str, Any]:
        """For `case show --json`: the id, the public fields, then the marks."""
        return {
            "id": self.id,
            **self.public,
            "signed": self.signed,
            "altered_after_signing": self.altered_after_signing,
        }


ByKind = Mapping[str, list[Record]]
"""A case's records by entity kind (`"person"`, `"visit"`, …)."""


def record_of(ent: EntityState | EntityView) -> Record:
    """The record of one stored entity, with its own signature marks."""
    signed = ent.signed if isinstance(ent, EntityView) else ent.signed is not None
    return Record(
        ent.case_id,
        ent.entity,
        ent.entity_id,
        dict(ent.fields),
        signed,
        signed and ent.altered_after_signing,
    )


def unsaved(case_id: str, kind: str, record_id: str, fields: Mapping[str, Any]) -> Record:
    """A record not in the store yet (a form being checked): not signed, by definition."""
    return Record(case_id, kind, record_id, dict(fields), False, False)


def by_case(entities: Iterable[EntityState | EntityView]) -> dict[str, dict[str, list[Record]]]:
    """Case id → entity kind → its records, in store order."""
    cases: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for ent in entities:
        cases[ent.case_id][ent.entity].append(record_of(ent))
    return cases


def ordered(records: Iterable[Record]) -> list[Record]:
    """In their file's order (`_order`), then by date and id."""
    return sorted(records, key=lambda r: (r.get("_order", 1 << 30), str(r.get("date", "")), r.id))


def _placement(value: Any) -> Placement | None:
    if not isinstance(value, dict):
        return None
    return Placement(
        setting=str(value.get("setting", "")),
        since=parse_date(value.get("since")),
        address=value.get("address"),
    )


def build_case(head: Record, by_kind: ByKind, needs_resolution: int = 0) -> Case:
    """A domain `Case` from its records (the case's own record first)."""
    history = head.get("history") or {}
    unannounced = head.get("unannounced_visits") or {}
    people = [
        Person(
            id=str(p.get("id", p.id)),
            role=p.get("role", "other"),
            name=p.get("name", ""),
            dob=parse_date(p.get("dob")),
            verbal=bool(p.get("verbal", True)),
            victim=bool(p.get("victim", False)),
            placement=_placement(p.get("placement")),
            relationship=p.get("relationship"),
            phone=p.get("phone"),
        )
        for p in ordered(by_kind.get("person", []))
    ]
    threats = [
        SafetyThreat(
            id=str(t.get("id", t.id)),
            text=t.get("text", ""),
            active=bool(t.get("active", True)),
            identified=parse_date(t.get("identified")),
        )
        for t in ordered(by_kind.get("threat", []))
    ]
    plans = [
        SafetyPlan(
            id=p.id,
            kind=p.get("kind", "initial"),
            agreed=parse_date(p.get("agreed")),
            interventions=tuple(
                Intervention(i.get("threat", ""), i.get("text", ""), i.get("who"))
                for i in p.get("interventions") or []
            ),
            approval=ApprovalState(p.get("approval", ApprovalState.APPROVED.value)),
            created=parse_date(p.get("created")),
            phone_approval_by=p.get("phone_approval_by"),
            phone_approval_at=p.get("phone_approval_at"),
            shared_with_family=p.get("shared_with_family"),
            active=bool(p.get("active", True)),
        )
        for p in ordered(by_kind.get("safety_plan", []))
    ]
    visits = [visit_of(v) for v in ordered(by_kind.get("visit", [])) if v.get("date")]
    visits.sort(key=lambda v: v.date)
    supervisions = [
        Supervision(
            id=s.id,
            date=parse_date(s["date"]) or date.min,
            decisions=s.get("decisions", ""),
            visit_frequency_reviewed=bool(s.get("visit_frequency_reviewed", False)),
            supervisor=s.get("supervisor"),
        )
        for s in by_kind.get("supervision", [])
        if s.get("date")
    ]
    reviews = [
        Review(
            id=r.id,
            date=parse_date(r["date"]) or date.min,
            kind=r.get("kind", "formal"),
        )
        for r in by_kind.get("review", [])
        if r.get("date")
    ]
    events = [
        CaseEvent(
            id=e.id,
            kind=e.get("kind", ""),
            date=parse_date(e["date"]) or date.min,
            note=e.get("note", ""),
        )
        for e in by_kind.get("event", [])
        if e.get("date")
    ]
    decisions = latest_decisions(by_kind.get("approval") or [])
    closure_fields = _latest(
        (c for c in by_kind.get("closure") or [] if c.get("date")),
        decisions,
        "closure",
        "date",
    )
    assessment_fields = _latest(by_kind.get("assessment") or [], {}, "assessment", "completed")
    return Case(
        id=head["id"],
        kind=CaseKind(head["kind"]),
        opened=parse_date(head["opened"]) or date.min,
        track=Track(head["track"]) if head.get("track") else None,
        worker=head.get("worker"),
        supervisor=head.get("supervisor"),
        address=head.get("address", ""),
        unannounced=Unannounced(
            required=bool(unannounced.get("required", False)),
            reason=unannounced.get("reason", ""),
        ),
        people=people,
        threats=threats,
        safety_plans=plans,
        assessment_completed=parse_date(history.get("assessment_completed")),
        service_plan_completed=parse_date(history.get("service_plan_completed")),
        last_formal_review=parse_date(history.get("last_formal_review")),
        last_supervision=parse_date(history.get("last_supervision")),
        removal_date=parse_date(history.get("removal_date")),
        high_risk=bool(head.get("high_risk", False)),
        visits=visits,
        supervisions=supervisions,
        reviews=reviews,
        events=events,
        assessment=Assessment(
            id=assessment_fields.id,
            completed=parse_date(assessment_fields.get("completed")),
            strengths=assessment_fields.get("strengths", ""),
            needs=assessment_fields.get("needs", ""),
            discussed_with_family=bool(assessment_fields.get("discussed_with_family")),
        )
        if assessment_fields
        else None,
        closure=Closure(
            parse_date(closure_fields["date"]) or date.min, closure_fields.get("reason", "")
        )
        if closure_fields and closure_fields.get("date")
        else None,
        needs_resolution=needs_resolution,
        service_plan=service_plan_from(by_kind, decisions),
        service_plan_dates=[
            d
            for d in (
                parse_date(p.get("completed"))
                for p in by_kind.get("service_plan") or []
                if not _withdrawn(decisions, "service_plan", p)
            )
            if d is not None
        ],
    )


WITHDRAWN = ("returned", "rejected")
"""A supervisor's decision that sends a plan or closure back: it is not in force."""


def latest_decisions(approvals: list[Record]) -> dict[tuple[str, str], str]:
    """(target, target id) → the latest decision on it (the approval records, by time)."""
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for a in approvals:
        key = (str(a.get("target", "")), str(a.get("target_id", "")))
        at = str(a.get("at", ""))
        if key not in latest or at >= latest[key][0]:
            latest[key] = (at, str(a.get("decision", "")))
    return {key: decision for key, (_stamp, decision) in latest.items()}


def _withdrawn(decisions: dict[tuple[str, str], str], target: str, r: Record) -> bool:
    return decisions.get((target, r.id)) in WITHDRAWN


def _latest(
    items: Iterable[Record], decisions: dict[tuple[str, str], str], target: str, key: str
) -> Record | None:
    """The newest record of a kind by its date key, leaving out those sent back (CT-4: the
    latest assessment; CL-1: the closure that stands)."""
    kept = [f for f in items if not _withdrawn(decisions, target, f)]
    if not kept:
        return None
    return max(kept, key=lambda r: (str(r.get(key) or ""), r.id))


def service_plan_from(
    by_kind: ByKind,
    decisions: dict[tuple[str, str], str] | None = None,
) -> ServicePlan | None:
    """Rule PL-4: the plan in force (the newest version not sent back), its goals,
    objectives and activities, from their records."""
    if not any(by_kind.get(kind) for kind in ("service_plan", "goal", "objective", "activity")):
        return None
    decisions = decisions or {}
    versions = by_kind.get("service_plan") or []
    head = _latest(versions, decisions, "service_plan", "completed")
    head = head or _latest(versions, {}, "service_plan", "completed")  # every one sent back
    plan_id = head.id if head else "plan"

    def ours(kind: str) -> list[Record]:
        """Records of this version (those of a plan made before versions have no `plan`)."""
        return [f for f in by_kind.get(kind, []) if f.get("plan") in (None, plan_id)]

    approval = decisions.get(("service_plan", plan_id)) or (head and head.get("approval"))
    return ServicePlan(
        id=plan_id,
        completed=parse_date(head.get("completed")) if head else None,
        family_agreement=head.get("family_agreement") if head else None,
        approval=str(approval) if approval else None,
        goals=tuple(
            Goal(f.id, str(f.get("text", "")), str(f.get("progress", ""))) for f in ours("goal")
        ),
        objectives=tuple(
            Objective(f.id, str(f.get("goal", "")), str(f.get("text", "")))
            for f in ours("objective")
        ),
        activities=tuple(
            Activity(
                f.id,
                objective=str(f.get("objective", "")),
                text=str(f.get("text", "")),
                who=str(f.get("who", "")),
                where=str(f.get("where", "")),
                how=str(f.get("how", "")),
                when=str(f.get("when", "")),
                measure=str(f.get("measure", "")),
                progress=str(f.get("progress", "")),
            )
            for f in ours("activity")
        ),
    )


def contact_from_fields(raw: Mapping[str, Any]) -> ChildContact:
    """One child at one visit; an interview or observation counts only if the child was seen."""
    seen = bool(raw.get("seen", True))
    return ChildContact(
        person=str(raw["person"]),
        seen=seen,
        private_interview=bool(raw.get("private_interview")) and seen,
        observed=bool(raw.get("observed")) and seen,
        seen_alone=raw.get("seen_alone"),
        where=str(raw.get("where") or ""),
        could_be_overheard=raw.get("could_be_overheard"),
        said=str(raw.get("said") or ""),
        interaction=str(raw.get("interaction") or ""),
        condition=str(raw.get("condition") or ""),
        environment=str(raw.get("environment") or ""),
    )


def _day_or_none(value: Any) -> date | None:
    try:
        return parse_date(value)
    except ValueError:  # a date still being typed into a draft
        return None


def visit_of(record: Record) -> Visit:
    """The domain visit of a stored visit record, signed only if its entity is."""
    return visit_from_fields(record.fields, record.id, signed=record.signed)


def visit_from_fields(v: Mapping[str, Any], visit_id: str, *, signed: bool) -> Visit:
    """The domain visit from a visit's fields (stored, imported, or a draft being typed);
    whether it is signed is the caller's word from the entity's mark (`visit_of`)."""
    contacts = {c["person"]: contact_from_fields(c) for c in v.get("contacts") or []}
    seen = set(v.get("seen") or [])
    interviewed = set(v.get("private_interview") or [])
    observed = set(v.get("observed") or [])
    for pid in sorted(seen | interviewed | observed):
        if pid not in contacts:
            contacts[pid] = ChildContact(
                person=pid,
                seen=True,
                private_interview=pid in interviewed,
                observed=pid in observed,
            )
    return Visit(
        id=visit_id,
        date=_day_or_none(v.get("date")) or date.today(),
        announced=bool(v.get("announced", True)),
        kind=str(v.get("kind") or "home"),
        contacts=tuple(contacts.values()),
        present=tuple(str(p) for p in v.get("present") or ()),
        location=str(v.get("location") or ""),
        safety_changed=v.get("safety_changed"),
        notes=str(v.get("notes") or ""),
        next_steps=str(v.get("next_steps") or ""),
        next_visit=_day_or_none(v.get("next_visit")),
        # The entity's own sign mark, never assumed: an imported history visit carries
        # none, so it shows as imported, not as signed.
        signed=signed,
        signed_at=v.get("signed_at"),
        author=v.get("author"),
        outcome=str(v.get("outcome") or "completed"),
    )
