"""Practice defects of the due list, table-driven; every expected date worked out by hand.

FED-1 from the first placement when no removal date is recorded; a late FED-1 plan is
"done-late", not "done"; recurring duties never yet performed (RV-1, RV-2, RV-5) are never
"done"; a missed first-month visit (VI-5) stays listed; SA-2 working days come from the
jurisdiction's holidays (any year), an agency's state and its closure days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain import (
    ApprovalState,
    Case,
    CaseEvent,
    CaseKind,
    Person,
    Placement,
    Review,
    SafetyPlan,
    Visit,
)
from fieldkit.practice import PolicyProfile, due_items, load_profile, open_items

ON = load_profile("ontario-std7")
US = load_profile("us-ongoing")


def _agency(tmp: Path, name: str, text: str) -> PolicyProfile:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


@pytest.fixture(scope="module")
def wisconsin(tmp_path_factory: pytest.TempPathFactory) -> PolicyProfile:
    """A Wisconsin county agency: the US profile with the state's holidays (us-ongoing)."""
    tmp = tmp_path_factory.mktemp("wi")
    return _agency(
        tmp, "wi-county.toml", 'extends = "us-ongoing"\n[calendar]\njurisdiction = "US-WI"\n'
    )


@pytest.fixture(scope="module")
def closed_dec24(tmp_path_factory: pytest.TempPathFactory) -> PolicyProfile:
    """An Ontario agency whose office also closes on 24 December 2026."""
    tmp = tmp_path_factory.mktemp("on")
    return _agency(
        tmp,
        "agency.toml",
        'extends = "ontario-std7"\nname = "agency"\n[calendar]\nclosures = [2026-12-24]\n',
    )


def case(opened: date, *, visits: tuple[date, ...] = (), **fields: Any) -> Case:
    return Case(
        id="C-1",
        kind=fields.pop("kind", CaseKind.IN_HOME_CPS),
        opened=opened,
        worker="jsmith",
        visits=[Visit(id=f"v{i}", date=d) for i, d in enumerate(visits)],
        **fields,
    )


def placed(pid: str, since: date) -> Person:
    return Person(pid, "child", f"child {pid}", placement=Placement("foster", since))


@dataclass(frozen=True)
class Row:
    id: str
    profile: PolicyProfile
    case: Case
    as_of: date
    rule: str
    due: date
    status: str
    reason_has: tuple[str, ...] = field(default=())


ROWS = [
    # ------------------------------------------------- FED-1: the clock without a removal date
    Row(
        "FED-1-from-first-placement",
        US,
        case(
            date(2026, 9, 1),
            kind=CaseKind.OUT_OF_HOME_CPS,
            people=[placed("p1", date(2026, 9, 20)), placed("p2", date(2026, 9, 10))],
        ),
        date(2026, 11, 3),
        "FED-1",
        # earliest placement Sep 10 + 60 days: Sep 10 → Sep 30 is 20, Oct 31 days → 51,
        # + 9 → Nov 9
        date(2026, 11, 9),
        "due",  # 6 days away
        ("child placed out of home 2026-09-10 (no removal date recorded)", "(FED-1)"),
    ),
    Row(
        "FED-1-placement-not-yet-started",
        US,
        case(date(2026, 9, 1), people=[placed("p1", date(2026, 10, 5))]),
        date(2026, 10, 10),
        "FED-1",
        date(2026, 12, 4),  # Oct 5 + 60: Oct 31 is +26, Nov 30 is +56, Dec 4 is +60
        "upcoming",
    ),
    Row(
        "FED-1-removal-date-wins-over-placement",
        US,
        case(
            date(2026, 9, 1),
            removal_date=date(2026, 9, 15),
            people=[placed("p1", date(2026, 9, 10))],
        ),
        date(2026, 11, 3),
        "FED-1",
        date(2026, 11, 14),  # Sep 15 + 60: Sep 30 is +15, Oct 31 is +46, Nov 14 is +60
        "due-soon",  # 11 days away
        ("child removed 2026-09-15",),
    ),
    # ------------------------------------------------- FED-1: a plan after 60 days is late
    Row(
        "FED-1-plan-after-60-days-is-done-late",
        US,
        case(
            date(2026, 9, 1),
            removal_date=date(2026, 9, 10),
            service_plan_completed=date(2026, 11, 20),
        ),
        date(2026, 12, 1),
        "FED-1",
        date(2026, 11, 9),
        "done-late",
        ("dated 2026-11-20, 11 days late (FED-1)",),  # Nov 9 → Nov 20
    ),
    Row(
        "FED-1-late-cites-the-first-plan-not-a-later-review",
        US,
        case(
            date(2026, 9, 1),
            removal_date=date(2026, 9, 10),
            reviews=[Review("r1", date(2026, 12, 1)), Review("r2", date(2027, 3, 1))],
        ),
        date(2027, 3, 5),
        "FED-1",
        date(2026, 11, 9),
        "done-late",
        ("dated 2026-12-01, 22 days late",),  # Nov 9 → Dec 1 is 22 days
    ),
    Row(
        "FED-1-on-time-cites-the-plan-not-the-later-review",
        US,
        case(
            date(2026, 9, 1),
            removal_date=date(2026, 9, 10),
            service_plan_completed=date(2026, 10, 1),
            reviews=[Review("r1", date(2027, 1, 15))],
        ),
        date(2027, 1, 20),
        "FED-1",
        date(2026, 11, 9),
        "done",
        ("case plan dated 2026-10-01 (FED-1)",),
    ),
    # ------------------------------------- recurring duties never yet performed: never "done"
    Row(
        "RV-1-before-the-first-supervision-is-upcoming",
        ON,
        case(date(2026, 9, 1)),
        date(2026, 9, 5),
        "RV-1",
        date(2026, 10, 13),  # Sep 1 + 6 weeks
        "upcoming",  # 38 days away; no supervision has happened, so not "done"
        ("no supervision yet",),
    ),
    Row(
        "RV-1-after-a-supervision-is-done",
        ON,
        case(date(2026, 9, 1), last_supervision=date(2026, 9, 4)),
        date(2026, 9, 5),
        "RV-1",
        date(2026, 10, 16),  # Sep 4 + 42 days
        "done",
    ),
    Row(
        "RV-2-before-the-first-review-is-upcoming",
        ON,
        case(date(2026, 9, 1), service_plan_completed=date(2026, 9, 25)),
        date(2026, 12, 1),
        "RV-2",
        date(2027, 3, 25),  # plan + 6 months
        "upcoming",
    ),
    Row(
        "RV-2-before-the-first-review-is-due-by-its-date",
        ON,
        case(date(2026, 9, 1), service_plan_completed=date(2026, 9, 25)),
        date(2027, 3, 20),
        "RV-2",
        date(2027, 3, 25),
        "due",
    ),
    Row(
        "RV-2-after-a-formal-review-is-done",
        ON,
        case(
            date(2026, 9, 1),
            service_plan_completed=date(2026, 9, 25),
            reviews=[Review("r1", date(2026, 11, 1))],
        ),
        date(2026, 12, 1),
        "RV-2",
        date(2027, 5, 1),
        "done",
    ),
    Row(
        "RV-5-before-the-first-review-is-upcoming",
        US,
        case(date(2026, 9, 1), removal_date=date(2026, 9, 10)),
        date(2026, 10, 1),
        "RV-5",
        date(2027, 3, 10),
        "upcoming",
    ),
    # ------------------------------------- VI-5: a missed first-month visit stays listed
    Row(
        "VI-5-missed-visit-stays-listed-after-the-window",
        ON,
        # weekly in the first 30 days: Sep 5 then nothing by Sep 12 (the next was Sep 20)
        case(date(2026, 9, 1), visits=(date(2026, 9, 5), date(2026, 9, 20), date(2026, 9, 27))),
        date(2026, 10, 10),  # the window ended Oct 1
        "VI-5",
        date(2026, 9, 12),
        "missed",
        ("the next home visit was 2026-09-20", "ended 2026-10-01 (VI-5)"),
    ),
    Row(
        "VI-5-missed-first-visit-us",
        US,
        case(date(2026, 9, 1), visits=(date(2026, 9, 20),)),
        date(2026, 11, 2),
        "VI-5",
        date(2026, 9, 15),  # every 14 days: opened Sep 1 + 14
        "missed",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_due_row(row: Row) -> None:
    items = [i for i in due_items(row.case, row.profile, row.as_of) if i.rule == row.rule]
    assert len(items) == 1, [(i.rule, i.status) for i in items]
    item = items[0]
    assert (item.due, item.status) == (row.due, row.status), item.reason
    for words in row.reason_has:
        assert words in item.reason, item.reason


def test_vi5_kept_weekly_has_nothing_missed_after_the_window() -> None:
    kept = case(
        date(2026, 9, 1),
        visits=(date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21), date(2026, 9, 28)),
    )
    items = due_items(kept, ON, date(2026, 10, 10))
    assert [i for i in items if i.rule == "VI-5"] == []
    # rule VI-1 takes over: Sep 28 + 1 month
    assert [(i.due, i.status) for i in items if i.rule == "VI-1"] == [(date(2026, 10, 28), "done")]


def test_vi5_missed_is_listed_by_default_but_is_not_the_next_thing_to_do() -> None:
    missed = ROWS[[r.id for r in ROWS].index("VI-5-missed-visit-stays-listed-after-the-window")]
    items = due_items(missed.case, ON, missed.as_of)
    assert "VI-5" in {i.rule for i in open_items(items)}
    assert not next(i for i in items if i.rule == "VI-5").is_open


# -------------------------------------------------------------- SA-2 working-day calendars

SA2_ROWS = [
    # (id, profile fixture or profile, plan made, documentation due) — hand-checked calendars
    # Wisconsin: Thu Dec 24 Christmas Eve, Fri 25 Christmas, weekend → Mon Dec 28
    ("SA-2-wisconsin-christmas-eve", "wisconsin", date(2026, 12, 23), date(2026, 12, 28)),
    # Federal calendar only: Thu Dec 24 is a working day
    ("SA-2-us-federal-christmas-eve", US, date(2026, 12, 23), date(2026, 12, 24)),
    # Wisconsin: Thu Dec 31 New Year's Eve, Fri Jan 1, weekend → Mon Jan 4
    ("SA-2-wisconsin-new-years-eve", "wisconsin", date(2026, 12, 30), date(2027, 1, 4)),
    ("SA-2-us-federal-new-years-eve", US, date(2026, 12, 30), date(2026, 12, 31)),
    # Ontario, any year: Thanksgiving 2031 is Monday Oct 13 (second Monday): Fri → Tue
    ("SA-2-ontario-thanksgiving-2031", ON, date(2031, 10, 10), date(2031, 10, 14)),
    # Ontario's Civic Holiday, 2027: Monday Aug 2 (the agency closes: also_observed)
    ("SA-2-ontario-civic-holiday-2027", ON, date(2027, 7, 30), date(2027, 8, 3)),
    # Remembrance Day is not an Ontario statutory holiday: Wed → Thu
    ("SA-2-ontario-remembrance-day-works", ON, date(2026, 11, 10), date(2026, 11, 11)),
    # An agency closure day: Thu Dec 24 closed, Fri 25, weekend, Mon 28 Boxing Day (observed)
    ("SA-2-agency-closure-dec-24", "closed_dec24", date(2026, 12, 23), date(2026, 12, 29)),
    ("SA-2-ontario-without-the-closure", ON, date(2026, 12, 23), date(2026, 12, 24)),
]


@pytest.mark.parametrize(
    ("profile", "made", "documented_by"), [r[1:] for r in SA2_ROWS], ids=[r[0] for r in SA2_ROWS]
)
def test_sa2_working_days_from_the_jurisdiction(
    request: pytest.FixtureRequest, profile: Any, made: date, documented_by: date
) -> None:
    policy = request.getfixturevalue(profile) if isinstance(profile, str) else profile
    plan = SafetyPlan("sp2", kind="alternative", approval=ApprovalState.PENDING, created=made)
    items = due_items(case(date(2026, 1, 5), safety_plans=[plan]), policy, made)
    documented = [i for i in items if i.rule == "SA-2" and i.what.startswith("document")]
    assert [i.due for i in documented] == [documented_by], documented[0].reason


def test_sa2_reason_names_the_skipped_state_holiday(wisconsin: PolicyProfile) -> None:
    plan = SafetyPlan(
        "sp2", kind="alternative", approval=ApprovalState.PENDING, created=date(2026, 12, 23)
    )
    items = due_items(case(date(2026, 1, 5), safety_plans=[plan]), wisconsin, date(2026, 12, 23))
    reason = next(i.reason for i in items if i.what.startswith("document"))
    assert "skipping Christmas Eve 2026-12-24" in reason
    assert "skipping Christmas Day 2026-12-25" in reason


def test_event_placement_change_moves_the_plan_review() -> None:
    """Rule PL-7: a placement change brings the review forward 30 days (unchanged here)."""
    c = case(
        date(2026, 9, 1),
        service_plan_completed=date(2026, 9, 25),
        events=[CaseEvent("e1", "placement-change", date(2026, 11, 2))],
    )
    item = next(i for i in due_items(c, ON, date(2026, 11, 20)) if i.rule == "PL-7")
    assert (item.due, item.status) == (date(2026, 12, 2), "due-soon")
