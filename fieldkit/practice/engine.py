"""Deadline rules: what the practice standards make due on each case, computed offline.

Each deadline rule turns a case's record (visits, supervisions, plans, reviews, events)
into due items with the rule id and the reason in words, so a worker sees what is due
before a supervisor or an audit tells them. All numbers come from the `PolicyProfile`.

Why one module: the deadline rules are one evaluation pass over one case: `_CaseRules` reads
the case's dates once (`collect`, `read_visits`) and each rule is a method comparing against
them, over the caseload-wide `_Day` cache and the one urgency order (`STATUS_RANK`,
`_most_urgent_first`) every due list sorts by. Rules in other modules would each need that
shared read passed to them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

from fieldkit.domain import ApprovalState, Case, CaseEvent, CaseKind
from fieldkit.i18n import N_, _, format_date
from fieldkit.practice.profile import STATUSES, Period, PolicyProfile

STATUS_RANK = {status: rank for rank, status in enumerate(STATUSES)}
"""Most urgent first: overdue, due, due-soon, upcoming, done."""

OPEN_STATUSES = ("overdue", "missed", "due", "due-soon")
"""What `fieldkit due` lists by default; `--all` adds upcoming, done-late and done."""

TODO_STATUSES = ("overdue", "due", "due-soon", "upcoming")
"""Still to be done: a missed window or a late one-time duty can no longer be done."""

EVENT_RULES = {
    "placement-change": "PL-7",
    "absent-parent-located": "PL-7",
    "treatment-completed": "PL-7",
    "new-referral": "EV-1",
    "reunification": "RV-3",
}
"""Which rule makes a significant event bring the plan review forward."""

_EVENT_WORDS = {
    "placement-change": N_("placement change"),
    "absent-parent-located": N_("absent parent located"),
    "treatment-completed": N_("treatment completed"),
    "new-referral": N_("new referral"),
    "reunification": N_("reunification"),
}


@dataclass(frozen=True)
class DueItem:
    """One thing a practice rule makes due on one case, with why, in words."""

    case: str
    rule: str
    what: str
    due: date
    status: str
    reason: str
    worker: str | None = None

    @property
    def is_open(self) -> bool:
        """Still needs doing (overdue, due, due-soon or upcoming)."""
        return self.status in TODO_STATUSES

    def sort_key(self) -> tuple[int, date, str, str]:
        """Most urgent first: by status, then date, then case and rule for a stable order."""
        return (STATUS_RANK.get(self.status, len(STATUS_RANK)), self.due, self.case, self.rule)

    def to_json(self) -> dict[str, Any]:
        """The `fieldkit due --json` shape; keys are added, never renamed."""
        return {
            "case": self.case,
            "rule": self.rule,
            "what": self.what,
            "due": self.due.isoformat(),
            "status": self.status,
            "reason": self.reason,
            "worker": self.worker,
        }


def _as_date(as_of: date | datetime, profile: PolicyProfile) -> date:
    """`as_of` may be an aware instant; the rules count agency-zone calendar days."""
    if isinstance(as_of, datetime):
        return profile.local_date(as_of)
    return as_of


def _every(period: Period, noun: str) -> str:
    """ "monthly visits", "supervision every 6 weeks": the interval in the reason's words."""
    monthly, weekly, every = _EVERY[noun]
    if period.count == 1 and period.unit == "months":
        return _(monthly)
    if period.count == 1 and period.unit == "weeks":
        return _(weekly)
    return _(every).format(period=period.describe())


_EVERY = {
    "visits": (N_("monthly visits"), N_("weekly visits"), N_("visits every {period}")),
    "supervision": (
        N_("monthly supervision"),
        N_("weekly supervision"),
        N_("supervision every {period}"),
    ),
    "formal review": (
        N_("monthly formal review"),
        N_("weekly formal review"),
        N_("formal review every {period}"),
    ),
}
"""A recurring duty's interval in words, whole phrases so each language orders its own."""


def _later(day: date, days: int) -> date:
    """`day` plus `days`, or the last date there is: a status threshold past it covers all."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max


_BY_EVENT_DATE = attrgetter("date")


class _Words(dict[str, str]):
    """Messages and their translation in the current language, each looked up once."""

    def __missing__(self, message: str) -> str:
        found = self[message] = _(message)
        return found


class _Day:
    """What the rules share across a caseload on one day: the profile's settings, the status
    thresholds and the words, each worked out once per due list rather than once per case."""

    def __init__(self, profile: PolicyProfile, as_of: date) -> None:
        self.profile = profile
        self.as_of = as_of
        self.not_applied = profile.not_applied
        self.visit_kinds = profile.visit_kinds
        self.due_by = _later(as_of, profile.due_days)
        self.soon_by = _later(as_of, profile.due_soon_days)
        # rule VI-5: the first-month window and its interval
        self.first_month = bool(profile.first_month_interval_days) and profile.applies("VI-5")
        self.first_month_span = timedelta(days=profile.first_month_days)
        self.first_month_step = timedelta(days=profile.first_month_interval_days)
        # rules PL-7, EV-1, RV-3: the events that bring the plan review forward, and by when
        self.event_reviews: dict[str, tuple[str, int]] = {}
        for kind, rule in EVENT_RULES.items():
            days = profile.event_days(kind)
            if days is not None and profile.applies(rule):
                self.event_reviews[kind] = (rule, days)
        self.words = _Words()
        self._ = self.words.__getitem__
        """`message` in the current language, looked up once per due list."""
        self.intervals: dict[tuple[int, str, str], str] = {}
        self.periods: dict[tuple[date, int, str], date] = {}

    def every(self, period: Period, noun: str) -> str:
        """`_every`, worked out once per due list."""
        key = (period.count, period.unit, noun)
        found = self.intervals.get(key)
        if found is None:
            found = self.intervals[key] = _every(period, noun)
        return found

    def add_period(self, day: date, period: Period) -> date:
        """`PolicyProfile.add_period`, once per date and period in a due list."""
        key = (day, period.count, period.unit)
        found = self.periods.get(key)
        if found is None:
            found = self.periods[key] = self.profile.add_period(day, period)
        return found

    def status_for(self, due: date) -> str:
        """`PolicyProfile.status_for` on this day, its thresholds added up once."""
        if due < self.as_of:
            return "overdue"
        if due <= self.due_by:
            return "due"
        if due <= self.soon_by:
            return "due-soon"
        return "upcoming"


class _CaseRules:
    """Evaluates every deadline rule on one case for one day."""

    def __init__(self, case: Case, day: _Day) -> None:
        self.case = case
        self.day = day
        self.profile = day.profile
        self.as_of = day.as_of
        self.items: list[DueItem] = []

    def collect(self) -> None:
        """Collect the dates the rules read once, so each rule is a few comparisons."""
        case, as_of = self.case, self.as_of
        self.read_visits()
        supervisions = [s.date for s in case.supervisions if s.date <= as_of]
        if case.last_supervision is not None and case.last_supervision <= as_of:
            supervisions.append(case.last_supervision)
        self.last_supervision = max(supervisions, default=None)
        versions = [d for d in case.service_plan_dates if d <= as_of]
        plan_done = case.service_plan_completed
        if plan_done is None and versions:
            plan_done = min(versions)  # rule PL-2: the initial plan, not its later versions
        plan = case.service_plan
        if plan_done is None and plan is not None and plan.approval not in ("returned", "rejected"):
            plan_done = plan.completed  # a plan a supervisor sent back is not in force
        self.plan_completed = plan_done if plan_done is not None and plan_done <= as_of else None
        formal = [r.date for r in case.reviews if r.kind == "formal" and r.date <= as_of]
        if case.last_formal_review is not None and case.last_formal_review <= as_of:
            formal.append(case.last_formal_review)
        self.last_formal_review = max(formal, default=None)
        updates = [r.date for r in case.reviews if r.date <= as_of] + formal
        if self.plan_completed is not None:
            updates.append(self.plan_completed)
        updates.extend(versions)  # rule PL-7: a new plan version is a plan update
        self.last_plan_update = max(updates, default=None)
        self.events = sorted((e for e in case.events if e.date <= as_of), key=_BY_EVENT_DATE)
        removals = [e.date for e in self.events if e.kind == "removal"]
        if case.removal_date is not None and case.removal_date <= as_of:
            removals.append(case.removal_date)
        self.removal = max(removals, default=None)
        self.plan_updates = updates  # rule FED-1 reads them, where it applies

    def read_visits(self) -> None:
        """Rules VI-1 and VI-5 in one pass over the visits: the latest completed home visit
        (VI-1), and once the first month is over, every home visit in it and the first home
        visit after it, whatever its outcome (VI-5, `missed_first_month`)."""
        case, day = self.case, self.day
        as_of, kinds, opened = day.as_of, day.visit_kinds, case.opened
        self.window_end: date | None = None
        closed: date | None = None  # the end of a first month that is over
        if day.first_month:
            self.window_end = opened + day.first_month_span
            if as_of > self.window_end:
                closed = self.window_end
        last: date | None = None
        first_month: list[date] = []
        after: date | None = None
        for visit in case.visits:
            if visit.kind in kinds:
                when = visit.date
                if when <= as_of:
                    if visit.outcome == "completed" and (last is None or when > last):
                        last = when
                    if closed is not None:
                        if when > closed:
                            if after is None or when < after:
                                after = when
                        elif when > opened:
                            first_month.append(when)
        self.last_visit = last
        first_month.sort()
        self.first_month_visits = first_month
        self.after_first_month = after

    def add(self, rule: str, what: str, due: date, status: str, reason: str) -> None:
        """Record one due item for this case."""
        self.items.append(DueItem(self.case.id, rule, what, due, status, reason, self.case.worker))

    def recurring_status(self, due: date, met_before: bool) -> str:
        """A recurring duty met this period and not yet near due again is done; one never
        yet performed is upcoming, due or overdue by its date, never done."""
        status = self.day.status_for(due)
        if status == "upcoming" and met_before:
            return "done"
        return status

    def applies(self, rule: str) -> bool:
        """The profile may not apply a rule (e.g. FED-1 in Ontario)."""
        return rule not in self.day.not_applied

    # ------------------------------------------------------------------ rules

    def visits(self) -> None:
        """Rules VI-1 and VI-5: the next home visit, weekly-ish in the first month."""
        case, p, w = self.case, self.profile, self.day
        required = case.unannounced.required
        what = w._("unannounced home visit") if required else w._("home visit")
        last_visit = self.last_visit
        anchor = last_visit or case.opened
        since = (
            w._("last home visit {last_visit}").format(last_visit=last_visit.isoformat())
            if last_visit is not None
            else w._("case opened {opened}, no home visit yet").format(
                opened=case.opened.isoformat()
            )
        )
        tail = ""
        if required:
            why = case.unannounced.reason or w._("reason not recorded")
            tail = w._("; must be unannounced: {why} (VI-4)").format(why=why)
        # rule VI-5: first-month intensity; `read_visits` set the window when it applies
        window_end = self.window_end
        if window_end is not None:
            if self.as_of > window_end:
                self.missed_first_month(window_end, what)
            first_due = anchor + w.first_month_step
            if self.as_of <= window_end and first_due <= window_end:
                reason = w._(
                    "{since}; a visit every {first_month_interval_days} days in the "
                    "first {first_month_days} days of service, until {window_end} (VI-5)"
                ).format(
                    since=since,
                    first_month_interval_days=p.first_month_interval_days,
                    first_month_days=p.first_month_days,
                    window_end=window_end.isoformat(),
                )
                status = self.recurring_status(first_due, last_visit is not None)
                self.add("VI-5", what, first_due, status, reason + tail)
                return
        # rule VI-1: at least once per interval
        if self.applies("VI-1"):
            due = self.day.add_period(anchor, p.visit_interval)
            reason = w._("{since}; {every} (VI-1)").format(
                since=since, every=w.every(p.visit_interval, "visits")
            )
            status = self.recurring_status(due, last_visit is not None)
            self.add("VI-1", what, due, status, reason + tail)

    def missed_first_month(self, window_end: date, what: str) -> None:
        """Rule VI-5: a first-month visit that was missed stays listed once the window closes.

        From the case's opening, each visit must follow the one before within the interval;
        the first gap is the missed visit. `read_visits` sorted the month's home visits, so
        the latest visit by each due date is a bisect, not a walk."""
        p, w = self.profile, self.day
        days = self.first_month_visits
        anchor = self.case.opened
        step = w.first_month_step
        while anchor + step <= window_end:
            due = anchor + step
            made = bisect_right(days, due)
            if made and days[made - 1] > anchor:
                anchor = days[made - 1]
                continue
            # the first home visit after the due date: in the month, else after it
            later = days[made] if made < len(days) else self.after_first_month
            after = (
                w._("the next home visit was {later}").format(later=later.isoformat())
                if later is not None
                else w._("no home visit since")
            )
            reason = w._(
                "a visit was due by {due}, {first_month_interval_days} days after "
                "{anchor}; {after}; the first {first_month_days} days of service "
                "ended {window_end} (VI-5)"
            ).format(
                due=due.isoformat(),
                first_month_interval_days=p.first_month_interval_days,
                anchor=anchor.isoformat(),
                after=after,
                first_month_days=p.first_month_days,
                window_end=window_end.isoformat(),
            )
            self.add(
                "VI-5", w._("first-month {what} missed").format(what=what), due, "missed", reason
            )
            return

    def supervision(self) -> None:
        """Rule RV-1: case reviewed in supervision; higher-risk cases more often."""
        if not self.applies("RV-1"):
            return
        case, p = self.case, self.profile
        period = p.supervision_high_risk_interval if case.high_risk else p.supervision_interval
        anchor = self.last_supervision or case.opened
        since = (
            self.day._("last supervision {last_supervision}").format(
                last_supervision=self.last_supervision.isoformat()
            )
            if self.last_supervision is not None
            else self.day._("case opened {opened}, no supervision yet").format(
                opened=case.opened.isoformat()
            )
        )
        risk = self.day._("higher-risk case: ") if case.high_risk else ""
        reason = self.day._("{since}; {risk}{every} (RV-1)").format(
            since=since, risk=risk, every=self.day.every(period, "supervision")
        )
        due = self.day.add_period(anchor, period)
        status = self.recurring_status(due, self.last_supervision is not None)
        self.add("RV-1", self.day._("supervision review"), due, status, reason)

    def service_plan(self) -> None:
        """Rule PL-2: the initial service plan within N days of the case opening."""
        if not self.applies("PL-2"):
            return
        case, p = self.case, self.profile
        days = p.service_plan_deadline_days
        due = case.opened + timedelta(days=days)
        opened = self.day._("case opened {opened}").format(opened=case.opened.isoformat())
        if self.plan_completed is not None:
            late = (self.plan_completed - due).days
            timing = (
                self.day._(", {late} days after the deadline").format(late=late) if late > 0 else ""
            )
            reason = self.day._(
                "{opened}; service plan completed {plan_completed}{timing} (PL-2)"
            ).format(opened=opened, plan_completed=self.plan_completed.isoformat(), timing=timing)
            self.add("PL-2", self.day._("initial service plan"), due, "done", reason)
            return
        reason = self.day._("{opened}; initial service plan within {days} days (PL-2)").format(
            opened=opened, days=days
        )
        self.add("PL-2", self.day._("initial service plan"), due, self.day.status_for(due), reason)

    def foster_care_plan(self) -> None:
        """Rule FED-1: a case plan with the parents within N days of a child's removal, or of
        the first out-of-home placement when no removal date is recorded."""
        if not self.applies("FED-1"):
            return
        as_of = self.as_of
        # with no removal date on record, the clock starts with the child's first
        # out-of-home placement.
        placed = [
            c.placement.since
            for c in self.case.children
            if c.placement is not None and c.placement.since is not None
        ]
        first_placement = min((d for d in placed if d <= as_of), default=None)
        if self.removal is not None:
            start = self.removal
            removed = self.day._("child removed {start}").format(start=start.isoformat())
        elif first_placement is not None:
            start = first_placement
            removed = self.day._(
                "child placed out of home {start} (no removal date recorded)"
            ).format(start=start.isoformat())
        else:
            return
        p = self.profile
        days = p.foster_care_plan_deadline_days
        due = start + timedelta(days=days)
        what = self.day._("case plan for the child in care")
        first = min((d for d in self.plan_updates if d >= start), default=None)
        if first is not None and first <= due:
            reason = self.day._("{removed}; case plan dated {first} (FED-1)").format(
                removed=removed, first=first.isoformat()
            )
            self.add("FED-1", what, due, "done", reason)
            return
        if first is not None:
            late = (first - due).days
            reason = self.day._(
                "{removed}; case plan within {days} days, by {due}; the first case "
                "plan after it is dated {first}, {late} days late (FED-1)"
            ).format(
                removed=removed, days=days, due=due.isoformat(), first=first.isoformat(), late=late
            )
            self.add("FED-1", what, due, "done-late", reason)
            return
        reason = self.day._(
            "{removed}; case plan with the parents within {days} days (FED-1)"
        ).format(removed=removed, days=days)
        if self.plan_completed is not None:
            reason += self.day._(
                "; the service plan of {plan_completed} predates the removal"
            ).format(plan_completed=self.plan_completed.isoformat())
        self.add("FED-1", what, due, self.day.status_for(due), reason)

    def plan_review(self) -> None:
        """Rules RV-2, PL-7, EV-1, RV-3: the periodic review, brought forward by events."""
        completed, formal = self.plan_completed, self.last_formal_review
        if completed is None and formal is None:
            return  # PL-2 covers a case without a plan
        w, p = self.day, self.profile
        periodic_rule = "RV-2" if self.applies("RV-2") else "PL-7"
        if not self.applies(periodic_rule):
            return
        reviewed = formal is not None and (completed is None or formal >= completed)
        anchor = formal if reviewed else completed
        assert anchor is not None
        periodic_due = w.add_period(anchor, p.review_interval)
        periodic = f"{w.every(p.review_interval, 'formal review')} ({periodic_rule})"
        # rule EV-2: new information is named in the next review's reason
        extra = "".join(
            f"; new information {e.date.isoformat()} to integrate (EV-2)"
            for e in self.events
            if e.kind == "new-information" and e.date > anchor
        )
        # rules PL-7, EV-1, RV-3: the earliest unanswered significant event
        best: tuple[date, str, CaseEvent, int] | None = None
        updated = self.last_plan_update
        for event in self.events:
            found = w.event_reviews.get(event.kind)
            if found is None:
                continue  # not a significant event, or its rule is not applied
            if updated is not None and updated >= event.date:
                continue  # a review or plan update since the event answered it
            rule, days = found
            due = event.date + timedelta(days=days)
            if best is None or due < best[0]:
                best = (due, rule, event, days)
        what = w._("formal case review and plan update")
        if best is not None and best[0] < periodic_due:
            due, rule, event, days = best
            words = f"{w._(_EVENT_WORDS[event.kind])} {event.date.isoformat()}"
            why = w._("{words}: plan review within {days} days ({rule})").format(
                words=words, days=days, rule=rule
            )
            reason = w._("{why}; otherwise {periodic} due {periodic_due}{extra}").format(
                why=why, periodic=periodic, periodic_due=periodic_due.isoformat(), extra=extra
            )
            self.add(rule, what, due, w.status_for(due), reason)
            return
        if reviewed:
            since = w._("last formal review {last_formal_review}").format(
                last_formal_review=anchor.isoformat()
            )
        else:
            since = w._("service plan completed {plan_completed}").format(
                plan_completed=anchor.isoformat()
            )
        reason = f"{since}; {periodic}{extra}"
        status = self.recurring_status(periodic_due, reviewed)
        self.add(periodic_rule, what, periodic_due, status, reason)

    def permanency_review(self) -> None:
        """Rule RV-5: permanency goals of a child in care reviewed every N months."""
        if not self.applies("RV-5"):
            return
        case, p = self.case, self.profile
        placed = [c.placement.since for c in case.children if c.placement is not None]
        in_care = case.kind == CaseKind.OUT_OF_HOME_CPS or bool(placed) or self.removal is not None
        if not in_care:
            return
        start = self.removal or min((d for d in placed if d is not None), default=None)
        start = start or case.opened
        reviewed = self.last_formal_review is not None and self.last_formal_review >= start
        if reviewed and self.last_formal_review is not None:
            anchor = self.last_formal_review
            since = self.day._("last formal review {anchor}").format(anchor=anchor.isoformat())
        else:
            anchor = start
            since = self.day._("child in care since {start}").format(start=start.isoformat())
        due = self.day.add_period(anchor, p.review_interval)
        reason = self.day._(
            "{since}; permanency goals reviewed every {review_interval} (RV-5)"
        ).format(since=since, review_interval=p.review_interval.describe())
        status = self.recurring_status(due, reviewed)
        self.add("RV-5", self.day._("permanency goals review"), due, status, reason)

    def safety_plans(self) -> None:
        """Rule SA-2: approval before implementation, documented by the next working day."""
        if not self.applies("SA-2"):
            return
        p = self.profile
        for plan in self.case.safety_plans:
            if not plan.pending_approval:
                continue
            made = plan.created or self.as_of
            label = self.day._("alternative safety plan of {made}").format(
                made=made.isoformat()
            )  # a date, never its id
            if plan.approval == ApprovalState.PENDING:
                status = "overdue" if made < self.as_of else "due"
                reason = self.day._(
                    "alternative safety plan made {made}; a supervisor approves it "
                    "before it is implemented (SA-2)"
                ).format(made=made.isoformat())
                self.add(
                    "SA-2",
                    self.day._("supervisor approval of {label}").format(label=label),
                    made,
                    status,
                    reason,
                )
            n = p.safety_plan_documentation_working_days
            due = p.add_working_days(made, n)
            skipped = [
                (day, p.holiday_name(day))
                for day in (made + timedelta(days=i) for i in range(1, (due - made).days))
                if day.weekday() not in p.weekend and p.is_holiday(day)
            ]
            holiday = "".join(
                self.day._(", skipping {name} {day}").format(name=name, day=d.isoformat())
                for d, name in skipped
            )
            reason = self.day._(
                "alternative safety plan made {made} ({made_day}); documented within "
                "{n} working day(s): {due} ({due_day}){holiday} (SA-2)"
            ).format(
                made=made.isoformat(),
                made_day=format_date(made, "EEEE"),
                n=n,
                due=due.isoformat(),
                due_day=format_date(due, "EEEE"),
                holiday=holiday,
            )
            self.add(
                "SA-2",
                self.day._("document {label}").format(label=label),
                due,
                self.day.status_for(due),
                reason,
            )

    def conversions(self) -> None:
        """Rule CT-2: a case becoming CPS is recorded with its reason and date."""
        for event in self.events:
            if event.kind != "became-cps":
                continue
            day = event.date.isoformat()
            if event.note.strip():
                reason = self.day._("became a CPS case on {day}: {note} (CT-2)").format(
                    day=day, note=event.note.strip()
                )
                self.add("CT-2", self.day._("case became CPS"), event.date, "done", reason)
            else:
                reason = self.day._(
                    "became a CPS case on {day}; the reason is not recorded (CT-2)"
                ).format(day=day)
                status = self.day.status_for(event.date)
                self.add(
                    "CT-2", self.day._("record why the case became CPS"), event.date, status, reason
                )

    def run(self, ordered: bool = True) -> list[DueItem]:
        """Every deadline rule for this case, most urgent first unless `ordered` is False
        (the due list orders the whole caseload at once)."""
        closure = self.case.closure
        if closure is not None and closure.date <= self.as_of:
            return []  # rule CL-1: a closed case has nothing due
        if self.case.opened > self.as_of:
            return []
        self.collect()
        self.safety_plans()
        self.visits()
        self.supervision()
        self.service_plan()
        self.foster_care_plan()
        self.plan_review()
        self.permanency_review()
        self.conversions()
        if ordered:
            self.items.sort(key=DueItem.sort_key)
        return self.items


_BY_CASE_AND_RULE = attrgetter("case", "rule")
_DAYS = date.max.toordinal() + 1
"""Every date's day number is below it, so rank * _DAYS + day number orders by rank, then date."""


def _by_rank_and_date(item: DueItem) -> int:
    """Status rank, then date, as one small whole number, which the sort compares fastest."""
    return STATUS_RANK.get(item.status, len(STATUS_RANK)) * _DAYS + item.due.toordinal()


def _most_urgent_first(items: list[DueItem]) -> list[DueItem]:
    """`items.sort(key=DueItem.sort_key)` in two stable sorts with cheaper keys: by case and
    rule, then by rank and date; ties keep the order of the first, as in the one sort."""
    items.sort(key=_BY_CASE_AND_RULE)
    items.sort(key=_by_rank_and_date)
    return items


def due_items(case: Case, profile: PolicyProfile, as_of: date | datetime) -> list[DueItem]:
    """Everything the profile's deadline rules make due on one case, most urgent first."""
    return _CaseRules(case, _Day(profile, _as_date(as_of, profile))).run()


def due_list(
    cases: Iterable[Case],
    profile: PolicyProfile,
    as_of: date | datetime,
    case_id: str | None = None,
) -> list[DueItem]:
    """The due list across a caseload (all statuses), most urgent first; see `open_items`."""
    day = _Day(profile, _as_date(as_of, profile))
    items: list[DueItem] = []
    for case in cases:
        if case_id is not None and case.id != case_id:
            continue
        items.extend(_CaseRules(case, day).run(ordered=False))
    return _most_urgent_first(items)


def open_items(items: Iterable[DueItem]) -> list[DueItem]:
    """What needs attention now: overdue, due and due-soon (the default `fieldkit due`)."""
    return [item for item in items if item.status in OPEN_STATUSES]


def next_due(case: Case, profile: PolicyProfile, as_of: date | datetime) -> DueItem | None:
    """The most urgent open item on a case, for the dashboard line."""
    for item in due_items(case, profile, as_of):
        if item.is_open:
            return item
    return None


def group_by_worker(items: Iterable[DueItem]) -> dict[str | None, list[DueItem]]:
    """Due items per worker, keeping each worker's items most urgent first (for a team view)."""
    groups: dict[str | None, list[DueItem]] = {}
    for item in items:
        groups.setdefault(item.worker, []).append(item)
    return groups


def worker_counts(items: Iterable[DueItem]) -> list[tuple[str | None, dict[str, int], int]]:
    """Per worker, by name: counts by status and how many cases have open items (team view)."""
    rows = []
    for worker, worker_items in sorted(group_by_worker(items).items(), key=lambda kv: kv[0] or ""):
        counts = {status: 0 for status in ("overdue", "due", "due-soon")}
        for item in worker_items:
            counts[item.status] = counts.get(item.status, 0) + 1
        rows.append((worker, counts, len({i.case for i in worker_items})))
    return rows
