"""What every step of the guided visit shares: big title, saved indicator, keys, autosave."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldkit.screens.status_bar import StatusBar
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Checkbox,
    Footer,
    Input,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
    TextArea,
)

if TYPE_CHECKING:
    from fieldkit.screens.visit.session import VisitSession

SAVED_WORDS = {"saved": "✓ saved", "editing": "✎ saving…"}


def yes_no(name: str, value: bool | None, yes: str = "Yes", no: str = "No") -> RadioSet:
    """A Yes / No question that can also be unanswered (None)."""
    return RadioSet(
        RadioButton(yes, value=value is True, id=f"{name}-yes"),
        RadioButton(no, value=value is False, id=f"{name}-no"),
        id=name,
        classes="yes-no",
    )


def answer_of(radio: RadioSet) -> bool | None:
    """True for the first button, False for the second, None when none is pressed."""
    if radio.pressed_index < 0:
        return None
    return radio.pressed_index == 0


class VisitStep(Screen[None]):
    """One step: subclasses compose the body and say where each answer goes in the draft."""

    HELP_TITLE = "Visit step"
    CSS_PATH = "step.tcss"
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("ctrl+n", "next_step", "Next step", priority=True),
        Binding("escape", "previous_step", "Back"),
        Binding("ctrl+r", "review", "Review", priority=True),
        Binding("f2", "leave", "Leave visit", key_display="F2"),
    ]

    def __init__(self, session: VisitSession, key: str) -> None:
        super().__init__()
        self.session = session
        self.key = key
        self._loading = True

    def compose(self) -> ComposeResult:
        """Case line with the saved indicator, the big step title, the body, the keys."""
        s = self.session
        steps = s.steps
        number = steps.index(self.key) + 1 if self.key in steps else 1
        case = s.case
        with Horizontal(classes="title-bar"):
            yield Static(
                f"Visit · {case.id} · {case.family_name} · {s.draft['fields'].get('date', '')}",
                id="visit-case",
            )
            yield Static(SAVED_WORDS["saved"], id="saved")
        yield Static(f"Step {number} of {len(steps)} · {s.title(self.key)}", id="step-title")
        with VerticalScroll(id="step-body"):
            yield from self.compose_body()
        yield StatusBar()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The step's questions."""
        yield Static("")

    def on_mount(self) -> None:
        """Show saved/saving as the draft is written; answers start flowing after mount."""
        self.session.indicator = self._indicate
        self._indicate("saved" if self.session.saved else "editing")
        first = next((w for w in self.query("#step-body *") if w.focusable), None)
        if first is not None:
            first.focus()
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        self._loading = False

    def _indicate(self, state: str) -> None:
        if self.is_attached:
            self.query_one("#saved", Static).update(SAVED_WORDS.get(state, state))

    # --- answers flow into the draft -----------------------------------------------------

    @property
    def fields(self) -> dict[str, Any]:
        """The visit's fields in the draft."""
        fields: dict[str, Any] = self.session.draft["fields"]
        return fields

    def answer(self, name: str, value: Any) -> None:
        """Store one answer; subclasses route names to the right place in the draft."""
        self.fields[name] = value

    def _changed(self, widget: Widget | None, value: Any) -> None:
        if self._loading or widget is None or not widget.id:
            return
        self.answer(widget.id, value)
        self.session.changed()
        self.answer_changed(widget.id)

    def answer_changed(self, name: str) -> None:
        """Hook: a step may show or hide questions after an answer."""

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        self._changed(event.input, event.value)

    @on(TextArea.Changed)
    def _text_changed(self, event: TextArea.Changed) -> None:
        self._changed(event.text_area, event.text_area.text)

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._changed(event.checkbox, event.value)

    @on(RadioSet.Changed)
    def _radio_changed(self, event: RadioSet.Changed) -> None:
        self._changed(event.radio_set, answer_of(event.radio_set))

    @on(SelectionList.SelectedChanged)
    def _selection_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        self._changed(event.selection_list, list(event.selection_list.selected))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.focus_next()

    # --- moving between steps ------------------------------------------------------------

    def action_next_step(self) -> None:
        """Go on to the next step (the draft is written first)."""
        following = self.session.offset(self.key, 1)
        if following is not None:
            self.session.go(following)

    def action_previous_step(self) -> None:
        """Back one step; from the first step, back to the case."""
        previous = self.session.offset(self.key, -1)
        if previous is None:
            self.session.leave()
        else:
            self.session.go(previous)

    def action_review(self) -> None:
        """Jump to the review page: what the profile still requires."""
        if self.key != "review":
            self.session.go("review")

    def action_leave(self) -> None:
        """Back to the case; the draft is kept and offered again."""
        self.session.leave()
        self.app.notify("Visit kept as a draft; F4 on the caseload or v on the case resumes it.")
