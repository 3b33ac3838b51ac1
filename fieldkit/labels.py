"""Records in the worker's words: names, kinds and dates instead of ids.

Ids stay in `--json` output and detail lines; everywhere a person reads a record, it is
"the home visit of 2026-11-20" or "Leo Ortiz", never `v-01a2…` or `p2`.
"""

from __future__ import annotations

from fieldkit.domain import Case
from fieldkit.i18n import N_, _

CASE_KINDS = {
    "in-home-cps": N_("in-home protection"),
    "out-of-home-cps": N_("out-of-home protection"),
    "child-welfare": N_("child welfare"),
}
"""Rule CT-1's kinds of case in words (the id stays in `--json`)."""


def case_kind_label(kind: str) -> str:
    """ "in-home-cps" → "in-home protection", in the worker's language."""
    words = CASE_KINDS.get(kind)
    return _(words) if words else kind


STEP_TITLES = {
    "kind": "Kind of contact",
    "present": "Who is present, and where",
    "safety": "Safety check",
    "progress": "Progress on the service plan",
    "next": "Notes, next steps and next visit",
    "review": "Review and sign",
}
"""The guided visit's steps by name (the per-child step is named after the child)."""


def entity_label(case: Case | None, entity: str, entity_id: str) -> str:
    """ "the home visit of 2026-11-20", "Leo Ortiz", "the alternative safety plan of …"."""
    words = entity.replace("_", " ")
    if case is None:
        return f"a {words}"
    if entity == "visit":
        visit = next((v for v in case.visits if v.id == entity_id), None)
        return f"the {visit.kind} visit of {visit.date.isoformat()}" if visit else "a visit"
    if entity == "safety_plan":
        plan = next((p for p in case.safety_plans if p.id == entity_id), None)
        if plan is None:
            return "a safety plan"
        day = plan.created or plan.agreed
        return f"the {plan.kind} safety plan" + (f" of {day.isoformat()}" if day else "")
    if entity == "person":
        person = next((p for p in case.people if p.id == entity_id), None)
        return person.name if person else "a person on the case"
    if entity in ("threat", "safety_threat"):
        threat = next((t for t in case.threats if t.id == entity_id), None)
        return f"the safety threat “{threat.text[:40]}”" if threat else "a safety threat"
    if entity == "case":
        return f"the case of the {case.family_name} family"
    return f"a {words}"


def step_label(step: str, case: Case | None) -> str:
    """A visit step in words: "Safety check", "Leo Ortiz: private interview"."""
    if step.startswith("child:"):
        person_id = step.split(":", 1)[1]
        person = next((p for p in case.people if p.id == person_id), None) if case else None
        if person is None:
            return "a child's contact"
        what = "private interview" if person.verbal else "direct observation"
        return f"{person.name}: {what}"
    return STEP_TITLES.get(step, "Kind of contact")
