"""Case closure (CL-1): reason, supports in place, end date; RV-6 at termination. It goes
to the supervisor's queue; after the end date nothing is due."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.screens.case.form import CaseFormScreen, parse_day
from fieldkit.screens.toggles import Choice
from textual.app import ComposeResult
from textual.widgets import Input, Label, RadioSet, TextArea

from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, casework


class ClosureScreen(CaseFormScreen):
    """End date, reason, supports, whether the goals were met (asked, never assumed)."""

    CSS_PATH = "closure.tcss"
    AUTO_FOCUS = "#cl-reason"
    TITLE_WORDS = "Case closure (CL-1)"

    def fields(self) -> ComposeResult:
        yield Label("End date (YYYY-MM-DD)")
        yield Input(self.fk.today.isoformat(), id="cl-date")
        yield Label("Why the case closes")
        yield TextArea(id="cl-reason")
        yield Label("Supports in place for the family")
        yield TextArea(id="cl-supports")
        yield Label("Were the plan's goals met?")
        with RadioSet(id="cl-goals"):
            yield Choice("yes", id="cl-goals-yes")
            yield Choice("no", id="cl-goals-no")

    def submission(self) -> Callable[[Store, PolicyProfile], str]:
        day = parse_day(self.query_one("#cl-date", Input).value, "end date")
        reason = self.query_one("#cl-reason", TextArea).text
        supports = self.query_one("#cl-supports", TextArea).text
        pressed = self.query_one("#cl-goals", RadioSet).pressed_button
        goals_met = None if pressed is None else pressed.id == "cl-goals-yes"
        case_id = self.case_id

        def job(store: Store, policy: PolicyProfile) -> str:
            casework.record_closure(store, case_id, policy, day, reason, supports, goals_met)
            return f"Closure of {case_id} signed; waiting for the supervisor."

        return job
