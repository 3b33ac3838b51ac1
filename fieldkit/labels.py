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
    "kind": N_("Kind of contact"),
    "present": N_("Who is present, and where"),
    "safety": N_("Safety check"),
    "progress": N_("Progress on the service plan"),
    "next": N_("Notes, next steps and next visit"),
    "review": N_("Review and sign"),
}
"""The guided visit's steps by name (the per-child step is named after the child)."""


def entity_label(case: Case | None, entity: str, entity_id: str) -> str:
    """ "the home visit of 2026-11-20", "Leo Ortiz", "the alternative safety plan of …"."""
    words = entity.replace("_", " ")
    if case is None:
        return _("a {record}").format(record=words)
    if entity == "visit":
        visit = next((v for v in case.visits if v.id == entity_id), None)
        if visit is None:
            return _("a visit")
        return _("the {kind} visit of {day}").format(kind=visit.kind, day=visit.date.isoformat())
    if entity == "safety_plan":
        plan = next((p for p in case.safety_plans if p.id == entity_id), None)
        if plan is None:
            return _("a safety plan")
        day = plan.created or plan.agreed
        if day is None:
            return _("the {kind} safety plan").format(kind=plan.kind)
        return _("the {kind} safety plan of {day}").format(kind=plan.kind, day=day.isoformat())
    if entity == "person":
        person = next((p for p in case.people if p.id == entity_id), None)
        return person.name if person else _("a person on the case")
    if entity in ("threat", "safety_threat"):
        threat = next((t for t in case.threats if t.id == entity_id), None)
        if threat is None:
            return _("a safety threat")
        return _("the safety threat “{text}”").format(text=threat.text[:40])
    if entity == "case":
        return _("the case of the {family} family").format(family=case.family_name)
    return _("a {record}").format(record=words)


def step_label(step: str, case: Case | None) -> str:
    """A visit step in words: "Safety check", "Leo Ortiz: private interview"."""
    if step.startswith("child:"):
        person_id = step.split(":", 1)[1]
        person = next((p for p in case.people if p.id == person_id), None) if case else None
        if person is None:
            return _("a child's contact")
        what = _("private interview") if person.verbal else _("direct observation")
        return f"{person.name}: {what}"
    return _(STEP_TITLES.get(step, STEP_TITLES["kind"]))
