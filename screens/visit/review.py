"""Step 7: what the profile still requires, overrides with reasons, and the signature."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.visit.step import VisitStep
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from fieldkit.text import safe

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.practice import GateCheck

RULE_STEPS = {
    "VI-4": "kind",
    "SA-3": "safety",
    "SA-2": "safety",
    "PL-4": "progress",
    "VI-1": "next",
}
"""Which step answers each rule (VI-2/VI-3 go to the child named by the check)."""


class ReviewStep(VisitStep):
    """Lists what is missing; Enter goes to fix it, o overrides with a reason, Ctrl+S signs."""

    HELP_TITLE = "Review and sign"
    CSS_PATH = ["step.tcss", "review.tcss"]
    BINDINGS = [
        Binding("ctrl+s", "sign", "Sign visit", priority=True),
        Binding("o", "override", "Override…"),
    ]

    class VisitSigned(Message):
        """The visit was signed and stored; it is read-only from now on."""

        def __init__(self, visit_id: str) -> None:
            super().__init__()
            self.visit_id = visit_id

    class SigningRefused(Message):
        """The store or the rules refused the signature; `reason` is for the worker."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, session: Any, key: str) -> None:
        super().__init__(session, key)
        self.checks: list[GateCheck] = []

    def compose_body(self) -> ComposeResult:
        """The visit in brief, then what is still required."""
        yield Static(safe(self._summary()), id="summary")
        yield Label("What the profile still requires", id="checks-title")
        yield OptionList(id="checks")
        yield Static("", id="sign-state")

    def on_mount(self) -> None:
        """Run the practice rules on the draft (pure, no I/O)."""
        super().on_mount()
        self.refresh_checks()

    def _summary(self) -> str:
        s = self.session
        f = s.draft["fields"]
        names = {p.id: p.name for p in s.case.people}
        lines = [
            f"{f.get('kind', 'home')} visit on {f.get('date')} · "
            f"{'announced' if f.get('announced') else 'unannounced'} · "
            f"at {f.get('location') or '?'}",
            "present: "
            + (", ".join(names.get(p, p) for p in f.get("present") or []) or "nobody ticked"),
        ]
        for c in f.get("contacts") or []:
            name = names.get(c["person"], c["person"])
            if not c.get("seen", True):
                lines.append(f"{name}: not seen")
            elif c.get("private_interview"):
                alone = {True: "alone", False: "not alone", None: "alone?"}[c.get("seen_alone")]
                lines.append(
                    f"{name}: interviewed privately, {alone}, {c.get('where') or 'where?'}"
                )
            elif c.get("observed"):
                lines.append(f"{name}: observed with the caregiver")
            else:
                lines.append(f"{name}: seen")
        changed = f.get("safety_changed")
        safety = s.draft.get("safety") or {}
        lines.append(
            "safety: " + {True: "CHANGED", False: "no change", None: "not answered"}[changed]
        )
        threats = [t for t in safety.get("new_threats") or [] if t.strip()]
        if changed and threats:
            approval = (
                f"approved by phone by {safety['phone_approval_by']}"
                if str(safety.get("phone_approval_by") or "").strip()
                else "PENDING SUPERVISOR APPROVAL"
            )
            lines.append(f"  {len(threats)} new threat(s) → alternative safety plan, {approval}")
        return "\n".join(lines)

    def refresh_checks(self) -> None:
        """Recompute the checks and show them, overrides included."""
        from fieldkit.practice import apply_overrides
        from fieldkit.services.visits import overrides_of, sign_checks

        s = self.session
        all_checks = sign_checks(s.case, s.draft, s.policy)
        self.checks = apply_overrides(all_checks, overrides_of(s.draft))
        options = self.query_one("#checks", OptionList)
        options.clear_options()
        for n, check in enumerate(self.checks):
            mark = "✗ must" if check.blocking else "⚠ should"
            options.add_option(
                Option(f"{mark} · {safe(check.rule)} · {safe(check.message)}", id=f"check-{n}")
            )
        for given in s.draft.get("overrides") or []:
            options.add_option(
                Option(
                    safe(
                        f"↷ overridden · {given['rule']} · {given.get('message', '')} — "
                        f"reason: {given['reason']}"
                    ),
                    disabled=True,
                )
            )
        blocking = [c for c in self.checks if c.blocking]
        state = self.query_one("#sign-state", Static)
        if blocking:
            state.update(
                f"✗ Signing is blocked: {len(blocking)} thing(s) missing. "
                "Enter goes to the step; o overrides with a reason."
            )
            state.set_class(True, "blocked")
        else:
            state.update("✓ Ready to sign: Ctrl+S. After signing, corrections are addenda.")
            state.set_class(False, "blocked")
        if self.checks:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#checks")
    def _go_fix(self, event: OptionList.OptionSelected) -> None:
        index = int(str(event.option.id).removeprefix("check-")) if event.option.id else -1
        if not 0 <= index < len(self.checks):
            return
        check = self.checks[index]
        target = RULE_STEPS.get(check.rule, "review")
        if check.rule in ("VI-2", "VI-3") and check.subject:
            target = f"child:{check.subject}"
        if target != "review":
            self.session.go(target)

    def action_override(self) -> None:
        """Go past the highlighted check, with a reason (kept as an override record)."""
        from fieldkit.screens.visit.override import OverrideDialog

        options = self.query_one("#checks", OptionList)
        index = options.highlighted
        if index is None or not 0 <= index < len(self.checks):
            self.notify("Highlight a check to override first.")
            return
        check = self.checks[index]
        self.app.push_screen(OverrideDialog(check), lambda reason: self._overridden(check, reason))

    def _overridden(self, check: GateCheck, reason: str | None) -> None:
        from fieldkit.services.visits import add_override

        if not reason:
            return
        s = self.session
        add_override(
            s.draft, check, reason, s.draft["fields"].get("author") or "", datetime.now(UTC)
        )
        s.changed()
        self.refresh_checks()

    def action_sign(self) -> None:
        """Sign, if nothing blocking is left; the write happens in a worker."""
        blocking = [c for c in self.checks if c.blocking]
        if blocking:
            self.notify(
                safe(f"Not signed: {blocking[0].message} ({blocking[0].rule})."),
                severity="warning",
                title="Signing is blocked",
            )
            return
        self.query_one("#sign-state", Static).update("Signing…")
        self.session.flush()
        self._sign()

    @work(thread=True, exclusive=True, group="sign")
    def _sign(self) -> None:
        from fieldkit.errors import FieldkitError
        from fieldkit.services import visits

        s = self.session
        store = cast("FieldkitApp", self.app).store
        if store is None:
            self.post_message(self.SigningRefused("the profile is locked"))
            return
        try:
            visits.sign_visit(store, s.case, s.draft, s.policy)
        except FieldkitError as exc:
            self.post_message(self.SigningRefused(str(exc)))
            return
        self.post_message(self.VisitSigned(s.draft["visit_id"]))

    @on(SigningRefused)
    def _refused(self, event: SigningRefused) -> None:
        self.query_one("#sign-state", Static).update(f"✗ {safe(event.reason)}")
        self.notify(safe(event.reason), severity="error", title="Not signed")

    @on(VisitSigned)
    def _signed(self, event: VisitSigned) -> None:
        from fieldkit.screens.visit.record import VisitRecordScreen

        fk = cast("FieldkitApp", self.app)
        fk.visit_session = None
        self.app.notify("Visit signed and saved. It waits in the outbox for sync.")
        self.app.switch_screen(VisitRecordScreen(self.session.case, event.visit_id))
