"""Gate rules: checks at the point of work that block or warn, and overrides that answer them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fieldkit.domain import ApprovalState, Case, SafetyPlan, Visit
from fieldkit.i18n import _
from fieldkit.practice.profile import PolicyProfile


@dataclass(frozen=True)
class GateCheck:
    """One unmet check: which rule, what is missing in words, and whether it blocks."""

    rule: str
    message: str
    blocking: bool
    subject: str | None = None


@dataclass(frozen=True)
class Override:
    """A person's decision to go past a gate, kept with the reason and who decided (audit)."""

    rule: str
    reason: str
    author: str
    at: datetime | str
    subject: str | None = None

    def answers(self, check: GateCheck) -> bool:
        """An override with a reason satisfies the same rule (and subject, when it names one)."""
        if not self.reason.strip() or self.rule != check.rule:
            return False
        return self.subject is None or self.subject == check.subject


def apply_overrides(checks: Iterable[GateCheck], overrides: Iterable[Override]) -> list[GateCheck]:
    """The checks still unmet once overrides with a non-empty reason are taken into account."""
    given = list(overrides)
    return [c for c in checks if not any(o.answers(c) for o in given)]


def blocking(checks: Iterable[GateCheck]) -> list[GateCheck]:
    """The checks that stop the action (the rest only warn)."""
    return [c for c in checks if c.blocking]


def visit_gates(case: Case, visit: Visit, profile: PolicyProfile) -> list[GateCheck]:
    """Rules VI-2, VI-3, VI-4: who must be interviewed or observed, and unannounced visits."""
    checks: list[GateCheck] = []
    interviewed = visit.interviewed_ids()
    observed = visit.observed_ids()
    for child in case.children:
        # rule VI-2: each verbal child victim is interviewed privately
        if (
            profile.applies("VI-2")
            and child.verbal
            and child.victim
            and child.id not in interviewed
        ):
            checks.append(
                GateCheck(
                    "VI-2",
                    _("{name} (a child victim) was not interviewed privately at this visit").format(
                        name=child.name
                    ),
                    profile.gate_private_interview == "block",
                    child.id,
                )
            )
        # rule VI-3: each non-verbal child is directly observed
        if profile.applies("VI-3") and not child.verbal and child.id not in observed:
            checks.append(
                GateCheck(
                    "VI-3",
                    _("{name} (non-verbal) was not directly observed at this visit").format(
                        name=child.name
                    ),
                    profile.gate_observation == "block",
                    child.id,
                )
            )
    # rule VI-4: unannounced visits required but this one was announced
    if profile.applies("VI-4") and case.unannounced.required and visit.announced:
        why = case.unannounced.reason or _("reason not recorded")
        checks.append(
            GateCheck(
                "VI-4",
                _(
                    "this case requires unannounced visits ({why}) but this visit was announced"
                ).format(why=why),
                profile.gate_unannounced == "block",
                None,
            )
        )
    return checks


def service_plan_gate(case: Case, profile: PolicyProfile | None = None) -> list[GateCheck]:
    """Rule PL-1: the strengths and needs assessment comes before the service plan."""
    if profile is not None and not profile.applies("PL-1"):
        return []
    block = profile is None or profile.gate_assessment_before_plan == "block"
    completed = case.assessment_completed
    if completed is None and case.assessment is not None:
        completed = case.assessment.completed
    if completed is None:
        return [
            GateCheck(
                "PL-1",
                _(
                    "complete the family and child strengths and needs assessment before "
                    "the service plan"
                ),
                block,
                None,
            )
        ]
    if case.assessment is not None and not case.assessment.discussed_with_family:
        return [
            GateCheck(
                "PL-1",
                _("the assessment's results have not been discussed with the family"),
                False,
                None,
            )
        ]
    return []


def safety_plan_gate(plan: SafetyPlan, profile: PolicyProfile | None = None) -> list[GateCheck]:
    """Rule SA-2: a supervisor approves an alternative safety plan before it is implemented."""
    if profile is not None and not profile.applies("SA-2"):
        return []
    if plan.kind != "alternative" or plan.approval == ApprovalState.APPROVED:
        return []
    block = profile is None or profile.gate_safety_plan_approval == "block"
    if plan.approval == ApprovalState.PHONE_APPROVED:
        who = plan.phone_approval_by or _("a supervisor")
        when = ""
        if profile is not None and plan.created is not None:
            n = profile.safety_plan_documentation_working_days
            when = _(" by {day}").format(day=profile.add_working_days(plan.created, n).isoformat())
        return [
            GateCheck(
                "SA-2",
                _("approved by phone by {who}; document the approval{when}").format(
                    who=who, when=when
                ),
                False,
                plan.id,
            )
        ]
    state = (
        _("was rejected") if plan.approval == ApprovalState.REJECTED else _("is not approved yet")
    )
    if plan.approval == ApprovalState.RETURNED:
        state = _("was returned for changes")
    return [
        GateCheck(
            "SA-2",
            _(
                "alternative safety plan {id} {state}: a supervisor approves it "
                "before it is implemented"
            ).format(id=plan.id, state=state),
            block,
            plan.id,
        )
    ]
