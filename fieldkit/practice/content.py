"""Content rules: what a record must hold before it can be signed (VI-2, VI-3, PL-4, PL-6, RV-6)."""

from __future__ import annotations

from datetime import date

from fieldkit.domain import Case, ServicePlan, Visit
from fieldkit.i18n import N_, _
from fieldkit.practice.gates import GateCheck
from fieldkit.practice.profile import PolicyProfile


def _problem(rule: str, message: str, subject: str | None = None) -> GateCheck:
    """Content problems always block signing; the record can be saved as a draft."""
    return GateCheck(rule, message, True, subject)


def visit_content_problems(case: Case, visit: Visit, profile: PolicyProfile) -> list[GateCheck]:
    """What the profile's `[visit_record]` requires before a visit can be signed."""
    p = profile
    problems: list[GateCheck] = []
    names = {person.id: person.name for person in case.people}
    if p.visit_requires_notes and not visit.notes.strip():
        problems.append(_problem("VI-1", _("write the visit notes")))
    if p.visit_requires_next_visit_date and visit.next_visit is None:
        problems.append(_problem("VI-1", _("book the next visit date")))
    elif visit.next_visit is not None and visit.next_visit < visit.date:
        problems.append(_problem("VI-1", _("the next visit date is before this visit")))
    if p.visit_requires_safety_changed and visit.safety_changed is None:
        problems.append(
            _problem("SA-3", _("record whether safety has changed since the last visit"))
        )
    for contact in visit.contacts:
        name = names.get(contact.person, contact.person)
        # rule VI-2: a private interview records seen alone and where
        if contact.private_interview and p.visit_requires_private_interview_details:
            if contact.seen_alone is None:
                problems.append(
                    _problem(
                        "VI-2",
                        _("record whether {name} was seen alone").format(name=name),
                        contact.person,
                    )
                )
            if not contact.where.strip():
                problems.append(
                    _problem(
                        "VI-2",
                        _("record where {name} was interviewed").format(name=name),
                        contact.person,
                    )
                )
        # rule VI-3: an observation records interaction and condition
        if contact.observed and p.visit_requires_observation_details:
            if not contact.interaction.strip():
                problems.append(
                    _problem(
                        "VI-3",
                        _("describe how {name} interacts with the caregiver").format(name=name),
                        contact.person,
                    )
                )
            if not contact.condition.strip():
                problems.append(
                    _problem(
                        "VI-3", _("describe {name}'s condition").format(name=name), contact.person
                    )
                )
    # rule PL-4: progress on each goal, when a plan exists
    plan = case.service_plan
    if p.visit_requires_goal_progress and plan is not None and plan.completed is not None:
        for goal in plan.goals:
            if not goal.progress.strip():
                problems.append(
                    _problem(
                        "PL-4",
                        _('note progress on the goal "{text}"').format(text=goal.text),
                        goal.id,
                    )
                )
    return problems


def service_plan_content_problems(plan: ServicePlan, profile: PolicyProfile) -> list[GateCheck]:
    """Rules PL-4 and PL-6: goals, objectives, activities with WHO/WHERE/HOW/WHEN, agreement."""
    p = profile
    problems: list[GateCheck] = []
    if p.applies("PL-4"):
        if len(plan.goals) < p.plan_min_goals:
            problems.append(
                _problem(
                    "PL-4",
                    _("the plan needs at least {plan_min_goals} goal(s)").format(
                        plan_min_goals=p.plan_min_goals
                    ),
                )
            )
        objective_goals = {o.goal for o in plan.objectives}
        for goal in plan.goals:
            if goal.id not in objective_goals:
                problems.append(
                    _problem(
                        "PL-4", _('goal "{text}" has no objective').format(text=goal.text), goal.id
                    )
                )
        active_objectives = {a.objective for a in plan.activities}
        for objective in plan.objectives:
            if objective.id not in active_objectives:
                problems.append(
                    _problem(
                        "PL-4",
                        _('objective "{text}" has no activity').format(text=objective.text),
                        objective.id,
                    )
                )
        for activity in plan.activities:
            missing = [f for f in p.plan_activity_fields if not str(getattr(activity, f)).strip()]
            if missing:
                fields = ", ".join(f.upper() for f in missing)
                problems.append(
                    _problem(
                        "PL-4",
                        _('activity "{text}" is missing {fields}').format(
                            text=activity.text, fields=fields
                        ),
                        activity.id,
                    )
                )
    # rule PL-6: the family's agreement or disagreement is recorded
    if (
        p.applies("PL-6")
        and p.plan_requires_family_agreement
        and not (plan.family_agreement or "").strip()
    ):
        problems.append(_problem("PL-6", _("record the family's agreement or disagreement")))
    return problems


def review_content_problems(case: Case, profile: PolicyProfile, on: date) -> list[GateCheck]:
    """Rule RV-6: what the case record must hold at a formal review or at termination."""
    if not profile.applies("RV-6"):
        return []
    problems: list[GateCheck] = []
    plan_done = case.service_plan_completed or (
        case.service_plan.completed if case.service_plan is not None else None
    )
    assessment_done = case.assessment_completed or (
        case.assessment.completed if case.assessment is not None else None
    )
    have = {
        "assessment": assessment_done is not None and assessment_done <= on,
        "service-plan": plan_done is not None and plan_done <= on,
        "safety-plan": any(sp.active for sp in case.safety_plans),
        "visit": any(v.date <= on for v in case.visits),
        "supervision": any(s.date <= on for s in case.supervisions)
        or (case.last_supervision is not None and case.last_supervision <= on),
    }
    words = {
        "assessment": N_("completed strengths and needs assessment (PL-1)"),
        "service-plan": N_("completed service plan (PL-2)"),
        "safety-plan": N_("active safety plan (SA-1)"),
        "visit": N_("recorded visit (VI-1)"),
        "supervision": N_("supervision review (RV-1)"),
    }
    for need in profile.review_record_requires:
        if not have.get(need, False):
            problems.append(
                _problem("RV-6", _("the case record has no {what}").format(what=_(words[need])))
            )
    return problems
