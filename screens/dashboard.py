"""The caseload dashboard: every case with its most urgent due item, search, and drafts."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.case_table import CaseTable
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.draft_offer import DraftOfferScreen
from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from fieldkit.services import caseload, visits
from fieldkit.services.caseload import filter_rows
from fieldkit.text import safe

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.domain import Case
    from fieldkit.services.caseload import DashboardRow

FIRST_PAINT_SECONDS = 0.4
STATUS_FILTERS: tuple[str | None, ...] = (None, "overdue", "due", "due-soon")
FILTER_WORDS = {
    None: "all",
    "overdue": "overdue only",
    "due": "due only",
    "due-soon": "due soon only",
}


class DashboardScreen(Screen[None]):
    """Today's caseload, most urgent first; type to search names and case ids."""

    HELP_TITLE = "Caseload"
    CSS_PATH = "dashboard.tcss"
    AUTO_FOCUS = "#search"
    BINDINGS = [
        Binding("enter", "open_case", "Open case", show=True),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding(
            "f3", "cycle_filter", "Filter", key_display="F3", tooltip="all, overdue, due, due soon"
        ),
        Binding("f4", "drafts", "Drafts", key_display="F4", tooltip="resume an unfinished visit"),
        Binding("slash", "focus_search", "Search", show=False, priority=True),
        Binding("escape", "clear_search", "Clear search", show=False),
    ]

    status_filter: reactive[str | None] = reactive(None)

    class CaseloadLoaded(Message):
        """The worker decrypted the caseload and ran the due rules."""

        def __init__(self, cases: dict[str, Case], rows: list[DashboardRow], drafts: list[Any]):
            super().__init__()
            self.cases = cases
            self.rows = rows
            self.drafts = drafts

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[DashboardRow] = []
        self.cases: dict[str, Case] = {}
        self.drafts: list[dict[str, Any]] = []
        self._offered_drafts = False

    def watch_status_filter(self) -> None:
        """Re-filter when the status filter changes."""
        self.apply_filter()

    def compose(self) -> ComposeResult:
        """Title, search, counts, the table's header and rows, drafts line, sync line."""
        fk = cast("FieldkitApp", self.app)
        user = fk.store.user if fk.store else ""
        yield Static(
            f"fieldkit · Caseload · {safe(user)} · {fk.today:%A %-d %B %Y}", classes="title-bar"
        )
        yield Input(placeholder="Search name or case id (/)", id="search")
        yield Static("Loading caseload…", id="counts")
        yield Static("", id="table-header")
        yield CaseTable(fk.today, id="cases")
        yield Static("", id="drafts-line")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Decrypt and rank the caseload off the UI thread."""
        self._header()
        self.load()

    def on_screen_resume(self) -> None:
        """Back from a case or a visit: due items and drafts may have changed."""
        if self.rows:
            self.load()
        self.query_one(StatusBar).refresh_status()

    def on_resize(self) -> None:
        """Column widths follow the terminal."""
        self._header()

    def _header(self) -> None:
        table = self.query_one(CaseTable)
        w_status, w_id, w_family, w_what, w_due = table._widths()
        parts = [("status", w_status), ("case", w_id), ("family", w_family)]
        parts += [("next due", w_what), ("when", w_due)]
        self.query_one("#table-header", Static).update(
            "".join(text.ljust(width) + " " for text, width in parts)
        )

    @work(thread=True, exclusive=True, group="caseload")
    @guarded
    def load(self) -> None:
        """Read every case, its next due item (rules engine) and the unfinished visits."""
        fk = cast("FieldkitApp", self.app)
        store, policy = fk.store, fk.policy
        if store is None or policy is None:
            return
        found = visits.drafts(store)
        cached = caseload.cached_rows(store, fk.today) if not self.rows else None
        if cached:
            self.post_message(self.CaseloadLoaded({}, cached, found))
            # Let the first screen draw before the full read competes with it for the GIL.
            time.sleep(FIRST_PAINT_SECONDS)
        cases = visits.load_caseload(store)
        rows = caseload.dashboard_rows(list(cases.values()), policy, fk.today)
        self.post_message(self.CaseloadLoaded(cases, rows, found))
        if rows != cached:
            caseload.cache_rows(store, fk.today, rows)

    @on(CaseloadLoaded)
    def _loaded(self, event: CaseloadLoaded) -> None:
        same_rows = event.rows == self.rows
        self.cases, self.rows, self.drafts = event.cases, event.rows, event.drafts
        if not same_rows or not event.rows:
            self.apply_filter()
        self._show_drafts()
        fk = cast("FieldkitApp", self.app)
        if fk.restoring:
            self._offered_drafts = True
            fk.continue_restore(self)
        elif self.drafts and not self._offered_drafts:
            self._offered_drafts = True
            self.action_drafts()

    def _show_drafts(self) -> None:
        line = self.query_one("#drafts-line", Static)
        if not self.drafts:
            line.display = False
            return
        line.display = True
        first = self.drafts[0]
        case = self.cases.get(first["case_id"])
        who = case.family_name if case else first["case_id"]
        more = f" (+{len(self.drafts) - 1} more)" if len(self.drafts) > 1 else ""
        line.update(
            f"⏸ Unfinished visit: {safe(first['case_id'])} {safe(who)}{more} — F4 to resume"
        )

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        self.apply_filter()

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.action_open_case()

    def apply_filter(self) -> None:
        """Filter by the search words and the status filter (every keystroke)."""
        query = self.query_one("#search", Input).value
        shown = filter_rows(self.rows, query, self.status_filter)
        self.query_one(CaseTable).show(shown)
        counts = self.query_one("#counts", Static)
        if not self.rows:
            counts.update("Loading caseload…" if not self.cases else "No cases in this profile.")
            return
        overdue = sum(1 for r in self.rows if r.status == "overdue")
        due = sum(1 for r in self.rows if r.status == "due")
        soon = sum(1 for r in self.rows if r.status == "due-soon")
        filt = FILTER_WORDS[self.status_filter]
        counts.update(
            f"{len(shown)} of {len(self.rows)} cases · ⚠ {overdue} overdue · ● {due} due · "
            f"○ {soon} due soon · showing {filt}"
        )

    @on(CaseTable.CaseChosen)
    def _case_chosen(self, event: CaseTable.CaseChosen) -> None:
        self.open_case(event.case_id)

    def open_case(self, case_id: str) -> None:
        """Show one case."""
        self.app.push_screen(CaseScreen(case_id))

    def action_open_case(self) -> None:
        """Open the case under the cursor."""
        self.query_one(CaseTable).action_open()

    def action_cursor_down(self) -> None:
        """Next case (works while typing in the search)."""
        self.query_one(CaseTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        """Previous case."""
        self.query_one(CaseTable).action_cursor_up()

    def action_page_down(self) -> None:
        """A screenful down."""
        self.query_one(CaseTable).action_page_down()

    def action_page_up(self) -> None:
        """A screenful up."""
        self.query_one(CaseTable).action_page_up()

    def action_cycle_filter(self) -> None:
        """All → overdue → due → due soon → all."""
        at = STATUS_FILTERS.index(self.status_filter)
        self.status_filter = STATUS_FILTERS[(at + 1) % len(STATUS_FILTERS)]

    def action_focus_search(self) -> None:
        """Jump to the search, its words selected so typing replaces them ("/" is never typed)."""
        search = self.query_one("#search", Input)
        search.focus()
        search.select_all()

    def action_clear_search(self) -> None:
        """Empty the search."""
        self.query_one("#search", Input).value = ""

    def action_drafts(self) -> None:
        """Offer the unfinished visits (a crash or a closed lid loses nothing)."""
        if not self.drafts:
            self.notify("No unfinished visits.")
            return
        self.app.push_screen(DraftOfferScreen(self.drafts, self.cases), self._draft_chosen)

    def _draft_chosen(self, choice: tuple[str, dict[str, Any]] | None) -> None:
        if choice is None:
            return
        verb, draft = choice
        if verb == "resume":
            self.app.push_screen(CaseScreen(draft["case_id"], resume=draft))
        elif verb == "discard":
            self._discard(draft)

    @work(thread=True, group="drafts")
    @guarded
    def _discard(self, draft: dict[str, Any]) -> None:
        store = cast("FieldkitApp", self.app).store
        if store is not None:
            visits.discard_draft(store, draft)
            self.app.call_from_thread(self.load)
