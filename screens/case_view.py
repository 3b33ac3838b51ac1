"""One case: family and children, safety, service plan, due items, visits, conflicts, returns.

Why one module: one screen, `CaseScreen` (one screen per module, STYLE.md); its longest
part, `_loaded`, lays out every section of the case from one load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.acknowledge import AcknowledgeScreen
from fieldkit.screens.attachments import AttachmentsScreen
from fieldkit.screens.case.open import form_for
from fieldkit.screens.case_table import status_label, when_words
from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.visit.record import VisitRecordScreen
from fieldkit.screens.visit.session import VisitSession
from fieldkit.screens.workers import guarded
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from fieldkit import services
from fieldkit.acknowledgements import HOW
from fieldkit.attachments import attachment_line
from fieldkit.contacts import CollateralContact, contact_line
from fieldkit.i18n import N_, _, ngettext
from fieldkit.labels import entity_label
from fieldkit.practice import due_items
from fieldkit.services import review, visits
from fieldkit.services.review import Decision, VisitReview
from fieldkit.services.visits import new_draft, person_label
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.domain import Case
    from fieldkit.practice import DueItem


RECORD_KEYS = N_(
    "Record: a assessment · p service plan · r formal review · e event · f case facts · "
    "c close the case · k a caregiver's acknowledgement of a plan"
)


class CaseScreen(Screen[None]):
    """Everything the worker needs before knocking; `v` starts (or resumes) the visit."""

    HELP_TITLE = N_("Case")
    CSS_PATH = "case_view.tcss"
    BINDINGS = [
        Binding("v", "visit", N_("Start visit"), priority=True),  # typed keys wait for the step
        Binding("k", "acknowledge", N_("Plan acknowledged"), show=False),
        Binding("t", "attachments", N_("Attachments"), show=False),
        # the case-record keys are listed on the case view itself (RECORD_KEYS), keeping
        # the footer to what fits in 80 columns
        Binding("a", "record('assessment')", N_("Assessment"), show=False),
        Binding("p", "record('plan')", N_("Service plan"), show=False),
        Binding("r", "record('review')", N_("Formal review"), show=False),
        Binding("e", "record('event')", N_("Event"), show=False),
        Binding("f", "record('facts')", N_("Case facts"), show=False),
        Binding("c", "record('closure')", N_("Close the case"), show=False),
        Binding("escape", "back", N_("Caseload")),
    ]

    def action_record(self, kind: str) -> None:
        """Open the form for one kind of case record (screens/case/)."""
        if self.case is not None:
            self.app.push_screen(form_for(kind, self.case))

    class CaseLoaded(Message):
        """The worker read the case, its due items, conflicts, returns and drafts."""

        def __init__(
            self,
            case: Case,
            due: list[DueItem],
            detail: dict[str, Any],
            drafts: list[Any],
            reviews: dict[str, VisitReview],
            returned: list[tuple[str, str, Decision]],
        ) -> None:
            super().__init__()
            self.case = case
            self.due = due
            self.detail = detail
            self.drafts = drafts
            self.reviews = reviews
            self.returned = returned

    def __init__(
        self, case_id: str, resume: dict[str, Any] | None = None, hold: int | None = None
    ) -> None:
        super().__init__()
        self.case_id = case_id
        self.resume = resume
        self.hold = hold
        """The keys held while this view opened (`FieldkitApp.hold_keys`): handed over once
        it is in front with its focus."""
        self.visit_asked = False
        """V was pressed while the case was still loading: the visit starts once it has."""
        self.case: Case | None = None
        self.drafts: list[dict[str, Any]] = []
        self.detail: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        """Title, the case in sections, visit history, the keys."""
        yield Static(
            _("Case {case}").format(case=safe_content(self.case_id)),
            classes="title-bar",
            id="case-title",
        )
        with VerticalScroll(id="case-body"):
            yield Static(_("Loading…"), id="case-head")
            yield Static("", id="attention")
            yield Static("", id="due")
            yield Static("", id="people")
            yield Static("", id="safety")
            yield Static("", id="plan")
            yield Static("", id="evidence")
            yield Static(_(RECORD_KEYS), id="record-keys")
        yield Label(_("Visits (Tab, then Enter opens one)"), id="visits-title")
        yield OptionList(id="visits")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the case off the UI thread."""
        self.load()

    def on_screen_resume(self) -> None:
        """Shown: the keys typed while it opened are handed over. Back from a visit: it may
        be signed now."""
        if self.hold is not None:
            hold, self.hold = self.hold, None
            self.call_after_refresh(cast("FieldkitApp", self.app).release_keys, hold)
        if self.case is not None:
            self.load()

    @work(thread=True, exclusive=True, group="case")
    @guarded
    def load(self) -> None:
        """The case with its plan, due items (rules engine), case_detail and drafts."""

        fk = cast("FieldkitApp", self.app)
        store, policy = fk.store, fk.policy
        if store is None or policy is None:
            return
        case = visits.load_case_with_plan(store, self.case_id)
        due = [d for d in due_items(case, policy, fk.today) if d.is_open]
        detail = services.case_detail(store, self.case_id)
        reviews = review.visit_reviews(store, self.case_id)
        returned = review.returned_records(store, self.case_id)
        self.post_message(
            self.CaseLoaded(
                case, due, detail, visits.drafts(store, self.case_id), reviews, returned
            )
        )

    @on(CaseLoaded)
    def _loaded(self, event: CaseLoaded) -> None:

        fk = cast("FieldkitApp", self.app)
        case, today = event.case, fk.today
        self.case, self.drafts, self.detail = case, event.drafts, event.detail
        track = _(" · {track} track").format(track=case.track.value) if case.track else ""
        self.query_one("#case-title", Static).update(
            _("Case {case} · {family} · {kind}{track}").format(
                case=safe_content(case.id),
                family=safe_content(case.family_name),
                kind=case.kind.value,
                track=track,
            )
        )
        head = [
            safe_content(case.address),
            safe_content(
                _("opened {opened} · worker {worker} · supervisor {supervisor}").format(
                    opened=case.opened, worker=case.worker, supervisor=case.supervisor
                )
            ),
        ]
        if case.unannounced.required:
            head.append(
                _("⚠ Unannounced visits required (VI-4): {reason}").format(
                    reason=safe_content(case.unannounced.reason)
                )
            )
        self.query_one("#case-head", Static).update("\n".join(head))

        attention: list[str] = []
        if self.drafts:
            attention.append(_("⏸ An unfinished visit is saved: press v to resume it."))
        for c in event.detail.get("conflicts", []):
            flag = _("needs resolution") if c["needs_resolution"] else _("conflict")
            versions = " / ".join(safe_content(str(v["value"])[:30]) for v in c["versions"])
            what = entity_label(case, str(c["entity"]), str(c["entity_id"]))
            attention.append(
                f"⚑ {flag}: {safe_content(what)}, {safe_content(str(c['field']))}: {versions}"
            )
        for visit_id, returned in event.reviews.items():
            if not returned.awaiting_addendum or returned.decision is None:
                continue  # only the latest decision counts; an addendum answers a return
            attention.append(
                _(
                    "↩ {visit} returned by {who}: {said} (open it and press a to add an addendum)"
                ).format(
                    visit=safe_content(entity_label(case, "visit", visit_id)),
                    who=safe_content(returned.decision.by or _("the supervisor")),
                    said=safe_content(returned.decision.comment),
                )
            )
        for target, target_id, decision in event.returned:
            what = _("the service plan") if target == "service_plan" else _("the closure")
            attention.append(
                _("↩ {what} {id} returned by {who}: {said} (revise it and sign it again)").format(
                    what=what,
                    id=safe_content(target_id),
                    who=safe_content(decision.by or _("the supervisor")),
                    said=safe_content(decision.comment),
                )
            )
        box = self.query_one("#attention", Static)
        box.display = bool(attention)
        box.update("\n".join(attention))

        people = [_("[b]Children[/b]")]
        people += [f"• {safe_content(person_label(p, today))}" for p in case.children] or [
            _("• none")
        ]
        people.append(_("[b]Caregivers and others[/b]"))
        for p in case.caregivers:
            phone = f" · {p.phone}" if p.phone else ""
            people.append(f"• {safe_content(person_label(p, today))}{safe_content(phone)}")
        self.query_one("#people", Static).update("\n".join(people))

        safety = [_("[b]Safety threats and plan[/b]")]
        safety += [
            f"• {safe_content(t.text)}" + ("" if t.active else _(" (no longer active)"))
            for t in case.threats
        ]
        if not case.threats:
            safety.append(_("• no safety threats recorded"))
        for plan in case.safety_plans:
            state = (
                _("⏳ PENDING SUPERVISOR APPROVAL")
                if plan.pending_approval
                else _(plan.approval.value)
            )
            if plan.phone_approval_by:
                state += _(" (phone approval by {who} {when})").format(
                    who=safe_content(plan.phone_approval_by),
                    when=safe_content(plan.phone_approval_at or ""),
                )
            agreed = _(", agreed {day}").format(day=plan.agreed) if plan.agreed else ""
            safety.append(
                _("{kind} safety plan{agreed}: {state}").format(
                    kind=_(plan.kind).capitalize(), agreed=agreed, state=state
                )
            )
            safety += [
                f"  ↳ {safe_content(i.text)} — " + (safe_content(i.who) if i.who else _("who?"))
                for i in plan.interventions
            ]
        self.query_one("#safety", Static).update("\n".join(safety))

        plan_lines = [_("[b]Service plan[/b]")]
        sp = case.service_plan
        if sp is None or not sp.goals:
            done = case.service_plan_completed
            plan_lines.append(
                _("• completed {day}, goals not on this device").format(day=done)
                if done
                else _("• no service plan yet")
            )
        else:
            for goal in sp.goals:
                plan_lines.append(
                    _("• Goal: {text}").format(text=safe_content(goal.text))
                    + (f" — {safe_content(goal.progress)}" if goal.progress else "")
                )
                for obj in (o for o in sp.objectives if o.goal == goal.id):
                    plan_lines.append(
                        _("  ◦ Objective: {text}").format(text=safe_content(obj.text))
                    )
                    for act in (a for a in sp.activities if a.objective == obj.id):
                        prog = f" — {act.progress}" if act.progress else ""
                        plan_lines.append(
                            safe_content(f"     – {act.text} ({act.who}, {act.when}){prog}")
                        )
        self.query_one("#plan", Static).update("\n".join(plan_lines))

        due_lines = [_("[b]Due[/b]")]
        for item in event.due:
            label = status_label(item.status)
            due_lines.append(
                safe_content(
                    f"{label:<11} {item.what} · {item.due} "
                    f"({when_words(item.due, today)}) · {item.rule}"
                )
            )
        if not event.due:
            due_lines.append(_("✓ nothing due"))
        self.query_one("#due", Static).update("\n".join(due_lines))

        evidence = evidence_lines(event.detail, {p.id: p.name for p in case.people})
        box = self.query_one("#evidence", Static)
        box.display = bool(evidence)
        box.update("\n".join(evidence))

        visits_list = self.query_one("#visits", OptionList)
        cursor = visits_list.highlighted
        visits_list.clear_options()
        names = {p.id: p.name.split()[0] for p in case.people}
        stored = {r.get("id"): r for r in event.detail.get("records", {}).get("visit", [])}
        for v in sorted(case.visits, key=lambda v: v.date, reverse=True):
            seen = ", ".join(
                names.get(pid, _("a child not on the case")) for pid in sorted(v.seen_ids())
            )
            mark = _("✓ signed") if v.signed else _("imported")
            # a gate signed past is said where the visit is listed, not only in its record
            overridden = len(stored.get(v.id, {}).get("overrides") or [])
            if overridden:
                mark += " · " + ngettext("↷ {n} override", "↷ {n} overrides", overridden).format(
                    n=overridden
                )
            reviewed = event.reviews.get(v.id)
            if v.signed and reviewed is not None and reviewed.words():
                mark += f" · {reviewed.words()}"
            announced = _("announced") if v.announced else _("unannounced")
            who = _("seen {names}").format(names=seen) if seen else _("nobody seen")
            if v.outcome != "completed":  # an attempt meets no visit rule: never "nobody seen"
                who = _("attempt: {outcome}").format(outcome=_(v.outcome))
            visits_list.add_option(
                Option(safe_content(f"{v.date} · {announced} · {who} · {mark}"), id=v.id)
            )
        if not case.visits:
            visits_list.add_option(Option(_("no visits yet"), disabled=True))
        elif cursor is not None or visits_list.has_focus:  # a reload keeps the cursor
            visits_list.highlighted = min(cursor or 0, len(case.visits) - 1)
        asked, self.visit_asked = self.visit_asked, False
        if self.resume is not None:
            draft, self.resume = self.resume, None
            self._start(draft)
        elif asked:
            self.action_visit()
        else:
            fk.continue_restore(self)

    def restore_place(self, place: dict[str, str]) -> bool:
        """After an unlock: reopen the visit draft at its step, or the visit record."""
        if self.case is None:
            return False
        if place.get("screen") == "visit":
            draft = next((d for d in self.drafts if d["visit_id"] == place.get("visit_id")), None)
            if draft is None:
                return False
            self._start(draft)
            return True
        if place.get("screen") == "record":
            self.app.push_screen(VisitRecordScreen(self.case, place["visit_id"]))
            return True
        return False

    @on(events.DescendantFocus)
    def _visits_focused(self, event: events.DescendantFocus) -> None:
        """Tab lands on the first visit with its cursor shown, so Enter opens it."""
        if isinstance(event.widget, OptionList) and event.widget.highlighted is None:
            event.widget.action_first()

    @on(OptionList.OptionSelected, "#visits")
    def _open_visit(self, event: OptionList.OptionSelected) -> None:
        if self.case is not None and event.option.id:
            self.app.push_screen(VisitRecordScreen(self.case, event.option.id))

    def action_visit(self) -> None:
        """Start the guided visit, or resume this case's unfinished one.

        Pressed while the case is still loading (its key is on the screen from the start),
        the visit starts once the case has loaded, and the keys typed after V wait for the
        visit's first step (held as for a step change)."""
        fk = cast("FieldkitApp", self.app)
        if fk.store is None:
            return
        if self.case is None:
            if not self.visit_asked and not fk.restoring:
                self.visit_asked = True
                fk.hold_keys()
            return
        draft = self.drafts[0] if self.drafts else new_draft(self.case, fk.store.user, fk.today)
        self._start(draft)

    def action_attachments(self) -> None:
        """The case's attachments: preview an image, open a decrypted copy."""
        if self.case is not None:
            self.app.push_screen(
                AttachmentsScreen(self.case.id, f"{self.case.id} · {self.case.family_name}")
            )

    def action_acknowledge(self) -> None:
        """Record a caregiver's acknowledgement of the safety or service plan (SA-5, PL-6)."""

        if self.case is None:
            return
        photos = [
            (str(a.get("id")), attachment_line(a))
            for a in self.detail.get("records", {}).get("attachment", [])
        ]

        def done(text: str | None) -> None:
            if text:
                self.app.notify(text)
                self.load()

        self.app.push_screen(AcknowledgeScreen(self.case, photos), done)

    def _start(self, draft: dict[str, Any]) -> None:
        fk = cast("FieldkitApp", self.app)
        if self.case is None or fk.policy is None:
            return
        draft = {k: v for k, v in draft.items() if k != "updated"}
        session = VisitSession(fk, self.case, draft, fk.policy)
        session.changed()
        session.start()

    def action_back(self) -> None:
        """Back to the caseload."""
        self.app.pop_screen()


def evidence_lines(detail: dict[str, Any], names: dict[str, str]) -> list[str]:
    """Collateral contacts and attachments of the case, as escaped markup lines."""
    records = detail.get("records", {})
    lines: list[str] = []
    contacts = [
        CollateralContact.from_fields(str(r.get("id", "")), r) for r in records.get("contact", [])
    ]
    if contacts:
        lines.append(_("[b]Collateral contacts[/b]"))
        for c in sorted(contacts, key=lambda c: (c.date, c.recorded_at), reverse=True):
            lines.append(f"• {safe_content(contact_line(c, names))}")
    acks = records.get("acknowledgement", [])
    if acks:
        lines.append(_("[b]Plan acknowledgements (SA-5, PL-6)[/b]"))
        for a in sorted(acks, key=lambda a: str(a.get("at", ""))):
            who = names.get(str(a.get("caregiver")), str(a.get("typed_name", "")))
            how = HOW.get(str(a.get("how")), str(a.get("how")))
            plan = str(a.get("plan", "")).replace("_", " ")
            at = safe_content(str(a.get("at", ""))[:10])
            lines.append(f"• {safe_content(who)} {safe_content(how)} ({plan}, {at})")
    attachments = records.get("attachment", [])
    if attachments:
        lines.append(_("[b]Attachments[/b] (t: list them, preview an image, open a copy)"))
        for a in attachments:
            lines.append(f"• {safe_content(attachment_line(a))}")
    return lines
