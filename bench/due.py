"""Benchmark: the due list for 10,000 and 50,000 cases with two years of visits, each beside
its floor measured in the same run (one pass over every case's visits: the latest completed
home visit, what VI-1 alone must read); prints one JSON line.

`fieldkit due` reads each case's rule facts from its summary (`rule_facts`, folded when the
case was written), never its visits: `due_50000_summaries_seconds` is that due list (the
open statuses, as `fieldkit due` shows them; `…_all_…` with --all), from the facts as the
summaries keep them (JSON), beside the same one-pass floor. The rules over whole cases
(`due_list` on `Case`s) are still timed: the golden test and the dashboard use them."""

from __future__ import annotations

import json
import os
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
from fieldkit.practice import OPEN_STATUSES, CaseFacts, due_list, load_profile, open_items
from fieldkit.practice.engine import rule_facts

CASES = 10_000
LARGE = 50_000
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


def one_pass(cases: list[Case], as_of: date) -> int:
    """The floor: one pass over the visits of every case (the latest completed home visit)."""
    found = 0
    for case in cases:
        last = None
        for visit in case.visits:
            day = visit.date
            if visit.outcome == "completed" and visit.kind == "home" and day <= as_of:
                last = day if last is None or day > last else last
        found += last is not None
    return found


def as_summaries(cases: list[Case], profile: object) -> list[CaseFacts]:
    """Each case as `fieldkit due` reads it: its rule facts as the summary keeps them."""
    kept = []
    for case in cases:
        facts = json.loads(json.dumps(rule_facts(case, profile)))  # type: ignore[arg-type]
        kept.append(CaseFacts(case.id, case.worker, facts, lambda c=case: c))
    return kept


def best_of(runs: int, work: object) -> float:
    """The fastest of `runs` timings of `work()` (seconds)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Time `due_list` (best of three) for both shipped profiles at 10,000 cases and for one
    at 50,000, each beside the one-pass floor; print the figures."""
    cases = build_cases(CASES)
    visits = sum(len(c.visits) for c in cases)
    figures: dict[str, object] = {"bench": "due", "cases": CASES, "visits": visits}
    small_floor = best_of(3, lambda: one_pass(cases, AS_OF))
    figures["floor_one_pass_10000_seconds"] = round(small_floor, 3)
    for name in ("ontario-std7", "us-ongoing"):
        profile = load_profile(name)
        items = due_list(cases, profile, AS_OF)
        key = name.replace("-", "_")
        seconds = best_of(3, lambda p=profile: due_list(cases, p, AS_OF))
        figures[f"{key}_seconds"] = round(seconds, 3)
        figures[f"{key}_ratio_to_floor"] = round(seconds / small_floor, 2)
        figures[f"{key}_items"] = len(items)
        figures[f"{key}_open_items"] = len(open_items(items))
    large = build_cases(LARGE)
    profile = load_profile("ontario-std7")
    floor = best_of(3, lambda: one_pass(large, AS_OF))
    rules = best_of(3, lambda: due_list(large, profile, AS_OF))
    kept = as_summaries(large, profile)
    on_facts = sum(1 for k in kept if k.facts is not None and k.facts[1] <= AS_OF.toordinal())
    shown = best_of(3, lambda: due_list(kept, profile, AS_OF, statuses=OPEN_STATUSES))
    every = best_of(3, lambda: due_list(kept, profile, AS_OF))
    figures["due_50000_summaries_seconds"] = round(shown, 3)
    figures["due_50000_summaries_ratio_to_floor"] = round(shown / floor, 2)
    figures["due_50000_summaries_all_seconds"] = round(every, 3)
    figures["due_50000_summaries_all_ratio_to_floor"] = round(every / floor, 2)
    figures["due_50000_summaries_read_from_facts"] = on_facts
    figures["due_50000_open_items"] = len(due_list(kept, profile, AS_OF, statuses=OPEN_STATUSES))
    figures["cases_50000_visits"] = sum(len(c.visits) for c in large)
    figures["due_50000_seconds"] = round(rules, 3)
    figures["floor_one_pass_50000_seconds"] = round(floor, 3)
    figures["due_50000_ratio_to_floor"] = round(rules / floor, 2)
    figures["targets"] = {"due_10000_seconds": 1.0, "due_50000_summaries_seconds": 0.5}
    figures["load"] = round(os.getloadavg()[0], 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
