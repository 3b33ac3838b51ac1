"""What every step of the guided visit shares: big title, saved indicator, keys, autosave."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.toggles import Choice
from textual import on
from textual._path import CSSPathType
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Checkbox,
    Input,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
    TextArea,
)

from fieldkit.i18n import N_, _
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp
    from fieldkit.screens.visit.session import VisitSession

    from fieldkit.visit_record import VisitRecord

W = TypeVar("W", bound=Widget)

SAVED_WORDS = {"saved": N_("✓ saved"), "editing": N_("✎ saving…")}

ANSWER_WORDS = (
    # fieldkit.visit_record.OUTCOMES
    N_("completed"),
    N_("no one home"),
    N_("refused entry"),
    # fieldkit.visit_record.NOT_SEEN_REASONS
    N_("asleep elsewhere"),
    N_("at school"),
    N_("refused"),
    N_("not home"),
    N_("other"),
    # fieldkit.services.visits.SA3_CIRCUMSTANCES
    N_("loss of income"),
    N_("a move"),
    N_("illness of a caregiver"),
    N_("illness of a child"),
    N_("a new caregiver in the home"),
    N_("loss of a protective caregiver"),
    # fieldkit.domain: a safety plan's kind and approval state
    N_("initial"),
    N_("alternative"),
    N_("pending"),
    N_("phone-approved"),
    N_("approved"),
    N_("rejected"),
    # the shipped profiles' [visit_kinds]
    N_("home"),
    N_("placement"),
    N_("school"),
    N_("office"),
    N_("phone"),
    N_("video"),
)
"""The answers a step offers, as words in the worker's language; the record keeps the value
itself (English, as `fieldkit.visit/1` writes it). A test checks the lists stay covered."""


def yes_no(
    name: str, value: bool | None, yes: str | None = None, no: str | None = None
) -> RadioSet:
    """A Yes / No question that can also be unanswered (None); `yes`/`no` already translated."""
    return RadioSet(
        Choice(yes or _("Yes"), value=value is True, id=f"{name}-yes"),
        Choice(no or _("No"), value=value is False, id=f"{name}-no"),
        id=name,
        classes="yes-no",
    )


def choice(name: str, options: tuple[str, ...], current: str | None) -> RadioSet:
    """A one-of question that starts unanswered unless `current` names an option."""
    return RadioSet(
        *[
            Choice(_(option), value=option == current, id=f"{name}-{option.replace(' ', '-')}")
            for option in options
        ],
        id=name,
    )


class VisitStep(Screen[None]):
    """One step: subclasses compose the body and bind each widget to a record field."""

    HELP_TITLE = N_("Visit step")
    CSS_PATH: ClassVar[CSSPathType | None] = "step.tcss"
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("ctrl+n", "next_step", N_("Next step"), priority=True),
        Binding("escape", "previous_step", N_("Back")),
        Binding("ctrl+r", "review", N_("Review"), priority=True),
        Binding("f2", "leave", N_("Leave visit"), key_display="F2"),
        # Priority: focus moves before the next key is delivered, so a burst of typing
        # after Tab or Enter lands in the next field, never in the one just left.
        Binding("tab", "app.focus_next", N_("Next field"), show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", N_("Previous field"), show=False, priority=True),
        Binding(
            "enter",
            "enter",
            N_("Next field (from a one-line field)"),
            show=False,
            priority=True,
        ),
    ]

    def __init__(self, session: VisitSession, key: str) -> None:
        super().__init__()
        self.session = session
        self.key = key
        self._loading = True
        self._answer_setters: dict[str, Callable[[Any], None]] = {}

    def compose(self) -> ComposeResult:
        """Case line with the saved indicator, the big step title, the body, the keys."""
        s = self.session
        steps = s.steps
        number = steps.index(self.key) + 1 if self.key in steps else 1
        case = s.case
        with Horizontal(classes="title-bar"):
            yield Static(
                safe_content(
                    _("Visit · {case} · {family} · {day}").format(
                        case=case.id, family=case.family_name, day=s.record.date
                    )
                ),
                id="visit-case",
            )
            yield Static(_(SAVED_WORDS["saved"]), id="saved")
        yield Static(
            _("Step {number} of {count} · {title}").format(
                number=number, count=len(steps), title=safe_content(s.title(self.key))
            ),
            id="step-title",
        )
        # Not focusable itself: Tab past the last field would land on the body, which shows
        # no focus and takes no text, and the next keys would vanish.
        with VerticalScroll(id="step-body", can_focus=False):
            yield from self.compose_body()
        yield StatusBar()
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        """The step's questions."""
        yield Static("")

    def on_mount(self) -> None:
        """Show saved/saving as the draft is written; answers start flowing after mount.

        Textual calls this itself after a step's own `on_mount` (it runs the handler of
        every class of the step), so a step never calls it again: a second `_ready` would
        take the focus back from the keys typed ahead, once they had moved it.
        """
        self.session.indicator = self._indicate
        self._indicate("saved" if self.session.saved else "editing")
        self.call_after_refresh(self._ready)

    def first_field(self) -> Widget | None:
        """The first text field shown (not a tick box: a typed space must not tick it)."""
        shown = [
            w
            for w in self.query("#step-body *")
            if w.focusable and all(a.display for a in w.ancestors_with_self if a is not self)
        ]
        typed = [w for w in shown if isinstance(w, Input | TextArea)]
        return (typed or shown or [None])[0]

    async def _ready(self) -> None:
        if not self._loading:
            return  # ready once: the keys typed ahead have the focus now, not the step
        if self is not self.app.screen:
            self._loading = False
            return  # replaced before it was drawn: the step in front hands the keys over
        first = self.first_field()
        if first is not None:
            # now, not later: the kept keys are handed over next; the step stays at its top
            self.set_focus(first, scroll_visible=False)
        self._loading = False
        await cast("FieldkitApp", self.app).release_keys()

    def harvest(self) -> None:
        """Read every bound answer from its widget before the step goes away.

        The last letters typed may still be on their way as Changed messages; the widgets
        already hold them, so nothing typed is lost to a fast Ctrl+N.
        """
        if self._loading or not self.is_attached:
            return
        for name, setter in self._answer_setters.items():
            try:
                widget = self.query_one(f"#{name}")
            except Exception:
                continue
            value: Any
            if isinstance(widget, Input):
                value = widget.value
            elif isinstance(widget, TextArea):
                value = widget.text
            elif isinstance(widget, Checkbox):
                value = widget.value
            elif isinstance(widget, RadioSet):
                pressed = [n for n, b in enumerate(widget.query(RadioButton)) if b.value]
                value = pressed[0] if pressed else -1
            elif isinstance(widget, SelectionList):
                value = list(widget.selected)
            else:
                continue
            setter(value)
        self.session.changed()

    def _indicate(self, state: str) -> None:
        # The autosave's worker may report while this step is attached but not yet composed
        # (or being recomposed): no indicator to update then, and nothing to fail on.
        for saved in self.query("#saved").results(Static):
            saved.update(_(SAVED_WORDS[state]))

    # --- answers flow into the draft -----------------------------------------------------

    @property
    def record(self) -> VisitRecord:
        """The visit record this step writes into."""
        return self.session.record

    def bind(self, widget: W, setter: Callable[[Any], None]) -> W:
        """Bind a widget to a record field: each change of the widget's value calls `setter`."""
        assert widget.id, "a bound widget needs an id"
        self._answer_setters[widget.id] = setter
        return widget

    def _changed(self, widget: Widget | None, value: Any) -> None:
        if self._loading or widget is None or not widget.id:
            return
        setter = self._answer_setters.get(widget.id)
        if setter is None:
            return
        setter(value)
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

    def bind_yes_no(self, radio: RadioSet, setter: Callable[[bool | None], None]) -> RadioSet:
        """Bind a Yes / No question: the first button is True, the second False."""
        return self.bind(radio, lambda index: setter(None if index < 0 else index == 0))

    def bind_choice(
        self, radio: RadioSet, options: tuple[str, ...], setter: Callable[[str | None], None]
    ) -> RadioSet:
        """Bind a one-of question: the pressed button's option, None when none is pressed."""
        return self.bind(
            radio, lambda index: setter(options[index] if 0 <= index < len(options) else None)
        )

    @on(RadioSet.Changed)
    def _radio_changed(self, event: RadioSet.Changed) -> None:
        self._changed(event.radio_set, event.radio_set.pressed_index)

    @on(SelectionList.SelectedChanged)
    def _selection_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        self._changed(event.selection_list, list(event.selection_list.selected))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.focus_next()

    # --- moving between steps ------------------------------------------------------------

    def action_enter(self) -> None:
        """Enter in a one-line field goes to the next field; elsewhere Enter is the widget's."""
        if not isinstance(self.focused, Input):
            raise SkipAction()
        self.focus_next()

    def action_next_step(self) -> None:
        """Go on to the next step (the draft is written first)."""
        following = self.session.offset(self.key, 1)
        if following is not None:
            self.harvest()
            self.session.go(following)

    def action_previous_step(self) -> None:
        """Back one step; from the first step, back to the case."""
        self.harvest()
        previous = self.session.offset(self.key, -1)
        if previous is None:
            self.session.leave()
        else:
            self.session.go(previous)

    def action_review(self) -> None:
        """Jump to the review page: what the profile still requires."""
        if self.key != "review":
            self.harvest()
            self.session.go("review")

    def action_leave(self) -> None:
        """Back to the case; the draft is kept and offered again."""
        self.harvest()
        self.session.leave()
        self.app.notify(_("Visit kept as a draft; F4 on the caseload or v on the case resumes it."))
