"""Record a case supervision session (RV-1): date, decisions, visit frequency reviewed."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.toggles import TickBox
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Input, Label, Static, TextArea

from fieldkit import services
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.services import review
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp


class SupervisionScreen(Screen[None]):
    """One form; ctrl+s records it, and the next supervision date moves (RV-1)."""

    HELP_TITLE = N_("Supervision")
    CSS_PATH = "supervision.tcss"
    AUTO_FOCUS = "#sup-decisions"
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Record"), priority=True),
        Binding("escape", "app.pop_screen", N_("Back")),
    ]

    class Recorded(Message):
        """The session was recorded (or refused, with why)."""

        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    class RiskRead(Message):
        """The case's current risk level was read (so an unchanged box changes nothing)."""

        def __init__(self, high_risk: bool) -> None:
            super().__init__()
            self.high_risk = high_risk

    def __init__(self, case_id: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.initial_risk: bool | None = None

    def on_mount(self) -> None:
        """Show the case's risk level as it stands."""
        self.read_risk()

    @work(thread=True, exclusive=True, group="supervision-read")
    @guarded
    def read_risk(self) -> None:
        """The case's high-risk flag."""
        fk = cast("FieldkitApp", self.app)
        if fk.store is not None:
            self.post_message(self.RiskRead(services.load_case(fk.store, self.case_id).high_risk))

    @on(RiskRead)
    def _risk_read(self, event: RiskRead) -> None:
        self.initial_risk = event.high_risk
        self.query_one("#sup-risk", Checkbox).value = event.high_risk

    def compose(self) -> ComposeResult:
        """Date, decisions, two checkboxes."""
        fk = cast("FieldkitApp", self.app)
        yield Static(
            _("Supervision · case {case}").format(case=safe_content(self.case_id)),
            classes="title-bar",
        )
        with Vertical(id="sup-form"):
            yield Label(_("Date (YYYY-MM-DD)"))
            yield Input(fk.today.isoformat(), id="sup-date")
            yield Label(_("Decisions"))
            yield TextArea(id="sup-decisions")
            yield TickBox(_("Visit frequency reviewed (VI-1)"), id="sup-frequency")
            yield TickBox(_("Case is higher risk: supervise more often (RV-1)"), id="sup-risk")
        yield Static("", id="sup-result")
        yield StatusBar()
        yield KeyFooter()

    def action_save(self) -> None:
        """Check the date, then record off the UI thread."""
        text = self.query_one("#sup-date", Input).value.strip()
        risk = self.query_one("#sup-risk", Checkbox).value
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.query_one("#sup-result", Static).update(
                _("✗ {text} is not a date (YYYY-MM-DD)").format(text=safe_content(repr(text)))
            )
            return
        self.record(
            day,
            self.query_one("#sup-decisions", TextArea).text,
            self.query_one("#sup-frequency", Checkbox).value,
            None if risk == self.initial_risk else risk,
        )

    @work(thread=True, exclusive=True, group="supervision")
    @guarded
    def record(self, day: date, decisions: str, frequency: bool, high_risk: bool | None) -> None:
        """A signed op like any other; it feeds the rules engine."""

        fk = cast("FieldkitApp", self.app)
        if fk.store is None:
            return
        try:
            review.record_supervision(fk.store, self.case_id, day, decisions, frequency, high_risk)
        except FieldkitError as exc:
            self.post_message(self.Recorded(f"✗ {safe_content(exc)}", ok=False))
            return
        self.post_message(
            self.Recorded(
                _("✓ Supervision of {case} recorded.").format(case=safe_content(self.case_id)),
                ok=True,
            )
        )

    @on(Recorded)
    def _recorded(self, event: Recorded) -> None:
        self.query_one("#sup-result", Static).update(event.text)
        if event.ok:
            self.app.pop_screen()
            self.app.notify(event.text)
