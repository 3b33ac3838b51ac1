"""Step 6: visit notes, next steps and the next visit's date (VI-1)."""

from __future__ import annotations

from fieldkit.screens.visit.step import VisitStep
from textual.app import ComposeResult
from textual.widgets import Input, Label, Static, TextArea

from fieldkit.i18n import _
from fieldkit.visit_record import strict_date


class NextStepsStep(VisitStep):
    """What happened, what happens next, and when the worker comes back."""

    CSS_PATH = ["step.tcss", "next_steps.tcss"]

    def compose_body(self) -> ComposeResult:
        """Notes, next steps, next visit date with the latest date the profile allows."""
        policy = self.session.policy
        record = self.record
        day = strict_date(record.date) or self.session.app.today
        latest = policy.add_period(day, policy.visit_interval)
        yield Label(_("Visit notes"))
        yield self.bind(
            TextArea(record.notes, id="notes"), lambda v: setattr(record, "notes", str(v))
        )
        yield Label(_("Next steps (who does what by when)"))
        yield self.bind(
            TextArea(record.next_steps, id="next_steps"),
            lambda v: setattr(record, "next_steps", str(v)),
        )
        yield Label(_("Next visit date (YYYY-MM-DD)"))
        yield self.bind(
            Input(record.next_visit, id="next_visit", placeholder=_("YYYY-MM-DD")),
            lambda v: setattr(record, "next_visit", str(v).strip()),
        )
        yield Static(
            _(
                "Visits at least every {interval} (VI-1): the next one by {day} at the latest."
            ).format(interval=policy.visit_interval.describe(), day=latest.isoformat()),
            classes="hint",
        )
