"""A DataTable whose columns are drawn at the width of their cells as soon as it knows them."""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable


class MeasuredTable(DataTable[str]):
    """Textual's DataTable measures new rows when its queue runs dry, but keeps the lines it
    drew before that in its caches: a table filled and drawn in the same moment could stay
    cut to its header widths ("⚠ over", "202") until something else redrew it. Here the
    drawn lines are dropped once the measure has run, so the next frame is whole."""

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measuring:
            self._clear_caches()
            self.refresh()
