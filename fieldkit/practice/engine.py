"""Deadline rules: what the practice standards make due on each case, computed offline.

Each deadline rule turns a case's record (visits, supervisions, plans, reviews, events)
into due items with the rule id and the reason in words, so a worker sees what is due
before a supervisor or an audit tells them. All numbers come from the `PolicyProfile`.

Why one module: the deadline rules are one evaluation pass over one case: `_CaseRules` reads
the case's dates once (`collect`, `read_visits`) and each rule is a method comparing against
them, over the caseload-wide `_Day` cache and the one urgency order (`STATUS_RANK`,
`DueItem.sort_key`, which `_Buckets` builds item by item) every due list is in. Rules in
other modules would each need that shared read passed to them; `_in_buckets`, the same
rules over a caseload's facts, mirrors `_CaseRules.run` rule by rule.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from fieldkit.domain import ApprovalState, Case, CaseKind
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


class DueItem(NamedTuple):
    """One thing a practice rule makes due on one case, with why, in words.

    A named tuple, not a dataclass: a due list over a large caseload makes hundreds of
    thousands of them, and a tuple is built in a fraction of a frozen dataclass's time
    (docs/decisions.md "Due items are named tuples"). Read it by its field names."""

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


_BY_DATE = itemgetter(1)
_KINDS = {kind.value: kind for kind in CaseKind}


def _ordinal(day: date | None) -> int | None:
    return day.toordinal() if day is not None else None


def facts_key(profile: PolicyProfile) -> str:
    """What a case's rule facts depend on in the profile (rules VI-1, VI-5: which visits are
    home visits, the first month and its interval); facts kept under another key are not read."""
    kinds = "+".join(sorted(profile.visit_kinds))
    if profile.first_month_interval_days and profile.applies("VI-5"):
        return f"{kinds}|{profile.first_month_days}|{profile.first_month_interval_days}"
    return f"{kinds}|-"


class _Dates(dict[int, date]):
    """Day numbers and their dates, each made once per due list (a caseload's dates repeat)."""

    def __missing__(self, ordinal: int) -> date:
        found = self[ordinal] = date.fromordinal(ordinal)
        return found


_Part = tuple[str, str, date, str, str]
"""A due item but for its case and worker: (rule, what, due, status, reason)."""

_new = tuple.__new__


class _Words(dict[str, str]):
    """Messages and their translation in the current language, each looked up once."""

    def __missing__(self, message: str) -> str:
        found = self[message] = _(message)
        return found


class _Day:
    """What the rules share across a caseload on one day: the profile's settings, the status
    thresholds and the words, each worked out once per due list rather than once per case."""

    def __init__(
        self, profile: PolicyProfile, as_of: date, shown: Iterable[str] | None = None
    ) -> None:
        self.profile = profile
        self.as_of = as_of
        self.ordinal = as_of.toordinal()
        self.shown = frozenset(shown) if shown is not None else None
        """The statuses whose items are built (None: every status)."""
        self.key = facts_key(profile)
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
        self.dates = _Dates()
        self.memo: dict[tuple[Any, ...], tuple[_Part, ...]] = {}
        """A rule's items on any case whose facts give the same key (`_CaseRules.memo`)."""

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
    """Evaluates every deadline rule on one case for one day.

    The rules read only the case's facts (`from_case` collects them from a whole case,
    `from_facts` from its summary), never the case itself."""

    def __init__(self, day: _Day) -> None:
        self.day = day
        self.profile = day.profile
        self.as_of = day.as_of
        self.shown = day.shown
        self.items: list[DueItem] = []

    def head(self, case: Case) -> None:
        """The case's own fields the rules read."""
        self.id = case.id
        self.worker = case.worker
        self.opened = case.opened
        self.kind = case.kind
        self.high_risk = case.high_risk
        self.unannounced = case.unannounced.required
        self.unannounced_reason = case.unannounced.reason
        self.pending_plans = [
            (plan.approval == ApprovalState.PENDING, plan.created)
            for plan in case.safety_plans
            if plan.pending_approval
        ]

    def from_case(self, case: Case) -> bool:
        """Collect the dates the rules read once, so each rule is a few comparisons; False
        when nothing can be due on the case this day."""
        closure = case.closure
        if closure is not None and closure.date <= self.as_of:
            return False  # rule CL-1: a closed case has nothing due
        if case.opened > self.as_of:
            return False
        self.head(case)
        self.collect(case)
        return True

    def collect(self, case: Case, every_rule: bool = False) -> None:
        """The dates the rules read, each up to this day: for the rules the profile applies,
        or for `every_rule` (the facts a summary keeps)."""
        as_of = self.as_of
        self.read_visits(case)
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
        self.events = tuple(
            sorted(((e.kind, e.date, e.note) for e in case.events if e.date <= as_of), key=_BY_DATE)
        )
        removals = [day for kind, day, _note in self.events if kind == "removal"]
        if case.removal_date is not None and case.removal_date <= as_of:
            removals.append(case.removal_date)
        self.removal = max(removals, default=None)
        self.placed = False
        self.first_placed: date | None = None
        self.first_placement: date | None = None
        self.first_plan_after: date | None = None
        not_applied = () if every_rule else self.day.not_applied
        if "RV-5" in not_applied and "FED-1" in not_applied:
            return  # only they read the placements
        placed = [c.placement.since for c in case.children if c.placement is not None]
        # rule RV-5: a child placed is in care, whatever the placement's date
        self.placed = bool(placed)
        self.first_placed = min((d for d in placed if d is not None), default=None)
        if "FED-1" in not_applied:
            return
        # rule FED-1: with no removal date on record, the clock starts with the child's
        # first out-of-home placement.
        self.first_placement = min(
            (d for d in placed if d is not None and d <= as_of), default=None
        )
        start = self.removal if self.removal is not None else self.first_placement
        if start is not None:
            self.first_plan_after = min((d for d in updates if d >= start), default=None)

    def read_visits(self, case: Case) -> None:
        """Rules VI-1 and VI-5 in one pass over the visits: the latest completed home visit
        (VI-1), and once the first month is over, every home visit in it and the first home
        visit after it, whatever its outcome (VI-5, `_first_gap`)."""
        day = self.day
        as_of, kinds, opened = day.as_of, day.visit_kinds, case.opened
        closed: date | None = None  # the end of a first month that is over
        if day.first_month:
            window_end = opened + day.first_month_span
            if as_of > window_end:
                closed = window_end
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
        self.first_gap: tuple[date, date, date | None] | None = None
        if closed is not None:
            first_month.sort()
            self.first_gap = _first_gap(opened, closed, day.first_month_step, first_month, after)

    def from_facts(self, facts: list[Any]) -> bool:
        """The facts `rule_facts` kept in the case's summary, for a day on or after every
        date in them; False when nothing can be due on the case this day."""
        closure = facts[6]
        if closure is not None and closure <= self.day.ordinal:
            return False  # rule CL-1: a closed case has nothing due
        day = self.day.dates
        opened = self.opened = day[facts[5]]
        if opened > self.as_of:
            return False
        (
            self.id,
            self.worker,
            kind,
            self.high_risk,
            self.unannounced,
            self.unannounced_reason,
            last_visit,
            gap,
            last_supervision,
            plan_completed,
            last_formal_review,
            last_plan_update,
            events,
            removal,
            self.placed,
            first_placed,
            first_plan_after,
            pending_plans,
        ) = facts[2:5] + facts[7:]
        self.kind = _KINDS.get(kind) or CaseKind(kind)
        self.last_visit = day[last_visit] if last_visit is not None else None
        self.first_gap = (
            (day[gap[0]], day[gap[1]], day[gap[2]] if gap[2] is not None else None)
            if gap is not None
            else None
        )
        self.last_supervision = day[last_supervision] if last_supervision is not None else None
        self.plan_completed = day[plan_completed] if plan_completed is not None else None
        self.last_formal_review = (
            day[last_formal_review] if last_formal_review is not None else None
        )
        self.last_plan_update = day[last_plan_update] if last_plan_update is not None else None
        self.events = tuple([(kind, day[when], note) for kind, when, note in events])
        self.removal = day[removal] if removal is not None else None
        self.first_placed = self.first_placement = (
            day[first_placed] if first_placed is not None else None
        )
        self.first_plan_after = day[first_plan_after] if first_plan_after is not None else None
        self.pending_plans = [
            (pending, day[made] if made is not None else None) for pending, made in pending_plans
        ]
        return True

    def wants(self, status: str) -> bool:
        """Whether the list shows items of this status (`fieldkit due` without --all)."""
        return self.shown is None or status in self.shown

    def add(self, rule: str, what: str, due: date, status: str, reason: str) -> None:
        """Record one due item for this case."""
        self.items.append(_new(DueItem, (self.id, rule, what, due, status, reason, self.worker)))

    def memo(self, key: tuple[Any, ...], rule: Callable[..., None], *args: Any) -> None:
        """Run `rule(*args)` on this case, or give the items it gave on an earlier case of
        this due list with the same `key`, for this case and worker. The key holds every
        fact of the case the rule reads (the day's settings are the same for every case):
        the words of a reason are worked out once for each set of dates a caseload shares."""
        items, memo = self.items, self.day.memo
        found = memo.get(key)
        if found is None:
            start = len(items)
            rule(*args)
            memo[key] = tuple([item[1:6] for item in items[start:]])
            return
        case, worker = self.id, self.worker
        for rule_id, what, due, status, reason in found:
            items.append(_new(DueItem, (case, rule_id, what, due, status, reason, worker)))

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
        w = self.day
        last_visit = self.last_visit
        anchor = last_visit or self.opened
        # rule VI-5: first-month intensity
        if w.first_month:
            window_end = self.opened + w.first_month_span
            if self.as_of > window_end:
                gap = self.first_gap
                if gap is not None and self.wants("missed"):
                    facts = (self.opened, gap, self.unannounced)
                    self.memo(("VI-5", facts), self.missed_first_month, window_end, gap)
            elif anchor + w.first_month_step <= window_end:
                self.first_month_visit(window_end)
                return
        # rule VI-1: at least once per interval
        if self.applies("VI-1"):
            opened = self.opened if last_visit is None else None  # the anchor without a visit
            reason = self.unannounced_reason
            self.memo(("VI-1", last_visit, opened, self.unannounced, reason), self.regular_visits)

    def first_month_visit(self, window_end: date) -> None:
        """Rule VI-5: within the first month, the next visit is due one interval after the
        latest (or the opening) while that falls in the month; VI-1 is not read then."""
        p, w = self.profile, self.day
        last_visit = self.last_visit
        first_due = (last_visit or self.opened) + w.first_month_step
        status = self.recurring_status(first_due, last_visit is not None)
        if not self.wants(status):
            return
        reason = w._(
            "{since}; a visit every {first_month_interval_days} days in the "
            "first {first_month_days} days of service, until {window_end} (VI-5)"
        ).format(
            since=self.since_visit(),
            first_month_interval_days=p.first_month_interval_days,
            first_month_days=p.first_month_days,
            window_end=window_end.isoformat(),
        )
        self.add("VI-5", self.visit_words(), first_due, status, reason + self.tail())

    def regular_visits(self) -> None:
        """Rule VI-1: the next home visit at least once per interval."""
        p, w = self.profile, self.day
        last_visit = self.last_visit
        anchor = last_visit or self.opened
        due = w.add_period(anchor, p.visit_interval)
        status = self.recurring_status(due, last_visit is not None)
        if not self.wants(status):
            return
        reason = w._("{since}; {every} (VI-1)").format(
            since=self.since_visit(), every=w.every(p.visit_interval, "visits")
        )
        self.add("VI-1", self.visit_words(), due, status, reason + self.tail())

    def visit_words(self) -> str:
        """Rule VI-4: the visit, unannounced where the case requires it."""
        w = self.day
        return w._("unannounced home visit") if self.unannounced else w._("home visit")

    def since_visit(self) -> str:
        """The anchor of the next visit, in words."""
        w, last_visit = self.day, self.last_visit
        if last_visit is not None:
            return w._("last home visit {last_visit}").format(last_visit=last_visit.isoformat())
        return w._("case opened {opened}, no home visit yet").format(opened=self.opened.isoformat())

    def tail(self) -> str:
        """Rule VI-4: why the visit must be unannounced, where it must."""
        if not self.unannounced:
            return ""
        w = self.day
        why = self.unannounced_reason or w._("reason not recorded")
        return w._("; must be unannounced: {why} (VI-4)").format(why=why)

    def missed_first_month(self, window_end: date, gap: tuple[date, date, date | None]) -> None:
        """Rule VI-5: a first-month visit that was missed stays listed once the window closes."""
        p, w = self.profile, self.day
        due, anchor, later = gap
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
        what = w._("first-month {what} missed").format(what=self.visit_words())
        self.add("VI-5", what, due, "missed", reason)

    def supervision(self) -> None:
        """Rule RV-1: case reviewed in supervision; higher-risk cases more often."""
        if not self.applies("RV-1"):
            return
        p, w = self.profile, self.day
        period = p.supervision_high_risk_interval if self.high_risk else p.supervision_interval
        last = self.last_supervision
        due = w.add_period(last or self.opened, period)
        status = self.recurring_status(due, last is not None)
        if not self.wants(status):
            return
        since = (
            w._("last supervision {last_supervision}").format(last_supervision=last.isoformat())
            if last is not None
            else w._("case opened {opened}, no supervision yet").format(
                opened=self.opened.isoformat()
            )
        )
        risk = w._("higher-risk case: ") if self.high_risk else ""
        reason = w._("{since}; {risk}{every} (RV-1)").format(
            since=since, risk=risk, every=w.every(period, "supervision")
        )
        self.add("RV-1", w._("supervision review"), due, status, reason)

    def service_plan(self) -> None:
        """Rule PL-2: the initial service plan within N days of the case opening."""
        if not self.applies("PL-2"):
            return
        w = self.day
        days = self.profile.service_plan_deadline_days
        due = self.opened + timedelta(days=days)
        completed = self.plan_completed
        status = "done" if completed is not None else w.status_for(due)
        if not self.wants(status):
            return
        opened = w._("case opened {opened}").format(opened=self.opened.isoformat())
        if completed is not None:
            late = (completed - due).days
            timing = w._(", {late} days after the deadline").format(late=late) if late > 0 else ""
            reason = w._("{opened}; service plan completed {plan_completed}{timing} (PL-2)").format(
                opened=opened, plan_completed=completed.isoformat(), timing=timing
            )
        else:
            reason = w._("{opened}; initial service plan within {days} days (PL-2)").format(
                opened=opened, days=days
            )
        self.add("PL-2", w._("initial service plan"), due, status, reason)

    def foster_care_plan(self) -> None:
        """Rule FED-1: a case plan with the parents within N days of a child's removal, or of
        the first out-of-home placement when no removal date is recorded."""
        if not self.applies("FED-1"):
            return
        w = self.day
        if self.removal is not None:
            start = self.removal
            placed = False
        elif self.first_placement is not None:
            start = self.first_placement
            placed = True
        else:
            return
        days = self.profile.foster_care_plan_deadline_days
        due = start + timedelta(days=days)
        first = self.first_plan_after
        if first is not None:
            status = "done" if first <= due else "done-late"
        else:
            status = w.status_for(due)
        if not self.wants(status):
            return
        if placed:
            removed = w._("child placed out of home {start} (no removal date recorded)").format(
                start=start.isoformat()
            )
        else:
            removed = w._("child removed {start}").format(start=start.isoformat())
        what = w._("case plan for the child in care")
        if first is not None and first <= due:
            reason = w._("{removed}; case plan dated {first} (FED-1)").format(
                removed=removed, first=first.isoformat()
            )
        elif first is not None:
            late = (first - due).days
            reason = w._(
                "{removed}; case plan within {days} days, by {due}; the first case "
                "plan after it is dated {first}, {late} days late (FED-1)"
            ).format(
                removed=removed, days=days, due=due.isoformat(), first=first.isoformat(), late=late
            )
        else:
            reason = w._("{removed}; case plan with the parents within {days} days (FED-1)").format(
                removed=removed, days=days
            )
            if self.plan_completed is not None:
                reason += w._("; the service plan of {plan_completed} predates the removal").format(
                    plan_completed=self.plan_completed.isoformat()
                )
        self.add("FED-1", what, due, status, reason)

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
        # rules PL-7, EV-1, RV-3: the earliest unanswered significant event
        best: tuple[date, str, str, date, int] | None = None
        updated = self.last_plan_update
        for kind, when, _note in self.events:
            found = w.event_reviews.get(kind)
            if found is None:
                continue  # not a significant event, or its rule is not applied
            if updated is not None and updated >= when:
                continue  # a review or plan update since the event answered it
            rule, days = found
            due = when + timedelta(days=days)
            if best is None or due < best[0]:
                best = (due, rule, kind, when, days)
        if best is not None and best[0] < periodic_due:
            due, rule, kind, when, days = best
            status = w.status_for(due)
            if not self.wants(status):
                return
            words = f"{w._(_EVENT_WORDS[kind])} {when.isoformat()}"
            why = w._("{words}: plan review within {days} days ({rule})").format(
                words=words, days=days, rule=rule
            )
            reason = w._("{why}; otherwise {periodic} due {periodic_due}{extra}").format(
                why=why,
                periodic=self.periodic(periodic_rule),
                periodic_due=periodic_due.isoformat(),
                extra=self.new_information(anchor),
            )
            self.add(rule, w._("formal case review and plan update"), due, status, reason)
            return
        status = self.recurring_status(periodic_due, reviewed)
        if not self.wants(status):
            return
        if reviewed:
            since = w._("last formal review {last_formal_review}").format(
                last_formal_review=anchor.isoformat()
            )
        else:
            since = w._("service plan completed {plan_completed}").format(
                plan_completed=anchor.isoformat()
            )
        reason = f"{since}; {self.periodic(periodic_rule)}{self.new_information(anchor)}"
        what = w._("formal case review and plan update")
        self.add(periodic_rule, what, periodic_due, status, reason)

    def periodic(self, rule: str) -> str:
        """The periodic review's interval and rule, in words."""
        return f"{self.day.every(self.profile.review_interval, 'formal review')} ({rule})"

    def new_information(self, anchor: date) -> str:
        """Rule EV-2: new information is named in the next review's reason."""
        return "".join(
            f"; new information {when.isoformat()} to integrate (EV-2)"
            for kind, when, _note in self.events
            if kind == "new-information" and when > anchor
        )

    def permanency_review(self) -> None:
        """Rule RV-5: permanency goals of a child in care reviewed every N months."""
        if not self.applies("RV-5"):
            return
        in_care = self.kind == CaseKind.OUT_OF_HOME_CPS or self.placed or self.removal is not None
        if not in_care:
            return
        start = self.removal or self.first_placed or self.opened
        formal = self.last_formal_review
        # the items read the review when it is on or after the start, else the start
        read = (True, formal) if formal is not None and formal >= start else (False, start)
        self.memo(("RV-5", read), self.permanency_goals, start)

    def permanency_goals(self, start: date) -> None:
        """Rule RV-5 on a child in care since `start`."""
        w, p = self.day, self.profile
        formal = self.last_formal_review
        reviewed = formal is not None and formal >= start
        anchor = formal if reviewed and formal is not None else start
        due = w.add_period(anchor, p.review_interval)
        status = self.recurring_status(due, reviewed)
        if not self.wants(status):
            return
        if reviewed:
            since = w._("last formal review {anchor}").format(anchor=anchor.isoformat())
        else:
            since = w._("child in care since {start}").format(start=start.isoformat())
        reason = w._("{since}; permanency goals reviewed every {review_interval} (RV-5)").format(
            since=since, review_interval=p.review_interval.describe()
        )
        self.add("RV-5", w._("permanency goals review"), due, status, reason)

    def safety_plans(self) -> None:
        """Rule SA-2: approval before implementation, documented by the next working day."""
        if not self.applies("SA-2"):
            return
        p, w = self.profile, self.day
        for pending, created in self.pending_plans:
            made = created or self.as_of
            label = w._("alternative safety plan of {made}").format(
                made=made.isoformat()
            )  # a date, never its id
            if pending:
                status = "overdue" if made < self.as_of else "due"
                if self.wants(status):
                    reason = w._(
                        "alternative safety plan made {made}; a supervisor approves it "
                        "before it is implemented (SA-2)"
                    ).format(made=made.isoformat())
                    what = w._("supervisor approval of {label}").format(label=label)
                    self.add("SA-2", what, made, status, reason)
            n = p.safety_plan_documentation_working_days
            due = p.add_working_days(made, n)
            status = w.status_for(due)
            if not self.wants(status):
                continue
            skipped = [
                (day, p.holiday_name(day))
                for day in (made + timedelta(days=i) for i in range(1, (due - made).days))
                if day.weekday() not in p.weekend and p.is_holiday(day)
            ]
            holiday = "".join(
                w._(", skipping {name} {day}").format(name=name, day=d.isoformat())
                for d, name in skipped
            )
            reason = w._(
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
            self.add("SA-2", w._("document {label}").format(label=label), due, status, reason)

    def conversions(self) -> None:
        """Rule CT-2: a case becoming CPS is recorded with its reason and date."""
        w = self.day
        for kind, when, note in self.events:
            if kind != "became-cps":
                continue
            day = when.isoformat()
            if note.strip():
                if self.wants("done"):
                    reason = w._("became a CPS case on {day}: {note} (CT-2)").format(
                        day=day, note=note.strip()
                    )
                    self.add("CT-2", w._("case became CPS"), when, "done", reason)
            else:
                status = w.status_for(when)
                if self.wants(status):
                    reason = w._(
                        "became a CPS case on {day}; the reason is not recorded (CT-2)"
                    ).format(day=day)
                    what = w._("record why the case became CPS")
                    self.add("CT-2", what, when, status, reason)

    def run(self, ordered: bool = True) -> list[DueItem]:
        """Every deadline rule for this case, most urgent first unless `ordered` is False
        (the due list orders the whole caseload at once)."""
        # Each rule's key holds every fact of the case that rule reads (`memo`).
        if self.pending_plans:  # rule SA-2
            self.memo(("SA-2", tuple(self.pending_plans)), self.safety_plans)
        self.visits()  # rules VI-1, VI-5
        last = self.last_supervision  # rule RV-1: the opening only without a supervision
        self.memo(
            ("RV-1", self.high_risk, last, self.opened if last is None else None),
            self.supervision,
        )
        if self.plan_completed is None or self.wants("done"):
            self.service_plan()  # rule PL-2: a plan on record is done, listed with --all
        removal, placement = self.removal, self.first_placement
        if self.applies("FED-1") and (removal is not None or placement is not None):
            facts = (removal, placement, self.first_plan_after, self.plan_completed)
            self.memo(("FED-1", facts), self.foster_care_plan)
        completed, formal = self.plan_completed, self.last_formal_review
        if completed is not None or formal is not None:  # rules RV-2, PL-7, EV-1, EV-2, RV-3
            read = (completed, formal, self.last_plan_update, self.events)
            self.memo(("RV-2", read), self.plan_review)
        self.permanency_review()
        if self.events:
            self.conversions()
        if ordered:
            self.items.sort(key=DueItem.sort_key)
        return self.items


def _first_gap(
    opened: date, window_end: date, step: timedelta, days: list[date], after: date | None
) -> tuple[date, date, date | None] | None:
    """Rule VI-5: the first first-month visit that was missed, as (due, anchor, the next home
    visit or None); None when none was.

    From the case's opening, each visit must follow the one before within the interval; the
    first gap is the missed visit. `days` are the month's home visits, sorted, so the latest
    visit by each due date is a bisect, not a walk; `after` is the first one after the month."""
    anchor = opened
    while anchor + step <= window_end:
        due = anchor + step
        made = bisect_right(days, due)
        if made and days[made - 1] > anchor:
            anchor = days[made - 1]
            continue
        # the first home visit after the due date: in the month, else after it
        later = days[made] if made < len(days) else after
        return due, anchor, later
    return None


_BY_CASE_AND_RULE = attrgetter("case", "rule")
_DAYS = date.max.toordinal() + 1
"""Every date's day number is below it, so rank * _DAYS + day number orders by rank, then date."""


def _by_rank_and_date(item: DueItem) -> int:
    """Status rank, then date, as one small whole number, which the sort compares fastest."""
    return STATUS_RANK.get(item.status, len(STATUS_RANK)) * _DAYS + item.due.toordinal()


def _most_urgent_first(items: list[DueItem]) -> list[DueItem]:
    """`items.sort(key=DueItem.sort_key)` in two stable sorts with cheaper keys: by case and
    rule, then by rank and date; ties keep the order of the first, as in the one sort (the
    order `_Buckets` builds without sorting; the tests' reference)."""
    items.sort(key=_BY_CASE_AND_RULE)
    items.sort(key=_by_rank_and_date)
    return items


def due_items(case: Case, profile: PolicyProfile, as_of: date | datetime) -> list[DueItem]:
    """Everything the profile's deadline rules make due on one case, most urgent first."""
    rules = _CaseRules(_Day(profile, _as_date(as_of, profile)))
    return rules.run() if rules.from_case(case) else []


class CaseFacts:
    """A case as its summary gives it to the rules: the facts `rule_facts` folded when the
    summary was made, and the whole case for a day before them or another profile's key."""

    __slots__ = ("facts", "id", "load", "worker")

    def __init__(
        self, case_id: str, worker: str | None, facts: list[Any] | None, load: Callable[[], Case]
    ) -> None:
        self.id = case_id
        self.worker = worker
        self.facts = facts
        """`rule_facts` of the case, or None where none could be folded."""
        self.load = load
        """The case as the rules read it, every record in it (slower)."""


def rule_facts(case: Case, profile: PolicyProfile) -> list[Any]:
    """What the rules read of a case, for any day on or after every date in it: the latest
    home visit, the first gap in the first month, the latest supervision, plan, review and
    removal, the events, placements and pending safety plans (rules VI-1..5, RV-1/2/3/5,
    PL-2/7, EV-1/2, FED-1, SA-2, CT-2, CL-1). A due list reads these for each case and never
    its visits; `CaseFacts` keeps the case for a day before them (`horizon`)."""
    day = _Day(profile, date.max)
    rules = _CaseRules(day)
    rules.head(case)
    rules.collect(case, every_rule=True)  # every date is on or before date.max: all are in
    kinds = day.visit_kinds
    dates = [v.date for v in case.visits if v.kind in kinds]
    dates += [s.date for s in case.supervisions]
    dates += [r.date for r in case.reviews]
    dates += [e.date for e in case.events]
    dates += case.service_plan_dates
    dates += [
        c.placement.since for c in case.children if c.placement is not None and c.placement.since
    ]
    plan = case.service_plan
    for extra in (
        case.last_supervision,
        case.service_plan_completed,
        case.last_formal_review,
        case.removal_date,
        plan.completed if plan is not None else None,
    ):
        if extra is not None:
            dates.append(extra)
    gap = rules.first_gap
    o = _ordinal
    return [
        day.key,
        max(dates).toordinal() if dates else None,
        case.id,
        case.worker,
        case.kind.value,
        case.opened.toordinal(),
        o(case.closure.date) if case.closure is not None else None,
        case.high_risk,
        case.unannounced.required,
        case.unannounced.reason,
        o(rules.last_visit),
        [gap[0].toordinal(), gap[1].toordinal(), o(gap[2])] if gap is not None else None,
        o(rules.last_supervision),
        o(rules.plan_completed),
        o(rules.last_formal_review),
        o(rules.last_plan_update),
        [[kind, when.toordinal(), note] for kind, when, note in rules.events],
        o(rules.removal),
        rules.placed,
        o(rules.first_placed),
        o(rules.first_plan_after),
        [[pending, o(made)] for pending, made in rules.pending_plans],
    ]


_FIRST = itemgetter(0)
_NOBODY = (None, None)
"""The first entry of every bucket (`_Buckets`): no case, no rule."""


class _Buckets(dict[int, list[Any]]):
    """The due list's items by `_by_rank_and_date` (a caseload's items fall on a few hundred
    such values), each bucket in case and rule order (`_put`) after `_NOBODY`."""

    disordered = False
    """Set where a case read whole gave its items another id than the one it was taken by."""

    def __missing__(self, rank_and_date: int) -> list[Any]:
        found = self[rank_and_date] = [_NOBODY]
        return found

    def put(self, item: DueItem) -> None:
        """Add an item of a case whose id is not below any case's already in the list."""
        bucket = self[_by_rank_and_date(item)]
        if bucket[-1][0] == item[0]:
            _insert(bucket, item)
        else:
            bucket.append(item)

    def in_order(self) -> list[DueItem]:
        """Every item, most urgent first: `_most_urgent_first`'s order."""
        items: list[DueItem] = []
        for rank_and_date in sorted(self):
            bucket = self[rank_and_date]
            del bucket[0]
            items += bucket
        return items


def _insert(bucket: list[Any], item: DueItem) -> None:
    """Put `item` after the items of its case with a rule up to its own: the bucket's end is
    the latest case's, and a case's items may come in any order of rules (stable)."""
    case, rule = item[0], item[1]
    at = len(bucket)
    while bucket[at - 1][0] == case and bucket[at - 1][1] > rule:
        at -= 1
    bucket.insert(at, item)


_Share = tuple[tuple[str, str, date, str, str, list[Any]], ...]
"""A rule's items on any case with the same facts: (rule, what, due, status, reason,
bucket) each, bucket being the list its items go to (`_Buckets`)."""


def _vi5_missed(rules: _CaseRules) -> None:
    """Rule VI-5's missed first-month visit, as `_CaseRules.visits` runs it."""
    assert rules.first_gap is not None
    rules.missed_first_month(rules.opened + rules.day.first_month_span, rules.first_gap)


def _vi5_month(rules: _CaseRules) -> None:
    """Rule VI-5 within the first month, as `_CaseRules.visits` runs it."""
    rules.first_month_visit(rules.opened + rules.day.first_month_span)


def _rv5(rules: _CaseRules) -> None:
    """Rule RV-5, as `_CaseRules.permanency_review` runs it on a child in care."""
    rules.permanency_goals(rules.removal or rules.first_placed or rules.opened)


_OUT_OF_HOME = CaseKind.OUT_OF_HOME_CPS.value
_LAST_SAFE = (date.max - timedelta(days=40_000)).toordinal()
"""Facts dated past it are read as dates (`from_facts`), where the rules' overflow holds."""


def _share(rules: _CaseRules, rule: Callable[[_CaseRules], None], buckets: _Buckets) -> _Share:
    """Run `rule` on the case; its items as the next case with the same key gets them."""
    items = rules.items
    start = len(items)
    rule(rules)
    return tuple(
        [
            (item[1], item[2], item[3], item[4], item[5], buckets[_by_rank_and_date(item)])
            for item in items[start:]
        ]
    )


def _in_buckets(
    day: _Day, read: list[tuple[str, list[Any] | None, Case | CaseFacts | None]]
) -> _Buckets:
    """Every case's items in their buckets, the cases in the order of `read` (by the id their
    items carry). A case given by its facts is read on their day numbers: each rule's items
    are worked out once per set of the facts that rule reads (the keys of `_CaseRules.run`,
    which this mirrors) and handed to every case with the same key under its own id and
    worker; the case is read into a `_CaseRules` only where a rule meets its facts for the
    first time. Any other case is read into a `_CaseRules` and runs them all."""
    buckets = _Buckets()
    put = buckets.put
    sa2: dict[Any, _Share] = {}
    vi5: dict[Any, _Share] = {}
    vi5_month: dict[Any, _Share] = {}
    vi1: dict[Any, _Share] = {}
    rv1: dict[Any, _Share] = {}
    pl2: dict[Any, _Share] = {}
    fed1: dict[Any, _Share] = {}
    rv2: dict[Any, _Share] = {}
    rv5: dict[Any, _Share] = {}
    ct2: dict[Any, _Share] = {}
    today = day.ordinal
    first_month = day.first_month
    span, step = day.first_month_span.days, day.first_month_step.days
    shown = day.shown
    missed = shown is None or "missed" in shown
    done = shown is None or "done" in shown
    regular_applies = "VI-1" not in day.not_applied
    fed1_applies = "FED-1" not in day.not_applied
    rv5_applies = "RV-5" not in day.not_applied
    wanted: list[tuple[dict[Any, _Share], Any, Callable[[_CaseRules], None]]] = []
    """The rules whose items a case's facts have not given yet (a case's own, then cleared)."""
    for case_id, facts, whole in read:
        if facts is None:
            rules = _CaseRules(day)
            if _ready(rules, day.key, today, whole):
                if rules.id != case_id:
                    buckets.disordered = True
                for item in rules.run(ordered=False):
                    put(item)
            continue
        closure = facts[6]
        if closure is not None and closure <= today:
            continue  # rule CL-1: a closed case has nothing due
        opened = facts[5]
        if opened > today:
            continue
        shares: _Share = ()
        plans = facts[21]
        if plans:  # rule SA-2
            key: Any = tuple([(pending, made) for pending, made in plans])
            found = sa2.get(key)
            if found is None:
                wanted.append((sa2, key, _CaseRules.safety_plans))
            else:
                shares = found
        last_visit = facts[10]
        unannounced = facts[8]
        regular = regular_applies
        if first_month:  # rule VI-5
            window_end = opened + span
            if today > window_end:
                gap = facts[11]
                if gap is not None and missed:
                    key = (opened, gap[0], gap[1], gap[2], unannounced)
                    found = vi5.get(key)
                    if found is None:
                        wanted.append((vi5, key, _vi5_missed))
                    else:
                        shares += found
            elif (last_visit or opened) + step <= window_end:
                regular = False
                key = (opened, last_visit, unannounced, facts[9])
                found = vi5_month.get(key)
                if found is None:
                    wanted.append((vi5_month, key, _vi5_month))
                else:
                    shares += found
        if regular:  # rule VI-1
            key = (last_visit, opened if last_visit is None else None, unannounced, facts[9])
            found = vi1.get(key)
            if found is None:
                wanted.append((vi1, key, _CaseRules.regular_visits))
            else:
                shares += found
        last = facts[12]  # rule RV-1
        key = (facts[7], last, opened if last is None else None)
        found = rv1.get(key)
        if found is None:
            wanted.append((rv1, key, _CaseRules.supervision))
        else:
            shares += found
        completed = facts[13]
        if completed is None or done:  # rule PL-2
            key = (opened, completed)
            found = pl2.get(key)
            if found is None:
                wanted.append((pl2, key, _CaseRules.service_plan))
            else:
                shares += found
        removal, placed = facts[17], facts[19]
        if fed1_applies and (removal is not None or placed is not None):  # rule FED-1
            key = (removal, placed, facts[20], completed)
            found = fed1.get(key)
            if found is None:
                wanted.append((fed1, key, _CaseRules.foster_care_plan))
            else:
                shares += found
        events = facts[16]
        if events:  # each event (kind, day, note) in one flat tuple
            happened = (*events[0],) if len(events) == 1 else tuple(chain.from_iterable(events))
        formal = facts[14]
        if completed is not None or formal is not None:  # rules RV-2, PL-7, EV-1, EV-2, RV-3
            key = (completed, formal, facts[15], happened if events else ())
            found = rv2.get(key)
            if found is None:
                wanted.append((rv2, key, _CaseRules.plan_review))
            else:
                shares += found
        if rv5_applies and (facts[4] == _OUT_OF_HOME or facts[18] or removal is not None):
            start = removal or placed or opened  # rule RV-5, as `permanency_review`
            key = (True, formal) if formal is not None and formal >= start else (False, start)
            found = rv5.get(key)
            if found is None:
                wanted.append((rv5, key, _rv5))
            else:
                shares += found
        if events:  # rule CT-2
            found = ct2.get(happened)
            if found is None:
                wanted.append((ct2, happened, _CaseRules.conversions))
            else:
                shares += found
        if wanted:
            rules = _CaseRules(day)
            rules.from_facts(facts)
            for memo, key, rule in wanted:
                found = memo[key] = _share(rules, rule, buckets)
                shares += found
            wanted.clear()
        case, worker = facts[2], facts[3]
        for rule_id, what, due, status, reason, bucket in shares:
            item = _new(DueItem, (case, rule_id, what, due, status, reason, worker))
            if bucket[-1][0] == case:
                _insert(bucket, item)
            else:
                bucket.append(item)
    return buckets


def due_list(
    cases: Iterable[Case | CaseFacts],
    profile: PolicyProfile,
    as_of: date | datetime,
    case_id: str | None = None,
    statuses: Iterable[str] | None = None,
) -> list[DueItem]:
    """The due list across a caseload, most urgent first: items of every status, or only of
    `statuses` (the others are never put in words); see `open_items`.

    A case given by its summary is read from its facts where they hold for this day and
    profile, else from the whole case: the items are the same either way. The cases are
    taken in the order of their ids, so each item goes straight into its place in the
    list (`_Buckets`) rather than through a sort of every item."""
    day = _Day(profile, _as_date(as_of, profile), statuses)
    key, today = day.key, day.ordinal
    chosen = [case for case in cases if case_id is None or case.id == case_id]
    read: list[tuple[str, list[Any] | None, Case | CaseFacts | None]] = []
    """Each case as (its id, its facts where they hold, else None and the case)."""
    for case in chosen:
        if isinstance(case, CaseFacts):
            facts = case.facts
            if (
                facts is not None
                and facts[0] == key
                and (facts[1] is None or facts[1] <= today)
                and facts[5] <= _LAST_SAFE
            ):
                read.append((facts[2], facts, None))
                continue
        read.append((case.id, None, case))
    read.sort(key=_FIRST)
    buckets = _in_buckets(day, read)
    if not buckets.disordered:
        return buckets.in_order()
    items: list[DueItem] = []  # a case's items under another id than its summary's
    for case in chosen:
        rules = _CaseRules(day)
        if _ready(rules, key, today, case):
            items.extend(rules.run(ordered=False))
    return _most_urgent_first(items)


def _ready(rules: _CaseRules, key: str, today: int, case: Case | CaseFacts | None) -> bool:
    """Read `case` into `rules` from its facts where they hold, else whole; False when
    nothing can be due on it this day."""
    if isinstance(case, CaseFacts):
        facts = case.facts
        if facts is not None and facts[0] == key and (facts[1] is None or facts[1] <= today):
            return rules.from_facts(facts)
        return rules.from_case(case.load())
    return case is not None and rules.from_case(case)


def open_items(items: Iterable[DueItem]) -> list[DueItem]:
    """What needs attention now: overdue, due and due-soon (the default `fieldkit due`)."""
    return [item for item in items if item.status in OPEN_STATUSES]


def next_due(case: Case, profile: PolicyProfile, as_of: date | datetime) -> DueItem | None:
    """The most urgent open item on a case, for the dashboard line (only open items are
    put in words)."""
    rules = _CaseRules(_Day(profile, _as_date(as_of, profile), TODO_STATUSES))
    if not rules.from_case(case):
        return None
    items = rules.run()
    return items[0] if items else None


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
