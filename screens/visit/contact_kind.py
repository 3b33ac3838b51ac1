"""Step 1: the kind of contact, its outcome, the date, and whether it was announced (VI-4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldkit.screens.visit.step import VisitStep, choice, yes_no
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from fieldkit.i18n import _

if TYPE_CHECKING:
    from fieldkit.practice import PolicyProfile

from fieldkit.text import safe_content
from fieldkit.visit_record import OUTCOMES


class ContactKindStep(VisitStep):
    """Home, placement, school…; completed or attempted; announced or not, and why it matters."""

    CSS_PATH = ["step.tcss", "contact_kind.tcss"]

    def compose_body(self) -> ComposeResult:
        """Kind, outcome, date, announced; the VI-4 requirement in words when the case has one."""
        case = self.session.case
        policy = self.session.policy
        record = self.record
        if case.unannounced.required:
            why = case.unannounced.reason or _("the reason is not recorded")
            yield Static(
                _("⚠ This case requires UNANNOUNCED visits (VI-4): {why}.").format(
                    why=safe_content(why)
                ),
                id="unannounced-required",
                classes="warning-box",
            )
        kinds = policy.contact_kinds
        yield Label(_("Kind of contact"))
        yield self.bind_choice(
            choice("kind", kinds, record.kind), kinds, lambda v: setattr(record, "kind", v)
        )
        yield Static(
            _("Rules each kind can meet: {rules}").format(rules=_meets(policy)), id="kind-meets"
        )
        yield Label(_("Outcome: did the visit take place?"))
        yield self.bind_choice(
            choice("outcome", OUTCOMES, record.outcome),
            OUTCOMES,
            lambda v: setattr(record, "outcome", v),
        )
        with Vertical(id="attempt"):
            yield Static(
                _("An attempt is recorded as such: it meets no visit rule (VI-1, VI-2, VI-3)."),
                classes="hint",
            )
            yield Label(_("Time of the attempt (HH:MM)"))
            yield self.bind(
                Input(record.attempt_time, id="attempt_time", placeholder=_("HH:MM")),
                lambda v: self._attempt("attempt_time", str(v)),
            )
            yield Label(_("What was done (card left, neighbour asked, supervisor called)"))
            yield self.bind(
                Input(record.attempt_action, id="attempt_action"),
                lambda v: self._attempt("attempt_action", str(v)),
            )
        yield Label(_("Was the visit announced to the family?"))
        yield self.bind_yes_no(
            yes_no("announced", record.announced, _("Announced"), _("Unannounced")),
            lambda v: setattr(record, "announced", v),
        )
        yield Label(_("Date of the visit (YYYY-MM-DD)"))
        yield self.bind(
            Input(record.date, id="date", placeholder=_("YYYY-MM-DD")),
            lambda v: setattr(record, "date", v.strip()),
        )

    def on_mount(self) -> None:
        """The attempt's questions show only for an attempt."""
        self._show_attempt()

    def _attempt(self, name: str, value: str) -> None:
        """The attempt's answers stand only for an attempt: out of sight once the visit is
        "completed", they are not part of the record (nor of what is signed)."""
        outcome = self.record.outcome
        setattr(self.record, name, value if outcome is not None and outcome != "completed" else "")

    def answer_changed(self, name: str) -> None:
        """Choosing an outcome shows or hides the attempt's questions (and their answers in
        the record)."""
        if name == "outcome":
            self.harvest()
            self._show_attempt()

    def _show_attempt(self) -> None:
        outcome = self.record.outcome
        self.query_one("#attempt").display = outcome is not None and outcome != "completed"


def _meets(policy: PolicyProfile) -> str:
    """ "home: VI-2 VI-3 · phone: none" from the profile's `[visit_kinds]`."""
    rules = policy.visit_kind_rules
    none = _("none")
    return " · ".join(_(kind) + ": " + (" ".join(r) or none) for kind, r in rules)
