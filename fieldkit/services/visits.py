"""Use cases of the guided home visit: drafts, safety changes, overrides, signing, addenda.

The field app's screens call these (from worker threads); these use the store, the change
log and the practice rules. No Textual here. A visit in progress lives only in an encrypted
draft (`Store.save_draft`); signing writes the visit, any new threats and alternative safety
plan, and the overrides, in one durable transaction, then drops the draft.

Why one module: the visit's life from draft to addendum is one flow over one `VisitRecord`:
the draft, its checks and overrides (by check id), and signing, which writes the visit, any
safety change and the overrides in one transaction; each step reads what the one before
wrote.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

from fieldkit import changelog, evidence, i18n
from fieldkit.changelog import ADDENDUM_LINK
from fieldkit.domain import (
    Case,
    Person,
    ServicePlan,
)
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import PolicyProfile
from fieldkit.practice.visit_checks import (
    VisitCheck,
    blocking_checks,
    requirement_checks,
    vi2_met,
    vi3_met,
    visit_checks,
)
from fieldkit.services import review
from fieldkit.services.cases import load_case, load_cases, record_change
from fieldkit.store import Store
from fieldkit.text import check_text
from fieldkit.visit_record import (
    ChildObservation,
    PrivateInterview,
    SafetyCheck,
    VisitOverride,
    VisitRecord,
    new_record,
    strict_date,
)

SA3_CIRCUMSTANCES = (
    "loss of income",
    "a move",
    "illness of a caregiver",
    "illness of a child",
    "a new caregiver in the home",
    "loss of a protective caregiver",
)
"""Rule SA-3: changes of circumstance that call for a new safety assessment."""


class VisitNotReady(FieldkitError):
    """Signing was refused: the profile still requires something, and no override answers it."""

    def __init__(self, problems: list[VisitCheck]) -> None:
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


# --- drafts ---------------------------------------------------------------------------
# A draft is {"visit_id", "case_id", "step", "started", "record": fieldkit.visit/1 doc}.


def new_visit_id() -> str:
    """The id of a visit not yet stored (a draft, or a signed file that names none)."""
    return f"v-{changelog.uuid7()}"


def new_draft(case: Case, author: str, today: date) -> dict[str, Any]:
    """A fresh visit in progress: every child "not recorded", nothing answered."""
    visit_id = new_visit_id()
    record = new_record(case.id, visit_id, [c.id for c in case.children], author, today)
    return {
        "visit_id": visit_id,
        "case_id": case.id,
        "step": "kind",
        "started": today.isoformat(),
        "started_at": evidence.now_text(),
        "record": record.to_doc(),
    }


def record_of(draft: dict[str, Any]) -> VisitRecord:
    """The typed record a draft holds."""
    return VisitRecord.from_doc(draft["record"])


TIME_KEYS = ("started_at", "ended_at")


def mark_ended(draft: dict[str, Any], moment: datetime | None = None) -> None:
    """The worker finished the visit's steps: keep the laptop clock's time, once."""
    if not draft.get("ended_at"):
        draft["ended_at"] = evidence.now_text(moment)


def save_draft(store: Store, draft: dict[str, Any]) -> None:
    """Autosave (sealed with the case key); called from the visit's write worker."""
    store.save_draft(draft["visit_id"], draft["case_id"], draft)


def drafts(store: Store, case_id: str | None = None) -> list[dict[str, Any]]:
    """Unfinished visits, newest first, each with `updated` (UTC ISO) added."""
    found = []
    for _draft_id, _case_id, updated, data in store.drafts(case_id):
        if not isinstance(data, dict):
            continue
        if "record" not in data and "fields" in data:
            data = _from_old_draft(data)
        if "record" in data:
            found.append({**data, "updated": updated})
    return found


def _from_old_draft(data: dict[str, Any]) -> dict[str, Any]:
    """A draft saved before the typed record: its words are kept, its pre-ticked
    seen / interviewed / observed boxes are not (they were defaults, not answers)."""
    fields = data.get("fields") or {}
    safety = data.get("safety") or {}
    record = VisitRecord(
        case=str(data.get("case_id", "")),
        visit_id=str(data.get("visit_id", "")),
        date=str(fields.get("date") or ""),
        present=[str(p) for p in fields.get("present") or []],
        others_present=str(fields.get("others_present") or ""),
        location=str(fields.get("location") or ""),
        progress={str(k): str(v) for k, v in (fields.get("progress") or {}).items()},
        notes=str(fields.get("notes") or ""),
        next_steps=str(fields.get("next_steps") or ""),
        next_visit=str(fields.get("next_visit") or ""),
        author=str(fields.get("author") or ""),
    )
    record.safety.changed = fields.get("safety_changed")
    record.safety.circumstances = list(safety.get("circumstances") or [])
    record.safety.new_threats = list(safety.get("new_threats") or [])
    record.safety.interventions = str(safety.get("interventions") or "")
    for c in fields.get("contacts") or []:
        contact = record.contact(str(c.get("person")))
        if c.get("said") or c.get("where"):
            contact.private_interview = PrivateInterview(
                where=str(c.get("where") or ""), words=str(c.get("said") or "")
            )
        if c.get("interaction") or c.get("condition"):
            contact.observation = ChildObservation(
                interaction=str(c.get("interaction") or ""),
                condition=str(c.get("condition") or ""),
                environment=str(c.get("environment") or ""),
            )
    return {
        "visit_id": record.visit_id,
        "case_id": record.case,
        "step": "kind",
        "started": data.get("started", ""),
        "record": record.to_doc(),
    }


def discard_draft(store: Store, draft: dict[str, Any]) -> None:
    """The worker chose to throw a draft away."""
    store.delete_draft(draft["visit_id"])


# --- checks, overrides, signing -------------------------------------------------------


def check_record(
    case: Case, record: VisitRecord, profile: PolicyProfile, today: date
) -> list[VisitCheck]:
    """Every check of the visit, overrides applied: the wizard and `fieldkit visit` ask this.

    Each check's message is in the worker's language; the English words an override keeps
    in the record ride along (`VisitCheck.record_message`).
    """
    checks = visit_checks(case, record, profile, today)
    if i18n.language() == i18n.DEFAULT:
        return checks
    with i18n.using(i18n.DEFAULT):
        english = {c.id: c.message for c in visit_checks(case, record, profile, today)}
    return [dataclasses.replace(c, english=english.get(c.id, "")) for c in checks]


def add_override(
    record: VisitRecord, check: VisitCheck, reason: str, author: str, now: datetime
) -> VisitRecord:
    """Answer one gate check by its id, with the reason; content checks are refused."""
    if not check.gate:
        raise FieldkitError(
            _("{message} ({rule}) is a content requirement; it cannot be overridden").format(
                message=check.message, rule=check.rule
            )
        )
    if not reason.strip():
        raise FieldkitError(_("an override needs a reason; write why the rule is not met"))
    record.overrides = [o for o in record.overrides if o.check != check.id]
    record.overrides.append(
        VisitOverride(
            check=check.id,
            reason=reason.strip(),
            author=author,
            at=now.isoformat(timespec="seconds"),
            message=check.record_message,
        )
    )
    return record


def drop_stale_overrides(
    case: Case, record: VisitRecord, profile: PolicyProfile, today: date
) -> list[VisitOverride]:
    """Overrides whose check is now met (the worker fixed it) are removed; returns them."""
    unmet = {c.id for c in requirement_checks(case, record, profile, today) if c.gate}
    stale = [o for o in record.overrides if o.check not in unmet]
    record.overrides = [o for o in record.overrides if o.check in unmet]
    return stale


def stored_fields(case: Case, record: VisitRecord, profile: PolicyProfile) -> dict[str, Any]:
    """The visit as stored: the whole record, plus the rule-met sets the engine reads.

    `seen` holds only children the worker answered "seen" (and ticked present);
    `private_interview` only those whose interview meets VI-2; `observed` only those whose
    observation meets VI-3.
    """
    fields = record.to_doc()
    fields.pop("format", None)
    fields["seen"] = sorted(record.seen_ids()) if record.completed else []
    fields["private_interview"] = sorted(vi2_met(case, record, profile))
    fields["observed"] = sorted(vi3_met(case, record, profile))
    fields["safety_changed"] = record.safety.changed
    if record.safety.changed and record.safety.circumstances:
        fields["safety_assessment"] = {"circumstances": list(record.safety.circumstances)}
    return fields


def sign_visit(
    store: Store,
    case: Case,
    record: VisitRecord,
    profile: PolicyProfile,
    today: date,
    now: datetime | None = None,
    times: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sign the visit: refused while a check blocks; one durable transaction; draft dropped.

    `times`: the laptop clock's `started_at` and `ended_at` of the visit (time evidence).
    """
    moment = now or datetime.now(UTC)
    if record.case != case.id:
        raise FieldkitError(
            _("the visit is for case {case}, not {id}").format(case=record.case, id=case.id)
        )
    unmet = blocking_checks(check_record(case, record, profile, today))
    if unmet:
        raise VisitNotReady(unmet)
    check_text(record.to_doc(), "visit")
    visit_id = record.visit_id or new_visit_id()
    record.visit_id = visit_id
    record.author = store.user
    record.signed_at = moment.isoformat(timespec="seconds")
    if store.entity(case.id, "visit", visit_id) is not None:
        raise FieldkitError(
            _("visit {visit_id} is already stored; a signed visit is not re-signed").format(
                visit_id=visit_id
            )
        )
    fields = stored_fields(case, record, profile)
    fields.update({k: str(v) for k, v in (times or {}).items() if k in TIME_KEYS and v})
    threats = [t.strip() for t in record.safety.new_threats if t.strip()]
    day = strict_date(record.date) or moment.date()
    with store.transaction():
        if record.safety.changed and threats:
            fields["safety_plan"] = _record_safety_change(
                store, case, visit_id, threats, record.safety, day
            )
        for n, override in enumerate(record.overrides):
            rule = override.check.split("/", 1)[0]
            subject = override.check.split("/")[1] if override.check.count("/") >= 2 else "-"
            store.record(
                case.id,
                "override",
                f"{visit_id}-o{n + 1}",
                {
                    "check": override.check,
                    "rule": rule,
                    "subject": None if subject == "-" else subject,
                    "reason": override.reason,
                    "author": override.author or store.user,
                    "visit": visit_id,
                    "message": override.message,
                    "at": override.at,
                },
            )
        record_change(store, case.id, "visit", visit_id, fields)
        store.sign(case.id, "visit", visit_id, fields)
        store.delete_draft(visit_id)
    return fields


def _record_safety_change(
    store: Store,
    case: Case,
    visit_id: str,
    threats: list[str],
    safety: SafetyCheck,
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
    lines = [line.strip() for line in safety.interventions.splitlines()]
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
        "assessment": {"circumstances": list(safety.circumstances)},
    }
    by, at = safety.phone_approval_by.strip(), safety.phone_approval_at.strip()
    if by:
        plan.update(approval="phone-approved", phone_approval_by=by, phone_approval_at=at)
    store.record(case.id, "safety_plan", plan_id, plan)
    return plan_id


def visit_record(store: Store, case_id: str, visit_id: str) -> dict[str, Any]:
    """A stored visit's fields, whether it is signed, its addenda (oldest first) and when
    the server received its signature."""
    ent = store.entity(case_id, "visit", visit_id)
    if ent is None:
        raise FieldkitError(
            _("no visit {visit_id} on case {case_id}").format(visit_id=visit_id, case_id=case_id)
        )
    addenda = sorted(
        (
            e.fields
            for e in store.entities(case_id, "addendum")
            if e.fields.get("visit") == visit_id
        ),
        key=lambda f: str(f.get("date", "")),
    )
    return {
        "id": visit_id,
        "fields": ent.fields,
        "signed": bool(ent.signed),
        "addenda": addenda,
        # where the supervisor's review stands: the latest decision and its comment
        "review": review.visit_review(store, case_id, visit_id),
        # time evidence: the server's receipt of the signature, once a sync has heard it
        "received_at": evidence.visit_received_at(store, case_id, visit_id),
    }


def not_signed_words() -> str:
    """Why an unsigned visit takes no addendum, in one line."""
    return _(
        "an addendum corrects a signed visit; this one was never signed here (imported history)"
    )


def add_addendum(
    store: Store, case_id: str, visit_id: str, text: str, author: str, day: date
) -> str:
    """A correction to a signed visit: a new record that points to it."""
    visit = store.entity(case_id, "visit", visit_id)
    if visit is None or not visit.signed:
        raise FieldkitError(not_signed_words())
    if not text.strip():
        raise FieldkitError(_("the addendum is empty; write the correction first"))
    check_text(text, "addendum")
    # The id names the visit (`add-<uuid7>@v1`): the server's one clear link from an
    # addendum to the visit it amends, for POST /v1/verify-record (docs/server.md).
    addendum_id = f"add-{changelog.uuid7()}{ADDENDUM_LINK}{visit_id}"
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
