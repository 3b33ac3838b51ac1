"""Team compliance: per worker and per case, what is overdue, due and due soon; and the
sync health of the team's laptops (last sync, waiting, refused, gone quiet)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.supervisor.supervision import SupervisionScreen
from fieldkit.screens.tables import MeasuredTable
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from fieldkit import services
from fieldkit.i18n import N_, _
from fieldkit.practice import due_list, open_items, worker_counts
from fieldkit.practice.render import status_text
from fieldkit.text import safe

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.practice import DueItem
    from fieldkit.services.sync import LaptopHealthRow


class TeamScreen(Screen[None]):
    """The week's audit at a glance: every worker's open items, most urgent first."""

    HELP_TITLE = N_("Team")
    CSS_PATH = "team.tcss"
    AUTO_FOCUS = "#team-items"
    BINDINGS = [
        Binding("s", "supervision", N_("Supervision")),
        Binding("escape", "app.pop_screen", N_("Back")),
    ]

    class TeamLoaded(Message):
        """The due list of every case was computed."""

        def __init__(
            self,
            items: list[DueItem],
            health_as_of: datetime | None = None,
            laptops: list[LaptopHealthRow] | None = None,
            stale_after_days: int = 0,
        ) -> None:
            super().__init__()
            self.items = items
            self.health_as_of = health_as_of
            self.laptops = laptops or []
            self.stale_after_days = stale_after_days

    def __init__(self) -> None:
        super().__init__()
        self.items: list[DueItem] = []

    def compose(self) -> ComposeResult:
        """Title, per-worker counts, then every open item."""
        fk = cast("FieldkitApp", self.app)
        yield Static(
            _("Team compliance · as of {day}").format(day=fk.today.isoformat()),
            classes="title-bar",
        )
        yield MeasuredTable(id="team-workers", cursor_type="none")
        yield Static(_("Laptops · sync health not received yet"), id="team-health-title")
        yield MeasuredTable(id="team-laptops", cursor_type="none")
        yield MeasuredTable(id="team-items", cursor_type="row", zebra_stripes=True)
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Columns, then compute off the UI thread."""
        self.query_one("#team-workers", DataTable).add_columns(
            _("worker"), _("⚠ overdue"), _("● due"), _("○ due soon"), _("cases")
        )
        self.query_one("#team-laptops", DataTable).add_columns(
            _("laptop"), _("user"), _("last sync (UTC)"), _("waiting"), _("refused"), ""
        )
        self.query_one("#team-items", DataTable).add_columns(
            _("status"), _("due"), _("worker"), _("case"), _("rule"), _("what")
        )
        self.load()

    @work(thread=True, exclusive=True, group="team")
    @guarded
    def load(self) -> None:
        """Every case's open items (rules engine)."""

        fk = cast("FieldkitApp", self.app)
        if fk.store is None or fk.policy is None:
            return
        # local: the sync client (httpx, pydantic) adds ~0.5 s (-X importtime) to the app's
        # start; it loads when a supervisor first opens the team view
        from fieldkit.services.sync import team_health

        cases = services.load_cases(fk.store)
        items = open_items(due_list(cases, fk.policy, fk.today))
        days = fk.policy.stale_after_days
        as_of, laptops = team_health(fk.store, _now(fk), days)
        self.post_message(self.TeamLoaded(items, as_of, laptops, days))

    @on(TeamLoaded)
    def _loaded(self, event: TeamLoaded) -> None:

        self.items = event.items
        workers = self.query_one("#team-workers", DataTable)
        workers.clear()
        for worker, counts, n_cases in worker_counts(self.items):
            workers.add_row(
                safe(worker) if worker else _("(unassigned)"),
                str(counts["overdue"]),
                str(counts["due"]),
                str(counts["due-soon"]),
                str(n_cases),
            )
        self._show_laptops(event)
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

    def _show_laptops(self, event: TeamLoaded) -> None:
        """One row per laptop of the team, a quiet one flagged (profile `[sync]`)."""
        title = self.query_one("#team-health-title", Static)
        table = self.query_one("#team-laptops", DataTable)
        table.clear()
        if event.health_as_of is None:
            title.update(_("Laptops · sync health arrives with this laptop's next sync"))
            return
        title.update(
            _("Laptops · as of {moment} UTC · flagged after {days} days without a sync").format(
                moment=f"{event.health_as_of:%Y-%m-%d %H:%M}", days=event.stale_after_days
            )
        )
        for lap in event.laptops:
            if lap.revoked:
                flag = _("revoked")
            elif lap.stale and lap.days_quiet is None:
                flag = "⚠ " + _("never synced")
            elif lap.stale:
                flag = "⚠ " + _("not seen {days} d").format(days=lap.days_quiet)
            else:
                flag = ""
            table.add_row(
                safe(lap.device),
                safe(lap.user),
                f"{lap.last_sync:%Y-%m-%d %H:%M}" if lap.last_sync else _("never"),
                "-" if lap.waiting is None else str(lap.waiting),
                str(lap.refused),
                flag,
            )

    def action_supervision(self) -> None:
        """Record supervision for the highlighted item's case (RV-1)."""
        table = self.query_one("#team-items", DataTable)
        if not self.items or table.cursor_row >= len(self.items):
            return
        self.app.push_screen(SupervisionScreen(self.items[table.cursor_row].case))


def _now(fk: FieldkitApp) -> datetime:
    """Now; on an app given a fixed day (a test, a demo), noon UTC of that day."""
    if fk.fixed_today is not None:
        return datetime.combine(fk.fixed_today, time(12, 0), UTC)
    return datetime.now(UTC)
