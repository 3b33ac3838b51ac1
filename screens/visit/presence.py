"""Step 2: who is present, and where the visit takes place."""

from __future__ import annotations

from datetime import date
from typing import Any

from fieldkit.screens.toggles import TickList
from fieldkit.screens.visit.step import VisitStep
from textual.app import ComposeResult
from textual.widgets import Input, Label
from textual.widgets.selection_list import Selection

from fieldkit.text import safe


class PresenceStep(VisitStep):
    """The people on the case who are here, anyone else, and the place."""

    CSS_PATH = ["step.tcss", "presence.tcss"]

    def compose_body(self) -> ComposeResult:
        """A tick list of the family, others present, and the location."""
        from fieldkit.services.visits import person_label

        present = set(self.fields.get("present") or [])
        today = date.fromisoformat(str(self.fields.get("date") or date.today().isoformat())[:10])
        yield Label("Who is present? (Space ticks, arrows move)")
        yield TickList(
            *[
                Selection(safe(person_label(p, today)), p.id, p.id in present)
                for p in self.session.case.people
            ],
            id="present",
        )
        yield Label("Anyone else present (names and roles)")
        yield Input(str(self.fields.get("others_present") or ""), id="others_present")
        yield Label("Where does the visit take place?")
        yield Input(str(self.fields.get("location") or ""), id="location")

    def answer(self, name: str, value: Any) -> None:
        """Ticked people are stored by id."""
        super().answer(name, value)
