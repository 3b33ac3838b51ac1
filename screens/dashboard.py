"""The caseload dashboard: every case with its most urgent due item, search, and drafts."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.case_table import CaseTable
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.draft_offer import DRAFT_WAITING, DraftOfferScreen
from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.workers import guarded
from textual import _time, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from fieldkit import i18n
from fieldkit.i18n import N_, _
from fieldkit.services import caseload, visits
from fieldkit.services.caseload import filter_rows
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.domain import Case
    from fieldkit.services.caseload import Caseload, DashboardRow

POLL_SECONDS = 2.0
"""How often the caseload looks for changes made by another fieldkit (a cheap query)."""
PROGRESS_SECONDS = 0.25
STATUS_FILTERS: tuple[str | None, ...] = (None, "overdue", "due", "due-soon")
FILTER_WORDS = {
    None: N_("all"),
    "overdue": N_("overdue only"),
    "due": N_("due only"),
    "due-soon": N_("due soon only"),
}


def caseload_counts(rows: list[DashboardRow]) -> tuple[int, int, int]:
    """Overdue, due and due-soon cases (counted once per read, not per keystroke)."""
    overdue = due = soon = 0
    for row in rows:
        if row.status == "overdue":
            overdue += 1
        elif row.status == "due":
            due += 1
        elif row.status == "due-soon":
            soon += 1
    return overdue, due, soon


class DashboardScreen(Screen[None]):
    """Today's caseload, most urgent first; type to search names and case ids."""

    HELP_TITLE = N_("Caseload")
    CSS_PATH = "dashboard.tcss"
    AUTO_FOCUS = "#search"
    BINDINGS = [
        Binding("enter", "open_case", N_("Open case"), show=True, priority=True),
        Binding("down", "cursor_down", N_("Down"), show=False),
        Binding("up", "cursor_up", N_("Up"), show=False),
        Binding("pagedown", "page_down", N_("Page down"), show=False),
        Binding("pageup", "page_up", N_("Page up"), show=False),
        Binding(
            "f3",
            "cycle_filter",
            N_("Filter"),
            key_display="F3",
            tooltip=N_("all, overdue, due, due soon"),
        ),
        Binding(
            "f4", "drafts", N_("Drafts"), key_display="F4", tooltip=N_("resume an unfinished visit")
        ),
        Binding("slash", "focus_search", N_("Search"), show=False, priority=True),
        Binding("escape", "clear_search", N_("Clear search"), show=False),
    ]

    status_filter: reactive[str | None] = reactive(None)

    class CaseloadLoaded(Message):
        """The worker read the caseload's rows (only the cases changed since the last read)."""

        def __init__(
            self,
            caseload: Caseload | None,
            drafts: list[Any] | None,
            draft_cases: dict[str, Case] | None,
        ):
            super().__init__()
            self.caseload = caseload
            self.drafts = drafts
            self.draft_cases = draft_cases

    class CaseloadProgress(Message):
        """A long read (every case: another day, or no sealed rows yet) is this far."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[DashboardRow] = []
        self.caseload: Caseload | None = None
        self.draft_cases: dict[str, Case] = {}
        self.drafts: list[dict[str, Any]] = []
        self._offered_drafts = False
        self._counts: tuple[int, int, int] = (0, 0, 0)
        self._load_state = threading.Lock()
        self._loading = False
        self._again = False
        self._want_drafts = False
        self._resumed = False
        self._on_view_since = float("inf")

    def watch_status_filter(self) -> None:
        """Re-filter when the status filter changes."""
        self.apply_filter()

    def compose(self) -> ComposeResult:
        """Title, search, counts, the table's header and rows, drafts line, sync line."""
        fk = cast("FieldkitApp", self.app)
        user = fk.store.user if fk.store else ""
        day = i18n.format_date(fk.today, _("EEEE d MMMM y"))
        yield Static(
            _("fieldkit · Caseload · {user} · {day}").format(user=safe_content(user), day=day),
            classes="title-bar",
        )
        yield Input(placeholder=_("Search name or case id (/)"), id="search")
        yield Static(_("Loading caseload…"), id="counts")
        yield Static("", id="table-header")
        yield CaseTable(fk.today, id="cases")
        yield Static("", id="drafts-line")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the caseload off the UI thread; look for changes now and then."""
        self._on_view_since = _time.get_time()  # keys stamped from now on were typed here
        self._header()
        fk = cast("FieldkitApp", self.app)
        preloaded, fk.preloaded = fk.preloaded, None
        if preloaded is not None and preloaded.as_of == fk.today:  # read with the unlock
            self.caseload, self.rows = preloaded, preloaded.rows
            self._counts = caseload_counts(self.rows)
            self.apply_filter()
        self.load()
        self.set_interval(POLL_SECONDS, self._poll)
        # Filter as the search's value changes, inside the keystroke's own handling (not on
        # its Input.Changed message, which reaches the screen later): the typed letter and
        # the rows it leaves are drawn in the same frame.
        self.watch(self.query_one("#search", Input), "value", self.apply_filter, init=False)

    def on_screen_resume(self) -> None:
        """Back from a case or a visit: due items and drafts may have changed."""
        if self.caseload is not None and self._resumed:
            self.load()
        self._resumed = True  # the first resume follows the mount, which reads already
        self.query_one(StatusBar).refresh_status()

    def _poll(self) -> None:
        """Another fieldkit (a CLI command, a sync) may have changed the profile."""
        if self.caseload is not None and self.is_current:
            self.load(drafts=False)

    def on_resize(self) -> None:
        """Column widths follow the terminal."""
        self._header()

    def _header(self) -> None:
        table = self.query_one(CaseTable)
        w_status, w_id, w_family, w_what, w_due = table._widths()
        parts = [(_("status"), w_status), (_("case"), w_id), (_("family"), w_family)]
        parts += [(_("next due"), w_what), (_("when"), w_due)]
        self.query_one("#table-header", Static).update(
            "".join(text.ljust(width) + " " for text, width in parts)
        )

    def load(self, drafts: bool = True) -> None:
        """Read the rows again (only the cases changed since the last read) and, unless
        `drafts` is False, the unfinished visits; one read at a time, none lost."""
        with self._load_state:
            self._want_drafts |= drafts
            if self._loading:
                self._again = True
                return
            self._loading = True
        self._load_worker()

    @work(thread=True, group="caseload")
    def _load_worker(self) -> None:
        while True:
            with self._load_state:
                drafts, self._want_drafts, self._again = self._want_drafts, False, False
            done = True
            try:
                self._load_once(drafts)
            finally:
                with self._load_state:
                    done = not self._again
                    if done:
                        self._loading = False
            if done:
                return

    @guarded
    def _load_once(self, drafts: bool) -> None:
        """The rows (sealed rows of the last start plus the changed cases; every case on
        another day) and the unfinished visits with their cases."""
        fk = cast("FieldkitApp", self.app)
        store, policy = fk.store, fk.policy
        if store is None or policy is None:
            return
        found = visits.drafts(store) if drafts else None
        draft_cases = None
        if found is not None:  # read on their own: the caseload keeps rows, not cases
            draft_cases = caseload.cases_by_id(store, {d["case_id"] for d in found})
        last = time.monotonic()

        def progress(done: int, total: int) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_SECONDS:
                last = time.monotonic()
                self.post_message(self.CaseloadProgress(done, total))

        loaded: Caseload | None
        if self.caseload is None:
            loaded = caseload.load_caseload(store, policy, fk.today, progress)
        else:
            loaded = caseload.refresh_caseload(store, policy, self.caseload, fk.today, progress)
        if loaded is not None or drafts:
            self.post_message(self.CaseloadLoaded(loaded, found, draft_cases))

    @on(CaseloadProgress)
    def _progress(self, event: CaseloadProgress) -> None:
        if self.caseload is None:
            self.query_one("#counts", Static).update(
                _("Loading caseload… {done}/{total}").format(done=event.done, total=event.total)
            )

    @on(CaseloadLoaded)
    def _loaded(self, event: CaseloadLoaded) -> None:
        if event.caseload is not None:
            first = self.caseload is None
            self.caseload = event.caseload
            table = self.query_one(CaseTable)
            # Past midnight the rows may be the same while "in 2 days" became "tomorrow".
            new_day = table.today != event.caseload.as_of
            table.today = event.caseload.as_of
            if first or new_day or event.caseload.rows != self.rows:
                self.rows = event.caseload.rows
                self._counts = caseload_counts(self.rows)
                self.apply_filter()
        if event.drafts is not None:
            self.drafts = event.drafts
            self.draft_cases = event.draft_cases or {}
            self._show_drafts()
        fk = cast("FieldkitApp", self.app)
        if fk.restoring:
            self._offered_drafts = True
            fk.continue_restore(self)
        elif self.drafts and not self._offered_drafts:
            self._offered_drafts = True
            if fk.last_input_time >= self._on_view_since:
                # The worker is already at work (typed or clicked): a window popping up
                # now would take the next keys (an Enter resumes a visit, x x discards
                # one), or cover the case just clicked open.
                self.notify(_(DRAFT_WAITING))
            else:
                self.offer_drafts(unbidden=True)

    def _show_drafts(self) -> None:
        line = self.query_one("#drafts-line", Static)
        if not self.drafts:
            line.display = False
            return
        line.display = True
        first = self.drafts[0]
        case = self.draft_cases.get(first["case_id"])
        who = case.family_name if case else first["case_id"]
        more = _(" (+{n} more)").format(n=len(self.drafts) - 1) if len(self.drafts) > 1 else ""
        line.update(
            _("⏸ Unfinished visit: {case} {family}{more} — F4 to resume").format(
                case=safe_content(first["case_id"]), family=safe_content(who), more=more
            )
        )

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
            counts.update(
                _("Loading caseload…") if self.caseload is None else _("No cases in this profile.")
            )
            return
        overdue, due, soon = self._counts
        filt = _(FILTER_WORDS[self.status_filter])
        counts.update(
            _(
                "{shown} of {total} cases · ⚠ {overdue} overdue · ● {due} due · "
                "○ {soon} due soon · showing {filter}"
            ).format(
                shown=len(shown),
                total=len(self.rows),
                overdue=overdue,
                due=due,
                soon=soon,
                filter=filt,
            ),
            layout=False,  # one line, always: no reflow of the screen on every key
        )

    @on(CaseTable.CaseChosen)
    def _case_chosen(self, event: CaseTable.CaseChosen) -> None:
        self.open_case(event.case_id)

    def open_case(self, case_id: str, hold: int | None = None) -> None:
        """Show one case (`hold`: the keys held for it, handed over once it is in front)."""
        self.app.push_screen(CaseScreen(case_id, hold=hold))

    def action_open_case(self) -> None:
        """Open the case under the cursor. Enter is taken before the search or the table
        sees it, and the keys typed after it wait for the case view: they are its keys (a
        quick Enter, V starts the visit; the V never lands in the search)."""
        row = self.query_one(CaseTable).current
        if row is not None:
            self.open_case(row.case_id, hold=cast("FieldkitApp", self.app).hold_keys())

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
            self.notify(_("No unfinished visits."))
            return
        self.offer_drafts()

    def offer_drafts(self, unbidden: bool = False) -> None:
        """The unfinished-visit window: asked for with F4, it takes the keys typed after
        F4; put up by itself (`unbidden`), none typed before it could be read."""
        hold = None if unbidden else cast("FieldkitApp", self.app).hold_keys()
        offer = DraftOfferScreen(self.drafts, self.draft_cases, unbidden=unbidden, hold=hold)
        self.app.push_screen(offer, self._draft_chosen)

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
