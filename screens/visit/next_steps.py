"""Step 6: visit notes, next steps and the next visit's date (VI-1)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fieldkit.screens.visit.step import VisitStep
from textual.app import ComposeResult
from textual.widgets import Input, Label, Static, TextArea


class NextStepsStep(VisitStep):
    """What happened, what happens next, and when the worker comes back."""

    CSS_PATH = ["step.tcss", "next_steps.tcss"]

    def compose_body(self) -> ComposeResult:
        """Notes, next steps, next visit date with the latest date the profile allows."""
        policy = self.session.policy
        try:
            day = date.fromisoformat(str(self.fields.get("date"))[:10])
        except ValueError:
            day = self.session.app.today
        latest = policy.add_period(day, policy.visit_interval)
        yield Label("Visit notes")
        yield TextArea(str(self.fields.get("notes") or ""), id="notes")
        yield Label("Next steps (who does what by when)")
        yield TextArea(str(self.fields.get("next_steps") or ""), id="next_steps")
        yield Label("Next visit date (YYYY-MM-DD)")
        yield Input(
            str(self.fields.get("next_visit") or ""), id="next_visit", placeholder="YYYY-MM-DD"
        )
        yield Static(
            f"Visits at least every {policy.visit_interval.describe()} (VI-1): "
            f"the next one by {latest.isoformat()} at the latest.",
            classes="hint",
        )

    def answer(self, name: str, value: Any) -> None:
        """An empty date is no date."""
        if name == "next_visit":
            value = value.strip() or None
        super().answer(name, value)
