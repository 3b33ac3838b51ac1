"""The caseload list: a virtual table that renders only the rows on screen (10,000 cases)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from fieldkit import i18n
from fieldkit.i18n import N_, _
from fieldkit.text import clean

if TYPE_CHECKING:
    from fieldkit.services.caseload import DashboardRow

STATUS_LABELS = {
    "overdue": N_("⚠ overdue"),
    "missed": N_("✗ missed"),
    "due": N_("● due"),
    "due-soon": N_("○ due soon"),
    "upcoming": N_("· upcoming"),
    "done-late": N_("✓ done late"),
    "done": N_("✓ done"),
}
"""Each status as a symbol and a word: readable without colour (same words as `fieldkit due`);
marked for the catalogue, looked up with `status_label` where shown."""


def status_label(status: str) -> str:
    """The status as a symbol and a word, in the worker's language."""
    label = STATUS_LABELS.get(status)
    return _(label) if label else status


def when_words(due: date | None, today: date) -> str:
    """ "3 days late", "today", "in 5 days"."""
    if due is None:
        return ""
    days = (due - today).days
    if days == 0:
        return _("today")
    if days < 0:
        return _("{n}d late").format(n=-days)
    return _("in {n}d").format(n=days)


ROW_STRIPS_KEPT = 512
"""Drawn rows kept for reuse (a screenful is about 25): a search that narrows or widens the
list shows mostly rows it drew a keystroke before."""


class _Paint(NamedTuple):
    """What every row of one paint draws with."""

    base: Style
    statuses: dict[str, Style]
    cursor: Style
    widths: tuple[int, int, int, int, int]


class CaseTable(ScrollView, can_focus=True):
    """Cases with their most urgent due item; the cursor row opens with Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", N_("Up"), show=False),
        Binding("down", "cursor_down", N_("Down"), show=False),
        Binding("pageup", "page_up", N_("Page up"), show=False),
        Binding("pagedown", "page_down", N_("Page down"), show=False),
        Binding("home", "first", N_("First"), show=False),
        Binding("end", "last", N_("Last"), show=False),
        Binding("enter", "open", N_("Open case")),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "case-table--cursor",
        "case-table--overdue",
        "case-table--due",
        "case-table--due-soon",
    }
    DEFAULT_CSS = """
    CaseTable { height: 1fr; }
    CaseTable > .case-table--cursor { background: $primary 40%; text-style: bold; }
    CaseTable:focus > .case-table--cursor { background: $primary; color: $background; }
    CaseTable > .case-table--overdue { color: $error; text-style: bold; }
    CaseTable > .case-table--due { color: $warning; }
    CaseTable > .case-table--due-soon { color: $secondary; }
    """

    cursor: reactive[int] = reactive(0, layout=False)

    class CaseChosen(Message):
        """The worker pressed Enter (or clicked) on a case."""

        def __init__(self, case_id: str) -> None:
            super().__init__()
            self.case_id = case_id

    def __init__(self, today: date, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.today = today
        self.rows: list[DashboardRow] = []
        self._paint: _Paint | None = None
        """The styles and widths of the paint under way (`render_lines`), else None."""
        self._row_strips: dict[int, tuple[DashboardRow, Strip]] = {}
        """Rows drawn (not under the cursor), by the row's id: the row itself (an id can be
        reused once a row is gone) and its line."""
        self._row_strips_for: tuple[object, ...] = ()
        """What those lines were drawn with: styles, widths, width, language and day."""

    def watch_cursor(self, old: int, new: int) -> None:
        """Keep the cursor row on screen."""
        self.scroll_to(y=self._scroll_target(new), animate=False, immediate=True)
        self.refresh()

    def show(self, rows: list[DashboardRow]) -> None:
        """Show these rows (already filtered and sorted); cheap for any number of rows."""
        self.rows = rows
        self.virtual_size = Size(self.size.width, len(rows))
        self.cursor = 0 if not rows else min(self.cursor, len(rows) - 1)
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    @property
    def current(self) -> DashboardRow | None:
        """The row under the cursor."""
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def _scroll_target(self, row: int) -> float:
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if row < top:
            return row
        if row >= top + height:
            return row - height + 1
        return top

    def _widths(self) -> tuple[int, int, int, int, int]:
        width = self.scrollable_content_region.width or self.size.width
        status, case_id, due = 11, 12, 9
        family = 18 if width >= 100 else 14
        what = max(10, width - status - case_id - family - due - 4)
        return status, case_id, family, what, due

    def render_lines(self, crop: Region) -> list[Strip]:
        """The rows on screen, their styles and column widths looked up once for all of
        them (each lookup walks the widget's ancestors)."""
        self._paint = None
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def _paint_styles(self) -> _Paint:
        paint = self._paint
        if paint is None:
            statuses = ("overdue", "due", "due-soon")
            paint = _Paint(
                self.rich_style,
                {s: self.get_component_rich_style(f"case-table--{s}") for s in statuses},
                self.get_component_rich_style("case-table--cursor"),
                self._widths(),
            )
            self._paint = paint
            drawn_with = (paint, self.size.width, i18n.language(), self.today)
            if drawn_with != self._row_strips_for:
                self._row_strips.clear()
                self._row_strips_for = drawn_with
        return paint

    def render_line(self, y: int) -> Strip:
        """One row of the table (only rows on screen are ever rendered)."""
        index = y + self.scroll_offset.y
        paint = self._paint_styles()
        if index >= len(self.rows):
            return Strip.blank(self.size.width, paint.base)  # NO_COLOR needs a style
        row = self.rows[index]
        if index == self.cursor:
            return self._row_strip(row, paint, cursor=True)
        kept = self._row_strips.get(id(row))
        if kept is not None and kept[0] is row:
            return kept[1]
        strip = self._row_strip(row, paint, cursor=False)
        if len(self._row_strips) >= ROW_STRIPS_KEPT:
            self._row_strips.clear()
        self._row_strips[id(row)] = (row, strip)
        return strip

    def _row_strip(self, row: DashboardRow, paint: _Paint, cursor: bool) -> Strip:
        """One row's line, every cell cleaned of control characters and cut to its column."""
        base = paint.base
        status_style = paint.statuses.get(row.status, base)
        if cursor:
            base, status_style = paint.cursor, paint.cursor + Style(bold=True)
        w_status, w_id, w_family, w_what, w_due = paint.widths
        what = row.what
        if row.needs_resolution:
            what = _("⚑ needs resolution · {what}").format(what=what)
        cells = [
            (status_label(row.status), w_status, status_style),
            (row.case_id, w_id, base),
            (row.family, w_family, base),
            (what, w_what, base),
            (when_words(row.due, self.today), w_due, base),
        ]
        segments = []
        for text, width, style in cells:
            text = clean(text)
            cell = text if len(text) <= width else text[: width - 1] + "…"
            segments.append(Segment(cell.ljust(width) + " ", style))
        strip = Strip(segments)
        return strip.crop_extend(0, self.size.width, base)

    def on_click(self, event: object) -> None:
        """A click moves the cursor; a second click on the same row opens it."""
        offset = getattr(event, "y", 0) + self.scroll_offset.y
        if 0 <= offset < len(self.rows):
            if offset == self.cursor:
                self.action_open()
            self.cursor = offset

    def on_resize(self) -> None:
        """Re-measure the columns."""
        self.virtual_size = Size(self.size.width, len(self.rows))

    def action_cursor_up(self) -> None:
        """Previous case."""
        self.cursor = max(0, self.cursor - 1)

    def action_cursor_down(self) -> None:
        """Next case."""
        self.cursor = min(max(0, len(self.rows) - 1), self.cursor + 1)

    def action_page_up(self) -> None:
        """A screenful up."""
        self.cursor = max(0, self.cursor - max(1, self.size.height - 1))

    def action_page_down(self) -> None:
        """A screenful down."""
        self.cursor = min(max(0, len(self.rows) - 1), self.cursor + max(1, self.size.height - 1))

    def action_first(self) -> None:
        """The most urgent case."""
        self.cursor = 0

    def action_last(self) -> None:
        """The least urgent case."""
        self.cursor = max(0, len(self.rows) - 1)

    def action_open(self) -> None:
        """Open the case under the cursor."""
        row = self.current
        if row is not None:
            self.post_message(self.CaseChosen(row.case_id))
