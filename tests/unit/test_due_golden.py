"""The due list is frozen: on a seeded, varied caseload, every profile and date gives exactly
the items recorded in `due_golden.json.gz` (rules VI-1, VI-4, VI-5, RV-1, RV-2, RV-5, PL-2,
PL-7, EV-1, EV-2, RV-3, FED-1, SA-2, CT-2, CL-1), in order, reasons word for word.

The golden file was written by the engine before it was made fast; a change to a rule's
result is a change to this file, made on purpose: `python -m tests.unit.test_due_golden`.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
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
    ServicePlan,
    Supervision,
    Unannounced,
    Visit,
)
from fieldkit.i18n import using
from fieldkit.practice import (
    DueItem,
    due_items,
    due_list,
    load_profile,
    next_due,
    open_items,
)
from fieldkit.practice.engine import _Day, _most_urgent_first

GOLDEN = Path(__file__).with_name("due_golden.json.gz")
BASE = date(2026, 11, 5)
RUNS: tuple[tuple[str, str, date | datetime], ...] = (
    ("ontario-std7", "en", BASE),
    ("us-ongoing", "en", BASE),
    ("ontario-std7", "en", date(2025, 6, 30)),
    ("us-ongoing", "en", date(2026, 12, 24)),
    ("us-ongoing", "fr", date(2026, 2, 14)),
    ("ontario-std7", "es", datetime(2026, 10, 1, 3, 30, tzinfo=UTC)),
)
"""Profile, language and as-of of each frozen run; the last one an instant near midnight."""

VISIT_KINDS = ("home", "home", "home", "home", "office", "phone", "placement", "school")
EVENT_KINDS = (
    "placement-change",
    "absent-parent-located",
    "treatment-completed",
    "new-referral",
    "reunification",
    "removal",
    "new-information",
    "became-cps",
    "other",
)


def _maybe(rng: random.Random, chance: float, day: date) -> date | None:
    return day if rng.random() < chance else None


def caseload(count: int = 300, seed: int = 11) -> list[Case]:
    """Bench-like cases with the edges the rules branch on: new and old cases, unsorted and
    failed visits, visits of every kind, closures, removals, placements, pending plans."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for n in range(count):
        age = rng.choice((rng.randint(-20, 60), rng.randint(0, 900)))
        opened = BASE - timedelta(days=age)
        visits: list[Visit] = []
        if rng.random() < 0.9:
            day = opened + timedelta(days=rng.randint(-5, 12))
            end = BASE + timedelta(days=rng.randint(-60, 60))
            while day < end:
                visits.append(
                    Visit(
                        f"v{len(visits)}",
                        day,
                        kind=rng.choice(VISIT_KINDS),
                        outcome="completed" if rng.random() < 0.85 else "no one home",
                    )
                )
                day += timedelta(days=rng.choice((rng.randint(1, 9), rng.randint(5, 40))))
            if rng.random() < 0.2:
                rng.shuffle(visits)
        supervisions = [
            Supervision(f"s{i}", opened + timedelta(days=rng.randint(0, max(age, 1) + 30)))
            for i in range(rng.randint(0, 8))
        ]
        plan_day = opened + timedelta(days=rng.randint(5, 60))
        reviews = [
            Review(
                f"r{i}",
                plan_day + timedelta(days=rng.randint(20, 900)),
                rng.choice(("formal", "formal", "informal")),
            )
            for i in range(rng.randint(0, 4))
        ]
        events = [
            CaseEvent(
                f"e{i}",
                rng.choice(EVENT_KINDS),
                opened + timedelta(days=rng.randint(0, max(age, 1) + 40)),
                rng.choice(("", "  ", "safety concern at school")),
            )
            for i in range(rng.randint(0, 4))
        ]
        kind = list(CaseKind)[n % 3]
        people = [Person("p1", "child", "Child", verbal=n % 2 == 0, victim=True)]
        if rng.random() < 0.4:
            since = _maybe(rng, 0.8, opened + timedelta(days=rng.randint(-30, 400)))
            people.append(Person("p2", "child", "Sibling", placement=Placement("foster", since)))
        if rng.random() < 0.3:
            people.append(Person("p3", "caregiver", "Parent"))
        safety_plans = []
        for i in range(rng.choice((0, 0, 0, 1, 2))):
            safety_plans.append(
                SafetyPlan(
                    f"sp{i}",
                    kind=rng.choice(("alternative", "alternative", "initial")),
                    approval=rng.choice(list(ApprovalState)),
                    created=_maybe(rng, 0.9, BASE - timedelta(days=rng.randint(-20, 300))),
                )
            )
        service_plan = None
        if rng.random() < 0.5:
            service_plan = ServicePlan(
                "plan",
                _maybe(rng, 0.8, plan_day + timedelta(days=rng.randint(0, 30))),
                approval=rng.choice((None, "approved", "returned", "rejected")),
            )
        plan_dates = sorted(
            plan_day + timedelta(days=rng.randint(0, 700)) for _ in range(rng.choice((0, 0, 1, 3)))
        )
        closure = None
        if rng.random() < 0.1:
            closure = Closure(BASE - timedelta(days=rng.randint(-100, 300)))
        cases.append(
            Case(
                id=f"G-{n:04d}",
                kind=kind,
                opened=opened,
                worker=f"worker{n % 7}" if rng.random() < 0.9 else None,
                unannounced=Unannounced(
                    rng.random() < 0.15, rng.choice(("", "caregiver avoided visits"))
                ),
                people=people,
                safety_plans=safety_plans,
                service_plan_completed=_maybe(rng, 0.6, plan_day),
                last_formal_review=_maybe(rng, 0.2, plan_day + timedelta(days=rng.randint(0, 400))),
                last_supervision=_maybe(rng, 0.2, opened + timedelta(days=rng.randint(0, 400))),
                removal_date=_maybe(rng, 0.25, opened + timedelta(days=rng.randint(-10, 300))),
                high_risk=rng.random() < 0.15,
                visits=visits,
                supervisions=supervisions,
                reviews=reviews,
                events=events,
                service_plan=service_plan,
                closure=closure,
                service_plan_dates=plan_dates,
            )
        )
    return cases


def _run_key(profile: str, lang: str, as_of: date | datetime) -> str:
    return f"{profile} {lang} {as_of.isoformat()}"


def compute() -> dict[str, Any]:
    """Every frozen run's due list, open items and per-case next item, as JSON."""
    cases = caseload()
    result: dict[str, Any] = {}
    for name, lang, as_of in RUNS:
        profile = load_profile(name)
        with using(lang):
            items = due_list(cases, profile, as_of)
            result[_run_key(name, lang, as_of)] = {
                "due_list": [item.to_json() for item in items],
                "open_items": [item.to_json() for item in open_items(items)],
                "due_items": {
                    c.id: [i.to_json() for i in due_items(c, profile, as_of)] for c in cases[:60]
                },
                "next_due": {
                    c.id: (found.to_json() if (found := next_due(c, profile, as_of)) else None)
                    for c in cases[:60]
                },
                "one_case": [i.to_json() for i in due_list(cases, profile, as_of, "G-0007")],
            }
    return result


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return dict(json.load(f))


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    return compute()


@pytest.mark.parametrize("run", [_run_key(*r) for r in RUNS])
@pytest.mark.parametrize("part", ["due_list", "open_items", "due_items", "next_due", "one_case"])
def test_the_due_list_is_unchanged(
    golden: dict[str, Any], current: dict[str, Any], run: str, part: str
) -> None:
    assert current[run][part] == golden[run][part]


def test_the_golden_caseload_reaches_every_rule(golden: dict[str, Any]) -> None:
    """The frozen runs are worth freezing: each computed rule and each status shows up."""
    items = [i for run in golden.values() for i in run["due_list"]]
    rules = {i["rule"] for i in items}
    statuses = {i["status"] for i in items}
    assert {"VI-1", "VI-5", "RV-1", "RV-2", "PL-2", "PL-7", "FED-1", "SA-2", "CT-2"} <= rules
    assert {"overdue", "missed", "due", "due-soon", "upcoming", "done-late", "done"} <= statuses


def test_the_fast_order_is_the_sort_key_order() -> None:
    """Two cheap sorts order items exactly as `DueItem.sort_key` does, ties and an unknown
    status included."""
    rng = random.Random(5)
    statuses = ("overdue", "missed", "due", "due-soon", "upcoming", "done-late", "done", "odd")
    items = [
        DueItem(
            f"C-{rng.randint(1, 9)}",
            rng.choice(("VI-1", "VI-5", "RV-1", "SA-2")),
            "what",
            BASE + timedelta(days=rng.randint(-5, 5)),
            rng.choice(statuses),
            f"reason {n}",  # tells apart items whose keys tie
        )
        for n in range(2000)
    ]
    assert _most_urgent_first(list(items)) == sorted(items, key=DueItem.sort_key)


@pytest.mark.parametrize("name", ["ontario-std7", "us-ongoing"])
@pytest.mark.parametrize("as_of", [BASE, date.max - timedelta(days=3), date.min])
def test_the_day_status_is_the_profile_status(name: str, as_of: date) -> None:
    """The thresholds added up once per due list give `PolicyProfile.status_for`, even at the
    ends of the calendar."""
    profile = load_profile(name)
    day = _Day(profile, as_of)
    for offset in range(-3, 40):
        try:
            due = as_of + timedelta(days=offset)
        except OverflowError:
            continue
        assert day.status_for(due) == profile.status_for(due, as_of)


if __name__ == "__main__":
    with gzip.GzipFile(GOLDEN, "wb", mtime=0) as raw:
        raw.write(json.dumps(compute(), sort_keys=True, ensure_ascii=False).encode())
