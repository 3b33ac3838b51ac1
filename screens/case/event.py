"""An event on the case (PL-7, EV-1, EV-2, RV-3, CT-2, FED-1); the due list re-plans from it.
A removal or placement change names the child and the new setting (SA-4)."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.screens.case.form import CaseFormScreen, FormError, parse_day
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select

from fieldkit.domain import EVENT_KINDS
from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, casework

EVENT_WORDS = {
    "placement-change": "placement change (PL-7)",
    "new-referral": "new referral (EV-1)",
    "new-information": "new information (EV-2)",
    "removal": "removal into care (FED-1)",
    "reunification": "reunification (RV-3)",
    "absent-parent-located": "absent parent located (PL-7)",
    "treatment-completed": "treatment completed (PL-7)",
    "became-cps": "became a CPS case (CT-2)",
}


class EventScreen(CaseFormScreen):
    """Kind, date, the child (for placements), setting, note, placement address."""

    CSS_PATH = "event.tcss"
    AUTO_FOCUS = "#ev-kind"
    TITLE_WORDS = "Event"

    def __init__(self, case_id: str, children: list[tuple[str, str]]) -> None:
        super().__init__(case_id)
        self.child_options = children

    def fields(self) -> ComposeResult:
        yield Label("What happened")
        yield Select([(EVENT_WORDS[k], k) for k in EVENT_KINDS], id="ev-kind")
        yield Label("Date (YYYY-MM-DD)")
        yield Input(self.fk.today.isoformat(), id="ev-date")
        yield Label("Child (placement change, removal, reunification)")
        yield Select([(Text(name), pid) for pid, name in self.child_options], id="ev-person")
        yield Label("New setting (foster, kinship, group …)")
        yield Input(id="ev-setting")
        yield Label("Placement address")
        yield Input(id="ev-address")
        yield Label("Note (CT-2: why the case became CPS)")
        yield Input(id="ev-note")

    def submission(self) -> Callable[[Store, PolicyProfile], str]:

        kind = self.query_one("#ev-kind", Select).value
        if not isinstance(kind, str):
            raise FormError("choose what happened")
        day = parse_day(self.query_one("#ev-date", Input).value)
        person = self.query_one("#ev-person", Select).value
        child = person if isinstance(person, str) else None
        setting = self.query_one("#ev-setting", Input).value
        address = self.query_one("#ev-address", Input).value
        note = self.query_one("#ev-note", Input).value
        case_id = self.case_id

        def job(store: Store, policy: PolicyProfile) -> str:
            casework.record_event(store, case_id, kind, day, note, child, setting, address)
            return f"{EVENT_WORDS[kind].split(' (')[0].capitalize()} recorded on {case_id}."

        return job
