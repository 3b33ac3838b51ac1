"""Formal case review (RV-2, RV-5) or plan update (PL-7): the prognosis for reunification
when a child is in care (RV-4) and the RV-6 checklist of what the record holds."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.screens.case.form import CaseFormScreen, parse_day
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label, Select, Static, TextArea

from fieldkit import services
from fieldkit.i18n import N_, _
from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, casework
from fieldkit.text import safe_content


class FormalReviewScreen(CaseFormScreen):
    """Date, kind, notes, prognosis, participants; the checklist as the record stands."""

    CSS_PATH = "formal_review.tcss"
    AUTO_FOCUS = "#rv-notes"
    TITLE_WORDS = N_("Formal review (RV-2, RV-4, RV-5, RV-6)")

    class Checklist(Message):
        """What RV-6 and RV-4 still ask of the record, in words."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def fields(self) -> ComposeResult:
        yield Static(_("Reading the record…"), id="rv-checklist")
        yield Label(_("Date (YYYY-MM-DD)"))
        yield Input(self.fk.today.isoformat(), id="rv-date")
        yield Label(_("Kind"))
        yield Select(
            [
                (_("formal review (RV-2, RV-5)"), "formal"),
                (_("plan update (PL-7)"), "plan-update"),
            ],
            value="formal",
            allow_blank=False,
            id="rv-kind",
        )
        yield Label(_("Review notes"))
        yield TextArea(id="rv-notes")
        yield Label(_("Prognosis for reunification (RV-4: when a child is in care)"))
        yield Input(id="rv-prognosis")
        yield Label(_("Who took part, comma-separated"))
        yield Input(id="rv-participants")

    def on_mount(self) -> None:
        self.read_checklist()

    @work(thread=True, exclusive=True, group="review-checklist")
    def read_checklist(self) -> None:
        """RV-6: what the record holds now (and what it lacks)."""

        store, policy = self.fk.store, self.fk.policy
        if store is None or policy is None:
            return
        case = services.load_case(store, self.case_id)
        checks = casework.review_checks(case, policy, self.fk.today, "formal", "")
        lines = [_("What the record must hold (RV-6):")]
        lines += [f"  ✓ {need}" for need in policy.review_record_requires]
        missing = [f"  ✗ {c.rule}: {c.message}" for c in checks]
        if missing:
            lines = [_("Still missing before a formal review can be signed:"), *missing]
        self.post_message(self.Checklist("\n".join(lines)))

    @on(Checklist)
    def _checklist(self, event: Checklist) -> None:
        self.query_one("#rv-checklist", Static).update(safe_content(event.text))

    def submission(self) -> Callable[[Store, PolicyProfile], str]:
        day = parse_day(self.query_one("#rv-date", Input).value)
        kind = str(self.query_one("#rv-kind", Select).value)
        notes = self.query_one("#rv-notes", TextArea).text
        prognosis = self.query_one("#rv-prognosis", Input).value
        participants = self.query_one("#rv-participants", Input).value.split(",")
        case_id = self.case_id

        def job(store: Store, policy: PolicyProfile) -> str:
            casework.record_review(
                store, case_id, policy, day, kind, prognosis, notes, participants
            )
            text = (
                _("Formal review of {case} signed.")
                if kind == "formal"
                else _("Plan update of {case} signed.")
            )
            return text.format(case=case_id)

        return job
