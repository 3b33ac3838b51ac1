"""Conflicts needing resolution: safety-critical fields two people changed while offline."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.tables import MeasuredTable
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.services import review
from fieldkit.text import safe, safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.services.review import OpenConflict


class ConflictsScreen(Screen[None]):
    """Both versions side by side; pick one (1, 2) or write a combination (e)."""

    HELP_TITLE = N_("Conflicts")
    CSS_PATH = "conflicts.tcss"
    AUTO_FOCUS = "#conflict-list"
    BINDINGS = [
        Binding("1", "pick(0)", N_("Keep first")),
        Binding("2", "pick(1)", N_("Keep second")),
        Binding("e", "combine", N_("Combine")),
        Binding("escape", "app.pop_screen", N_("Back")),
    ]

    class ConflictsLoaded(Message):
        """Open conflicts were read from the store."""

        def __init__(self, conflicts: list[OpenConflict]) -> None:
            super().__init__()
            self.conflicts = conflicts

    class Resolved(Message):
        """A choice was recorded as an op (or refused, with why)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[OpenConflict] = []

    def compose(self) -> ComposeResult:
        """The list, the two versions side by side, an input for a combination."""
        yield Static(_("Conflicts needing resolution"), classes="title-bar")
        yield MeasuredTable(id="conflict-list", cursor_type="row")
        with Horizontal(id="versions"):
            yield Static("", id="version-0", classes="version")
            yield Static("", id="version-1", classes="version")
        yield Input(placeholder=_("Combined value (JSON or text), then Enter"), id="combined")
        yield Static("", id="conflict-result")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Columns, then read."""
        self.query_one("#conflict-list", DataTable).add_columns(
            "", _("case"), _("record"), _("field"), _("versions")
        )
        self.query_one("#combined", Input).display = False
        self.load()

    @work(thread=True, exclusive=True, group="conflicts")
    @guarded
    def load(self) -> None:
        """Every open conflict, safety-critical first."""
        fk = cast("FieldkitApp", self.app)
        if fk.store is not None:
            self.post_message(self.ConflictsLoaded(review.open_conflicts(fk.store)))

    @on(ConflictsLoaded)
    def _loaded(self, event: ConflictsLoaded) -> None:
        self.conflicts = event.conflicts
        table = self.query_one("#conflict-list", DataTable)
        table.clear()
        for c in self.conflicts:
            mark = _("⚠ needs resolution") if c.critical else _("kept")
            table.add_row(
                mark,
                safe(c.case_id),
                safe(f"{c.entity} {c.entity_id}"),
                safe(c.field),
                str(len(c.versions)),
            )
        if not self.conflicts:
            self.query_one("#conflict-result", Static).update(_("✓ No conflicts."))
        self._show()

    @on(DataTable.RowHighlighted, "#conflict-list")
    def _highlighted(self) -> None:
        self._show()

    def _current(self) -> OpenConflict | None:
        table = self.query_one("#conflict-list", DataTable)
        if not self.conflicts or table.cursor_row >= len(self.conflicts):
            return None
        return self.conflicts[table.cursor_row]

    def _show(self) -> None:
        conflict = self._current()
        for n in (0, 1):
            box = self.query_one(f"#version-{n}", Static)
            if conflict is None or n >= len(conflict.versions):
                box.update("")
                continue
            v = conflict.versions[n]
            box.update(
                _("[b]{n}[/b] · by {who}").format(n=n + 1, who=safe_content(v["by"]))
                + f"\n{safe_content(_show_value(v['v']))}"
            )

    def action_pick(self, index: int) -> None:
        """Keep one version as it is."""
        conflict = self._current()
        if conflict is not None and index < len(conflict.versions):
            self.resolve(conflict, conflict.versions[index]["v"])

    def action_combine(self) -> None:
        """Write a value that combines both."""
        field = self.query_one("#combined", Input)
        field.display = True
        field.focus()

    @on(Input.Submitted, "#combined")
    def _combined(self, event: Input.Submitted) -> None:
        conflict = self._current()
        if conflict is None or not event.value.strip():
            return
        try:
            value: Any = json.loads(event.value)
        except json.JSONDecodeError:
            value = event.value.strip()
        self.resolve(conflict, value)
        event.input.value = ""
        event.input.display = False

    @work(thread=True, exclusive=True, group="resolve")
    @guarded
    def resolve(self, conflict: OpenConflict, value: Any) -> None:
        """The choice is an op like any other, so every device folds to it."""

        fk = cast("FieldkitApp", self.app)
        if fk.store is None:
            return
        try:
            review.resolve_conflict(
                fk.store,
                conflict.case_id,
                conflict.entity,
                conflict.entity_id,
                conflict.field,
                value,
            )
        except FieldkitError as exc:
            self.post_message(self.Resolved(f"✗ {safe_content(exc)}"))
            return
        self.post_message(
            self.Resolved(
                safe_content(
                    _("✓ {record} {field} resolved").format(
                        record=conflict.entity, field=conflict.field
                    )
                )
            )
        )

    @on(Resolved)
    def _resolved(self, event: Resolved) -> None:
        self.query_one("#conflict-result", Static).update(event.text)
        self.load()


def _show_value(value: Any) -> str:
    if isinstance(value, dict):
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(f"• {json.dumps(v, default=str)}" for v in value)
    return str(value)
