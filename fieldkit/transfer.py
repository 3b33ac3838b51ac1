"""The case-transfer format `fieldkit.case-transfer/1`: checking, and mapping to entities.

A file is checked whole before anything is written: a bad date, a missing key or an
unknown person id refuses the file with a message naming the case and the key.
Keys that start with `_` are fieldkit's own bookkeeping and never leave in an export.
"""

from __future__ import annotations

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
from fieldkit.errors import TransferError

FORMAT = "fieldkit.case-transfer/1"
REQUIRED = ("id", "kind", "opened", "people")
HISTORY_DATES = (
    "removal_date",
    "assessment_completed",
    "service_plan_completed",
    "last_formal_review",
    "last_supervision",
)

Entity = tuple[str, str, dict[str, Any]]  # (entity kind, entity id, fields)


def _refuse(case_id: str, key: str, problem: str) -> TransferError:
    return TransferError(f"case {case_id}, key {key}: {problem}; nothing was imported")


def _check_date(case_id: str, key: str, value: Any, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise _refuse(case_id, key, f"{value!r} is not a date (write YYYY-MM-DD)")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _refuse(case_id, key, f"{value!r} is not a date (write YYYY-MM-DD)") from None
    if len(value) != 10:
        raise _refuse(case_id, key, f"{value!r} is not a date (write YYYY-MM-DD)")


def check_document(doc: Any) -> list[dict[str, Any]]:
    """The cases of a transfer document, or TransferError naming the case and key."""
    if not isinstance(doc, dict):
        raise TransferError("the file is not a case-transfer document (expected a JSON object)")
    if doc.get("format") != FORMAT:
        raise TransferError(
            f"key format: {doc.get('format')!r} is not {FORMAT!r}; nothing was imported"
        )
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise TransferError("key cases: expected a list of cases; nothing was imported")
    seen_ids: set[str] = set()
    for index, case in enumerate(cases):
        check_case(case, index)
        if case["id"] in seen_ids:
            raise _refuse(case["id"], "id", "the same case appears twice in the file")
        seen_ids.add(case["id"])
    return cases


def check_case(case: Any, index: int = 0) -> None:
    """Every rule of the format for one case."""
    if not isinstance(case, dict):
        raise TransferError(f"cases[{index}]: expected an object; nothing was imported")
    cid = str(case.get("id") or f"#{index + 1}")
    for key in REQUIRED:
        if key not in case or case[key] in (None, ""):
            raise _refuse(cid, key, "required key is missing")
    if not isinstance(case["id"], str) or "/" in case["id"]:
        raise _refuse(cid, "id", "must be text without '/'")
    if case["kind"] not in {k.value for k in CaseKind}:
        kinds = ", ".join(k.value for k in CaseKind)
        raise _refuse(cid, "kind", f"{case['kind']!r} is not one of {kinds}")
    if case.get("track") is not None and case["track"] not in {t.value for t in Track}:
        tracks = ", ".join(t.value for t in Track)
        raise _refuse(cid, "track", f"{case['track']!r} is not one of {tracks}")
    _check_date(cid, "opened", case["opened"], required=True)
    unannounced = case.get("unannounced_visits")
    if unannounced is not None and (
        not isinstance(unannounced, dict) or not isinstance(unannounced.get("required"), bool)
    ):
        raise _refuse(cid, "unannounced_visits", 'expected {"required": true|false, "reason": …}')
    people = case["people"]
    if not isinstance(people, list):
        raise _refuse(cid, "people", "expected a list")
    person_ids: set[str] = set()
    for i, person in enumerate(people):
        where = f"people[{i}]"
        if not isinstance(person, dict) or not person.get("id"):
            raise _refuse(cid, f"{where}.id", "required key is missing")
        if person["id"] in person_ids:
            raise _refuse(cid, f"{where}.id", f"person id {person['id']!r} is used twice")
        person_ids.add(person["id"])
        if person.get("role") not in ("child", "caregiver", "other"):
            raise _refuse(cid, f"{where}.role", "expected child, caregiver or other")
        if not person.get("name"):
            raise _refuse(cid, f"{where}.name", "required key is missing")
        _check_date(cid, f"{where}.dob", person.get("dob"))
        for flag in ("verbal", "victim"):
            if flag in person and not isinstance(person[flag], bool):
                raise _refuse(cid, f"{where}.{flag}", "expected true or false")
        placement = person.get("placement")
        if placement is not None:
            if not isinstance(placement, dict) or not placement.get("setting"):
                raise _refuse(cid, f"{where}.placement.setting", "required key is missing")
            _check_date(cid, f"{where}.placement.since", placement.get("since"))
    safety = case.get("safety") or {}
    if not isinstance(safety, dict):
        raise _refuse(cid, "safety", "expected an object")
    threat_ids: set[str] = set()
    for i, threat in enumerate(safety.get("threats") or []):
        if not isinstance(threat, dict) or not threat.get("id"):
            raise _refuse(cid, f"safety.threats[{i}].id", "required key is missing")
        threat_ids.add(threat["id"])
    plan = safety.get("plan")
    if plan is not None:
        if not isinstance(plan, dict):
            raise _refuse(cid, "safety.plan", "expected an object")
        _check_date(cid, "safety.plan.agreed", plan.get("agreed"))
        for i, item in enumerate(plan.get("interventions") or []):
            if not isinstance(item, dict) or item.get("threat") not in threat_ids:
                raise _refuse(
                    cid,
                    f"safety.plan.interventions[{i}].threat",
                    f"{(item or {}).get('threat')!r} is not a threat id of this case",
                )
    history = case.get("history") or {}
    if not isinstance(history, dict):
        raise _refuse(cid, "history", "expected an object")
    for key in HISTORY_DATES:
        _check_date(cid, f"history.{key}", history.get(key))
    for i, visit in enumerate(history.get("visits") or []):
        where = f"history.visits[{i}]"
        if not isinstance(visit, dict):
            raise _refuse(cid, where, "expected an object")
        _check_date(cid, f"{where}.date", visit.get("date"), required=True)
        for key in ("seen", "private_interview", "observed"):
            for pid in visit.get(key) or []:
                if pid not in person_ids:
                    raise _refuse(cid, f"{where}.{key}", f"{pid!r} is not a person of this case")


def case_entities(case: dict[str, Any]) -> list[Entity]:
    """The entities one checked case becomes (the case first)."""
    cid = case["id"]
    head = {k: v for k, v in case.items() if k not in ("people", "safety", "history")}
    history = dict(case.get("history") or {})
    visits = history.pop("visits", None)
    if "history" in case:
        head["history"] = history
    if "safety" in case:
        head["_safety_keys"] = sorted((case["safety"] or {}).keys())
    if visits is not None:
        head["_has_visits"] = True
    entities: list[Entity] = [("case", cid, head)]
    for order, person in enumerate(case["people"]):
        entities.append(("person", person["id"], {**person, "_order": order}))
    safety = case.get("safety") or {}
    for order, threat in enumerate(safety.get("threats") or []):
        entities.append(("threat", threat["id"], {**threat, "_order": order}))
    if safety.get("plan") is not None:
        entities.append(("safety_plan", "plan", dict(safety["plan"])))
    for order, visit in enumerate(visits or []):
        entities.append(("visit", f"h{order:04d}-{visit['date']}", {**visit, "_order": order}))
    return entities


def _public(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not k.startswith("_")}


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda f: (f.get("_order", 1 << 30), str(f.get("date", ""))))


def export_document(
    head: dict[str, Any], by_kind: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The transfer form of one case from its entities' fields."""
    case = _public(head)
    case.pop("history", None)
    case["people"] = [_public(p) for p in _ordered(by_kind.get("person", []))]
    threats = [_public(t) for t in _ordered(by_kind.get("threat", []))]
    plans = by_kind.get("safety_plan", [])
    initial = [p for p in plans if p.get("_id") == "plan"]
    safety_keys = head.get("_safety_keys")
    if safety_keys is not None or threats or plans:
        safety: dict[str, Any] = {}
        if threats or "threats" in (safety_keys or []):
            safety["threats"] = threats
        if initial:
            safety["plan"] = _public(initial[0])
        others = [_public(p) for p in plans if p.get("_id") != "plan"]
        if others:
            safety["alternative_plans"] = others
        case["safety"] = safety
    history = dict(head.get("history") or {}) if "history" in head else None
    visits = [_public(v) for v in _ordered(by_kind.get("visit", []))]
    if history is not None or visits:
        history = history or {}
        if head.get("_has_visits") or visits:
            history["visits"] = visits
        case["history"] = history
    for kind in (
        "event",
        "supervision",
        "review",
        "closure",
        "addendum",
        "approval",
        "contact",
        "attachment",
        "acknowledgement",
    ):
        items = by_kind.get(kind)
        if items:
            case.setdefault("records", {})[kind] = [_public(i) for i in _ordered(items)]
    return case


# --- assembling the domain case -------------------------------------------------------


def _placement(value: Any) -> Placement | None:
    if not isinstance(value, dict):
        return None
    return Placement(
        setting=str(value.get("setting", "")),
        since=parse_date(value.get("since")),
        address=value.get("address"),
    )


def build_case(
    head: dict[str, Any], by_kind: dict[str, list[dict[str, Any]]], needs_resolution: int = 0
) -> Case:
    """A domain `Case` from its entities' current fields."""
    history = head.get("history") or {}
    unannounced = head.get("unannounced_visits") or {}
    people = [
        Person(
            id=p["id"],
            role=p.get("role", "other"),
            name=p.get("name", ""),
            dob=parse_date(p.get("dob")),
            verbal=bool(p.get("verbal", True)),
            victim=bool(p.get("victim", False)),
            placement=_placement(p.get("placement")),
            relationship=p.get("relationship"),
            phone=p.get("phone"),
        )
        for p in _ordered(by_kind.get("person", []))
    ]
    threats = [
        SafetyThreat(
            id=t.get("id", t.get("_id", "")),
            text=t.get("text", ""),
            active=bool(t.get("active", True)),
            identified=parse_date(t.get("identified")),
        )
        for t in _ordered(by_kind.get("threat", []))
    ]
    plans = [
        SafetyPlan(
            id=p.get("_id", "plan"),
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
        for p in _ordered(by_kind.get("safety_plan", []))
    ]
    visits = [visit_from_fields(v) for v in _ordered(by_kind.get("visit", [])) if v.get("date")]
    visits.sort(key=lambda v: v.date)
    supervisions = [
        Supervision(
            id=s.get("_id", ""),
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
            id=r.get("_id", ""),
            date=parse_date(r["date"]) or date.min,
            kind=r.get("kind", "formal"),
        )
        for r in by_kind.get("review", [])
        if r.get("date")
    ]
    events = [
        CaseEvent(
            id=e.get("_id", ""),
            kind=e.get("kind", ""),
            date=parse_date(e["date"]) or date.min,
            note=e.get("note", ""),
        )
        for e in by_kind.get("event", [])
        if e.get("date")
    ]
    closure_fields = _first(by_kind.get("closure"))
    assessment_fields = _first(by_kind.get("assessment"))
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
            id=assessment_fields.get("_id", ""),
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
        service_plan=service_plan_from(by_kind),
    )


def service_plan_from(by_kind: dict[str, list[dict[str, Any]]]) -> ServicePlan | None:
    """Rule PL-4: the plan, its goals, objectives and activities, from their records."""
    if not any(by_kind.get(kind) for kind in ("service_plan", "goal", "objective", "activity")):
        return None
    head = _first(by_kind.get("service_plan")) or {"_id": "plan"}
    return ServicePlan(
        id=str(head.get("_id", "plan")),
        completed=parse_date(head.get("completed")),
        family_agreement=head.get("family_agreement"),
        goals=tuple(
            Goal(str(f.get("_id", "")), str(f.get("text", "")), str(f.get("progress", "")))
            for f in by_kind.get("goal", [])
        ),
        objectives=tuple(
            Objective(str(f.get("_id", "")), str(f.get("goal", "")), str(f.get("text", "")))
            for f in by_kind.get("objective", [])
        ),
        activities=tuple(
            Activity(
                str(f.get("_id", "")),
                objective=str(f.get("objective", "")),
                text=str(f.get("text", "")),
                who=str(f.get("who", "")),
                where=str(f.get("where", "")),
                how=str(f.get("how", "")),
                when=str(f.get("when", "")),
                measure=str(f.get("measure", "")),
                progress=str(f.get("progress", "")),
            )
            for f in by_kind.get("activity", [])
        ),
    )


def _first(items: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    return items[0] if items else None


def contact_from_fields(raw: dict[str, Any]) -> ChildContact:
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


def visit_from_fields(v: dict[str, Any], visit_id: str | None = None) -> Visit:
    """The domain visit from a stored record, an imported one, or a draft being typed."""
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
        id=visit_id if visit_id is not None else v.get("_id", ""),
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
        signed=bool(v.get("_signed", v.get("signed", True))),
        signed_at=v.get("signed_at"),
        author=v.get("author"),
    )
