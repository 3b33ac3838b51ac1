"""The visit record: one typed value from the step widgets to the store, the file and back.

A `VisitRecord` holds exactly what the worker answered at a home visit (rules VI-1..VI-4,
SA-2, SA-3, PL-4). Nothing in it is pre-asserted: a child starts "not recorded", a Yes/No
starts unanswered, and an interview or an observation exists only once the worker says it
took place. Its JSON form is the `fieldkit.visit/1` format (`docs/formats/visit.md`), used
by the draft, the signed record in the store, `fieldkit visit check|sign` and the export.
Pure data, no I/O.

Why one module: one format, `fieldkit.visit/1`: the typed record and its JSON reading and
writing (`to_doc`/`from_doc`, `_contact_doc`/`_contact_from`) are the two directions of one
document and change together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _

FORMAT = "fieldkit.visit/1"
"""The `format` value of a visit file; a reader refuses any other."""

OUTCOMES = ("completed", "no one home", "refused entry")
"""Rule VI-1: a visit that took place, or an attempt (which meets no visit rule)."""

NOT_SEEN_REASONS = ("asleep elsewhere", "at school", "refused", "not home", "other")
"""Why a child was not seen; "other" needs the reason in words."""

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class VisitFormatError(FieldkitError):
    """A visit file or stored visit does not follow `fieldkit.visit/1`."""


def strict_date(text: str | None) -> date | None:
    """A `YYYY-MM-DD` date, or None when empty or written any other way (2026-11-3 is refused)."""
    if not text or not DATE_PATTERN.match(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass
class PrivateInterview:
    """Rule VI-2: the worker spoke with the child privately."""

    alone: bool | None = None
    """Seen alone, with no caregiver in the room (None: not answered)."""
    could_be_overheard: bool | None = None
    """Whether anyone could overhear (None: not answered)."""
    where: str = ""
    """Where the interview took place, e.g. "child's bedroom"."""
    words: str = ""
    """What the child said, in the child's words."""


@dataclass
class ChildObservation:
    """Rule VI-3: the worker directly observed the child, with the caregiver."""

    where: str = ""
    """Where the child was observed, e.g. "living room"."""
    interaction: str = ""
    """How the child and the caregiver interact."""
    condition: str = ""
    """The child's condition: feeding, hygiene, marks, development."""
    environment: str = ""
    """The home environment: sleeping place, hazards."""


@dataclass
class ChildContact:
    """One child at this visit: seen or not (and why), interviewed, observed."""

    person: str
    """The child's person id on the case."""
    seen: bool | None = None
    """True seen, False not seen, None not recorded yet."""
    not_seen_reason: str = ""
    """When not seen: one of `NOT_SEEN_REASONS`."""
    not_seen_detail: str = ""
    """When the reason is "other": the reason in words."""
    private_interview: PrivateInterview | None = None
    """The private interview, when the worker says one took place (VI-2)."""
    observation: ChildObservation | None = None
    """The direct observation, when the worker says one took place (VI-3)."""


@dataclass
class SafetyCheck:
    """Rules SA-2, SA-3: whether safety changed, and the alternative plan if it did."""

    changed: bool | None = None
    """Have threats or circumstances changed since the last visit (None: not answered)."""
    circumstances: list[str] = field(default_factory=list)
    """Rule SA-3: which changes of circumstance the worker ticked."""
    new_threats: list[str] = field(default_factory=list)
    """New safety threats, one per item."""
    interventions: str = ""
    """The alternative safety plan's interventions, one per line (SA-2)."""
    phone_approval_by: str = ""
    """The supervisor who approved the alternative plan by phone, if any."""
    phone_approval_at: str = ""
    """When the phone approval was given (YYYY-MM-DD HH:MM)."""


@dataclass
class VisitOverride:
    """The worker's decision to sign past one named gate check, with the reason."""

    check: str
    """The id of the one check this answers (`rule/subject/code`)."""
    reason: str
    """Why the rule is not met, in the worker's words."""
    author: str = ""
    """Who gave the override."""
    at: str = ""
    """When the override was given (UTC ISO)."""
    message: str = ""
    """The check's words when it was overridden, for readers of the record."""


@dataclass
class VisitRecord:
    """A home visit as the worker recorded it: every field is an answer, none a default."""

    case: str
    """The case id."""
    visit_id: str = ""
    """The visit's id (`v-…`), fixed when the draft is made."""
    date: str = ""
    """The visit date as written, `YYYY-MM-DD`."""
    kind: str | None = None
    """The kind of contact, one of the profile's `[visit_kinds]` (None: not chosen)."""
    outcome: str | None = None
    """One of `OUTCOMES` (None: not chosen); an attempt meets no visit rule."""
    attempt_time: str = ""
    """For an attempt: the time it was made (HH:MM)."""
    attempt_action: str = ""
    """For an attempt: what was done (card left, neighbour asked, supervisor called)."""
    announced: bool | None = None
    """Rule VI-4: whether the family was told of the visit beforehand (None: not answered)."""
    present: list[str] = field(default_factory=list)
    """Person ids of the case's people who were present."""
    others_present: str = ""
    """Anyone else present, names and roles."""
    location: str = ""
    """Where the visit took place."""
    children: list[ChildContact] = field(default_factory=list)
    """One contact per child on the case, in the case's order."""
    safety: SafetyCheck = field(default_factory=SafetyCheck)
    """The safety check (SA-2, SA-3)."""
    progress: dict[str, str] = field(default_factory=dict)
    """Rule PL-4: progress in words per goal or activity id."""
    notes: str = ""
    """The visit notes."""
    next_steps: str = ""
    """Who does what by when."""
    next_visit: str = ""
    """The next visit's date as written, `YYYY-MM-DD` (empty: not booked)."""
    overrides: list[VisitOverride] = field(default_factory=list)
    """Gate checks the worker signed past, each with its reason."""
    author: str = ""
    """The worker who records (and signs) the visit."""
    signed_at: str = ""
    """When it was signed (UTC ISO); empty while a draft."""

    # --- reading -----------------------------------------------------------------------

    def contact(self, person_id: str) -> ChildContact:
        """The contact for one child, made (not recorded) on first use."""
        for contact in self.children:
            if contact.person == person_id:
                return contact
        contact = ChildContact(person_id)
        self.children.append(contact)
        return contact

    def contact_or_none(self, person_id: str) -> ChildContact | None:
        """The contact for one child, or None when nothing was recorded for the child."""
        return next((c for c in self.children if c.person == person_id), None)

    @property
    def completed(self) -> bool:
        """The visit took place (an attempt does not)."""
        return self.outcome == "completed"

    def seen_ids(self) -> set[str]:
        """Children the worker said were seen (and who were present)."""
        return {c.person for c in self.children if c.seen is True and c.person in self.present}

    # --- the JSON form (fieldkit.visit/1) ------------------------------------------------

    def to_doc(self) -> dict[str, Any]:
        """The `fieldkit.visit/1` document."""
        return {
            "format": FORMAT,
            "case": self.case,
            "visit_id": self.visit_id,
            "date": self.date,
            "kind": self.kind,
            "outcome": self.outcome,
            "attempt_time": self.attempt_time,
            "attempt_action": self.attempt_action,
            "announced": self.announced,
            "present": list(self.present),
            "others_present": self.others_present,
            "location": self.location,
            "children": {c.person: _contact_doc(c) for c in self.children},
            "safety": {
                "changed": self.safety.changed,
                "circumstances": list(self.safety.circumstances),
                "new_threats": list(self.safety.new_threats),
                "interventions": self.safety.interventions,
                "phone_approval_by": self.safety.phone_approval_by,
                "phone_approval_at": self.safety.phone_approval_at,
            },
            "progress": dict(self.progress),
            "notes": self.notes,
            "next_steps": self.next_steps,
            "next_visit": self.next_visit,
            "overrides": [
                {
                    "check": o.check,
                    "reason": o.reason,
                    "author": o.author,
                    "at": o.at,
                    "message": o.message,
                }
                for o in self.overrides
            ],
            "author": self.author,
            "signed_at": self.signed_at,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> VisitRecord:
        """Read a `fieldkit.visit/1` document; a wrong shape is one clear error."""
        if not isinstance(doc, dict):
            raise VisitFormatError(_("a visit file is a JSON object"))
        if doc.get("format") != FORMAT:
            raise VisitFormatError(
                _('"format" must be "{format}", got {given}').format(
                    format=FORMAT, given=repr(doc.get("format"))
                )
            )
        case = _text(doc, "case", required=True)
        children_doc = _or(doc.get("children"), {})
        if not isinstance(children_doc, dict):
            raise VisitFormatError(_('"children" must be an object keyed by person id'))
        safety_doc = _or(doc.get("safety"), {})
        if not isinstance(safety_doc, dict):
            raise VisitFormatError(_('"safety" must be an object'))
        progress = _or(doc.get("progress"), {})
        if not isinstance(progress, dict):
            raise VisitFormatError(_('"progress" must be an object keyed by goal or activity id'))
        overrides_doc = _or(doc.get("overrides"), [])
        if not isinstance(overrides_doc, list):
            raise VisitFormatError(_('"overrides" must be a list of {"check", "reason"}'))
        overrides = []
        for n, o in enumerate(overrides_doc):
            if not isinstance(o, dict):
                raise VisitFormatError(_("overrides[{n}] must be an object").format(n=n))
            overrides.append(
                VisitOverride(
                    check=_text(o, "check", f"overrides[{n}].", required=True),
                    reason=_text(o, "reason", f"overrides[{n}]."),
                    author=_text(o, "author", f"overrides[{n}]."),
                    at=_text(o, "at", f"overrides[{n}]."),
                    message=_text(o, "message", f"overrides[{n}]."),
                )
            )
        present = _or(doc.get("present"), [])
        if not isinstance(present, list) or not all(isinstance(p, str) for p in present):
            raise VisitFormatError(_('"present" must be a list of person ids'))
        return cls(
            case=case,
            visit_id=_text(doc, "visit_id"),
            date=_text(doc, "date"),
            kind=_text(doc, "kind") or None,
            outcome=_text(doc, "outcome") or None,
            attempt_time=_text(doc, "attempt_time"),
            attempt_action=_text(doc, "attempt_action"),
            announced=_yes_no(doc, "announced"),
            present=list(present),
            others_present=_text(doc, "others_present"),
            location=_text(doc, "location"),
            children=[
                _contact_from(str(pid), c, f"children.{pid}.") for pid, c in children_doc.items()
            ],
            safety=SafetyCheck(
                changed=_yes_no(safety_doc, "changed", "safety."),
                circumstances=_lines(safety_doc, "circumstances", "safety."),
                new_threats=[t for t in _lines(safety_doc, "new_threats", "safety.") if t.strip()],
                interventions=_text(safety_doc, "interventions", "safety."),
                phone_approval_by=_text(safety_doc, "phone_approval_by", "safety."),
                phone_approval_at=_text(safety_doc, "phone_approval_at", "safety."),
            ),
            progress={str(k): str(v) for k, v in progress.items()},
            notes=_text(doc, "notes"),
            next_steps=_text(doc, "next_steps"),
            next_visit=_text(doc, "next_visit"),
            overrides=overrides,
            author=_text(doc, "author"),
            signed_at=_text(doc, "signed_at"),
        )


def record_from_stored(case_id: str, visit_id: str, fields: dict[str, Any]) -> VisitRecord:
    """A stored visit as a record: a signed `fieldkit.visit/1` visit as it was signed; an
    imported or older one from its seen / interviewed / observed lists, as it said."""
    if isinstance(fields.get("children"), dict):
        doc = {k: v for k, v in fields.items() if not k.startswith("_")}
        doc.update(format=FORMAT, case=case_id, visit_id=visit_id)
        known = set(VisitRecord.__dataclass_fields__) | {"format", "case"}
        return VisitRecord.from_doc({k: v for k, v in doc.items() if k in known})
    seen = {str(p) for p in fields.get("seen") or []}
    interviewed = {str(p) for p in fields.get("private_interview") or []}
    observed = {str(p) for p in fields.get("observed") or []}
    contacts = {
        str(c.get("person")): c for c in fields.get("contacts") or [] if isinstance(c, dict)
    }
    children = []
    for pid in sorted(seen | interviewed | observed | set(contacts)):
        old = contacts.get(pid, {})
        was_seen = bool(old.get("seen", pid in seen or pid in interviewed or pid in observed))
        children.append(
            ChildContact(
                person=pid,
                seen=was_seen,
                private_interview=PrivateInterview(
                    alone=old.get("seen_alone"),
                    could_be_overheard=old.get("could_be_overheard"),
                    where=str(old.get("where") or ""),
                    words=str(old.get("said") or ""),
                )
                if pid in interviewed or old.get("private_interview")
                else None,
                observation=ChildObservation(
                    interaction=str(old.get("interaction") or ""),
                    condition=str(old.get("condition") or ""),
                    environment=str(old.get("environment") or ""),
                )
                if pid in observed or old.get("observed")
                else None,
            )
        )
    announced = fields.get("announced")
    return VisitRecord(
        case=case_id,
        visit_id=visit_id,
        date=str(fields.get("date") or ""),
        kind=str(fields.get("kind") or "home"),
        outcome=str(fields.get("outcome") or "completed"),
        announced=announced if isinstance(announced, bool) else None,
        present=[str(p) for p in fields.get("present") or []],
        others_present=str(fields.get("others_present") or ""),
        location=str(fields.get("location") or ""),
        children=children,
        safety=SafetyCheck(changed=fields.get("safety_changed")),
        progress={str(k): str(v) for k, v in (fields.get("progress") or {}).items()},
        notes=str(fields.get("notes") or ""),
        next_steps=str(fields.get("next_steps") or ""),
        next_visit=str(fields.get("next_visit") or ""),
        author=str(fields.get("author") or ""),
        signed_at=str(fields.get("signed_at") or ""),
    )


def new_record(
    case_id: str, visit_id: str, child_ids: list[str], author: str, day: date
) -> VisitRecord:
    """A fresh visit: today's date, one "not recorded" contact per child, nothing answered."""
    return VisitRecord(
        case=case_id,
        visit_id=visit_id,
        date=day.isoformat(),
        children=[ChildContact(pid) for pid in child_ids],
        author=author,
    )


def _contact_doc(c: ChildContact) -> dict[str, Any]:
    interview = c.private_interview
    observation = c.observation
    return {
        "seen": c.seen,
        "not_seen_reason": c.not_seen_reason,
        "not_seen_detail": c.not_seen_detail,
        "private_interview": None
        if interview is None
        else {
            "alone": interview.alone,
            "could_be_overheard": interview.could_be_overheard,
            "where": interview.where,
            "words": interview.words,
        },
        "observation": None
        if observation is None
        else {
            "where": observation.where,
            "interaction": observation.interaction,
            "condition": observation.condition,
            "environment": observation.environment,
        },
    }


def _contact_from(pid: str, doc: Any, where: str) -> ChildContact:
    if not isinstance(doc, dict):
        raise VisitFormatError(_("{where} must be an object").format(where=where.rstrip(".")))
    interview = doc.get("private_interview")
    observation = doc.get("observation")
    if interview is not None and not isinstance(interview, dict):
        raise VisitFormatError(
            _("{where}private_interview must be an object or null").format(where=where)
        )
    if observation is not None and not isinstance(observation, dict):
        raise VisitFormatError(
            _("{where}observation must be an object or null").format(where=where)
        )
    pi = where + "private_interview."
    ob = where + "observation."
    return ChildContact(
        person=pid,
        seen=_yes_no(doc, "seen", where),
        not_seen_reason=_text(doc, "not_seen_reason", where),
        not_seen_detail=_text(doc, "not_seen_detail", where),
        private_interview=None
        if interview is None
        else PrivateInterview(
            alone=_yes_no(interview, "alone", pi),
            could_be_overheard=_yes_no(interview, "could_be_overheard", pi),
            where=_text(interview, "where", pi),
            words=_text(interview, "words", pi),
        ),
        observation=None
        if observation is None
        else ChildObservation(
            where=_text(observation, "where", ob),
            interaction=_text(observation, "interaction", ob),
            condition=_text(observation, "condition", ob),
            environment=_text(observation, "environment", ob),
        ),
    )


def _or(value: Any, empty: Any) -> Any:
    """None is the empty value; anything else (even a wrong shape) is kept to be checked."""
    return empty if value is None else value


def _text(doc: dict[str, Any], key: str, where: str = "", required: bool = False) -> str:
    value = doc.get(key)
    if value is None:
        if required:
            raise VisitFormatError(_('"{where}{key}" is missing').format(where=where, key=key))
        return ""
    if not isinstance(value, str):
        raise VisitFormatError(
            _('"{where}{key}" must be text, got {value}').format(
                where=where, key=key, value=repr(value)
            )
        )
    return value


def _yes_no(doc: dict[str, Any], key: str, where: str = "") -> bool | None:
    value = doc.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise VisitFormatError(
        _('"{where}{key}" must be true, false or null, got {value}').format(
            where=where, key=key, value=repr(value)
        )
    )


def _lines(doc: dict[str, Any], key: str, where: str = "") -> list[str]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VisitFormatError(
            _('"{where}{key}" must be a list of text').format(where=where, key=key)
        )
    return list(value)
