"""Read one signed visit or pending safety plan, then approve, return or reject it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.case.review_lines import record_lines
from fieldkit.screens.confirm import ConfirmDialog
from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.supervisor.comment import CommentModal
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from fieldkit import contacts, evidence, services
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.services import review
from fieldkit.text import safe_content
from fieldkit.visit_record import record_from_stored
from fieldkit.visit_render import names_of, visit_text

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.services.review import QueueItem


DECISION_WORDS = {
    "approved": N_("approved"),
    "confirmed": N_("confirmed"),
    "returned": N_("returned"),
    "rejected": N_("rejected"),
    "disputed": N_("disputed"),
}
"""A decision as the console says it (the op records the English value)."""


class RecordReviewScreen(Screen[None]):
    """The record as the worker signed it, every addendum, every earlier decision."""

    HELP_TITLE = N_("Review a record")
    CSS_PATH = "record_review.tcss"
    BINDINGS = [
        Binding("a", "approve", N_("Approve")),
        Binding("x", "send_back", N_("Return / reject")),
        Binding("d", "dispute", N_("Dispute phone approval"), show=False),
        Binding("escape", "app.pop_screen", N_("Back")),
    ]

    class RecordRead(Message):
        """The record and its decisions were read from the store."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Decided(Message):
        """A decision was recorded as a signed op (or refused, with why)."""

        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    def __init__(self, item: QueueItem) -> None:
        super().__init__()
        self.item = item

    def compose(self) -> ComposeResult:
        """Title, the record, the decision line, sync line."""
        what = {
            "safety_plan": _("Safety plan"),
            "service_plan": _("Service plan"),
            "closure": _("Case closure"),
        }.get(self.item.target, _("Visit"))
        yield Static(
            _("Review · {what} · case {case} · {family}").format(
                what=what,
                case=safe_content(self.item.case_id),
                family=safe_content(self.item.family),
            ),
            classes="title-bar",
        )
        with VerticalScroll(id="record-scroll"):
            yield Static(_("Reading…"), id="record")
        yield Static("", id="decision")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Decrypt the record off the UI thread."""
        self.read()

    @work(thread=True, exclusive=True, group="record")
    @guarded
    def read(self) -> None:
        """Everything the supervisor needs to decide, as text."""

        fk = cast("FieldkitApp", self.app)
        if fk.store is None:
            return
        item = self.item
        case = services.load_case(fk.store, item.case_id)
        lines: list[str] = []
        if item.target == "visit":
            content = review.visit_content(fk.store, item.case_id, item.target_id)
            record = record_from_stored(item.case_id, item.target_id, content["visit"])
            lines.append(visit_text(record, names_of(case)))
            for add in content["addenda"]:
                lines.append(
                    _("Addendum {day} by {author}: {text}").format(
                        day=add.get("date"), author=add.get("author"), text=add.get("text")
                    )
                )
            lines += _evidence_lines(
                fk.store, item.case_id, item.target_id, content, names_of(case)
            )
        elif item.target in ("service_plan", "closure"):
            lines += record_lines(fk.store, item.case_id, item.target, item.target_id)
        else:
            plan = fk.store.entity(item.case_id, "safety_plan", item.target_id)
            fields: dict[str, Any] = plan.fields if plan else {}
            threats = {t.id: t.text for t in case.threats}
            lines.append(
                _("Alternative safety plan made {day} (SA-2: document by {deadline})").format(
                    day=fields.get("created"), deadline=item.deadline
                )
            )
            for tid in fields.get("threats") or []:
                lines.append(_("  Threat: {text}").format(text=threats.get(tid, tid)))
            for iv in fields.get("interventions") or []:
                lines.append(
                    _("  • {text} (controls {threat})").format(
                        text=iv.get("text"), threat=threats.get(iv.get("threat"), "")
                    )
                )
            if fields.get("phone_approval_by"):
                lines.append(
                    _(
                        "Phone approval recorded: {who} at {when} — confirm (a) or dispute (d)"
                    ).format(
                        who=fields.get("phone_approval_by"), when=fields.get("phone_approval_at")
                    )
                )
        lines.append("")
        lines.append(_("Flags from the practice rules:"))
        lines += [f"  ⚠ {f}" for f in item.flags] or [_("  ✓ none")]
        history = review.decisions(fk.store, item.case_id, item.target, item.target_id)
        if history:
            lines.append("")
            lines.append(_("Earlier decisions:"))
            for d in history:
                stale = ""
                if d.stale:  # only an approval goes stale; a return is answered by a change
                    stale = (
                        _(" — STALE: the record changed since")
                        if d.decision == "approved"
                        else _(" — the record changed since")
                    )
                comment = f": {d.comment}" if d.comment else ""
                lines.append(
                    _("  {decision} by {who} at {when}").format(
                        decision=_(DECISION_WORDS.get(d.decision, d.decision)),
                        who=d.by,
                        when=d.at,
                    )
                    + comment
                    + stale
                )
        self.post_message(self.RecordRead(safe_content("\n".join(lines))))

    @on(RecordRead)
    def _read(self, event: RecordRead) -> None:
        self.query_one("#record", Static).update(event.text)

    def _what(self) -> str:
        """The record in words: "the visit of 2026-11-20 (Ortiz family, jsmith)"."""
        item = self.item
        worker = f", {item.worker}" if item.worker else ""
        if item.target == "safety_plan":
            text = _("the alternative safety plan of {day} ({family}{worker})")
        else:
            text = _("the visit of {day} ({family}{worker})")
        return text.format(day=item.day.isoformat(), family=item.family, worker=worker)

    def _confirmed(self, decision: str, comment: str, question: str, detail: str) -> None:
        """Ask once, then record: a decision reaches the worker and binds to what is shown."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.decide(decision, comment)

        self.app.push_screen(ConfirmDialog(question, detail), answered)

    def action_approve(self) -> None:
        """Approve exactly what is shown (the approval binds its SHA-256), once confirmed."""
        decision = "approved"
        if self.item.target == "safety_plan" and "phone approval" in self.item.title:
            decision = "confirmed"
        question = (
            _("Confirm the phone approval of {what}?")
            if decision == "confirmed"
            else _("Approve {what}?")
        )
        self._confirmed(
            decision,
            "",
            question.format(what=self._what()),
            _("The approval covers exactly what is shown; a later change shows it as stale."),
        )

    def action_send_back(self) -> None:
        """A visit goes back to the worker; a plan is rejected. Both need a comment."""
        decision = "rejected" if self.item.target == "safety_plan" else "returned"
        title = (
            _("Return the {what} to the worker: what should they correct?").format(
                what=self.item.title
            )
            if decision == "returned"
            else _("Reject the safety plan: why?")
        )
        question = _("Return {what}?") if decision == "returned" else _("Reject {what}?")

        def done(comment: str | None) -> None:
            if comment:
                self._confirmed(
                    decision,
                    comment,
                    question.format(what=self._what()),
                    _("Your comment: {comment}").format(comment=comment),
                )

        self.app.push_screen(CommentModal(title), done)

    def action_dispute(self) -> None:
        """The supervisor did not give the phone approval the worker recorded."""
        if self.item.target != "safety_plan":
            return

        def done(comment: str | None) -> None:
            if comment:
                self._confirmed(
                    "disputed",
                    comment,
                    _("Dispute the phone approval of {what}?").format(what=self._what()),
                    _("Your comment: {comment}").format(comment=comment),
                )

        self.app.push_screen(CommentModal(_("Dispute the phone approval: what happened?")), done)

    @work(thread=True, exclusive=True, group="decide")
    @guarded
    def decide(self, decision: str, comment: str) -> None:
        """Record the decision as a signed op; a refusal is shown, never lost."""

        fk = cast("FieldkitApp", self.app)
        if fk.store is None:
            return
        try:
            review.decide(
                fk.store,
                self.item.case_id,
                self.item.target,
                self.item.target_id,
                decision,
                comment,
            )
        except FieldkitError as exc:
            self.post_message(self.Decided(str(exc), ok=False))
            return
        self.post_message(
            self.Decided(
                _("✓ {decision}; it syncs to the worker.").format(
                    decision=_(DECISION_WORDS.get(decision, decision))
                ),
                ok=True,
            )
        )

    @on(Decided)
    def _decided(self, event: Decided) -> None:
        self.query_one("#decision", Static).update(event.text)
        if event.ok:
            self.query_one(StatusBar).refresh_status()
            self.app.pop_screen()
            self.app.notify(event.text)


def _evidence_lines(
    store: Any, case_id: str, visit_id: str, content: dict[str, Any], names: dict[str, str]
) -> list[str]:
    """When the visit happened by the laptop and the server, and the collateral contacts."""
    received = evidence.visit_received_at(store, case_id, visit_id)
    lines = ["", _("Times:")]
    lines += [f"  {label}: {when}" for label, when in evidence.timeline(content["visit"], received)]
    found = contacts.contacts_since_previous_visit(store, case_id, visit_id)
    lines.append("")
    lines.append(_("Collateral contacts since the previous visit:"))
    lines += [f"  • {safe_content(contacts.contact_line(c, names))}" for c in found] or [
        _("  none recorded")
    ]
    return lines
