"""Step 4, once per child: seen or not (and why), then a private interview (verbal, VI-2) or a
direct observation (non-verbal, VI-3). Nothing starts answered."""

from __future__ import annotations

from typing import Any

from fieldkit.screens.visit.step import VisitStep, choice, yes_no
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static, TextArea

from fieldkit.i18n import _
from fieldkit.services.visits import person_label
from fieldkit.text import safe_content
from fieldkit.visit_record import NOT_SEEN_REASONS, ChildObservation, PrivateInterview


class ChildContactStep(VisitStep):
    """Seen / not seen with a reason; a private interview or a direct observation."""

    CSS_PATH = ["step.tcss", "child_contact.tcss"]

    def __init__(self, session: Any, key: str) -> None:
        super().__init__(session, key)
        self.person_id = key.split(":", 1)[1]
        contact = self.record.contact(self.person_id)
        self.interview = contact.private_interview or PrivateInterview()
        self.observation = contact.observation or ChildObservation()

    @property
    def present(self) -> bool:
        """A child not ticked present at step 2 cannot be recorded as seen."""
        return self.person_id in self.record.present

    def compose_body(self) -> ComposeResult:
        """Who the child is, seen or not, then the interview or the observation."""
        person = self.session.person(self.person_id)
        c = self.record.contact(self.person_id)
        name = safe_content(person.name if person else self.person_id)
        today = self.session.app.today
        yield Static(
            safe_content(person_label(person, today) if person else self.person_id),
            id="child-label",
        )
        if not self.present:
            yield Static(
                _(
                    "{name} is not ticked as present (step 2), so cannot be recorded as seen."
                ).format(name=name),
                id="not-present",
                classes="warning-box",
            )
        yield Label(_("Was {name} seen at this visit?").format(name=name))
        seen = yes_no("seen", c.seen, _("Seen"), _("Not seen"))
        yield self.bind_yes_no(seen, self._set_seen)
        with Vertical(id="not-seen"):
            yield Label(_("Why was {name} not seen?").format(name=name))
            yield self.bind_choice(
                choice("not_seen_reason", NOT_SEEN_REASONS, c.not_seen_reason or None),
                NOT_SEEN_REASONS,
                lambda v: setattr(c, "not_seen_reason", (v or "") if c.seen is False else ""),
            )
            yield Label(_("The reason in words (for other)"))
            yield self.bind(
                Input(c.not_seen_detail, id="not_seen_detail"),
                lambda v: setattr(c, "not_seen_detail", str(v) if c.seen is False else ""),
            )
        with Vertical(id="seen-part"):
            if person is None or person.verbal:
                yield from self._interview(name, c.private_interview is not None)
            else:
                yield from self._observation(name, c.observation is not None)

    def _interview(self, name: str, held: bool) -> ComposeResult:
        i = self.interview
        yield Label(_("Was {name} interviewed privately, face to face? (VI-2)").format(name=name))
        yield self.bind_yes_no(
            yes_no("interviewed", True if held else None, _("Interviewed"), _("No interview")),
            self._set_interviewed,
        )
        with Vertical(id="interview"):
            yield Label(_("Seen alone, with no caregiver in the room?"))
            yield self.bind_yes_no(yes_no("seen_alone", i.alone), lambda v: setattr(i, "alone", v))
            yield Label(_("Where was the child interviewed?"))
            yield self.bind(
                Input(i.where, id="where", placeholder=_("e.g. child's bedroom")),
                lambda v: setattr(i, "where", str(v)),
            )
            yield Label(_("Could anyone overhear?"))
            yield self.bind_yes_no(
                yes_no("could_be_overheard", i.could_be_overheard),
                lambda v: setattr(i, "could_be_overheard", v),
            )
            yield Label(_("What the child said (their words)"))
            yield self.bind(TextArea(i.words, id="said"), lambda v: setattr(i, "words", str(v)))

    def _observation(self, name: str, held: bool) -> ComposeResult:
        o = self.observation
        yield Label(_("Was {name} directly observed with the caregiver? (VI-3)").format(name=name))
        yield self.bind_yes_no(
            yes_no("observed", True if held else None, _("Observed"), _("Not observed")),
            self._set_observed,
        )
        with Vertical(id="observation"):
            yield Label(_("Where was the child observed?"))
            yield self.bind(
                Input(o.where, id="observed_where", placeholder=_("e.g. living room")),
                lambda v: setattr(o, "where", str(v)),
            )
            yield Label(_("Interaction with the caregiver"))
            yield self.bind(
                TextArea(o.interaction, id="interaction"),
                lambda v: setattr(o, "interaction", str(v)),
            )
            yield Label(_("The child's condition (feeding, hygiene, marks, development)"))
            yield self.bind(
                TextArea(o.condition, id="condition"), lambda v: setattr(o, "condition", str(v))
            )
            yield Label(_("The home environment (sleeping place, hazards)"))
            yield self.bind(
                Input(o.environment, id="environment"),
                lambda v: setattr(o, "environment", str(v)),
            )

    def on_mount(self) -> None:
        """Only the questions that follow from the answers so far are shown."""
        if not self.present:
            self.query_one("#seen-yes").disabled = True
        self._show()

    def _set_seen(self, value: bool | None) -> None:
        contact = self.record.contact(self.person_id)
        if value is True and not self.present:
            value = None  # rule VI-1: a child not present is not seen
        contact.seen = value
        if value is False:  # not seen: no interview or observation can stand
            contact.private_interview = None
            contact.observation = None

    # An interview or an observation stands only for a child recorded as seen, a reason for
    # not seeing only for one recorded as not seen: the other questions are out of sight,
    # and leaving the step (which reads every answer back) must not bring back an answer
    # the worker can no longer see.
    def _set_interviewed(self, value: bool | None) -> None:
        contact = self.record.contact(self.person_id)
        held = bool(value) and contact.seen is True
        contact.private_interview = self.interview if held else None

    def _set_observed(self, value: bool | None) -> None:
        contact = self.record.contact(self.person_id)
        held = bool(value) and contact.seen is True
        contact.observation = self.observation if held else None

    def answer_changed(self, name: str) -> None:
        """Seen opens the interview or observation; not seen asks why."""
        if name == "seen":
            # the answers in sight after the change are the record's, the others leave it
            self.harvest()
        self._show()

    def _show(self) -> None:
        contact = self.record.contact(self.person_id)
        self.query_one("#not-seen").display = contact.seen is False
        self.query_one("#seen-part").display = contact.seen is True
        for part, held in (
            ("#interview", contact.private_interview is not None),
            ("#observation", contact.observation is not None),
        ):
            for widget in self.query(part):
                widget.display = held
