"""Step 3: the safety check (SA-3), and when threats change, an alternative plan (SA-2)."""

from __future__ import annotations

from fieldkit.screens.toggles import TickList
from fieldkit.screens.visit.step import VisitStep, yes_no
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static, TextArea
from textual.widgets.selection_list import Selection

from fieldkit.i18n import _
from fieldkit.services.visits import SA3_CIRCUMSTANCES
from fieldkit.text import safe_content
from fieldkit.visit_record import SafetyCheck


class SafetyCheckStep(VisitStep):
    """Current threats and plan; has anything changed? New threats → plan pending approval."""

    CSS_PATH = ["step.tcss", "safety_check.tcss"]

    def compose_body(self) -> ComposeResult:
        """The plan in force, the question, and the safety assessment when the answer is yes."""
        case = self.session.case
        safety = self.record.safety
        active = [t for t in case.threats if t.active]
        lines = [f"• {t.text}" for t in active] or [_("• no safety threats recorded")]
        for plan in case.safety_plans:
            state = (
                _("PENDING supervisor approval")
                if plan.pending_approval
                else _(plan.approval.value)
            )
            nobody = _("who?")
            for item in plan.interventions:
                lines.append(f"  ↳ {item.text} ({item.who or nobody}) — {_(plan.kind)}, {state}")
        yield Static(
            _("Current safety threats and plan") + "\n" + safe_content("\n".join(lines)),
            id="current-safety",
        )
        yield Label(_("Have the safety threats or the circumstances changed since the last visit?"))
        yield self.bind_yes_no(
            yes_no("safety_changed", safety.changed, _("Yes, changed"), _("No change")),
            lambda v: setattr(safety, "changed", v),
        )
        with Vertical(id="assessment"):
            yield Label(_("Safety assessment (SA-3): which circumstances changed?"))
            yield self.bind(
                TickList(
                    *[Selection(_(c), c, c in safety.circumstances) for c in SA3_CIRCUMSTANCES],
                    id="circumstances",
                ),
                lambda v: self._detail("circumstances", [str(c) for c in v]),
            )
            yield Label(_("New safety threats, one per line (leave empty if none)"))
            yield self.bind(
                TextArea("\n".join(safety.new_threats), id="new_threats"),
                lambda v: self._detail(
                    "new_threats", [line for line in str(v).splitlines() if line.strip()]
                ),
            )
            yield Static(
                _(
                    "New threats need an ALTERNATIVE SAFETY PLAN. It stays PENDING SUPERVISOR "
                    "APPROVAL and must not be implemented before a supervisor approves it (SA-2)."
                ),
                classes="danger-box",
                id="pending-notice",
            )
            yield Label(_("Alternative plan: interventions, one per line (what, who)"))
            yield self.bind(
                TextArea(safety.interventions, id="interventions"),
                lambda v: self._detail("interventions", str(v)),
            )
            yield Label(_("Approved by phone? Supervisor's name (leave empty if not yet)"))
            yield self.bind(
                Input(safety.phone_approval_by, id="phone_approval_by"),
                lambda v: self._detail("phone_approval_by", str(v)),
            )
            yield Label(_("When was it approved by phone? (YYYY-MM-DD HH:MM)"))
            yield self.bind(
                Input(safety.phone_approval_at, id="phone_approval_at"),
                lambda v: self._detail("phone_approval_at", str(v)),
            )

    def on_mount(self) -> None:
        """Show the assessment only once the worker says something changed."""
        self._show_assessment()

    def _detail(self, name: str, value: object) -> None:
        """An answer of the assessment stands only while the worker says safety changed: out
        of sight under "No change", it is not part of the record (nor of what is signed)."""
        safety = self.record.safety
        if safety.changed is not True:
            value = getattr(SafetyCheck(), name)
        setattr(safety, name, value)

    def answer_changed(self, name: str) -> None:
        """Yes opens the assessment (its answers on screen are the record's again); No
        closes it and takes its answers out of the record."""
        if name == "safety_changed":
            self.harvest()
            self._show_assessment()

    def _show_assessment(self) -> None:
        self.query_one("#assessment").display = bool(self.record.safety.changed)
