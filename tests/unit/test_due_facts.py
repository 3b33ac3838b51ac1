"""The due list from each case's rule facts (what a summary keeps) is exactly the due list
from the whole case: same items, same order, same words, never a date other than the rules
give, on generated caseloads, any day, either profile (rules VI-1..5, RV-1/2/3/5, PL-2/7,
EV-1/2, FED-1, SA-2, CT-2, CL-1)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit import services
from fieldkit.demo import demo_document, plan_records
from fieldkit.domain import Case
from fieldkit.practice import OPEN_STATUSES, CaseFacts, DueItem, due_list, load_profile, open_items
from fieldkit.practice.engine import _most_urgent_first, due_items, facts_key, rule_facts
from fieldkit.store import Store
from tests.unit.test_due_golden import BASE, caseload

TODAY = date(2026, 11, 26)
PROFILES = ("ontario-std7", "us-ongoing")


def _as_kept(case: Case, fold_profile: str, loaded: list[str]) -> CaseFacts:
    """The case as `fieldkit due` gets it from a kept summary: its facts through JSON, and
    the whole case only on request (each request noted in `loaded`)."""
    facts = json.loads(json.dumps(rule_facts(case, load_profile(fold_profile))))

    def load() -> Case:
        loaded.append(case.id)
        return case

    return CaseFacts(case.id, case.worker, facts, load)


def _json(items: list[Any]) -> list[dict[str, Any]]:
    return [item.to_json() for item in items]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    offset=st.integers(-120, 1300),
    fold=st.sampled_from(PROFILES),
    rules=st.sampled_from(PROFILES),
)
def test_facts_give_the_due_list_of_the_whole_cases(
    seed: int, offset: int, fold: str, rules: str
) -> None:
    cases = caseload(25, seed)
    as_of = BASE + timedelta(days=offset)
    loaded: list[str] = []
    kept = [_as_kept(case, fold, loaded) for case in cases]
    profile = load_profile(rules)
    whole = due_list(cases, profile, as_of)
    assert _json(due_list(kept, profile, as_of)) == _json(whole)
    shown = due_list(kept, profile, as_of, statuses=OPEN_STATUSES)
    assert _json(shown) == _json(open_items(whole))
    # the whole case is read only where its facts do not hold: another profile's visit
    # settings, or a day before one of its dates
    key, day = facts_key(profile), as_of.toordinal()
    expected = [
        k.id
        for k in kept
        if k.facts is None or k.facts[0] != key or (k.facts[1] is not None and k.facts[1] > day)
    ]
    assert loaded == expected + expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    offset=st.integers(-120, 1300),
    name=st.sampled_from(PROFILES),
    shown=st.sampled_from((None, OPEN_STATUSES)),
)
def test_items_shared_across_cases_are_each_cases_own(
    seed: int, offset: int, name: str, shown: tuple[str, ...] | None
) -> None:
    """A rule's items are worked out once per due list for each set of facts it reads
    (`_CaseRules.memo`): each case still gets exactly the items it gets alone, under its
    own id and worker, whether its facts were met before or not."""
    cases = caseload(25, seed)
    twins = [dataclasses.replace(c, id=f"{c.id}-twin", worker=f"{c.worker}-twin") for c in cases]
    caseload_ = cases + twins + cases  # every case's facts met at least twice
    profile = load_profile(name)
    as_of = BASE + timedelta(days=offset)
    alone = [item for case in caseload_ for item in due_items(case, profile, as_of)]
    if shown is not None:
        alone = [item for item in alone if item.status in shown]
    together = due_list(caseload_, profile, as_of, statuses=shown)
    assert _json(together) == _json(_most_urgent_first(alone))
    kept = [_as_kept(case, name, []) for case in caseload_]
    assert _json(due_list(kept, profile, as_of, statuses=shown)) == _json(together)
    assert {i.case for i in together if i.case.endswith("-twin")} == {
        f"{i.case}-twin" for i in together if not i.case.endswith("-twin")
    }
    assert all(
        i.worker is not None and i.worker.endswith("-twin")
        for i in together
        if i.case.endswith("-twin")
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    offset=st.integers(-120, 1300),
    name=st.sampled_from(PROFILES),
    shown=st.sampled_from((None, OPEN_STATUSES)),
    order=st.randoms(use_true_random=False),
)
def test_the_due_list_is_each_cases_items_in_one_stable_sort(
    seed: int, offset: int, name: str, shown: tuple[str, ...] | None, order: Any
) -> None:
    """The due list puts each item straight into its place (cases taken by id, items in
    buckets by status and date): it must equal every case's own items, in the caseload's
    order, sorted once by `DueItem.sort_key` (stable), whatever the caseload's order, with
    ids given twice (other facts under the same id: their items keep the caseload's order)
    and cases given whole, by usable facts or by facts that must be read whole."""
    cases = caseload(20, seed)
    same_ids = [
        dataclasses.replace(other, id=case.id, worker=f"{other.worker}-again")
        for case, other in zip(cases[:8], cases[:-9:-1], strict=True)
    ]
    caseload_ = cases + same_ids + cases[3:9]
    order.shuffle(caseload_)
    profile = load_profile(name)
    as_of = BASE + timedelta(days=offset)
    given_as: list[Case | CaseFacts] = []
    for n, case in enumerate(caseload_):
        if n % 5 == 0:
            given_as.append(case)
        elif n % 7 == 0:
            given_as.append(CaseFacts(case.id, case.worker, None, lambda c=case: c))
        else:
            given_as.append(_as_kept(case, name, []))
    alone = [item for case in caseload_ for item in due_items(case, profile, as_of)]
    if shown is not None:
        alone = [item for item in alone if item.status in shown]
    expected = sorted(alone, key=DueItem.sort_key)
    assert _json(due_list(given_as, profile, as_of, statuses=shown)) == _json(expected)
    one = caseload_[0].id
    assert _json(due_list(given_as, profile, as_of, one, shown)) == _json(
        [item for item in expected if item.case == one]
    )


def test_a_summary_whose_case_has_another_id_keeps_the_one_sort() -> None:
    """A case read whole under another id than its summary's (the list is taken by the
    summaries' ids): the due list is still every case's items sorted once, stably."""
    cases = caseload(30, 5)
    profile = load_profile("us-ongoing")
    with_items = next(case for case in cases[5:] if due_items(case, profile, BASE))
    moved = dataclasses.replace(with_items, id="A-000")
    given_as: list[Case | CaseFacts] = [_as_kept(case, "us-ongoing", []) for case in cases]
    given_as[20] = CaseFacts("Z-999", moved.worker, None, lambda: moved)
    order = cases[:20] + [moved] + cases[21:]
    alone = [item for case in order for item in due_items(case, profile, BASE)]
    expected = sorted(alone, key=DueItem.sort_key)
    assert any(item.case == "A-000" for item in expected)
    assert _json(due_list(given_as, profile, BASE)) == _json(expected)


def test_after_every_date_the_due_list_reads_no_visit() -> None:
    """Once the day is past every record, no whole case is read, and nothing differs."""
    cases = caseload(300, 11)
    for name in PROFILES:
        loaded: list[str] = []
        kept = [_as_kept(case, name, loaded) for case in cases]
        last = max(k.facts[1] or 0 for k in kept if k.facts is not None)
        for as_of in (date.fromordinal(last), date.fromordinal(last) + timedelta(days=45)):
            profile = load_profile(name)
            assert _json(due_list(kept, profile, as_of)) == _json(due_list(cases, profile, as_of))
            shown = due_list(kept, profile, as_of, statuses=OPEN_STATUSES)
            assert _json(shown) == _json(open_items(due_list(cases, profile, as_of)))
        assert loaded == []


def test_a_record_after_the_day_reads_the_whole_case() -> None:
    """VI-1: a visit dated after the day asked about must not count: that case is read whole."""
    cases = caseload(60, 3)
    loaded: list[str] = []
    kept = [_as_kept(case, "ontario-std7", loaded) for case in cases]
    profile = load_profile("ontario-std7")
    as_of = BASE - timedelta(days=30)
    assert _json(due_list(kept, profile, as_of)) == _json(due_list(cases, profile, as_of))
    late = {k.id for k in kept if k.facts is not None and (k.facts[1] or 0) > as_of.toordinal()}
    assert late and set(loaded) == late


def test_kept_summaries_give_the_due_list_from_their_facts(store: Store) -> None:
    """`fieldkit due` on a profile: every summary keeps its facts, and on a day after every
    record the due list comes from them alone, equal to the full rebuild's."""
    doc = demo_document(30, 7, TODAY)
    with store.transaction():
        services.import_cases(store, doc)
        for case_id, kind, record_id, fields in plan_records(doc, 7):
            store.record(case_id, kind, record_id, fields)

    def refuse() -> Case:
        raise AssertionError("the whole case was read")

    kept = services.rules_cases(store)
    assert len(kept) == 30 and all(k.facts is not None for k in kept)
    facts_only = [CaseFacts(k.id, k.worker, k.facts, refuse) for k in kept]
    profile = load_profile("ontario-std7")
    day = date(2027, 6, 30)
    full = due_list(services.load_cases(store), profile, day)
    assert _json(due_list(facts_only, profile, day)) == _json(full)
