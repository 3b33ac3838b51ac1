"""Benchmark: the due list for 10,000 cases with two years of visits; prints one JSON line."""

from __future__ import annotations

import json
import random
import time
from datetime import date, timedelta

from fieldkit.domain import (
    ApprovalState,
    Case,
    CaseEvent,
    CaseKind,
    Person,
    Placement,
    Review,
    SafetyPlan,
    Supervision,
    Visit,
)
from fieldkit.practice import due_list, load_profile, open_items

CASES = 10_000
AS_OF = date(2026, 11, 5)
KINDS = list(CaseKind)


def build_cases(count: int, seed: int = 7) -> list[Case]:
    """Synthetic caseload: visits every 1-3 weeks for two years, supervisions, reviews, events."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for n in range(count):
        opened = AS_OF - timedelta(days=730 + rng.randint(0, 60))
        day = opened
        visits: list[Visit] = []
        while day < AS_OF - timedelta(days=rng.randint(0, 10)):
            visits.append(Visit(f"v{len(visits)}", day, announced=rng.random() < 0.8))
            day += timedelta(days=rng.randint(7, 24))
        supervisions = [
            Supervision(f"s{i}", opened + timedelta(days=40 * i + rng.randint(0, 6)))
            for i in range(18)
        ]
        plan = opened + timedelta(days=rng.randint(20, 40))
        reviews = [Review(f"r{i}", plan + timedelta(days=182 * i)) for i in range(1, 4)]
        kind = KINDS[n % 3]
        people = [Person("p1", "child", "Child", verbal=n % 2 == 0, victim=True)]
        removal = None
        if kind == CaseKind.OUT_OF_HOME_CPS:
            removal = opened + timedelta(days=rng.randint(0, 300))
            people.append(Person("p2", "child", "Sibling", placement=Placement("foster", removal)))
        events = [CaseEvent("e1", "placement-change", AS_OF - timedelta(days=rng.randint(0, 90)))]
        plans = []
        if n % 50 == 0:
            plans.append(
                SafetyPlan(
                    "sp2",
                    kind="alternative",
                    approval=ApprovalState.PENDING,
                    created=AS_OF - timedelta(days=rng.randint(0, 3)),
                )
            )
        cases.append(
            Case(
                id=f"C-{n:05d}",
                kind=kind,
                opened=opened,
                worker=f"worker{n % 400}",
                people=people,
                visits=visits,
                supervisions=supervisions,
                reviews=reviews,
                events=events,
                service_plan_completed=plan,
                assessment_completed=plan - timedelta(days=5),
                removal_date=removal,
                high_risk=n % 7 == 0,
                safety_plans=plans,
            )
        )
    return cases


def main() -> None:
    """Time `due_list` (best of three) for both shipped profiles and print the figures."""
    cases = build_cases(CASES)
    visits = sum(len(c.visits) for c in cases)
    figures: dict[str, object] = {"bench": "due", "cases": CASES, "visits": visits}
    for name in ("ontario-std7", "us-ongoing"):
        profile = load_profile(name)
        best = float("inf")
        items = []
        for _ in range(3):
            start = time.perf_counter()
            items = due_list(cases, profile, AS_OF)
            best = min(best, time.perf_counter() - start)
        key = name.replace("-", "_")
        figures[f"{key}_seconds"] = round(best, 3)
        figures[f"{key}_items"] = len(items)
        figures[f"{key}_open_items"] = len(open_items(items))
    figures["target_seconds"] = 1.0
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
