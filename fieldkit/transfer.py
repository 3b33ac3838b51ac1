"""The case-transfer format `fieldkit.case-transfer/1`: checking, and mapping to entities.

A file is checked whole before anything is written: a bad date, a missing key or an
unknown person id refuses the file with a message naming the case and the key.
Keys that start with `_` are fieldkit's own bookkeeping and never leave in an export.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fieldkit.domain import (
    EVENT_KINDS,
    REVIEW_KINDS,
    Activity,
    ApprovalState,
    Assessment,
    Case,
    CaseEvent,
    CaseKind,
    ChildContact,
    Closure,
    Goal,
    Intervention,
    Objective,
    Person,
    Placement,
    Review,
    SafetyPlan,
    SafetyThreat,
    ServicePlan,
    Supervision,
    Track,
    Unannounced,
    Visit,
    parse_date,
)
from fieldkit.errors import TransferError
from fieldkit.i18n import _
from fieldkit.text import unsafe_characters

FORMAT = "fieldkit.case-transfer/1"
REQUIRED = ("id", "kind", "opened", "people")
HISTORY_DATES = (
    "removal_date",
    "assessment_completed",
    "service_plan_completed",
    "last_formal_review",
    "last_supervision",
)

Entity = tuple[str, str, dict[str, Any]]  # (entity kind, entity id, fields)


# Deeper than any case needs; a deeper document is refused before it is walked further.
MAX_DEPTH = 16
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _refuse(case_id: str, key: str, problem: str) -> TransferError:
    return TransferError(
        _("case {case_id}, key {key}: {problem}; nothing was imported").format(
            case_id=case_id, key=key, problem=problem
        )
    )


def _shown(value: Any) -> str:
    """A refused value as the error line shows it: short, and never a control character."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_values(doc: Any) -> None:
    """Every text in the document is printable Unicode and nothing nests absurdly deep.

    Names and notes are shown on terminals: a control character or a lone surrogate is
    refused whole, naming where it is (THREAT_MODEL.md, hostile input).
    """
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TransferError(
                _(
                    "key {where}: nested deeper than {max_depth} levels; nothing was imported"
                ).format(where=where or "(top)", max_depth=MAX_DEPTH)
            )
        if isinstance(value, str):
            problem = unsafe_characters(value)
            if problem:
                raise TransferError(
                    _("key {where}: the text holds {problem}; nothing was imported").format(
                        where=where or "(top)", problem=problem
                    )
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = unsafe_characters(str(key))
                if problem:
                    raise TransferError(
                        _("key {where}: a key name holds {problem}; nothing was imported").format(
                            where=where or "(top)", problem=problem
                        )
                    )
                stack.append((item, f"{where}.{key}" if where else str(key), depth + 1))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                stack.append((item, f"{where}[{i}]", depth + 1))
        elif isinstance(value, float) and value != value:  # NaN is not JSON
            raise TransferError(
                _("key {where}: NaN is not a value; nothing was imported").format(where=where)
            )


def _text(case_id: str, key: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise _refuse(case_id, key, f"{_shown(value)} is not text")


def _text_list(case_id: str, key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _refuse(case_id, key, f"{_shown(value)} is not a list of person ids")
    return value


def _check_date(case_id: str, key: str, value: Any, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise _refuse(case_id, key, f"{_shown(value)} is not a date (write YYYY-MM-DD)")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _refuse(case_id, key, f"{_shown(value)} is not a date (write YYYY-MM-DD)") from None


# --- what each key may hold ---------------------------------------------------------------
# Every key fieldkit reads is checked before anything is stored, so that no command that
# loads cases can later fail on an imported value. A spec is one of:
#   "text", "date", "flag", "ids" (a list of text), "texts", "object", "list" (of objects),
#   ("choice", values); a trailing "?" (or an optional choice) also allows null.

Spec = Any

APPROVALS = tuple(a.value for a in ApprovalState)
PLAN_KINDS = ("initial", "alternative")
APPROVAL_TARGETS = ("visit", "safety_plan", "service_plan", "closure")

HEAD_KEYS: dict[str, Spec] = {
    "id": "text",
    "kind": ("choice", tuple(k.value for k in CaseKind)),
    "track": ("choice?", tuple(t.value for t in Track)),
    "opened": "date",
    "worker": "text?",
    "supervisor": "text?",
    "address": "text?",
    "high_risk": "flag",
    "unannounced_visits": "object",
    "people": "list",
    "safety": "object",
    "history": "object",
    "records": "object",
}
UNANNOUNCED_KEYS: dict[str, Spec] = {"required": "flag", "reason": "text?"}
PERSON_KEYS: dict[str, Spec] = {
    "id": "text",
    "role": ("choice", ("child", "caregiver", "other")),
    "name": "text",
    "dob": "date?",
    "verbal": "flag",
    "victim": "flag",
    "placement": "object?",
    "relationship": "text?",
    "phone": "text?",
    "email": "text?",
    "address": "text?",
    "notes": "text?",
}
PLACEMENT_KEYS: dict[str, Spec] = {"setting": "text", "since": "date?", "address": "text?"}
THREAT_KEYS: dict[str, Spec] = {
    "id": "text",
    "text": "text",
    "active": "flag",
    "identified": "date?",
}
SAFETY_PLAN_KEYS: dict[str, Spec] = {
    "id": "text",
    "kind": ("choice", PLAN_KINDS),
    "agreed": "date?",
    "interventions": "list",
    "approval": ("choice", APPROVALS),
    "created": "date?",
    "phone_approval_by": "text?",
    "phone_approval_at": "text?",
    "shared_with_family": "flag?",
    "active": "flag",
    "threats": "ids",
    "visit": "text?",
    "assessment": "object?",
    "decided_by": "text?",
    "decided_at": "text?",
}
INTERVENTION_KEYS: dict[str, Spec] = {"threat": "text", "text": "text", "who": "text?"}
HISTORY_KEYS: dict[str, Spec] = {key: "date?" for key in HISTORY_DATES} | {"visits": "list"}
VISIT_KEYS: dict[str, Spec] = {
    "id": "text",
    "date": "date",
    "announced": "flag",
    "kind": "text",
    "seen": "ids",
    "private_interview": "ids",
    "observed": "ids",
    "contacts": "list",
    "present": "ids",
    "location": "text?",
    "safety_changed": "flag?",
    "notes": "text?",
    "next_steps": "text?",
    "next_visit": "date?",
    "signed_at": "text?",
    "author": "text?",
    "safety_plan": "text?",
    "progress": "object?",
}
RECORD_KEYS: dict[str, dict[str, Spec]] = {
    "assessment": {
        "completed": "date?",
        "strengths": "text",
        "needs": "text",
        "discussed_with_family": "flag",
        "kind": ("choice?", ("initial", "reassessment")),
        "author": "text?",
        "signed_at": "text?",
    },
    "service_plan": {
        "completed": "date?",
        "family_agreement": "text?",
        "participants": "texts",
        "approval": ("choice?", APPROVALS),
        "author": "text?",
        "signed_at": "text?",
        "updated": "date?",
    },
    "goal": {"plan": "text?", "text": "text", "progress": "text?"},
    "objective": {"plan": "text?", "goal": "text", "text": "text"},
    "activity": {
        "plan": "text?",
        "objective": "text",
        "text": "text",
        "who": "text?",
        "where": "text?",
        "how": "text?",
        "when": "text?",
        "measure": "text?",
        "progress": "text?",
    },
    "supervision": {
        "date": "date",
        "decisions": "text?",
        "visit_frequency_reviewed": "flag",
        "supervisor": "text?",
    },
    "review": {
        "date": "date",
        "kind": ("choice", REVIEW_KINDS),
        "prognosis": "text?",
        "checklist": "texts",
        "notes": "text?",
        "participants": "texts",
        "author": "text?",
        "signed_at": "text?",
    },
    "event": {
        "kind": ("choice", EVENT_KINDS),
        "date": "date",
        "note": "text?",
        "person": "text?",
        "placement": "object?",
        "author": "text?",
    },
    "closure": {
        "date": "date",
        "reason": "text?",
        "supports": "text?",
        "goals_met": "flag?",
        "approval": ("choice?", APPROVALS),
        "author": "text?",
        "signed_at": "text?",
    },
    "approval": {
        "target": ("choice", APPROVAL_TARGETS),
        "target_id": "text",
        "decision": "text",
        "comment": "text?",
        "by": "text?",
        "at": "text?",
        "content_hash": "text?",
    },
    "addendum": {"visit": "text?", "text": "text", "date": "date?", "author": "text?"},
    "override": {
        "rule": "text",
        "reason": "text",
        "author": "text?",
        "visit": "text?",
        "subject": "text?",
        "message": "text?",
        "at": "text?",
    },
    "contact": {
        "date": "date",
        "kind": "text",
        "who": "text",
        "role": "text?",
        "notes": "text",
        "children": "texts",
        "author": "text?",
        "recorded_at": "text?",
    },
    "attachment": {
        "target": "text",
        "target_id": "text?",
        "kind": "text",
        "name": "text?",
        "media_type": "text?",
        "sha256": "text",
        "chunks": "texts",
        "caption": "text?",
        "added_at": "text?",
        "author": "text?",
        "original_of": "text?",
        "location_kept": "flag?",
    },
    "acknowledgement": {
        "plan": "text",
        "plan_id": "text",
        "caregiver": "text",
        "typed_name": "text",
        "how": "text",
        "at": "text?",
        "plan_hash": "text?",
        "note": "text?",
        "author": "text?",
        "attachment": "text?",
    },
}
"""The `records` section: every record kind the case holds beyond people, safety and visits."""

OPEN_RECORDS = frozenset({"approval", "addendum", "override", "attachment"})
"""Record kinds (and history.visits) whose extra keys are kept as given: other parts of
fieldkit add keys to them; the keys listed above are still checked."""


_SPEC_WORDS = {
    "text": "text",
    "flag": "true or false",
    "ids": "a list of text",
    "texts": "a list of text",
    "object": "an object",
    "list": "a list of objects",
}


class _Check:
    """Checks one case's keys; every refusal names the case and the dotted key."""

    def __init__(self, case_id: str) -> None:
        self.cid = case_id

    def refuse(self, key: str, problem: str) -> TransferError:
        return _refuse(self.cid, key, problem)

    def value(self, where: str, spec: Spec, value: Any) -> None:
        """One value against its spec."""
        if isinstance(spec, tuple):
            kind, allowed = spec
            if (value is None and kind.endswith("?")) or value in allowed:
                return
            raise self.refuse(where, f"{value!r} is not one of {', '.join(allowed)}")
        if spec.endswith("?"):
            if value is None:
                return
            spec = spec[:-1]
        if spec == "date":
            _check_date(self.cid, where, value, required=True)
            return
        fits = {
            "text": lambda v: isinstance(v, str),
            "flag": lambda v: isinstance(v, bool),
            "ids": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
            "texts": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
            "object": lambda v: isinstance(v, dict),
            "list": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
        }
        if not fits[spec](value):
            raise self.refuse(where, f"expected {_SPEC_WORDS[spec]}, got {value!r}")

    def keys(
        self,
        where: str,
        obj: Any,
        specs: dict[str, Spec],
        required: tuple[str, ...] = (),
        open_keys: bool = False,
    ) -> dict[str, Any]:
        """Every key of one object: known ones by spec, unknown ones refused (or, for an
        open record kind, kept as given); `_` keys are fieldkit's own and always refused."""
        if not isinstance(obj, dict):
            raise self.refuse(where or "case", "expected an object")
        prefix = f"{where}." if where else ""
        for key in required:
            if obj.get(key) in (None, ""):
                raise self.refuse(f"{prefix}{key}", "required key is missing")
        for key, value in obj.items():
            if not isinstance(key, str) or key.startswith("_"):
                raise self.refuse(f"{prefix}{key}", "keys starting with _ are not importable")
            spec = specs.get(key)
            if spec is None:
                if open_keys:
                    continue
                raise self.refuse(f"{prefix}{key}", "unknown key (not in the transfer format)")
            self.value(f"{prefix}{key}", spec, value)
        return obj


def check_document(doc: Any) -> list[dict[str, Any]]:
    """The cases of a transfer document, or TransferError naming the case and key."""
    if not isinstance(doc, dict):
        raise TransferError(_("the file is not a case-transfer document (expected a JSON object)"))
    if doc.get("format") != FORMAT:
        raise TransferError(
            _("key format: {given} is not {format}; nothing was imported").format(
                given=repr(doc.get("format")), format=repr(FORMAT)
            )
        )
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise TransferError(_("key cases: expected a list of cases; nothing was imported"))
    check_values(doc)
    seen_ids: set[str] = set()
    for index, case in enumerate(cases):
        try:
            check_case(case, index)
        except (TypeError, AttributeError, ValueError, KeyError) as exc:
            cid = case.get("id") if isinstance(case, dict) else None
            where = f"case {cid}" if isinstance(cid, str) else f"cases[{index}]"
            raise TransferError(
                _("{where}: a value has the wrong type ({type}); nothing was imported").format(
                    where=where, type=type(exc).__name__
                )
            ) from None
        if case["id"] in seen_ids:
            raise _refuse(case["id"], "id", "the same case appears twice in the file")
        seen_ids.add(case["id"])
    return cases


def check_case(case: Any, index: int = 0) -> None:
    """Every rule of the format for one case."""
    if not isinstance(case, dict):
        raise TransferError(
            _("cases[{index}]: expected an object; nothing was imported").format(index=index)
        )
    raw_id = case.get("id")
    cid = raw_id if isinstance(raw_id, str) and raw_id else f"#{index + 1}"
    for key in REQUIRED:
        if key not in case or case[key] in (None, ""):
            raise _refuse(cid, key, "required key is missing")
    if not isinstance(case["id"], str) or "/" in case["id"]:
        raise _refuse(cid, "id", "must be text without '/'")
    for key in ("kind", "track", "worker", "supervisor"):
        if case.get(key) is not None:
            _text(cid, key, case[key])
    if case["kind"] not in {k.value for k in CaseKind}:
        kinds = ", ".join(k.value for k in CaseKind)
        raise _refuse(cid, "kind", f"{case['kind']!r} is not one of {kinds}")
    if case.get("track") is not None and case["track"] not in {t.value for t in Track}:
        tracks = ", ".join(t.value for t in Track)
        raise _refuse(cid, "track", f"{case['track']!r} is not one of {tracks}")
    _check_date(cid, "opened", case["opened"], required=True)
    unannounced = case.get("unannounced_visits")
    if unannounced is not None and (
        not isinstance(unannounced, dict) or not isinstance(unannounced.get("required"), bool)
    ):
        raise _refuse(cid, "unannounced_visits", 'expected {"required": true|false, "reason": …}')
    check = _Check(cid)
    check.keys("", case, HEAD_KEYS)
    if unannounced is not None:
        check.keys("unannounced_visits", unannounced, UNANNOUNCED_KEYS)
    people = case["people"]
    if not isinstance(people, list):
        raise _refuse(cid, "people", "expected a list")
    person_ids: set[str] = set()
    for i, person in enumerate(people):
        where = f"people[{i}]"
        if not isinstance(person, dict) or not person.get("id"):
            raise _refuse(cid, f"{where}.id", "required key is missing")
        _text(cid, f"{where}.id", person["id"])
        if person["id"] in person_ids:
            raise _refuse(cid, f"{where}.id", f"person id {person['id']!r} is used twice")
        person_ids.add(person["id"])
        if person.get("role") not in ("child", "caregiver", "other"):
            raise _refuse(cid, f"{where}.role", "expected child, caregiver or other")
        if not person.get("name"):
            raise _refuse(cid, f"{where}.name", "required key is missing")
        _text(cid, f"{where}.name", person["name"])
        _check_date(cid, f"{where}.dob", person.get("dob"))
        for flag in ("verbal", "victim"):
            if flag in person and not isinstance(person[flag], bool):
                raise _refuse(cid, f"{where}.{flag}", "expected true or false")
        placement = person.get("placement")
        if placement is not None:
            if not isinstance(placement, dict) or not placement.get("setting"):
                raise _refuse(cid, f"{where}.placement.setting", "required key is missing")
            _check_date(cid, f"{where}.placement.since", placement.get("since"))
            check.keys(f"{where}.placement", placement, PLACEMENT_KEYS)
        check.keys(where, person, PERSON_KEYS)
    safety = case.get("safety") or {}
    if not isinstance(safety, dict):
        raise _refuse(cid, "safety", "expected an object")
    check.keys(
        "safety",
        safety,
        {"threats": "list", "plan": "object?", "alternative_plans": "list"},
    )
    threat_ids: set[str] = set()
    for i, threat in enumerate(safety.get("threats") or []):
        if not isinstance(threat, dict) or not threat.get("id"):
            raise _refuse(cid, f"safety.threats[{i}].id", "required key is missing")
        _text(cid, f"safety.threats[{i}].id", threat["id"])
        if threat["id"] in threat_ids:
            raise _refuse(cid, f"safety.threats[{i}].id", f"threat id {threat['id']!r} twice")
        check.keys(f"safety.threats[{i}]", threat, THREAT_KEYS, required=("text",))
        threat_ids.add(threat["id"])
    plans: list[tuple[str, Any]] = []
    if safety.get("plan") is not None:
        plans.append(("safety.plan", safety["plan"]))
    plan_ids = {"plan"}
    for i, alternative in enumerate(safety.get("alternative_plans") or []):
        where = f"safety.alternative_plans[{i}]"
        check.keys(where, alternative, SAFETY_PLAN_KEYS, required=("id",))
        if alternative["id"] in plan_ids:
            raise _refuse(cid, f"{where}.id", f"safety plan id {alternative['id']!r} twice")
        plan_ids.add(alternative["id"])
        plans.append((where, alternative))
    for where, plan in plans:
        if not isinstance(plan, dict):
            raise _refuse(cid, where, "expected an object")
        _check_date(cid, f"{where}.agreed", plan.get("agreed"))
        check.keys(where, plan, SAFETY_PLAN_KEYS)
        for i, item in enumerate(plan.get("interventions") or []):
            if not isinstance(item, dict) or item.get("threat") not in threat_ids:
                raise _refuse(
                    cid,
                    f"{where}.interventions[{i}].threat",
                    f"{(item or {}).get('threat')!r} is not a threat id of this case",
                )
            check.keys(f"{where}.interventions[{i}]", item, INTERVENTION_KEYS)
    history = case.get("history") or {}
    if not isinstance(history, dict):
        raise _refuse(cid, "history", "expected an object")
    for key in HISTORY_DATES:
        _check_date(cid, f"history.{key}", history.get(key))
    check.keys("history", history, HISTORY_KEYS)
    visit_ids: set[str] = set()
    for i, visit in enumerate(history.get("visits") or []):
        where = f"history.visits[{i}]"
        if not isinstance(visit, dict):
            raise _refuse(cid, where, "expected an object")
        _check_date(cid, f"{where}.date", visit.get("date"), required=True)
        for key in ("seen", "private_interview", "observed"):
            for pid in _text_list(cid, f"{where}.{key}", visit.get(key)):
                if pid not in person_ids:
                    raise _refuse(cid, f"{where}.{key}", f"{pid!r} is not a person of this case")
        check.keys(where, visit, VISIT_KEYS, open_keys=True)
        for j, contact in enumerate(visit.get("contacts") or []):
            if contact.get("person") not in person_ids:
                raise _refuse(
                    cid,
                    f"{where}.contacts[{j}].person",
                    f"{contact.get('person')!r} is not a person of this case",
                )
        if visit.get("id") is not None:
            if visit["id"] in visit_ids:
                raise _refuse(cid, f"{where}.id", f"visit id {visit['id']!r} twice")
            visit_ids.add(visit["id"])
    _check_records(check, case.get("records") or {}, person_ids)


def _check_records(check: _Check, records: Any, person_ids: set[str]) -> None:
    """The `records` section: each kind a list of objects with unique ids, each key checked,
    references (objective → goal, activity → objective, event → person) resolved."""
    if not isinstance(records, dict):
        raise check.refuse("records", "expected an object")
    ids: dict[str, set[str]] = {}
    for kind, items in records.items():
        specs = RECORD_KEYS.get(kind)
        if specs is None:
            known = ", ".join(RECORD_KEYS)
            raise check.refuse(f"records.{kind}", f"unknown record kind (known: {known})")
        if not isinstance(items, list):
            raise check.refuse(f"records.{kind}", "expected a list of objects")
        seen: set[str] = ids.setdefault(kind, set())
        for i, item in enumerate(items):
            where = f"records.{kind}[{i}]"
            check.keys(
                where,
                item,
                {"id": "text", **specs},
                required=("id", *[k for k, v in specs.items() if v in ("date", "text")]),
                open_keys=kind in OPEN_RECORDS,
            )
            if item["id"] in seen:
                raise check.refuse(f"{where}.id", f"{kind} id {item['id']!r} is used twice")
            seen.add(item["id"])
    references = (("objective", "goal", "goal"), ("activity", "objective", "objective"))
    for kind, key, target in references:
        for i, item in enumerate(records.get(kind) or []):
            if item[key] not in ids.get(target, set()):
                raise check.refuse(
                    f"records.{kind}[{i}].{key}", f"{item[key]!r} is not a {target} id"
                )
    for i, item in enumerate(records.get("event") or []):
        if item.get("person") is not None and item["person"] not in person_ids:
            raise check.refuse(
                f"records.event[{i}].person", f"{item['person']!r} is not a person of this case"
            )
        if item.get("placement") is not None:
            check.keys(f"records.event[{i}].placement", item["placement"], PLACEMENT_KEYS)


def case_entities(case: dict[str, Any]) -> list[Entity]:
    """The entities one checked case becomes (the case first)."""
    cid = case["id"]
    head = {k: v for k, v in case.items() if k not in ("people", "safety", "history", "records")}
    history = dict(case.get("history") or {})
    visits = history.pop("visits", None)
    if "history" in case:
        head["history"] = history
    if "safety" in case:
        head["_safety_keys"] = sorted((case["safety"] or {}).keys())
    if visits is not None:
        head["_has_visits"] = True
    entities: list[Entity] = [("case", cid, head)]
    for order, person in enumerate(case["people"]):
        entities.append(("person", person["id"], {**person, "_order": order}))
    safety = case.get("safety") or {}
    for order, threat in enumerate(safety.get("threats") or []):
        entities.append(("threat", threat["id"], {**threat, "_order": order}))
    if safety.get("plan") is not None:
        entities.append(("safety_plan", "plan", dict(safety["plan"])))
    for order, plan in enumerate(safety.get("alternative_plans") or []):
        fields = {k: v for k, v in plan.items() if k != "id"}
        entities.append(("safety_plan", plan["id"], {**fields, "_order": order}))
    for order, visit in enumerate(visits or []):
        visit_id = visit.get("id") or f"h{order:04d}-{visit['date']}"
        fields = {k: v for k, v in visit.items() if k != "id"}
        entities.append(("visit", visit_id, {**fields, "_order": order}))
    for kind, items in (case.get("records") or {}).items():
        for order, item in enumerate(items):
            fields = {k: v for k, v in item.items() if k != "id"}
            entities.append((kind, item["id"], {**fields, "_order": order}))
    return entities


def _public(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not k.startswith("_")}


def _with_id(fields: dict[str, Any]) -> dict[str, Any]:
    """A record as the format writes it: its id first, then its public fields."""
    return {"id": fields.get("_id", ""), **_public(fields)}


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        items,
        key=lambda f: (f.get("_order", 1 << 30), str(f.get("date", "")), str(f.get("_id", ""))),
    )


def _visit_out(fields: dict[str, Any]) -> dict[str, Any]:
    """A visit as the format writes it; the id is left out when importing the visit at its
    place in the list gives it again (a visit of the transfer file it came from)."""
    order = fields.get("_order")
    if order is not None and fields.get("_id") == f"h{order:04d}-{fields.get('date')}":
        return _public(fields)
    return _with_id(fields)


RECORD_ORDER = tuple(RECORD_KEYS)
"""The order of the `records` section in an export (stable, so exports compare equal)."""


def export_document(
    head: dict[str, Any], by_kind: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The transfer form of one case from its entities' fields: every record kind it holds."""
    case = _public(head)
    case.pop("history", None)
    case["people"] = [_public(p) for p in _ordered(by_kind.get("person", []))]
    threats = [_public(t) for t in _ordered(by_kind.get("threat", []))]
    plans = _ordered(by_kind.get("safety_plan", []))
    initial = [p for p in plans if p.get("_id") == "plan"]
    safety_keys = head.get("_safety_keys")
    if safety_keys is not None or threats or plans:
        safety: dict[str, Any] = {}
        if threats or "threats" in (safety_keys or []):
            safety["threats"] = threats
        if initial:
            safety["plan"] = _public(initial[0])
        others = [_with_id(p) for p in plans if p.get("_id") != "plan"]
        if others:
            safety["alternative_plans"] = others
        case["safety"] = safety
    history = dict(head.get("history") or {}) if "history" in head else None
    visits = [_visit_out(v) for v in _ordered(by_kind.get("visit", []))]
    if history is not None or visits:
        history = history or {}
        if head.get("_has_visits") or visits:
            history["visits"] = visits
        case["history"] = history
    records: dict[str, list[dict[str, Any]]] = {}
    for kind in RECORD_ORDER:
        items = by_kind.get(kind)
        if items:
            records[kind] = [_with_id(i) for i in _ordered(items)]
    if records:
        case["records"] = records
    return case


# --- assembling the domain case -------------------------------------------------------


def _placement(value: Any) -> Placement | None:
    if not isinstance(value, dict):
        return None
    return Placement(
        setting=str(value.get("setting", "")),
        since=parse_date(value.get("since")),
        address=value.get("address"),
    )


def build_case(
    head: dict[str, Any], by_kind: dict[str, list[dict[str, Any]]], needs_resolution: int = 0
) -> Case:
    """A domain `Case` from its entities' current fields."""
    history = head.get("history") or {}
    unannounced = head.get("unannounced_visits") or {}
    people = [
        Person(
            id=p["id"],
            role=p.get("role", "other"),
            name=p.get("name", ""),
            dob=parse_date(p.get("dob")),
            verbal=bool(p.get("verbal", True)),
            victim=bool(p.get("victim", False)),
            placement=_placement(p.get("placement")),
            relationship=p.get("relationship"),
            phone=p.get("phone"),
        )
        for p in _ordered(by_kind.get("person", []))
    ]
    threats = [
        SafetyThreat(
            id=t.get("id", t.get("_id", "")),
            text=t.get("text", ""),
            active=bool(t.get("active", True)),
            identified=parse_date(t.get("identified")),
        )
        for t in _ordered(by_kind.get("threat", []))
    ]
    plans = [
        SafetyPlan(
            id=p.get("_id", "plan"),
            kind=p.get("kind", "initial"),
            agreed=parse_date(p.get("agreed")),
            interventions=tuple(
                Intervention(i.get("threat", ""), i.get("text", ""), i.get("who"))
                for i in p.get("interventions") or []
            ),
            approval=ApprovalState(p.get("approval", ApprovalState.APPROVED.value)),
            created=parse_date(p.get("created")),
            phone_approval_by=p.get("phone_approval_by"),
            phone_approval_at=p.get("phone_approval_at"),
            shared_with_family=p.get("shared_with_family"),
            active=bool(p.get("active", True)),
        )
        for p in _ordered(by_kind.get("safety_plan", []))
    ]
    visits = [visit_from_fields(v) for v in _ordered(by_kind.get("visit", [])) if v.get("date")]
    visits.sort(key=lambda v: v.date)
    supervisions = [
        Supervision(
            id=s.get("_id", ""),
            date=parse_date(s["date"]) or date.min,
            decisions=s.get("decisions", ""),
            visit_frequency_reviewed=bool(s.get("visit_frequency_reviewed", False)),
            supervisor=s.get("supervisor"),
        )
        for s in by_kind.get("supervision", [])
        if s.get("date")
    ]
    reviews = [
        Review(
            id=r.get("_id", ""),
            date=parse_date(r["date"]) or date.min,
            kind=r.get("kind", "formal"),
        )
        for r in by_kind.get("review", [])
        if r.get("date")
    ]
    events = [
        CaseEvent(
            id=e.get("_id", ""),
            kind=e.get("kind", ""),
            date=parse_date(e["date"]) or date.min,
            note=e.get("note", ""),
        )
        for e in by_kind.get("event", [])
        if e.get("date")
    ]
    decisions = latest_decisions(by_kind.get("approval") or [])
    closure_fields = _latest(
        (c for c in by_kind.get("closure") or [] if c.get("date")),
        decisions,
        "closure",
        "date",
    )
    assessment_fields = _latest(by_kind.get("assessment") or [], {}, "assessment", "completed")
    return Case(
        id=head["id"],
        kind=CaseKind(head["kind"]),
        opened=parse_date(head["opened"]) or date.min,
        track=Track(head["track"]) if head.get("track") else None,
        worker=head.get("worker"),
        supervisor=head.get("supervisor"),
        address=head.get("address", ""),
        unannounced=Unannounced(
            required=bool(unannounced.get("required", False)),
            reason=unannounced.get("reason", ""),
        ),
        people=people,
        threats=threats,
        safety_plans=plans,
        assessment_completed=parse_date(history.get("assessment_completed")),
        service_plan_completed=parse_date(history.get("service_plan_completed")),
        last_formal_review=parse_date(history.get("last_formal_review")),
        last_supervision=parse_date(history.get("last_supervision")),
        removal_date=parse_date(history.get("removal_date")),
        high_risk=bool(head.get("high_risk", False)),
        visits=visits,
        supervisions=supervisions,
        reviews=reviews,
        events=events,
        assessment=Assessment(
            id=assessment_fields.get("_id", ""),
            completed=parse_date(assessment_fields.get("completed")),
            strengths=assessment_fields.get("strengths", ""),
            needs=assessment_fields.get("needs", ""),
            discussed_with_family=bool(assessment_fields.get("discussed_with_family")),
        )
        if assessment_fields
        else None,
        closure=Closure(
            parse_date(closure_fields["date"]) or date.min, closure_fields.get("reason", "")
        )
        if closure_fields and closure_fields.get("date")
        else None,
        needs_resolution=needs_resolution,
        service_plan=service_plan_from(by_kind, decisions),
        service_plan_dates=[
            d
            for d in (
                parse_date(p.get("completed"))
                for p in by_kind.get("service_plan") or []
                if not _withdrawn(decisions, "service_plan", p)
            )
            if d is not None
        ],
    )


WITHDRAWN = ("returned", "rejected")
"""A supervisor's decision that sends a plan or closure back: it is not in force."""


def latest_decisions(approvals: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(target, target id) → the latest decision on it (the approval records, by time)."""
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for a in approvals:
        key = (str(a.get("target", "")), str(a.get("target_id", "")))
        at = str(a.get("at", ""))
        if key not in latest or at >= latest[key][0]:
            latest[key] = (at, str(a.get("decision", "")))
    return {key: decision for key, (_stamp, decision) in latest.items()}


def _withdrawn(decisions: dict[tuple[str, str], str], target: str, f: dict[str, Any]) -> bool:
    return decisions.get((target, str(f.get("_id", "")))) in WITHDRAWN


def _latest(
    items: Any, decisions: dict[tuple[str, str], str], target: str, key: str
) -> dict[str, Any] | None:
    """The newest record of a kind by its date key, leaving out those sent back (CT-4: the
    latest assessment; CL-1: the closure that stands)."""
    kept = [f for f in items if not _withdrawn(decisions, target, f)]
    if not kept:
        return None
    latest: dict[str, Any] = max(kept, key=lambda f: (str(f.get(key) or ""), str(f.get("_id", ""))))
    return latest


def service_plan_from(
    by_kind: dict[str, list[dict[str, Any]]],
    decisions: dict[tuple[str, str], str] | None = None,
) -> ServicePlan | None:
    """Rule PL-4: the plan in force (the newest version not sent back), its goals,
    objectives and activities, from their records."""
    if not any(by_kind.get(kind) for kind in ("service_plan", "goal", "objective", "activity")):
        return None
    decisions = decisions or {}
    versions = by_kind.get("service_plan") or []
    head = _latest(versions, decisions, "service_plan", "completed")
    head = head or _latest(versions, {}, "service_plan", "completed")  # every one sent back
    head = head or {"_id": "plan"}
    plan_id = str(head.get("_id", "plan"))

    def ours(kind: str) -> list[dict[str, Any]]:
        """Records of this version (those of a plan made before versions have no `plan`)."""
        return [f for f in by_kind.get(kind, []) if f.get("plan") in (None, plan_id)]

    approval = decisions.get(("service_plan", plan_id)) or head.get("approval")
    return ServicePlan(
        id=plan_id,
        completed=parse_date(head.get("completed")),
        family_agreement=head.get("family_agreement"),
        approval=str(approval) if approval else None,
        goals=tuple(
            Goal(str(f.get("_id", "")), str(f.get("text", "")), str(f.get("progress", "")))
            for f in ours("goal")
        ),
        objectives=tuple(
            Objective(str(f.get("_id", "")), str(f.get("goal", "")), str(f.get("text", "")))
            for f in ours("objective")
        ),
        activities=tuple(
            Activity(
                str(f.get("_id", "")),
                objective=str(f.get("objective", "")),
                text=str(f.get("text", "")),
                who=str(f.get("who", "")),
                where=str(f.get("where", "")),
                how=str(f.get("how", "")),
                when=str(f.get("when", "")),
                measure=str(f.get("measure", "")),
                progress=str(f.get("progress", "")),
            )
            for f in ours("activity")
        ),
    )


def _first(items: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    return items[0] if items else None


def contact_from_fields(raw: dict[str, Any]) -> ChildContact:
    """One child at one visit; an interview or observation counts only if the child was seen."""
    seen = bool(raw.get("seen", True))
    return ChildContact(
        person=str(raw["person"]),
        seen=seen,
        private_interview=bool(raw.get("private_interview")) and seen,
        observed=bool(raw.get("observed")) and seen,
        seen_alone=raw.get("seen_alone"),
        where=str(raw.get("where") or ""),
        could_be_overheard=raw.get("could_be_overheard"),
        said=str(raw.get("said") or ""),
        interaction=str(raw.get("interaction") or ""),
        condition=str(raw.get("condition") or ""),
        environment=str(raw.get("environment") or ""),
    )


def _day_or_none(value: Any) -> date | None:
    try:
        return parse_date(value)
    except ValueError:  # a date still being typed into a draft
        return None


def visit_from_fields(v: dict[str, Any], visit_id: str | None = None) -> Visit:
    """The domain visit from a stored record, an imported one, or a draft being typed."""
    contacts = {c["person"]: contact_from_fields(c) for c in v.get("contacts") or []}
    seen = set(v.get("seen") or [])
    interviewed = set(v.get("private_interview") or [])
    observed = set(v.get("observed") or [])
    for pid in sorted(seen | interviewed | observed):
        if pid not in contacts:
            contacts[pid] = ChildContact(
                person=pid,
                seen=True,
                private_interview=pid in interviewed,
                observed=pid in observed,
            )
    return Visit(
        id=visit_id if visit_id is not None else v.get("_id", ""),
        date=_day_or_none(v.get("date")) or date.today(),
        announced=bool(v.get("announced", True)),
        kind=str(v.get("kind") or "home"),
        contacts=tuple(contacts.values()),
        present=tuple(str(p) for p in v.get("present") or ()),
        location=str(v.get("location") or ""),
        safety_changed=v.get("safety_changed"),
        notes=str(v.get("notes") or ""),
        next_steps=str(v.get("next_steps") or ""),
        next_visit=_day_or_none(v.get("next_visit")),
        # Read from the entity's own sign mark, never assumed: an imported history visit
        # carries none, so it shows as imported, not as signed here.
        signed=bool(v.get("_signed")),
        signed_at=v.get("signed_at"),
        author=v.get("author"),
        outcome=str(v.get("outcome") or "completed"),
    )
