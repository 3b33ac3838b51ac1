"""Step 4, once per child: private interview (verbal, VI-2) or direct observation (VI-3)."""

from __future__ import annotations

from typing import Any

from fieldkit.screens.toggles import TickBox
from fieldkit.screens.visit.step import VisitStep, yes_no
from textual.app import ComposeResult
from textual.widgets import Input, Label, Static, TextArea

from fieldkit.text import safe


class ChildContactStep(VisitStep):
    """Verbal child: a private interview. Non-verbal child: observed with the caregiver."""

    CSS_PATH = ["step.tcss", "child_contact.tcss"]

    def __init__(self, session: Any, key: str) -> None:
        super().__init__(session, key)
        self.person_id = key.split(":", 1)[1]

    @property
    def contact(self) -> dict[str, Any]:
        """This child's contact in the draft (made on first use)."""
        contacts: list[dict[str, Any]] = self.fields.setdefault("contacts", [])
        for contact in contacts:
            if contact["person"] == self.person_id:
                return contact
        contact = {"person": self.person_id, "seen": True}
        contacts.append(contact)
        return contact

    def compose_body(self) -> ComposeResult:
        """Who the child is, then the interview or the observation."""
        from fieldkit.services.visits import person_label

        person = self.session.person(self.person_id)
        c = self.contact
        today = self.session.app.today
        yield Static(
            safe(person_label(person, today) if person else self.person_id), id="child-label"
        )
        yield TickBox("Seen at this visit", c.get("seen", True), id="seen")
        if person is None or person.verbal:
            yield TickBox(
                "Interviewed privately (VI-2)",
                bool(c.get("private_interview")),
                id="private_interview",
            )
            yield Label("Seen alone, with no caregiver in the room?")
            yield yes_no("seen_alone", c.get("seen_alone"))
            yield Label("Where was the child interviewed?")
            yield Input(str(c.get("where") or ""), id="where", placeholder="e.g. child's bedroom")
            yield Label("Could anyone overhear?")
            yield yes_no("could_be_overheard", c.get("could_be_overheard"))
            yield Label("What the child said (their words)")
            yield TextArea(str(c.get("said") or ""), id="said")
        else:
            yield TickBox(
                "Directly observed in the home with the caregiver (VI-3)",
                bool(c.get("observed")),
                id="observed",
            )
            yield Label("Interaction with the caregiver")
            yield TextArea(str(c.get("interaction") or ""), id="interaction")
            yield Label("The child's condition (feeding, hygiene, marks, development)")
            yield TextArea(str(c.get("condition") or ""), id="condition")
            yield Label("The home environment (sleeping place, hazards)")
            yield Input(str(c.get("environment") or ""), id="environment")

    def answer(self, name: str, value: Any) -> None:
        """Every answer here belongs to this child's contact."""
        self.contact[name] = value
