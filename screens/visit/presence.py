"""Step 2: who is present, and where the visit takes place."""

from __future__ import annotations

from fieldkit.screens.toggles import TickList
from fieldkit.screens.visit.step import VisitStep
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Static
from textual.widgets.selection_list import Selection

from fieldkit.i18n import N_, _
from fieldkit.services.visits import person_label
from fieldkit.text import clean, safe_content
from fieldkit.visit_record import strict_date


class PresenceStep(VisitStep):
    """The people on the case who are here, anyone else, and the place."""

    CSS_PATH = ["step.tcss", "presence.tcss"]
    BINDINGS = [
        # F3: Ctrl+A is the text field's own "start of line"; F1/F2 are help and leave.
        Binding("f3", "use_case_address", N_("Use case address"), key_display="F3"),
    ]

    @property
    def case_address(self) -> str:
        """The case's address on one line, as offered (never filled in unasked)."""
        return " ".join(clean(self.session.case.address or "").split())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F3 is offered only when the case has an address to copy."""
        if action == "use_case_address":
            return bool(self.case_address)
        return super().check_action(action, parameters)

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
        # The case address is a hint, not an answer: a place the worker did not type or
        # choose would be signed as where the visit took place.
        if self.case_address:
            yield Static(
                _("Case address: {address} — F3 uses it").format(
                    address=safe_content(self.case_address)
                ),
                id="case-address",
                classes="hint",
            )
        yield self.bind(
            Input(
                record.location,
                id="location",
                placeholder=_("type where the visit took place"),
            ),
            lambda v: setattr(record, "location", v),
        )

    def action_use_case_address(self) -> None:
        """Copy the case address into the location field, on the worker's say-so."""
        field = self.query_one("#location", Input)
        field.value = self.case_address
        field.cursor_position = len(field.value)
        field.focus()
