"""Step 7: the whole record as it will be signed, what is still required, overrides with
reasons, and the signature (one confirmation key)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.visit.override import OverrideDialog
from fieldkit.screens.visit.record import VisitRecordScreen
from fieldkit.screens.visit.step import VisitStep
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.services import visits
from fieldkit.services.visits import add_override
from fieldkit.text import safe_content
from fieldkit.visit_render import names_of, visit_text

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.practice.visit_checks import VisitCheck

RULE_STEPS = {
    "VI-4": "kind",
    "SA-3": "safety",
    "SA-2": "safety",
    "PL-4": "progress",
}
"""Which step answers each rule (VI-1..VI-3 go by check code, or to the child named)."""

CODE_STEPS = {
    "date": "kind",
    "date-future": "kind",
    "date-before-opened": "kind",
    "kind": "kind",
    "kind-unknown": "kind",
    "outcome": "kind",
    "attempt-time": "kind",
    "attempt-action": "kind",
    "completed-with-attempt": "kind",
    "announced": "kind",
    "present-unknown": "present",
    "notes": "next",
    "next-visit": "next",
    "next-visit-date": "next",
    "next-visit-before": "next",
}


class ReviewStep(VisitStep):
    """The whole record as it will be signed, what is still required, overrides, signature."""

    CSS_PATH = ["step.tcss", "review.tcss"]
    BINDINGS = [
        Binding("ctrl+s", "sign", N_("Sign visit"), priority=True),
        Binding("o", "override", N_("Override…")),
        Binding("y", "confirm_sign", N_("Yes, sign"), show=False),
        # The step opens on the list of what is still required, which would take these:
        # the record to be signed is read a page at a time, mouse or not ("↑ ↓ PgUp" in F1).
        Binding("pagedown", "scroll_record(1)", "", show=False, priority=True),
        Binding("pageup", "scroll_record(-1)", "", show=False, priority=True),
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
        self.checks: list[VisitCheck] = []
        self.open: list[VisitCheck] = []
        self.confirming = False

    def compose_body(self) -> ComposeResult:
        """What is still required, the sign state, then the whole record as it will be signed."""
        yield Label(_("What the profile still requires"), id="checks-title")
        yield OptionList(id="checks")
        yield Static("", id="sign-state")
        yield Label(_("The record as it will be signed"), id="record-title")
        yield Static("", id="summary")

    def on_mount(self) -> None:
        """Run the practice rules on the record (pure, no I/O)."""
        self.refresh_checks()

    def action_scroll_record(self, pages: int) -> None:
        """A page of the record down (1) or up (-1)."""
        body = self.query_one("#step-body", VerticalScroll)
        if pages > 0:
            body.scroll_page_down(animate=False)
        else:
            body.scroll_page_up(animate=False)

    def refresh_checks(self) -> None:
        """Recompute the checks and show them, and the record with its overrides."""

        s = self.session
        visits.drop_stale_overrides(s.case, s.record, s.policy, s.app.today)
        self.checks = s.checks()
        self.open = [c for c in self.checks if c.override is None]
        self.query_one("#summary", Static).update(
            safe_content(visit_text(s.record, names_of(s.case)))
        )
        options = self.query_one("#checks", OptionList)
        options.clear_options()
        for n, check in enumerate(self.open):
            mark = _("✗ must") if check.blocking else _("⚠ should")
            how = _("o overrides") if check.gate else _("not overridable")
            options.add_option(
                Option(
                    safe_content(f"{mark} · {check.rule} · {check.message} ({how})"),
                    id=f"check-{n}",
                )
            )
        for check in self.checks:
            if check.override is not None:
                options.add_option(
                    Option(
                        safe_content(
                            _("↷ overridden · {id} · {message} — reason: {reason}").format(
                                id=check.id, message=check.message, reason=check.override
                            )
                        ),
                        disabled=True,
                    )
                )
        blocking = [c for c in self.checks if c.blocking]
        state = self.query_one("#sign-state", Static)
        self.confirming = False
        if blocking:
            state.update(
                _(
                    "Signing is blocked: {n} thing(s) missing. "
                    "Enter goes to the step; o overrides a gate with a reason."
                ).format(n=len(blocking))
            )
            state.set_class(True, "blocked")
        else:
            state.update(
                _(
                    "Ready to sign: read the record below, then Ctrl+S. "
                    "After signing, corrections are addenda."
                )
            )
            state.set_class(False, "blocked")
        options.display = bool(self.checks)
        self.query_one("#checks-title").display = bool(self.checks)
        if self.open:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#checks")
    def _go_fix(self, event: OptionList.OptionSelected) -> None:
        index = int(str(event.option.id).removeprefix("check-")) if event.option.id else -1
        if not 0 <= index < len(self.open):
            return
        check = self.open[index]
        target = CODE_STEPS.get(check.code) or RULE_STEPS.get(check.rule, "review")
        if check.subject and check.subject in {c.id for c in self.session.case.children}:
            target = f"child:{check.subject}"
        if target != "review":
            self.session.go(target)

    def action_override(self) -> None:
        """Go past the highlighted gate check, with a reason (kept on the record)."""
        options = self.query_one("#checks", OptionList)
        index = options.highlighted
        if index is None or not 0 <= index < len(self.open):
            self.notify(_("Highlight a check to override first."))
            return
        check = self.open[index]
        if not check.gate:
            self.notify(
                _(
                    "{message}: a content requirement cannot be overridden; Enter goes to the step."
                ).format(message=check.message),
                severity="warning",
                title=_("{rule} cannot be overridden").format(rule=check.rule),
            )
            return
        self.app.push_screen(OverrideDialog(check), lambda reason: self._overridden(check, reason))

    def _overridden(self, check: VisitCheck, reason: str | None) -> None:
        if not reason:
            return
        s = self.session
        add_override(s.record, check, reason, s.record.author, datetime.now(UTC))
        s.changed()
        self.refresh_checks()

    def action_sign(self) -> None:
        """Ask for the one confirmation key, if nothing blocking is left."""
        blocking = [c for c in self.checks if c.blocking]
        if blocking:
            self.notify(
                safe_content(
                    _("Not signed: {message} ({rule}).").format(
                        message=blocking[0].message, rule=blocking[0].rule
                    )
                ),
                severity="warning",
                title=_("Signing is blocked"),
            )
            return
        self.confirming = True
        state = self.query_one("#sign-state", Static)
        state.update(
            _("Sign this record exactly as shown below? y signs; any other key goes back.")
        )
        state.set_class(True, "blocked")

    def action_confirm_sign(self) -> None:
        """y after Ctrl+S: the signature goes through the visit's write worker."""
        if not self.confirming:
            return
        self.confirming = False
        self.query_one("#sign-state", Static).update(_("Signing…"))
        self._sign()

    def on_key(self, event: Any) -> None:
        """Any key but y after Ctrl+S takes the question back."""
        if self.confirming and getattr(event, "key", "") != "y":
            self.refresh_checks()

    @work(thread=True, exclusive=True, group="visit-write")
    @guarded
    def _sign(self) -> None:
        s = self.session
        store = cast("FieldkitApp", self.app).store
        if store is None:
            self.post_message(self.SigningRefused(_("the profile is locked")))
            return
        try:
            visit_id = s.sign(store)
        except FieldkitError as exc:
            self.post_message(self.SigningRefused(str(exc)))
            return
        self.post_message(self.VisitSigned(visit_id))

    @on(SigningRefused)
    def _refused(self, event: SigningRefused) -> None:
        self.query_one("#sign-state", Static).update(safe_content(f"✗ {event.reason}"))
        self.notify(safe_content(event.reason), severity="error", title=_("Not signed"))

    @on(VisitSigned)
    def _signed(self, event: VisitSigned) -> None:
        fk = cast("FieldkitApp", self.app)
        fk.visit_session = None
        self.app.notify(_("Visit signed and saved. It waits in the outbox for sync."))
        self.app.switch_screen(VisitRecordScreen(self.session.case, event.visit_id))
