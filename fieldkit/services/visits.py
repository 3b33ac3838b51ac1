"""Use cases of the guided home visit: drafts, safety changes, overrides, signing, addenda.

The field app's screens call these (from worker threads); these use the store, the change
log and the practice rules. No Textual here. A visit in progress lives only in an encrypted
draft (`Store.save_draft`); signing writes the visit, any new threats and alternative safety
plan, and the overrides, in one durable transaction, then drops the draft.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from fieldkit import changelog
from fieldkit.domain import (
    Case,
    Person,
    ServicePlan,
    Visit,
    parse_date,
)
from fieldkit.errors import FieldkitError
from fieldkit.practice import (
    GateCheck,
    Override,
    PolicyProfile,
    apply_overrides,
    blocking,
    visit_content_problems,
    visit_gates,
)
from fieldkit.services.cases import load_case, load_cases, record_change
from fieldkit.store import Store
from fieldkit.transfer import contact_from_fields, visit_from_fields

VISIT_KINDS = ("home", "school", "office", "placement", "phone", "other")
"""Where the contact took place; a profile's `visit_kinds` narrows this list when it names any."""

SA3_CIRCUMSTANCES = (
    "loss of income",
    "a move",
    "illness of a caregiver",
    "illness of a child",
    "a new caregiver in the home",
    "loss of a protective caregiver",
)
"""Rule SA-3: changes of circumstance that call for a new safety assessment."""

CONTACT_KEYS = (
    "person",
    "seen",
    "private_interview",
    "observed",
    "seen_alone",
    "where",
    "could_be_overheard",
    "said",
    "interaction",
    "condition",
    "environment",
)


class VisitNotReady(FieldkitError):
    """Signing was refused: the profile still requires something, and no override answers it."""

    def __init__(self, problems: list[GateCheck]) -> None:
        self.problems = problems
        listed = "; ".join(p.message for p in problems)
        super().__init__(f"the visit cannot be signed yet: {listed}")


# --- the service plan and the case's open items ---------------------------------------


PLAN_KINDS = ("service_plan", "goal", "objective", "activity")


def service_plan(store: Store, case_id: str) -> ServicePlan | None:
    """Rule PL-4: the plan's goals, objectives and activities, from their records."""
    return load_case(store, case_id).service_plan


def load_caseload(store: Store) -> dict[str, Case]:
    """Every case, decrypted in memory, with its service plan assembled."""
    return {case.id: case for case in load_cases(store)}


def load_case_with_plan(store: Store, case_id: str) -> Case:
    """The domain case with its service plan assembled (the screens and rules read this)."""
    return load_case(store, case_id)


def supervisor_returns(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """Approvals the supervisor returned for changes (from `services.case_detail`)."""
    approvals = detail.get("records", {}).get("approval", [])
    return [a for a in approvals if a.get("decision") == "returned"]


# --- drafts ---------------------------------------------------------------------------


def new_draft(case: Case, author: str, today: date) -> dict[str, Any]:
    """A fresh visit in progress: one contact per child, one progress line per goal."""
    visit_id = f"v-{changelog.uuid7()}"
    plan = case.service_plan
    plan_ids = [g.id for g in plan.goals] + [a.id for a in plan.activities] if plan else []
    return {
        "visit_id": visit_id,
        "case_id": case.id,
        "step": "kind",
        "started": today.isoformat(),
        "fields": {
            "date": today.isoformat(),
            "kind": "home",
            "announced": not case.unannounced.required,
            "present": [],
            "location": case.address,
            "safety_changed": None,
            "contacts": [
                {
                    "person": child.id,
                    "seen": True,
                    "private_interview": child.verbal,
                    "observed": not child.verbal,
                    "seen_alone": None,
                    "where": "",
                    "could_be_overheard": None,
                    "said": "",
                    "interaction": "",
                    "condition": "",
                    "environment": "",
                }
                for child in case.children
            ],
            "progress": {item_id: "" for item_id in plan_ids},
            "notes": "",
            "next_steps": "",
            "next_visit": None,
            "author": author,
        },
        "safety": {
            "circumstances": [],
            "new_threats": [],
            "interventions": "",
            "phone_approval_by": "",
            "phone_approval_at": "",
        },
        "overrides": [],
    }


def save_draft(store: Store, draft: dict[str, Any]) -> None:
    """Autosave (sealed with the case key); called from a worker thread."""
    store.save_draft(draft["visit_id"], draft["case_id"], draft)


def drafts(store: Store, case_id: str | None = None) -> list[dict[str, Any]]:
    """Unfinished visits, newest first, each with `updated` (UTC ISO) added."""
    found = []
    for _draft_id, _case_id, updated, data in store.drafts(case_id):
        if isinstance(data, dict) and "fields" in data:
            found.append({**data, "updated": updated})
    return found


def discard_draft(store: Store, draft: dict[str, Any]) -> None:
    """The worker chose to throw a draft away."""
    store.delete_draft(draft["visit_id"])


def contact_of(draft: dict[str, Any], person_id: str) -> dict[str, Any]:
    """The draft's contact for one child (made on demand, e.g. a child added since)."""
    for contact in draft["fields"]["contacts"]:
        if contact["person"] == person_id:
            return dict(contact)
    return {"person": person_id, "seen": True}


# --- from a draft to the stored visit -------------------------------------------------


def as_visit(visit_id: str, fields: dict[str, Any]) -> Visit:
    """The domain visit the rules engine checks (a draft is not signed)."""
    return replace(visit_from_fields(fields, visit_id), signed=False)


def _safe_date(value: Any) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


def stored_fields(draft: dict[str, Any]) -> dict[str, Any]:
    """The visit's fields as stored: the transfer keys plus the full record."""
    fields = copy.deepcopy(draft["fields"])
    visit = as_visit(draft["visit_id"], fields)
    fields["contacts"] = [
        {key: getattr(contact_from_fields(c), key) for key in CONTACT_KEYS}
        for c in fields["contacts"]
    ]
    fields["seen"] = sorted(visit.seen_ids())
    fields["private_interview"] = sorted(visit.interviewed_ids())
    fields["observed"] = sorted(visit.observed_ids())
    fields["next_visit"] = visit.next_visit.isoformat() if visit.next_visit else None
    safety = draft.get("safety") or {}
    if fields.get("safety_changed") and safety.get("circumstances"):
        fields["safety_assessment"] = {"circumstances": list(safety["circumstances"])}
    return fields


def _case_for_checks(case: Case, draft: dict[str, Any]) -> Case:
    """Rule PL-4: this visit's progress notes stand for the plan's goal progress."""
    plan = case.service_plan
    if plan is None:
        return case
    progress = draft["fields"].get("progress") or {}
    goals = tuple(replace(g, progress=str(progress.get(g.id, ""))) for g in plan.goals)
    checked = copy.copy(case)
    checked.service_plan = replace(plan, goals=goals)
    return checked


def new_threats(draft: dict[str, Any]) -> list[str]:
    """Rule SA-3: the threats the worker named at this visit's safety check."""
    safety = draft.get("safety") or {}
    return [str(t).strip() for t in safety.get("new_threats") or [] if str(t).strip()]


def safety_problems(draft: dict[str, Any]) -> list[GateCheck]:
    """Rule SA-2: new threats need an alternative safety plan with its interventions."""
    if not new_threats(draft):
        return []
    safety = draft.get("safety") or {}
    if not str(safety.get("interventions") or "").strip():
        return [
            GateCheck(
                "SA-2",
                "new threats were named: write the alternative safety plan's interventions",
                True,
                None,
            )
        ]
    return []


def overrides_of(draft: dict[str, Any]) -> list[Override]:
    """The overrides the worker has given in this draft (each with a reason)."""
    return [
        Override(
            rule=str(o["rule"]),
            reason=str(o.get("reason", "")),
            author=str(o.get("author", "")),
            at=str(o.get("at", "")),
            subject=o.get("subject"),
        )
        for o in draft.get("overrides") or []
    ]


def sign_checks(case: Case, draft: dict[str, Any], profile: PolicyProfile) -> list[GateCheck]:
    """Everything the profile still requires (gates, content rules, SA-2), before overrides."""
    visit = as_visit(draft["visit_id"], draft["fields"])
    checked = _case_for_checks(case, draft)
    dates: list[GateCheck] = []
    if _safe_date(draft["fields"].get("date")) is None:
        dates.append(GateCheck("VI-1", "write the visit date as YYYY-MM-DD", True, None))
    next_visit = draft["fields"].get("next_visit")
    if next_visit and _safe_date(next_visit) is None:
        dates.append(GateCheck("VI-1", "write the next visit date as YYYY-MM-DD", True, None))
    return (
        dates
        + visit_gates(checked, visit, profile)
        + visit_content_problems(checked, visit, profile)
        + safety_problems(draft)
    )


def open_checks(case: Case, draft: dict[str, Any], profile: PolicyProfile) -> list[GateCheck]:
    """What still stands between this draft and a signature once overrides count."""
    return apply_overrides(sign_checks(case, draft, profile), overrides_of(draft))


def add_override(
    draft: dict[str, Any], check: GateCheck, reason: str, author: str, now: datetime
) -> dict[str, Any]:
    """Record, in the draft, the worker's decision to sign past one check, with the reason."""
    if not reason.strip():
        raise FieldkitError("an override needs a reason; write why the rule is not met")
    draft.setdefault("overrides", []).append(
        {
            "rule": check.rule,
            "subject": check.subject,
            "message": check.message,
            "reason": reason.strip(),
            "author": author,
            "at": now.isoformat(timespec="seconds"),
        }
    )
    return draft


def sign_visit(
    store: Store,
    case: Case,
    draft: dict[str, Any],
    profile: PolicyProfile,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Sign the visit: refused while a blocking check is unanswered; one transaction."""
    moment = now or datetime.now(UTC)
    unmet = blocking(open_checks(case, draft, profile))
    if unmet:
        raise VisitNotReady(unmet)
    case_id, visit_id = case.id, draft["visit_id"]
    fields = stored_fields(draft)
    fields["author"] = store.user
    fields["signed_at"] = moment.isoformat(timespec="seconds")
    threats = new_threats(draft)
    safety = draft.get("safety") or {}
    with store.transaction():
        if threats:
            fields["safety_plan"] = _record_safety_change(
                store, case, visit_id, threats, safety, parse_date(fields["date"]) or moment.date()
            )
        for n, override in enumerate(draft.get("overrides") or []):
            store.record(
                case_id,
                "override",
                f"{visit_id}-o{n + 1}",
                {
                    "rule": override["rule"],
                    "reason": override["reason"],
                    "author": override.get("author") or store.user,
                    "visit": visit_id,
                    "subject": override.get("subject"),
                    "message": override.get("message", ""),
                    "at": override.get("at"),
                },
            )
        record_change(store, case_id, "visit", visit_id, fields)
        store.record(
            case_id,
            "visit",
            visit_id,
            action="sign",
            extra={"content_hash": changelog.content_hash(fields)},
        )
        store.delete_draft(visit_id)
    return fields


def _record_safety_change(
    store: Store,
    case: Case,
    visit_id: str,
    threats: list[str],
    safety: dict[str, Any],
    day: date,
) -> str:
    """Rules SA-2, SA-3: new threats and an alternative plan pending supervisor approval."""
    existing = {t.id for t in case.threats}
    threat_ids = []
    for text in threats:
        n = len(existing) + 1
        while f"t{n}" in existing:
            n += 1
        existing.add(f"t{n}")
        threat_ids.append(f"t{n}")
        store.record(
            case.id,
            "threat",
            f"t{n}",
            {"id": f"t{n}", "text": text, "active": True, "identified": day.isoformat()},
        )
    lines = [line.strip() for line in str(safety.get("interventions", "")).splitlines()]
    interventions = [
        {"threat": threat_ids[min(i, len(threat_ids) - 1)], "text": line}
        for i, line in enumerate(x for x in lines if x)
    ]
    plan_id = f"alt-{visit_id}"
    plan: dict[str, Any] = {
        "kind": "alternative",
        "approval": "pending",
        "created": day.isoformat(),
        "interventions": interventions,
        "threats": threat_ids,
        "visit": visit_id,
        "assessment": {"circumstances": list(safety.get("circumstances") or [])},
    }
    by, at = (
        str(safety.get("phone_approval_by") or "").strip(),
        str(safety.get("phone_approval_at") or "").strip(),
    )
    if by:
        plan.update(approval="phone-approved", phone_approval_by=by, phone_approval_at=at)
    store.record(case.id, "safety_plan", plan_id, plan)
    return plan_id


def record_phone_approval(store: Store, case_id: str, plan_id: str, by: str, at: str) -> None:
    """Rule SA-2: a supervisor approved by phone; their signature confirms it on sync."""
    if not by.strip():
        raise FieldkitError("name the supervisor who approved the plan by phone")
    record_change(
        store,
        case_id,
        "safety_plan",
        plan_id,
        {"approval": "phone-approved", "phone_approval_by": by.strip(), "phone_approval_at": at},
    )


def visit_record(store: Store, case_id: str, visit_id: str) -> dict[str, Any]:
    """A stored visit's fields, whether it is signed, and its addenda (oldest first)."""
    ent = store.entity(case_id, "visit", visit_id)
    if ent is None:
        raise FieldkitError(f"no visit {visit_id} on case {case_id}")
    addenda = sorted(
        (
            e.fields
            for e in store.entities(case_id, "addendum")
            if e.fields.get("visit") == visit_id
        ),
        key=lambda f: str(f.get("date", "")),
    )
    return {"id": visit_id, "fields": ent.fields, "signed": bool(ent.signed), "addenda": addenda}


def add_addendum(
    store: Store, case_id: str, visit_id: str, text: str, author: str, day: date
) -> str:
    """A correction to a signed visit: a new record that points to it."""
    if not text.strip():
        raise FieldkitError("the addendum is empty; write the correction first")
    addendum_id = f"add-{changelog.uuid7()}"
    store.record(
        case_id,
        "addendum",
        addendum_id,
        {"visit": visit_id, "text": text.strip(), "date": day.isoformat(), "author": author},
    )
    return addendum_id


def person_label(person: Person, today: date) -> str:
    """ "Leo Ortiz, 8, verbal, kinship placement" for lists and step titles."""
    parts = [person.name]
    age = person.age_on(today)
    if person.is_child:
        if age is not None:
            parts.append(f"{age}" if age >= 1 else "under 1")
        parts.append("verbal" if person.verbal else "non-verbal")
        if person.victim:
            parts.append("child victim")
        if person.placement is not None:
            parts.append(f"{person.placement.setting} placement")
    elif person.relationship:
        parts.append(person.relationship)
    return ", ".join(parts)
