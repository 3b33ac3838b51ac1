"""Team compliance: per worker and per case, what is overdue, due and due soon."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.supervisor.supervision import SupervisionScreen
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from fieldkit import services
from fieldkit.practice import due_list, open_items, worker_counts
from fieldkit.practice.render import status_text
from fieldkit.text import safe

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.practice import DueItem


class TeamScreen(Screen[None]):
    """The week's audit at a glance: every worker's open items, most urgent first."""

    HELP_TITLE = "Team"
    CSS_PATH = "team.tcss"
    AUTO_FOCUS = "#team-items"
    BINDINGS = [
        Binding("s", "supervision", "Supervision"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    class TeamLoaded(Message):
        """The due list of every case was computed."""

        def __init__(self, items: list[DueItem]) -> None:
            super().__init__()
            self.items = items

    def __init__(self) -> None:
        super().__init__()
        self.items: list[DueItem] = []

    def compose(self) -> ComposeResult:
        """Title, per-worker counts, then every open item."""
        fk = cast("FieldkitApp", self.app)
        yield Static(f"Team compliance · as of {fk.today.isoformat()}", classes="title-bar")
        yield DataTable(id="team-workers", cursor_type="none")
        yield DataTable(id="team-items", cursor_type="row", zebra_stripes=True)
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Columns, then compute off the UI thread."""
        self.query_one("#team-workers", DataTable).add_columns(
            "worker", "⚠ overdue", "● due", "○ due soon", "cases"
        )
        self.query_one("#team-items", DataTable).add_columns(
            "status", "due", "worker", "case", "rule", "what"
        )
        self.load()

    @work(thread=True, exclusive=True, group="team")
    @guarded
    def load(self) -> None:
        """Every case's open items (rules engine)."""

        fk = cast("FieldkitApp", self.app)
        if fk.store is None or fk.policy is None:
            return
        cases = services.load_cases(fk.store)
        self.post_message(self.TeamLoaded(open_items(due_list(cases, fk.policy, fk.today))))

    @on(TeamLoaded)
    def _loaded(self, event: TeamLoaded) -> None:

        self.items = event.items
        workers = self.query_one("#team-workers", DataTable)
        workers.clear()
        for worker, counts, n_cases in worker_counts(self.items):
            workers.add_row(
                safe(worker) if worker else "(unassigned)",
                str(counts["overdue"]),
                str(counts["due"]),
                str(counts["due-soon"]),
                str(n_cases),
            )
        table = self.query_one("#team-items", DataTable)
        table.clear()
        for item in self.items:
            table.add_row(
                status_text(item.status),
                item.due.isoformat(),
                safe(item.worker or ""),
                safe(item.case),
                safe(item.rule),
                safe(item.what),
            )

    def action_supervision(self) -> None:
        """Record supervision for the highlighted item's case (RV-1)."""
        table = self.query_one("#team-items", DataTable)
        if not self.items or table.cursor_row >= len(self.items):
            return
        self.app.push_screen(SupervisionScreen(self.items[table.cursor_row].case))
