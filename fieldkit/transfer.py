"""The case-transfer format `fieldkit.case-transfer/1`: checking a file, the entities it
becomes, and the file written back from a case's records (`fieldkit.records`).

A file is checked whole before anything is written: a bad date, a missing key or an
unknown person id refuses the file with a message naming the case and the key.
Keys that start with `_` are fieldkit's own bookkeeping and never leave in an export.

Why one module: one format, in the directions that must agree key by key: the key tables the
checker enforces, the entities a checked file becomes, and the file written back; what
`case_entities` keeps as bookkeeping (`_order`, `_safety_keys`, `_has_visits`, a history
visit's `h0000-date` id) is exactly what `export_document` reads to write the same file
again.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fieldkit.domain import (
    EVENT_KINDS,
    REVIEW_KINDS,
    ApprovalState,
    CaseKind,
    Track,
)
from fieldkit.errors import TransferError
from fieldkit.i18n import _
from fieldkit.records import ByKind, Record, ordered
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


def _with_id(record: Record) -> dict[str, Any]:
    """A record as the format writes it: its id first, then its public fields."""
    return {"id": record.id, **record.public}


def _visit_out(record: Record) -> dict[str, Any]:
    """A visit as the format writes it; the id is left out when importing the visit at its
    place in the list gives it again (a visit of the transfer file it came from)."""
    order = record.get("_order")
    if order is not None and record.id == f"h{order:04d}-{record.get('date')}":
        return record.public
    return _with_id(record)


RECORD_ORDER = tuple(RECORD_KEYS)
"""The order of the `records` section in an export (stable, so exports compare equal)."""


def export_document(head: Record, by_kind: ByKind) -> dict[str, Any]:
    """The transfer form of one case from its records: every record kind it holds."""
    case = head.public
    case.pop("history", None)
    case["people"] = [p.public for p in ordered(by_kind.get("person", []))]
    threats = [t.public for t in ordered(by_kind.get("threat", []))]
    plans = ordered(by_kind.get("safety_plan", []))
    initial = [p for p in plans if p.id == "plan"]
    safety_keys = head.get("_safety_keys")
    if safety_keys is not None or threats or plans:
        safety: dict[str, Any] = {}
        if threats or "threats" in (safety_keys or []):
            safety["threats"] = threats
        if initial:
            safety["plan"] = initial[0].public
        others = [_with_id(p) for p in plans if p.id != "plan"]
        if others:
            safety["alternative_plans"] = others
        case["safety"] = safety
    history = dict(head.get("history") or {}) if "history" in head.fields else None
    visits = [_visit_out(v) for v in ordered(by_kind.get("visit", []))]
    if history is not None or visits:
        history = history or {}
        if head.get("_has_visits") or visits:
            history["visits"] = visits
        case["history"] = history
    records: dict[str, list[dict[str, Any]]] = {}
    for kind in RECORD_ORDER:
        items = by_kind.get(kind)
        if items:
            records[kind] = [_with_id(i) for i in ordered(items)]
    if records:
        case["records"] = records
    return case
