"""Deadline rules, table-driven, in both shipped profiles; expected dates worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from fieldkit.domain import (
    ApprovalState,
    Case,
    CaseEvent,
    CaseKind,
    Closure,
    Person,
    Placement,
    Review,
    SafetyPlan,
    Supervision,
    Unannounced,
    Visit,
)
from fieldkit.practice import (
    STATUSES,
    PolicyProfile,
    due_items,
    due_list,
    group_by_worker,
    load_profile,
    next_due,
    open_items,
)

ON = load_profile("ontario-std7")
US = load_profile("us-ongoing")
PROFILES = {"ontario-std7": ON, "us-ongoing": US}


def make_case(
    opened: date,
    *,
    visits: tuple[date, ...] = (),
    office_visits: tuple[date, ...] = (),
    case_id: str = "C-1",
    **fields: Any,
) -> Case:
    """A case with home visits on the given days and any other Case fields."""
    return Case(
        id=case_id,
        kind=fields.pop("kind", CaseKind.IN_HOME_CPS),
        opened=opened,
        worker=fields.pop("worker", "jsmith"),
        visits=[Visit(id=f"v{i}", date=d) for i, d in enumerate(visits)]
        + [Visit(id=f"o{i}", date=d, kind="office") for i, d in enumerate(office_visits)],
        **fields,
    )


@dataclass(frozen=True)
class Row:
    """One hand-worked expectation: in `profile`, on `as_of`, rule `rule` is due `due`."""

    id: str
    profile: str
    case: Case
    as_of: date
    rule: str
    due: date
    status: str
    reason_has: tuple[str, ...] = field(default=())


ROWS = [
    # ---------------------------------------------------------------- VI-1 monthly visits
    Row(
        "VI-1-jan31-to-feb28",
        "ontario-std7",
        make_case(date(2026, 1, 1), visits=(date(2026, 1, 10), date(2026, 1, 31))),
        date(2026, 2, 20),
        "VI-1",
        date(2026, 2, 28),  # Jan 31 + 1 month, clamped to 28-day February
        "due-soon",  # 8 days away: more than 7, within 14
        ("last home visit 2026-01-31; monthly visits (VI-1)",),
    ),
    Row(
        "VI-1-leap-feb29",
        "ontario-std7",
        make_case(date(2027, 12, 1), visits=(date(2028, 1, 31),)),
        date(2028, 2, 25),
        "VI-1",
        date(2028, 2, 29),
        "due",
    ),
    Row(
        "VI-1-31-day-month",
        "ontario-std7",
        make_case(date(2026, 9, 1), visits=(date(2026, 10, 31),)),
        date(2026, 12, 2),
        "VI-1",
        date(2026, 11, 30),
        "overdue",
    ),
    Row(
        "VI-1-done-this-month",
        "us-ongoing",
        make_case(date(2026, 1, 5), visits=(date(2026, 3, 31),)),
        date(2026, 4, 10),
        "VI-1",
        date(2026, 4, 30),
        "done",
    ),
    Row(
        "VI-1-no-visit-after-first-month",
        "ontario-std7",
        make_case(date(2026, 9, 1)),
        date(2026, 10, 5),
        "VI-1",
        date(2026, 10, 1),  # opened + 1 month; the first-month window ended 2026-10-01
        "overdue",
        ("case opened 2026-09-01, no home visit yet",),
    ),
    Row(
        "VI-1-office-visit-does-not-count",
        "ontario-std7",
        make_case(
            date(2026, 6, 1),
            visits=(date(2026, 8, 3),),
            office_visits=(date(2026, 8, 20),),
        ),
        date(2026, 9, 1),
        "VI-1",
        date(2026, 9, 3),
        "due",
    ),
    Row(
        "VI-1-unannounced-required-VI-4",
        "ontario-std7",
        make_case(
            date(2026, 6, 1),
            visits=(date(2026, 10, 3),),
            unannounced=Unannounced(True, "safety plan not followed on 2026-08-28"),
        ),
        date(2026, 10, 30),
        "VI-1",
        date(2026, 11, 3),
        "due",
        ("must be unannounced: safety plan not followed on 2026-08-28 (VI-4)",),
    ),
    # ---------------------------------------------------------------- VI-5 first month
    Row(
        "VI-5-first-week-no-visit",
        "ontario-std7",
        make_case(date(2026, 9, 1)),
        date(2026, 9, 3),
        "VI-5",
        date(2026, 9, 8),  # opened + 7 days
        "due",
    ),
    Row(
        "VI-5-weekly-in-first-month",
        "ontario-std7",
        make_case(date(2026, 9, 1), visits=(date(2026, 9, 20),)),
        date(2026, 9, 22),
        "VI-5",
        date(2026, 9, 27),  # 2026-09-20 + 7, inside the window ending 2026-10-01
        "due",
    ),
    Row(
        "VI-5-window-over-falls-back-to-VI-1",
        "ontario-std7",
        make_case(date(2026, 9, 1), visits=(date(2026, 9, 26),)),
        date(2026, 9, 28),
        "VI-1",
        date(2026, 10, 26),  # 2026-09-26 + 7 = 2026-10-03 is past the window; monthly instead
        "done",
    ),
    Row(
        "VI-5-biweekly-us",
        "us-ongoing",
        make_case(date(2026, 2, 1), visits=(date(2026, 2, 10),)),
        date(2026, 2, 12),
        "VI-5",
        date(2026, 2, 24),  # window 2026-02-01 + 30 = 2026-03-03
        "due-soon",
    ),
    Row(
        "VI-5-leap-february-window-end",
        "us-ongoing",
        make_case(date(2028, 2, 1), visits=(date(2028, 2, 17),)),
        date(2028, 2, 20),
        "VI-5",
        date(2028, 3, 2),  # 2028-02-17 + 14; window 2028-02-01 + 30 = 2028-03-02 (29-day Feb)
        "due-soon",
    ),
    # ---------------------------------------------------------------- RV-1 supervision
    Row(
        "RV-1-six-weeks",
        "ontario-std7",
        make_case(date(2026, 9, 1), last_supervision=date(2026, 10, 15)),
        date(2026, 11, 20),
        "RV-1",
        date(2026, 11, 26),  # + 42 days
        "due",
        ("last supervision 2026-10-15; supervision every 6 weeks (RV-1)",),
    ),
    Row(
        "RV-1-higher-risk",
        "ontario-std7",
        make_case(date(2026, 9, 1), last_supervision=date(2026, 10, 15), high_risk=True),
        date(2026, 11, 20),
        "RV-1",
        date(2026, 11, 5),  # + 21 days
        "overdue",
        ("higher-risk case",),
    ),
    Row(
        "RV-1-latest-supervision-leap",
        "us-ongoing",
        make_case(
            date(2027, 12, 1),
            supervisions=[
                Supervision("s1", date(2028, 1, 20)),
                Supervision("s2", date(2028, 2, 10)),
            ],
        ),
        date(2028, 3, 1),
        "RV-1",
        date(2028, 3, 11),  # 2028-02-10 + 30 days across Feb 29
        "due-soon",
    ),
    Row(
        "RV-1-higher-risk-us-today",
        "us-ongoing",
        make_case(
            date(2027, 12, 1), supervisions=[Supervision("s2", date(2028, 2, 10))], high_risk=True
        ),
        date(2028, 2, 24),
        "RV-1",
        date(2028, 2, 24),  # + 14 days
        "due",
    ),
    Row(
        "RV-1-none-yet",
        "ontario-std7",
        make_case(date(2026, 9, 1)),
        date(2026, 10, 1),
        "RV-1",
        date(2026, 10, 13),  # opened + 42 days
        "due-soon",
    ),
    # ---------------------------------------------------------------- PL-2 service plan
    Row(
        "PL-2-thirty-days",
        "ontario-std7",
        make_case(date(2026, 9, 1)),
        date(2026, 9, 20),
        "PL-2",
        date(2026, 10, 1),
        "due-soon",
        ("case opened 2026-09-01; initial service plan within 30 days (PL-2)",),
    ),
    Row(
        "PL-2-across-february",
        "ontario-std7",
        make_case(date(2026, 1, 31)),
        date(2026, 3, 3),
        "PL-2",
        date(2026, 3, 2),  # Jan 31 + 28 = Feb 28, + 2
        "overdue",
    ),
    Row(
        "PL-2-leap-done",
        "us-ongoing",
        make_case(date(2028, 1, 31), service_plan_completed=date(2028, 2, 25)),
        date(2028, 3, 5),
        "PL-2",
        date(2028, 3, 1),  # Jan 31 + 29 = Feb 29, + 1
        "done",
        ("service plan completed 2028-02-25",),
    ),
    # ---------------------------------------------------------------- FED-1 child in care
    Row(
        "FED-1-leap",
        "us-ongoing",
        make_case(date(2028, 1, 10), removal_date=date(2028, 1, 31)),
        date(2028, 3, 20),
        "FED-1",
        date(2028, 3, 31),  # Jan 31 + 29 = Feb 29, + 31 = Mar 31
        "due-soon",
    ),
    Row(
        "FED-1-overdue",
        "us-ongoing",
        make_case(date(2026, 9, 1), removal_date=date(2026, 9, 10)),
        date(2026, 11, 10),
        "FED-1",
        date(2026, 11, 9),  # Sep 10 + 20 = Sep 30, + 31 = Oct 31, + 9
        "overdue",
        ("child removed 2026-09-10; case plan with the parents within 60 days (FED-1)",),
    ),
    Row(
        "FED-1-removal-event-starts-clock",
        "us-ongoing",
        make_case(
            date(2026, 6, 1),
            service_plan_completed=date(2026, 6, 20),
            events=[CaseEvent("e1", "removal", date(2026, 10, 1))],
        ),
        date(2026, 11, 25),
        "FED-1",
        date(2026, 11, 30),  # Oct 1 + 30 = Oct 31, + 30 = Nov 30
        "due",
        ("service plan of 2026-06-20 predates the removal",),
    ),
    Row(
        "FED-1-plan-after-removal-done",
        "us-ongoing",
        make_case(
            date(2026, 9, 1),
            removal_date=date(2026, 9, 10),
            service_plan_completed=date(2026, 10, 20),
        ),
        date(2026, 11, 20),
        "FED-1",
        date(2026, 11, 9),
        "done",
    ),
    # ---------------------------------------------------------------- RV-2 / PL-7 reviews
    Row(
        "RV-2-aug31-to-feb28",
        "ontario-std7",
        make_case(date(2026, 8, 1), service_plan_completed=date(2026, 8, 31)),
        date(2027, 2, 20),
        "RV-2",
        date(2027, 2, 28),
        "due-soon",
        ("service plan completed 2026-08-31; formal review every 6 months (RV-2)",),
    ),
    Row(
        "RV-2-leap-feb29",
        "ontario-std7",
        make_case(date(2027, 8, 1), service_plan_completed=date(2027, 8, 31)),
        date(2028, 2, 25),
        "RV-2",
        date(2028, 2, 29),
        "due",
    ),
    Row(
        "RV-2-from-last-formal-review",
        "us-ongoing",
        make_case(
            date(2025, 9, 1),
            service_plan_completed=date(2025, 9, 30),
            reviews=[Review("r1", date(2026, 3, 31))],
        ),
        date(2026, 9, 25),
        "RV-2",
        date(2026, 9, 30),
        "due",
        ("last formal review 2026-03-31",),
    ),
    Row(
        "RV-2-imported-review-without-plan-date",
        "ontario-std7",
        make_case(date(2025, 1, 6), last_formal_review=date(2026, 5, 31)),
        date(2026, 11, 20),
        "RV-2",
        date(2026, 11, 30),  # May 31 + 6 months, clamped to 30-day November
        "due-soon",  # 10 days away
    ),
    Row(
        "PL-7-placement-change-brings-review-forward",
        "ontario-std7",
        make_case(
            date(2026, 9, 1),
            service_plan_completed=date(2026, 9, 25),
            events=[CaseEvent("e1", "placement-change", date(2026, 11, 2))],
        ),
        date(2026, 11, 25),
        "PL-7",
        date(2026, 12, 2),  # Nov 2 + 30 days, before the periodic 2027-03-25
        "due",
        ("placement change 2026-11-02", "formal review every 6 months (RV-2) due 2027-03-25"),
    ),
    Row(
        "EV-1-new-referral-brings-review-forward",
        "ontario-std7",
        make_case(
            date(2026, 9, 1),
            service_plan_completed=date(2026, 9, 25),
            events=[CaseEvent("e1", "new-referral", date(2026, 12, 15))],
        ),
        date(2027, 1, 1),
        "EV-1",
        date(2027, 1, 14),  # Dec 15 + 16 = Dec 31, + 14
        "due-soon",
    ),
    Row(
        "PL-7-event-answered-by-plan-update",
        "ontario-std7",
        make_case(
            date(2026, 9, 1),
            service_plan_completed=date(2026, 9, 25),
            events=[CaseEvent("e1", "placement-change", date(2026, 11, 2))],
            reviews=[Review("r1", date(2026, 11, 20), kind="plan-update")],
        ),
        date(2026, 12, 1),
        "RV-2",
        date(2027, 3, 25),  # a plan update answers the event; the 6-month clock stays
        "upcoming",  # no formal review has been held yet: never "done" (RV-2)
    ),
    Row(
        "PL-7-absent-parent-located-us",
        "us-ongoing",
        make_case(
            date(2026, 9, 1),
            service_plan_completed=date(2026, 9, 25),
            events=[CaseEvent("e1", "absent-parent-located", date(2027, 2, 10))],
        ),
        date(2027, 3, 13),
        "PL-7",
        date(2027, 3, 12),  # Feb 10 + 18 = Feb 28, + 12
        "overdue",
        ("absent parent located 2027-02-10",),
    ),
    Row(
        "PL-7-event-later-than-periodic-review",
        "ontario-std7",
        make_case(
            date(2026, 9, 1),
            service_plan_completed=date(2026, 9, 25),
            events=[CaseEvent("e1", "treatment-completed", date(2027, 3, 10))],
        ),
        date(2027, 3, 20),
        "RV-2",
        date(2027, 3, 25),  # event + 30 = 2027-04-09 is later than the periodic review
        "due",
    ),
    Row(
        "RV-3-reunification",
        "ontario-std7",
        make_case(
            date(2026, 9, 1),
            service_plan_completed=date(2026, 9, 25),
            events=[CaseEvent("e1", "reunification", date(2026, 10, 20))],
        ),
        date(2026, 11, 10),
        "RV-3",
        date(2026, 11, 19),  # Oct 20 + 11 = Oct 31, + 19
        "due-soon",  # 9 days away
    ),
    Row(
        "EV-1-new-referral-us",
        "us-ongoing",
        make_case(
            date(2027, 9, 1),
            service_plan_completed=date(2027, 9, 25),
            events=[CaseEvent("e1", "new-referral", date(2028, 2, 1))],
        ),
        date(2028, 2, 29),
        "EV-1",
        date(2028, 3, 2),  # Feb 1 + 28 = Feb 29 (leap), + 2
        "due",
    ),
    Row(
        "RV-3-reunification-us",
        "us-ongoing",
        make_case(
            date(2026, 1, 5),
            service_plan_completed=date(2026, 1, 30),
            events=[CaseEvent("e1", "reunification", date(2026, 1, 31))],
        ),
        date(2026, 3, 3),
        "RV-3",
        date(2026, 3, 2),  # Jan 31 + 28 = Feb 28, + 2
        "overdue",
    ),
    # ---------------------------------------------------------------- RV-5 permanency
    Row(
        "RV-5-from-removal",
        "us-ongoing",
        make_case(date(2026, 9, 1), removal_date=date(2026, 9, 10)),
        date(2027, 3, 1),
        "RV-5",
        date(2027, 3, 10),
        "due-soon",
    ),
    Row(
        "RV-5-placement-since-aug31",
        "ontario-std7",
        make_case(
            date(2026, 8, 1),
            kind=CaseKind.OUT_OF_HOME_CPS,
            people=[
                Person("p2", "child", "Leo", placement=Placement("kinship", date(2026, 8, 31)))
            ],
        ),
        date(2027, 3, 1),
        "RV-5",
        date(2027, 2, 28),
        "overdue",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_deadline_rule(row: Row) -> None:
    profile = PROFILES[row.profile]
    items = [i for i in due_items(row.case, profile, row.as_of) if i.rule == row.rule]
    assert len(items) == 1, [i.rule for i in due_items(row.case, profile, row.as_of)]
    item = items[0]
    assert (item.due, item.status) == (row.due, row.status), item.reason
    for words in row.reason_has:
        assert words in item.reason


def _alternative(created: date, approval: ApprovalState = ApprovalState.PENDING) -> SafetyPlan:
    return SafetyPlan("sp2", kind="alternative", approval=approval, created=created)


SA2_ROWS = [
    # (id, profile, created, as_of, expected documentation date, approval status or None)
    (
        "SA-2-friday-before-thanksgiving-on",
        ON,
        date(2026, 10, 9),
        date(2026, 10, 9),
        date(2026, 10, 13),
        "due",
    ),
    ("SA-2-saturday-on", ON, date(2026, 10, 10), date(2026, 10, 10), date(2026, 10, 13), "due"),
    (
        "SA-2-christmas-on",
        ON,
        date(2026, 12, 24),
        date(2026, 12, 30),
        date(2026, 12, 29),
        "overdue",
    ),
    ("SA-2-us-thanksgiving", US, date(2026, 11, 25), date(2026, 11, 25), date(2026, 11, 27), "due"),
    (
        "SA-2-us-thanksgiving-is-workday-in-on",
        ON,
        date(2026, 11, 25),
        date(2026, 11, 25),
        date(2026, 11, 26),
        "due",
    ),
    ("SA-2-us-july-3-observed", US, date(2026, 7, 2), date(2026, 7, 2), date(2026, 7, 6), "due"),
]


@pytest.mark.parametrize(
    ("profile", "created", "as_of", "documented_by", "approval_status"),
    [r[1:] for r in SA2_ROWS],
    ids=[r[0] for r in SA2_ROWS],
)
def test_sa2_alternative_safety_plan_deadlines(
    profile: PolicyProfile,
    created: date,
    as_of: date,
    documented_by: date,
    approval_status: str,
) -> None:
    case = make_case(date(2026, 6, 1), safety_plans=[_alternative(created)])
    items = [i for i in due_items(case, profile, as_of) if i.rule == "SA-2"]
    approval = [i for i in items if i.what.startswith("supervisor approval")]
    document = [i for i in items if i.what.startswith("document")]
    assert [(i.due, i.status) for i in approval] == [(created, approval_status)]
    assert [i.due for i in document] == [documented_by]


def test_sa2_phone_approved_plan_only_needs_documenting() -> None:
    case = make_case(
        date(2026, 6, 1),
        safety_plans=[_alternative(date(2026, 10, 9), ApprovalState.PHONE_APPROVED)],
    )
    items = [i for i in due_items(case, ON, date(2026, 10, 14)) if i.rule == "SA-2"]
    assert [(i.what, i.due, i.status) for i in items] == [
        ("document alternative safety plan of 2026-10-09", date(2026, 10, 13), "overdue")
    ]
    assert "skipping Thanksgiving Day 2026-10-12" in items[0].reason


def test_sa2_approved_plan_has_nothing_due() -> None:
    case = make_case(
        date(2026, 6, 1), safety_plans=[_alternative(date(2026, 10, 9), ApprovalState.APPROVED)]
    )
    assert not [i for i in due_items(case, ON, date(2026, 10, 14)) if i.rule == "SA-2"]


def test_vi1_evening_visit_counts_on_its_local_day() -> None:
    # A visit at 22:45 in Toronto on 2026-10-31 is 02:45 UTC on 2026-11-01.
    visited_at = datetime(2026, 11, 1, 2, 45, tzinfo=UTC)
    case = make_case(date(2026, 6, 1), visits=(ON.local_date(visited_at),))
    # as_of given as an instant: 22:00 Toronto on 2026-11-30 is 03:00 UTC on 2026-12-01
    items = due_items(case, ON, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    visit = [i for i in items if i.rule == "VI-1"][0]
    assert (visit.due, visit.status) == (date(2026, 11, 30), "due")  # due today, not overdue
    assert "last home visit 2026-10-31" in visit.reason


def test_fed1_not_applied_in_ontario() -> None:
    case = make_case(date(2026, 9, 1), removal_date=date(2026, 9, 10))
    assert not [i for i in due_items(case, ON, date(2026, 10, 1)) if i.rule == "FED-1"]


def test_ct2_became_cps_is_recorded_with_reason_and_date() -> None:
    case = make_case(
        date(2026, 6, 1),
        kind=CaseKind.CHILD_WELFARE,
        events=[CaseEvent("e1", "became-cps", date(2026, 10, 12), "infant left alone overnight")],
    )
    (item,) = [i for i in due_items(case, ON, date(2026, 10, 20)) if i.rule == "CT-2"]
    assert (item.due, item.status) == (date(2026, 10, 12), "done")
    assert item.reason == "became a CPS case on 2026-10-12: infant left alone overnight (CT-2)"


def test_ct2_conversion_without_reason_is_overdue() -> None:
    case = make_case(date(2026, 6, 1), events=[CaseEvent("e1", "became-cps", date(2026, 10, 12))])
    (item,) = [i for i in due_items(case, ON, date(2026, 10, 20)) if i.rule == "CT-2"]
    assert (item.what, item.status) == ("record why the case became CPS", "overdue")


def test_cl1_closed_case_has_nothing_due() -> None:
    case = make_case(date(2026, 1, 5), closure=Closure(date(2026, 3, 1), "goals met"))
    assert due_items(case, ON, date(2026, 6, 1)) == []
    assert due_items(case, ON, date(2026, 2, 1)) != []


def test_due_list_sorted_most_urgent_first_and_json() -> None:
    late = make_case(date(2026, 9, 1), case_id="C-late", worker="akhan")  # PL-2 overdue
    fresh = make_case(
        date(2026, 10, 20),
        case_id="C-fresh",
        visits=(date(2026, 10, 21),),
        last_supervision=date(2026, 10, 22),
    )
    items = due_list([fresh, late], ON, date(2026, 10, 26))
    statuses = [i.status for i in items]
    assert statuses == sorted(statuses, key=STATUSES.index)
    overdue = [i for i in items if i.status == "overdue"]
    assert [(i.case, i.rule, i.due) for i in overdue] == [
        ("C-late", "PL-2", date(2026, 10, 1)),  # same day: ordered by rule id
        ("C-late", "VI-1", date(2026, 10, 1)),
        ("C-late", "RV-1", date(2026, 10, 13)),
    ]
    record = items[0].to_json()
    assert set(record) >= {"case", "rule", "what", "due", "status", "reason"}
    assert record["due"] == "2026-10-01" and record["worker"] == "akhan"
    assert {i.case for i in due_list([fresh, late], ON, date(2026, 10, 26), "C-fresh")} == {
        "C-fresh"
    }
    assert all(i.status in ("overdue", "missed", "due", "due-soon") for i in open_items(items))
    groups = group_by_worker(items)
    assert set(groups) == {"akhan", "jsmith"}


def test_next_due_is_most_urgent_open_item() -> None:
    case = make_case(
        date(2026, 9, 1),
        visits=(date(2026, 10, 3),),
        last_supervision=date(2026, 10, 15),
        service_plan_completed=date(2026, 9, 25),
    )
    item = next_due(case, ON, date(2026, 10, 30))
    assert item is not None
    assert (item.rule, item.due, item.status) == ("VI-1", date(2026, 11, 3), "due")
    assert item.reason == "last home visit 2026-10-03; monthly visits (VI-1)"


def test_every_applied_deadline_rule_has_rows_in_each_profile() -> None:
    from fieldkit.practice import RULES

    deadline_rules = {r.id for r in RULES.values() if "deadline" in r.kinds}
    for name, profile in PROFILES.items():
        tested = {row.rule for row in ROWS if row.profile == name}
        tested |= {"SA-2"} if any(r[1] is profile for r in SA2_ROWS) else set()
        tested |= {"CT-2"}
        expected = {rule for rule in deadline_rules if profile.applies(rule)}
        assert expected - tested == set(), name


def test_vi1_evening_visit_in_chicago() -> None:
    # 23:30 in Chicago (CDT) on 2026-08-31 is 04:30 UTC on 2026-09-01
    day = US.local_date(datetime(2026, 9, 1, 4, 30, tzinfo=UTC))
    case = make_case(date(2026, 6, 1), visits=(day,))
    (visit,) = [i for i in due_items(case, US, date(2026, 9, 25)) if i.rule == "VI-1"]
    assert visit.due == date(2026, 9, 30)  # Aug 31 + 1 month, clamped; not Oct 1
