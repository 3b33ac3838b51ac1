"""Step 3: the safety check (SA-3), and when threats change, an alternative plan (SA-2)."""

from __future__ import annotations

from typing import Any

from fieldkit.screens.toggles import TickList
from fieldkit.screens.visit.step import VisitStep, yes_no
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static, TextArea
from textual.widgets.selection_list import Selection

from fieldkit.text import safe


class SafetyCheckStep(VisitStep):
    """Current threats and plan; has anything changed? New threats → plan pending approval."""

    CSS_PATH = ["step.tcss", "safety_check.tcss"]

    def compose_body(self) -> ComposeResult:
        """The plan in force, the question, and the safety assessment when the answer is yes."""
        from fieldkit.services.visits import SA3_CIRCUMSTANCES

        case = self.session.case
        safety = self.session.draft.setdefault("safety", {})
        active = [t for t in case.threats if t.active]
        lines = [f"• {t.text}" for t in active] or ["• no safety threats recorded"]
        for plan in case.safety_plans:
            state = "PENDING supervisor approval" if plan.pending_approval else plan.approval.value
            for item in plan.interventions:
                lines.append(f"  ↳ {item.text} ({item.who or 'who?'}) — {plan.kind}, {state}")
        yield Static(
            "Current safety threats and plan\n" + safe("\n".join(lines)), id="current-safety"
        )
        yield Label("Have the safety threats or the circumstances changed since the last visit?")
        yield yes_no(
            "safety_changed", self.fields.get("safety_changed"), "Yes, changed", "No change"
        )
        with Vertical(id="assessment"):
            yield Label("Safety assessment (SA-3): which circumstances changed?")
            yield TickList(
                *[
                    Selection(c, c, c in (safety.get("circumstances") or []))
                    for c in SA3_CIRCUMSTANCES
                ],
                id="circumstances",
            )
            yield Label("New safety threats, one per line (leave empty if none)")
            yield TextArea("\n".join(safety.get("new_threats") or []), id="new_threats")
            yield Static(
                "New threats need an ALTERNATIVE SAFETY PLAN. It stays PENDING SUPERVISOR "
                "APPROVAL and must not be implemented before a supervisor approves it (SA-2).",
                classes="danger-box",
                id="pending-notice",
            )
            yield Label("Alternative plan: interventions, one per line (what, who)")
            yield TextArea(str(safety.get("interventions") or ""), id="interventions")
            yield Label("Approved by phone? Supervisor's name (leave empty if not yet)")
            yield Input(str(safety.get("phone_approval_by") or ""), id="phone_approval_by")
            yield Label("When was it approved by phone? (YYYY-MM-DD HH:MM)")
            yield Input(str(safety.get("phone_approval_at") or ""), id="phone_approval_at")

    def on_mount(self) -> None:
        """Show the assessment only once the worker says something changed."""
        super().on_mount()
        self._show_assessment()

    def answer(self, name: str, value: Any) -> None:
        """The assessment's answers live under the draft's `safety` part."""
        safety = self.session.draft.setdefault("safety", {})
        if name == "new_threats":
            safety["new_threats"] = [line for line in str(value).splitlines() if line.strip()]
        elif name in ("circumstances", "interventions", "phone_approval_by", "phone_approval_at"):
            safety[name] = value
        else:
            super().answer(name, value)

    def answer_changed(self, name: str) -> None:
        """Yes opens the assessment."""
        if name == "safety_changed":
            self._show_assessment()

    def _show_assessment(self) -> None:
        self.query_one("#assessment").display = bool(self.fields.get("safety_changed"))
