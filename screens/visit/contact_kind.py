"""Step 1: the kind of contact, and whether it was announced (rule VI-4)."""

from __future__ import annotations

from typing import Any

from fieldkit.screens.toggles import Choice
from fieldkit.screens.visit.step import VisitStep, yes_no
from textual.app import ComposeResult
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from fieldkit.text import safe


class ContactKindStep(VisitStep):
    """Home, school, office…; announced or not, and why the case requires unannounced visits."""

    CSS_PATH = ["step.tcss", "contact_kind.tcss"]

    def compose_body(self) -> ComposeResult:
        """Kind, date, announced; the VI-4 requirement in words when the case has one."""
        from fieldkit.services.visits import VISIT_KINDS

        case = self.session.case
        fields = self.fields
        kinds = self.session.policy.visit_kinds or VISIT_KINDS
        if case.unannounced.required:
            why = case.unannounced.reason or "the reason is not recorded"
            yield Static(
                f"⚠ This case requires UNANNOUNCED visits (VI-4): {safe(why)}.",
                id="unannounced-required",
                classes="warning-box",
            )
        yield Label("Kind of contact")
        yield RadioSet(
            *[Choice(kind, value=fields.get("kind") == kind, id=f"kind-{kind}") for kind in kinds],
            id="kind",
        )
        yield Label("Was the visit announced to the family?")
        yield yes_no("announced", fields.get("announced"), "Announced", "Unannounced")
        yield Label("Date of the visit (YYYY-MM-DD)")
        yield Input(str(fields.get("date") or ""), id="date", placeholder="YYYY-MM-DD")

    def answer(self, name: str, value: Any) -> None:
        """The kind is the pressed button's label."""
        if name == "kind":
            radio = self.query_one("#kind", RadioSet)
            pressed = next((b for b in radio.query(RadioButton) if b.value), None)
            self.fields["kind"] = str(pressed.label) if pressed is not None else "home"
            return
        super().answer(name, value)
