"""Per-case summaries: what `fieldkit due` and `fieldkit case list` read of each case.

A summary is folded from a case's views: its `case list` line; the rule facts, the few dates
the deadline rules read for any day after the case's last record (`rule_facts`: the latest
home visit, the first-month gap, the latest supervision, plan and review, events,
placements, pending safety plans); and, kept as one unparsed string, every date, kind and
flag the rules read (visits, supervisions, reviews, events, plans, placements, closure;
rules VI-1..5, RV-1/2/5, PL-2/7, FED-1, SA-2, CT-2, CL-1) for a day before that or another
policy profile, nothing else. The store keeps it sealed with the case key and drops it in
the same transaction as any change to the case; the next reader folds the cases without one
again and keeps them. So a summary that is read is always the fold of the case as it now
stands, and `due` on summaries gives exactly what `due` on the fully rebuilt cases gives
(tests/unit/test_summaries.py, tests/unit/test_due_facts.py).
"""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from typing import Any

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
    Track,
    Unannounced,
    Visit,
)
from fieldkit.errors import StoreError
from fieldkit.practice.engine import CaseFacts, rule_facts
from fieldkit.practice.profile import PolicyProfile, ProfileError
from fieldkit.services.cases import _cases_from, case_summary
from fieldkit.store import Store

VERSION = 2
"""A summary of another version is folded again (the shape below changed)."""

_BULK = 64
"""More cases than this to fold: read every view at once rather than case by case."""


def _d(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def digest(case: Case, policy: PolicyProfile | None = None) -> dict[str, Any]:
    """The summary of one case: its `case list` line, its rule facts under `policy`, and
    what the deadline rules read of it as one string (parsed only when the facts do not hold)."""
    facts: list[Any] | None = None
    if policy is not None:
        try:
            facts = rule_facts(case, policy)
        except OverflowError:
            facts = None  # a date at the end of the calendar: the rules read the whole case
    return {
        "v": VERSION,
        "list": case_summary(case),
        "facts": facts,
        "rules": json.dumps(_rules_doc(case), separators=(",", ":")),
    }


def _rules_doc(case: Case) -> dict[str, Any]:
    """Every date, kind and flag the deadline rules read of a case."""
    plan = case.service_plan
    return {
        "high_risk": case.high_risk,
        "unannounced": [case.unannounced.required, case.unannounced.reason],
        "children": [
            [c.placement.setting, _d(c.placement.since)] if c.placement is not None else None
            for c in case.children
        ],
        "history": [
            _d(case.service_plan_completed),
            _d(case.last_formal_review),
            _d(case.last_supervision),
            _d(case.removal_date),
        ],
        "visits": [[v.date.isoformat(), v.kind, v.outcome] for v in case.visits],
        "supervisions": [s.date.isoformat() for s in case.supervisions],
        "reviews": [[r.date.isoformat(), r.kind] for r in case.reviews],
        "events": [[e.kind, e.date.isoformat(), e.note] for e in case.events],
        "plan": [_d(plan.completed), plan.approval] if plan is not None else None,
        "plan_dates": [d.isoformat() for d in case.service_plan_dates],
        "pending_safety_plans": [
            [p.kind, p.approval.value, _d(p.created)]
            for p in case.safety_plans
            if p.pending_approval
        ],
        "closure": _d(case.closure.date) if case.closure is not None else None,
    }


def rules_case(head: dict[str, Any], doc: dict[str, Any]) -> Case:
    """The case as the deadline rules read it, from its summary (names and notes left out)."""
    required, reason = doc["unannounced"]
    plan_done, plan_approval = doc["plan"] or (None, None)
    history = [_day(d) for d in doc["history"]]
    closure = _day(doc["closure"])
    return Case(
        id=head["id"],
        kind=CaseKind(head["kind"]),
        opened=date.fromisoformat(head["opened"]),
        track=Track(head["track"]) if head["track"] else None,
        worker=head["worker"],
        supervisor=head["supervisor"],
        unannounced=Unannounced(bool(required), reason),
        people=[
            Person(
                "",
                "child",
                "",
                placement=Placement(c[0], _day(c[1])) if c is not None else None,
            )
            for c in doc["children"]
        ],
        safety_plans=[
            SafetyPlan("", kind=kind, approval=ApprovalState(approval), created=_day(created))
            for kind, approval, created in doc["pending_safety_plans"]
        ],
        service_plan_completed=history[0],
        last_formal_review=history[1],
        last_supervision=history[2],
        removal_date=history[3],
        high_risk=bool(doc["high_risk"]),
        visits=[
            Visit("", date.fromisoformat(day), kind=kind, outcome=outcome)
            for day, kind, outcome in doc["visits"]
        ],
        supervisions=[Supervision("", date.fromisoformat(d)) for d in doc["supervisions"]],
        reviews=[Review("", date.fromisoformat(d), kind) for d, kind in doc["reviews"]],
        events=[
            CaseEvent("", kind, date.fromisoformat(d), note) for kind, d, note in doc["events"]
        ],
        service_plan=ServicePlan("", _day(plan_done), approval=plan_approval)
        if doc["plan"] is not None
        else None,
        closure=Closure(closure) if closure is not None else None,
        needs_resolution=int(head["needs_resolution"]),
        service_plan_dates=[date.fromisoformat(d) for d in doc["plan_dates"]],
    )


def summaries(store: Store, policy: PolicyProfile | None = None) -> list[dict[str, Any]]:
    """Every case's summary, by case id; cases changed since their last summary folded again,
    their rule facts under `policy` (by default the policy the profile was created with)."""
    ids = store.case_ids()
    found: dict[str, dict[str, Any]] = {}
    for cid, raw in store.case_summaries(ids).items():
        # the rule record after the line is parsed only where the facts do not hold
        head, _, rules = raw.partition(b"\n")
        try:
            doc = json.loads(head)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("v") == VERSION:
            doc["rules"] = rules
            found[cid] = doc
    stale = [cid for cid in ids if cid not in found]
    if stale:
        found.update(_fold(store, stale, policy or _stored_policy(store)))
    return [found[cid] for cid in ids if cid in found]


def _encode(doc: dict[str, Any]) -> bytes:
    """The summary as kept: its line and facts as JSON, then on the next line the rule record
    (compact JSON has no line break, so the first one ends the head)."""
    head = {key: value for key, value in doc.items() if key != "rules"}
    return f"{json.dumps(head, separators=(',', ':'))}\n{doc['rules']}".encode()


def _stored_policy(store: Store) -> PolicyProfile | None:
    """The policy the profile was created with; None where it no longer loads (the rules
    then read each whole case)."""
    from fieldkit.practice.profile_load import load_profile  # only when a case is folded

    try:
        return load_profile(store.meta("policy"))
    except ProfileError:
        return None


def _fold(
    store: Store, stale: list[str], policy: PolicyProfile | None
) -> dict[str, dict[str, Any]]:
    """Fold the summaries of these cases and keep them; under the write lock, so no change
    can land between reading a case and keeping its summary. A profile busy in another
    fieldkit still gets its answer, folded now and not kept."""
    try:
        with store.transaction():
            docs = _digests(store, stale, policy)
            store.put_case_summaries({cid: _encode(doc) for cid, doc in docs.items()})
            return docs
    except StoreError:
        return _digests(store, stale, policy)


def _digests(
    store: Store, stale: list[str], policy: PolicyProfile | None
) -> dict[str, dict[str, Any]]:
    wanted = set(stale)
    if len(stale) > _BULK:
        views = [v for v in store.views() if v.case_id in wanted]
    else:
        views = [v for cid in stale for v in store.views(cid)]
    return {case.id: digest(case, policy) for case in _cases_from(views)}


def case_listing(store: Store) -> list[dict[str, Any]]:
    """`fieldkit case list --json`: one line per case, by case id (from the summaries)."""
    return [doc["list"] for doc in summaries(store)]


def rules_cases(store: Store, policy: PolicyProfile | None = None) -> list[CaseFacts]:
    """Every case as the deadline rules read it (from the summaries), by case id: its rule
    facts, and the whole case read from the summary only where they do not hold."""
    return [
        CaseFacts(
            doc["list"]["id"],
            doc["list"]["worker"],
            doc["facts"],
            partial(_load_rules_case, doc["list"], doc["rules"]),
        )
        for doc in summaries(store, policy)
    ]


def _load_rules_case(head: dict[str, Any], rules: str | bytes) -> Case:
    return rules_case(head, json.loads(rules))
