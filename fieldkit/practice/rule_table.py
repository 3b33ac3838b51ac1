"""A profile's numbers and lists per rule, in words, for `fieldkit rules` (RULES × profile)."""

from __future__ import annotations

from fieldkit.practice.profile import PolicyProfile
from fieldkit.practice.rules import RULES


def rule_values(rule_id: str, profile: PolicyProfile) -> str:
    """The profile's numbers and lists for one rule, in words, for `fieldkit rules`."""
    p = profile
    events = dict(p.event_review_days)

    def event(kind: str) -> str:
        days = events.get(kind)
        return f"{kind}: +{days} days" if days is not None else f"{kind}: not in profile"

    values: dict[str, str] = {
        "SA-2": f"documented within {p.safety_plan_documentation_working_days} working day(s); "
        f"gate: {p.gate_safety_plan_approval}; weekend: "
        + ", ".join(sorted(_DAY_NAMES[d] for d in p.weekend))
        + f"; public holidays of {p.jurisdiction} ({', '.join(p.holiday_categories)})"
        + (f"; {len(p.closures)} agency closure day(s)" if p.closures else ""),
        "PL-1": f"gate: {p.gate_assessment_before_plan}",
        "PL-2": f"{p.service_plan_deadline_days} days after the case opened",
        "PL-4": f"at least {p.plan_min_goals} goal(s); activity fields: "
        + ", ".join(p.plan_activity_fields)
        + f"; visit notes goal progress: {_yes(p.visit_requires_goal_progress)}",
        "PL-6": f"family agreement required: {_yes(p.plan_requires_family_agreement)}",
        "PL-7": f"every {p.review_interval.describe()}; "
        + "; ".join(
            event(k) for k in ("placement-change", "absent-parent-located", "treatment-completed")
        ),
        "FED-1": f"{p.foster_care_plan_deadline_days} days after removal",
        "VI-1": f"every {p.visit_interval.describe()} ({', '.join(p.visit_kinds)} visits)",
        "VI-2": f"gate: {p.gate_private_interview}; seen alone and where required: "
        f"{_yes(p.visit_requires_private_interview_details)}",
        "VI-3": f"gate: {p.gate_observation}; interaction and condition required: "
        f"{_yes(p.visit_requires_observation_details)}",
        "VI-4": f"gate: {p.gate_unannounced}; required when: "
        + "; ".join(p.unannounced_required_when),
        "VI-5": f"every {p.first_month_interval_days} days in the first {p.first_month_days} days"
        if p.first_month_interval_days
        else "off",
        "RV-1": f"every {p.supervision_interval.describe()}; high risk every "
        f"{p.supervision_high_risk_interval.describe()}",
        "RV-2": f"every {p.review_interval.describe()}",
        "RV-3": event("reunification"),
        "RV-5": f"every {p.review_interval.describe()}",
        "RV-6": "requires: " + ", ".join(p.review_record_requires),
        "EV-1": event("new-referral"),
    }
    months = (
        "calendar months, clamped to month end"
        if p.month_counting == "calendar"
        else f"{p.days_per_month} days per month"
    )
    text = values.get(rule_id, "")
    if text and ("month" in text) and rule_id in ("VI-1", "PL-7", "RV-2", "RV-5"):
        text += f" ({months})"
    return text


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _yes(flag: bool) -> str:
    """A profile flag in words."""
    return "yes" if flag else "no"


def rules_rows(profile: PolicyProfile) -> list[dict[str, str]]:
    """One row per PRACTICE.md rule: id, kind, title, applied, this profile's values, how."""
    rows: list[dict[str, str]] = []
    for rule in RULES.values():
        applied = profile.applies(rule.id)
        rows.append(
            {
                "id": rule.id,
                "kind": rule.kind,
                "title": rule.title,
                "applied": "yes" if applied else "not applied",
                "values": rule_values(rule.id, profile) if applied else "",
                "how": rule.how,
            }
        )
    return rows
