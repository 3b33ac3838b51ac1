"""Step 2: who is present, and where the visit takes place."""

from __future__ import annotations

from fieldkit.screens.toggles import TickList
from fieldkit.screens.visit.step import VisitStep
from textual.app import ComposeResult
from textual.widgets import Input, Label
from textual.widgets.selection_list import Selection

from fieldkit.i18n import _
from fieldkit.services.visits import person_label
from fieldkit.text import safe_content
from fieldkit.visit_record import strict_date


class PresenceStep(VisitStep):
    """The people on the case who are here, anyone else, and the place."""

    CSS_PATH = ["step.tcss", "presence.tcss"]

    def compose_body(self) -> ComposeResult:
        """A tick list of the family (nobody ticked to start), others present, the location."""
        record = self.record
        present = set(record.present)
        today = strict_date(record.date) or self.session.app.today
        yield Label(
            _("Who is present? (Space ticks, arrows move; a child not ticked cannot be seen)")
        )
        yield self.bind(
            TickList(
                *[
                    Selection(safe_content(person_label(p, today)), p.id, p.id in present)
                    for p in self.session.case.people
                ],
                id="present",
            ),
            lambda v: setattr(record, "present", [str(p) for p in v]),
        )
        yield Label(_("Anyone else present (names and roles)"))
        yield self.bind(
            Input(record.others_present, id="others_present"),
            lambda v: setattr(record, "others_present", v),
        )
        yield Label(_("Where does the visit take place?"))
        yield self.bind(
            Input(
                record.location,
                id="location",
                placeholder=self.session.case.address,
            ),
            lambda v: setattr(record, "location", v),
        )
