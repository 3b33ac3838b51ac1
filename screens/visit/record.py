"""A stored visit, read-only: signed visits change only by addenda that point to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.visit.addendum import AddendumDialog
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from fieldkit.evidence import timeline
from fieldkit.i18n import N_, _
from fieldkit.services import review, visits
from fieldkit.text import safe_content
from fieldkit.visit_record import record_from_stored
from fieldkit.visit_render import names_of, visit_text

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.domain import Case


class VisitRecordScreen(Screen[None]):
    """The visit as stored; `a` adds an addendum (a correction), Escape goes back."""

    HELP_TITLE = N_("Visit record")
    CSS_PATH = "record.tcss"
    BINDINGS = [
        Binding("escape", "back", N_("Back")),
        Binding("a", "addendum", N_("Add addendum")),
    ]

    class RecordLoaded(Message):
        """The visit and its addenda were read."""

        def __init__(self, record: dict[str, Any]) -> None:
            super().__init__()
            self.record = record

    def __init__(self, case: Case, visit_id: str) -> None:
        super().__init__()
        self.case = case
        self.visit_id = visit_id
        self.stored: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        """Title, the record, the sync line, the keys."""
        yield Static(
            safe_content(
                _("Visit record · {case} · {family}").format(
                    case=self.case.id, family=self.case.family_name
                )
            ),
            classes="title-bar",
        )
        with VerticalScroll(id="record-body"):
            yield Static(_("Loading…"), id="record")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the visit off the UI thread."""
        self.load()

    @work(thread=True, exclusive=True, group="record")
    @guarded
    def load(self) -> None:
        """The visit's fields, signature state and addenda."""
        store = cast("FieldkitApp", self.app).store
        if store is not None:
            self.post_message(
                self.RecordLoaded(visits.visit_record(store, self.case.id, self.visit_id))
            )

    def after_sync(self) -> None:
        """A sync may have brought the server's receipt time (or an addendum): read again."""
        self.load()

    @on(RecordLoaded)
    def _loaded(self, event: RecordLoaded) -> None:
        self.stored = event.record
        self.query_one("#record", Static).update(safe_content(self._describe(event.record)))

    def _describe(self, stored: dict[str, Any]) -> str:
        """The signed state, the record through the one visit renderer, then the addenda."""

        record = record_from_stored(self.case.id, self.visit_id, stored["fields"])
        state = (
            _("✓ SIGNED (read-only)") if stored["signed"] else _("not signed (imported history)")
        )
        lines = [state]
        state_of: review.VisitReview | None = stored.get("review")
        decision = state_of.decision if state_of is not None else None
        if stored["signed"] and state_of is not None and decision is not None:
            lines.append(_("Supervisor's review: {state}").format(state=state_of.words()))
            if decision.comment:
                lines.append(
                    _("{who}'s comment: {comment}").format(
                        who=decision.by, comment=decision.comment
                    )
                )
            if state_of.awaiting_addendum:
                lines.append(_("Press a to answer with an addendum."))
            lines.append("")
        lines.append(visit_text(record, names_of(self.case)))
        if stored["signed"]:  # time evidence: the laptop clock's times, the server's receipt
            lines.append(_("When this record was made"))
            times = timeline(stored["fields"], stored["received_at"])
            lines += [f"  {label}: {when}" for label, when in times]
        for a in stored["addenda"]:
            lines.append(
                _("ADDENDUM {day} by {author}: {text}").format(
                    day=a.get("date"), author=a.get("author"), text=a.get("text")
                )
            )
        return "\n".join(lines)

    def action_back(self) -> None:
        """Back to the case."""
        self.app.pop_screen()

    def action_addendum(self) -> None:
        """A correction to a signed record, kept beside it; an unsigned one takes none."""
        stored = self.stored
        if stored is None:
            return
        if not stored["signed"]:
            self.notify(visits.not_signed_words(), severity="warning")
            return
        state_of: review.VisitReview | None = stored.get("review")
        decision = state_of.decision if state_of is not None else None
        returned = decision is not None and decision.decision == "returned"
        self.app.push_screen(
            AddendumDialog(
                decision.by if decision is not None and returned else "",
                decision.comment if decision is not None and returned else "",
            ),
            self._addendum_written,
        )

    def _addendum_written(self, text: str | None) -> None:
        if text:
            self._save_addendum(text)

    @work(thread=True, group="record")
    @guarded
    def _save_addendum(self, text: str) -> None:
        fk = cast("FieldkitApp", self.app)
        if fk.store is not None:
            visits.add_addendum(
                fk.store, self.case.id, self.visit_id, text, fk.store.user, fk.today
            )
            self.app.call_from_thread(self.load)
