"""Toggles whose state is a glyph, not a colour: ☑/☐ for boxes, ◉/○ for choices.

Textual's own buttons draw the same `▐X▌` ticked or not and tell the two apart by colour
only; under NO_COLOR or on a washed-out screen a worker could not see what is recorded.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.widgets import Checkbox, RadioButton, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

TICKED, UNTICKED = "☑", "☐"
CHOSEN, UNCHOSEN = "◉", "○"


class TickBox(Checkbox):
    """A checkbox that shows ☑ when ticked and ☐ when not."""

    @property
    def _button(self) -> Content:
        """The state as a glyph; bold when ticked."""
        style = self.get_visual_style("toggle--label")
        glyph = TICKED if self.value else UNTICKED
        return Content.assemble((glyph, style + VisualStyle(bold=self.value)))


class Choice(RadioButton):
    """A radio button that shows ◉ when chosen and ○ when not."""

    def validate_value(self, value: bool) -> bool:
        """A disabled choice cannot become chosen (by Space, Enter or a click): it would draw
        ◉ for an answer the record does not keep."""
        return value and not self.disabled

    @property
    def _button(self) -> Content:
        """The state as a glyph; bold when chosen."""
        style = self.get_visual_style("toggle--label")
        glyph = CHOSEN if self.value else UNCHOSEN
        return Content.assemble((glyph, style + VisualStyle(bold=self.value)))


class TickList(SelectionList[str]):
    """A tick list whose lines start with ☑ or ☐ (same width as Textual's button)."""

    def render_line(self, y: int) -> Strip:
        """Textual's line with its coloured button replaced by the state glyph."""
        line = super().render_line(y)
        segments = list(line)
        index = self.scroll_offset.y + y
        try:
            selection = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        if len(segments) < 4:
            return line
        underlying = segments[3].style or Style()
        ticked = selection.value in self._selected
        style = underlying + Style(bold=ticked, meta={"option": index})
        glyph = TICKED if ticked else UNTICKED
        return Strip([Segment(f" {glyph} ", style), *segments[3:]])
