"""A profile's numbers and lists per rule, in words, for `fieldkit rules` (RULES × profile)."""

from __future__ import annotations

from datetime import date, timedelta

from fieldkit.i18n import N_, _, format_date
from fieldkit.practice.profile import PolicyProfile
from fieldkit.practice.rules import RULES


def rule_values(rule_id: str, profile: PolicyProfile) -> str:
    """The profile's numbers and lists for one rule, in words, for `fieldkit rules`."""
    p = profile
    events = dict(p.event_review_days)

    def event(kind: str) -> str:
        days = events.get(kind)
        if days is None:
            return _("{event}: not in profile").format(event=kind)
        return _("{event}: +{days} days").format(event=kind, days=days)

    def gate(value: str) -> str:
        return _("gate: {mode}").format(
            mode=_(_GATE_WORDS[value]) if value in _GATE_WORDS else value
        )

    def every(period: str) -> str:
        return _("every {period}").format(period=period)

    values: dict[str, str] = {
        "SA-2": "; ".join(
            [
                _("documented within {n} working day(s)").format(
                    n=p.safety_plan_documentation_working_days
                ),
                gate(p.gate_safety_plan_approval),
                _("weekend: {days}").format(
                    days=", ".join(_day_name(d) for d in sorted(p.weekend))
                ),
                _("public holidays of {jurisdiction} ({categories})").format(
                    jurisdiction=p.jurisdiction, categories=", ".join(p.holiday_categories)
                ),
            ]
            + ([_("{n} agency closure day(s)").format(n=len(p.closures))] if p.closures else [])
        ),
        "PL-1": gate(p.gate_assessment_before_plan),
        "PL-2": _("{n} days after the case opened").format(n=p.service_plan_deadline_days),
        "PL-4": _(
            "at least {n} goal(s); activity fields: {fields}; visit notes goal progress: {yes}"
        ).format(
            n=p.plan_min_goals,
            fields=", ".join(p.plan_activity_fields),
            yes=_yes(p.visit_requires_goal_progress),
        ),
        "PL-6": _("family agreement required: {yes}").format(
            yes=_yes(p.plan_requires_family_agreement)
        ),
        "PL-7": "; ".join(
            [every(p.review_interval.describe())]
            + [
                event(k)
                for k in ("placement-change", "absent-parent-located", "treatment-completed")
            ]
        ),
        "FED-1": _("{n} days after removal").format(n=p.foster_care_plan_deadline_days),
        "VI-1": _("every {period} ({kinds} visits)").format(
            period=p.visit_interval.describe(), kinds=", ".join(p.visit_kinds)
        ),
        "VI-2": gate(p.gate_private_interview)
        + "; "
        + _("seen alone and where required: {yes}").format(
            yes=_yes(p.visit_requires_private_interview_details)
        ),
        "VI-3": gate(p.gate_observation)
        + "; "
        + _("interaction and condition required: {yes}").format(
            yes=_yes(p.visit_requires_observation_details)
        ),
        "VI-4": gate(p.gate_unannounced)
        + "; "
        + _("required when: {when}").format(when="; ".join(p.unannounced_required_when)),
        "VI-5": _("every {interval} days in the first {days} days").format(
            interval=p.first_month_interval_days, days=p.first_month_days
        )
        if p.first_month_interval_days
        else _("off"),
        "RV-1": every(p.supervision_interval.describe())
        + "; "
        + _("high risk every {period}").format(period=p.supervision_high_risk_interval.describe()),
        "RV-2": every(p.review_interval.describe()),
        "RV-3": event("reunification"),
        "RV-5": every(p.review_interval.describe()),
        "RV-6": _("requires: {records}").format(records=", ".join(p.review_record_requires)),
        "EV-1": event("new-referral"),
    }
    months = (
        _("calendar months, clamped to month end")
        if p.month_counting == "calendar"
        else _("{n} days per month").format(n=p.days_per_month)
    )
    text = values.get(rule_id, "")
    intervals = {
        "VI-1": p.visit_interval,
        "PL-7": p.review_interval,
        "RV-2": p.review_interval,
        "RV-5": p.review_interval,
    }
    if text and rule_id in intervals and intervals[rule_id].unit == "months":
        text += f" ({months})"
    return text


_GATE_WORDS = {"block": N_("block"), "warn": N_("warn"), "off": N_("off")}
"""How a gate acts, in words (the profile holds the id)."""


def _day_name(weekday: int) -> str:
    """0 → "Mon" in the worker's language."""
    return format_date(date(2026, 11, 23) + timedelta(days=weekday), "EEE")  # a Monday


def _yes(flag: bool) -> str:
    """A profile flag in words."""
    return _("yes") if flag else _("no")


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
