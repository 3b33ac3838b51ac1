"""Record a caregiver's acknowledgement of the safety plan or service plan (SA-5, PL-6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Select, Static

from fieldkit.acknowledgements import record_acknowledgement
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.domain import Case


class AcknowledgeScreen(ModalScreen[str | None]):
    """Which plan, which caregiver, the name as they gave it, how it was given; ctrl+s saves."""

    DEFAULT_CSS = """
    AcknowledgeScreen { align: center middle; }
    AcknowledgeScreen > VerticalScroll {
        width: 76; max-width: 98%; height: auto; max-height: 95%; padding: 0 2;
        border: thick $accent; background: $surface;
    }
    AcknowledgeScreen Label { margin-top: 1; }
    AcknowledgeScreen #ack-error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save")),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    class Recorded(Message):
        """The acknowledgement was written as a signed record (or refused, with why)."""

        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    def __init__(self, case: Case, attachments: list[tuple[str, str]]) -> None:
        super().__init__()
        self.case = case
        self.attachments = attachments

    def compose(self) -> ComposeResult:
        """Plan, caregiver, typed name, how, photographed page."""
        plans: list[tuple[str, str]] = [
            (
                _("{kind} safety plan ({id})").format(kind=p.kind, id=p.id),
                f"safety_plan:{p.id}",
            )
            for p in self.case.safety_plans
            if p.active
        ]
        if self.case.service_plan is not None:
            plans.append((_("service plan"), f"service_plan:{self.case.service_plan.id}"))
        with VerticalScroll():
            yield Static(_("[b]Caregiver's acknowledgement of a plan[/b]"))
            yield Label(_("Plan"))
            yield (
                Select(plans, id="ack-plan", allow_blank=False)
                if plans
                else Static(_("This case has no plan to acknowledge."))
            )
            yield Label(_("Caregiver"))
            with RadioSet(id="ack-caregiver"):
                for n, person in enumerate(self.case.caregivers):
                    yield RadioButton(safe_content(person.name), id=f"caregiver-{n}")
            yield Label(_("Name as the caregiver gave it"))
            yield Input(id="ack-name")
            yield Label(_("How it was given"))
            with RadioSet(id="ack-how"):
                yield RadioButton(_("Signed on paper (photographed)"), id="how-signed-on-paper")
                yield RadioButton(_("Read aloud and agreed"), id="how-read-aloud-agreed")
                yield RadioButton(_("Refused"), id="how-refused")
            yield Label(_("Photograph of the signed page (for a plan signed on paper)"))
            yield Select(
                [(safe_content(label), att_id) for att_id, label in self.attachments],
                id="ack-attachment",
            )
            yield Static("", id="ack-error")

    def _value(self, selector: str) -> str | None:
        widgets = self.query(selector)
        if not widgets:
            return None
        value = cast("Select[str]", widgets.first()).value
        return value if isinstance(value, str) else None

    def action_save(self) -> None:
        """Check the form, then write off the UI thread."""
        plan = self._value("#ack-plan")
        pressed = self.query_one("#ack-how", RadioSet).pressed_button
        chosen = self.query_one("#ack-caregiver", RadioSet).pressed_index
        caregivers = self.case.caregivers
        values: dict[str, Any] = {
            "caregiver": caregivers[chosen].id if 0 <= chosen < len(caregivers) else None,
            "typed_name": self.query_one("#ack-name", Input).value,
            "how": (pressed.id or "").removeprefix("how-") if pressed else "",
            "attachment": self._value("#ack-attachment"),
        }
        if plan is None:
            self.query_one("#ack-error", Static).update(_("Choose the plan."))
            return
        if not values["caregiver"]:
            self.query_one("#ack-error", Static).update(_("Choose the caregiver."))
            return
        if not values["how"]:
            self.query_one("#ack-error", Static).update(_("Say how it was given."))
            return
        kind, _sep, plan_id = plan.partition(":")
        self.save(kind, plan_id, values)

    @work(thread=True, exclusive=True, group="acknowledge")
    def save(self, kind: str, plan_id: str, values: dict[str, Any]) -> None:
        """Record the acknowledgement as a signed record; a refusal is shown, never lost."""

        fk = cast("FieldkitApp", self.app)
        if fk.store is None:
            return
        try:
            record_acknowledgement(fk.store, self.case.id, plan=kind, plan_id=plan_id, **values)
        except FieldkitError as exc:
            self.post_message(self.Recorded(str(exc), ok=False))
            return
        self.post_message(self.Recorded(_("✓ Acknowledgement recorded."), ok=True))

    @on(Recorded)
    def _recorded(self, event: Recorded) -> None:
        if event.ok:
            self.dismiss(event.text)
        else:
            self.query_one("#ack-error", Static).update(safe_content(event.text))

    def action_cancel(self) -> None:
        """Nothing is recorded."""
        self.dismiss(None)
