"""Which form each case-view key opens (a, p, r, e, f, c)."""

from __future__ import annotations

from fieldkit.screens.case.assessment import AssessmentScreen
from fieldkit.screens.case.closure import ClosureScreen
from fieldkit.screens.case.event import EventScreen
from fieldkit.screens.case.facts import FactsScreen
from fieldkit.screens.case.form import CaseFormScreen
from fieldkit.screens.case.formal_review import FormalReviewScreen
from fieldkit.screens.case.service_plan import ServicePlanScreen

from fieldkit.domain import Case


def form_for(kind: str, case: Case) -> CaseFormScreen:
    """The form for `kind` on `case`."""
    if kind == "assessment":
        return AssessmentScreen(case.id)
    if kind == "plan":
        return ServicePlanScreen(case.id)
    if kind == "review":
        return FormalReviewScreen(case.id)
    if kind == "event":
        return EventScreen(case.id, [(c.id, c.name) for c in case.children])
    if kind == "facts":
        return FactsScreen(
            case.id, [(p.id, p.name) for p in case.people], [(t.id, t.text) for t in case.threats]
        )
    if kind == "closure":
        return ClosureScreen(case.id)
    raise ValueError(f"no form for {kind}")
