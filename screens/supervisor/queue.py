"""The supervisor's review queue: pending safety plans first, then signed visits, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.supervisor.conflicts import ConflictsScreen
from fieldkit.screens.supervisor.record_review import RecordReviewScreen
from fieldkit.screens.supervisor.supervision import SupervisionScreen
from fieldkit.screens.supervisor.team import TeamScreen
from fieldkit.screens.tables import MeasuredTable
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from fieldkit import i18n
from fieldkit.i18n import N_, _, ngettext
from fieldkit.services import review
from fieldkit.text import safe, safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.services.review import QueueItem


class ReviewQueueScreen(Screen[None]):
    """What waits for the supervisor, with what the rules engine flags on each item."""

    HELP_TITLE = N_("Review queue")
    CSS_PATH = "queue.tcss"
    AUTO_FOCUS = "#queue"
    BINDINGS = [
        Binding("enter", "open_item", N_("Review"), show=True),
        Binding("t", "team", N_("Team")),
        Binding("c", "conflicts", N_("Conflicts")),
        Binding("s", "supervision", N_("Supervision")),
        Binding("l", "caseload", N_("Caseload")),
        Binding("r", "reload", N_("Refresh")),
    ]

    class QueueLoaded(Message):
        """The queue was built from the store and the rules engine."""

        def __init__(self, items: list[QueueItem], conflicts: int) -> None:
            super().__init__()
            self.items = items
            self.conflicts = conflicts

    def __init__(self) -> None:
        super().__init__()
        self.items: list[QueueItem] = []

    def compose(self) -> ComposeResult:
        """Title, counts, the queue, the flags of the highlighted item, sync line."""
        fk = cast("FieldkitApp", self.app)
        user = fk.store.user if fk.store else ""
        day = i18n.format_date(fk.today, _("EEEE d MMMM y"))
        yield Static(
            _("fieldkit · Review queue · {user} · {day}").format(user=safe_content(user), day=day),
            classes="title-bar",
        )
        yield Static(_("Loading the review queue…"), id="queue-counts")
        yield MeasuredTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Static("", id="queue-flags")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Columns, then read the queue off the UI thread."""
        table = self.query_one("#queue", DataTable)
        table.add_columns(_("date"), _("record"), _("case"), _("worker"), _("flags"), _("family"))
        self.load()

    def on_screen_resume(self) -> None:
        """Back from a review: the item may have left the queue."""
        self.load()

    def after_sync(self) -> None:
        """A sync received (or sent) work: visits to review may have come in."""
        self.load()

    @work(thread=True, exclusive=True, group="queue")
    @guarded
    def load(self) -> None:
        """Build the queue (decrypts in memory) and count conflicts."""
        fk = cast("FieldkitApp", self.app)
        if fk.store is None or fk.policy is None:
            return
        items = review.review_queue(fk.store, fk.policy, fk.today)
        conflicts = sum(1 for c in review.open_conflicts(fk.store) if c.critical)
        self.post_message(self.QueueLoaded(items, conflicts))

    @staticmethod
    def _identity(item: QueueItem) -> tuple[str, str, str]:
        return (item.case_id, item.target, item.target_id)

    @on(QueueLoaded)
    def _loaded(self, event: QueueLoaded) -> None:
        table = self.query_one("#queue", DataTable)
        # A reload (a sync in the background, back from a review) keeps the
        # highlighted item under the cursor: an Enter pressed as the queue is
        # redrawn must open the record the supervisor was looking at.
        row = table.cursor_row
        held = self._identity(self.items[row]) if 0 <= row < len(self.items) else None
        self.items = event.items
        table.clear()
        for n, item in enumerate(self.items):
            if item.target == "safety_plan":
                label = _("⚑ safety plan")
            elif item.review is not None and item.review.awaiting_addendum:
                label = _("↩ returned: awaiting addendum")
            elif item.last == "returned":
                label = _("↩ returned: addendum received")
            else:
                label = _("↻ visit, changed") if item.stale else _("visit")
            flags = f"⚠ {len(item.flags)}" if item.flags else _("✓ none")
            table.add_row(
                item.day.isoformat(),
                label,
                safe(item.case_id),
                safe(item.worker or ""),
                flags,
                safe(item.family),
                key=str(n),
            )
        kept = [n for n, item in enumerate(self.items) if self._identity(item) == held]
        if kept:
            table.move_cursor(row=kept[0], animate=False)
        elif self.items:
            table.move_cursor(row=min(row, len(self.items) - 1), animate=False)
        plans = sum(1 for i in self.items if i.target == "safety_plan")
        visits = len(self.items) - plans
        extra = _(" · ⚠ {n} conflicts (c)").format(n=event.conflicts) if event.conflicts else ""
        pending = ngettext("⚑ {n} safety plan pending", "⚑ {n} safety plans pending", plans).format(
            n=plans
        )
        to_review = ngettext("{n} visit to review", "{n} visits to review", visits).format(n=visits)
        self.query_one("#queue-counts", Static).update(
            f"{pending} · {to_review}{extra}"
            if self.items
            else _("Nothing waiting for review.") + extra
        )
        self._show_flags()
        cast("FieldkitApp", self.app).continue_restore(self)

    def restore_place(self, place: dict[str, str]) -> bool:
        """After an unlock: reopen the record that was under review."""
        if place.get("screen") != "review":
            return False
        wanted = (place.get("case_id"), place.get("target"), place.get("target_id"))
        for n, item in enumerate(self.items):
            if self._identity(item) == wanted:
                self.query_one("#queue", DataTable).move_cursor(row=n)
                self.app.push_screen(RecordReviewScreen(item))
                return True
        return False

    @on(DataTable.RowHighlighted, "#queue")
    def _highlighted(self) -> None:
        self._show_flags()

    def _current(self) -> QueueItem | None:
        table = self.query_one("#queue", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def _show_flags(self) -> None:
        item = self._current()
        box = self.query_one("#queue-flags", Static)
        if item is None:
            box.update("")
            return
        lines = [f"{item.title} · {item.case_id} · {item.family}"]
        if item.state_words:
            lines.append(f"  {item.state_words}")
        if item.deadline:
            lines.append(_("  SA-2: document by {day}").format(day=item.deadline.isoformat()))
        lines += [f"  ⚠ {flag}" for flag in item.flags] or [_("  ✓ the rules engine flags nothing")]
        box.update(safe_content("\n".join(lines)))

    @on(DataTable.RowSelected, "#queue")
    def _selected(self) -> None:
        self.action_open_item()

    def action_open_item(self) -> None:
        """Read the record, then approve or return it."""
        item = self._current()
        if item is not None:
            self.app.push_screen(RecordReviewScreen(item))

    def action_team(self) -> None:
        """What is due across the team."""
        self.app.push_screen(TeamScreen())

    def action_conflicts(self) -> None:
        """Fields two people changed while offline."""
        self.app.push_screen(ConflictsScreen())

    def action_supervision(self) -> None:
        """Record a supervision session for the highlighted item's case."""
        item = self._current()
        if item is None:
            self.notify(_("Choose a case first (from the queue or the team view)."))
            return
        self.app.push_screen(SupervisionScreen(item.case_id))

    def action_caseload(self) -> None:
        """The caseload dashboard (every case, what is due)."""
        self.app.push_screen(DashboardScreen())

    def action_reload(self) -> None:
        """Read the queue again (after a sync)."""
        self.load()
