"""Strengths-and-needs assessment (PL-1); a second one is the reassessment of CT-4."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.screens.case.form import CaseFormScreen, parse_day
from fieldkit.screens.toggles import TickBox
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Label, TextArea

from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, casework


class AssessmentScreen(CaseFormScreen):
    """Date, strengths, needs, and whether the results were discussed with the family."""

    CSS_PATH = "assessment.tcss"
    AUTO_FOCUS = "#as-strengths"
    TITLE_WORDS = "Assessment (PL-1)"

    def fields(self) -> ComposeResult:
        yield Label("Completed (YYYY-MM-DD)")
        yield Input(self.fk.today.isoformat(), id="as-date")
        yield Label("Strengths of the family and child")
        yield TextArea(id="as-strengths")
        yield Label("Needs")
        yield TextArea(id="as-needs")
        # never pre-asserted: the worker ticks it when it happened (PL-1)
        yield TickBox("Results discussed with the family (PL-1)", False, id="as-discussed")

    def submission(self) -> Callable[[Store, PolicyProfile], str]:
        day = parse_day(self.query_one("#as-date", Input).value, "completed")
        strengths = self.query_one("#as-strengths", TextArea).text
        needs = self.query_one("#as-needs", TextArea).text
        discussed = self.query_one("#as-discussed", Checkbox).value
        case_id = self.case_id

        def job(store: Store, policy: PolicyProfile) -> str:
            casework.record_assessment(store, case_id, day, strengths, needs, discussed)
            return f"Assessment of {case_id} signed."

        return job
