"""Every check a visit record must pass before it is signed: one function for the wizard,
`fieldkit visit check|sign` and the supervisor's queue.

Each check has a stable id `rule/subject/code` (e.g. `VI-2/p2/not-private`). Only gate
checks (VI-2, VI-3, VI-4) can be overridden, each by an override naming its id with a
reason; content requirements (what the record must hold) and date checks never can.

Why one module: one rule table for one record: every check a visit must pass before it is
signed, each with the stable id (`rule/subject/code`) an override names. The wizard,
`fieldkit visit check|sign` and the supervisor's queue call the one function `visit_checks`,
which applies each override to the one check it names, so every check must be in its view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fieldkit.domain import Case, Person
from fieldkit.i18n import _
from fieldkit.practice.profile import PolicyProfile
from fieldkit.visit_record import (
    NOT_SEEN_REASONS,
    OUTCOMES,
    ChildContact,
    VisitRecord,
    strict_date,
)


@dataclass(frozen=True)
class VisitCheck:
    """One unmet requirement of a visit record."""

    rule: str
    """The PRACTICE.md rule id, e.g. "VI-2"."""
    subject: str | None
    """The person (or goal) the check is about, else None."""
    code: str
    """What exactly is unmet, stable across runs, e.g. "not-private"."""
    message: str
    """The requirement in the worker's words."""
    blocking: bool
    """Whether it stops the signature now (False once overridden, or for a warning)."""
    gate: bool = False
    """A gate may be overridden with a reason; a content or date requirement never."""
    override: str | None = None
    """The reason of the override answering this check, if one does."""
    english: str = ""
    """The message in English, as an override stores it in the record (empty: `message`)."""

    @property
    def record_message(self) -> str:
        """The words an override keeps in the signed record: English, whatever was shown."""
        return self.english or self.message

    @property
    def id(self) -> str:
        """`rule/subject/code`: what an override names."""
        return f"{self.rule}/{self.subject or '-'}/{self.code}"

    def to_json(self) -> dict[str, Any]:
        """The `fieldkit visit check --json` form."""
        return {
            "id": self.id,
            "rule": self.rule,
            "subject": self.subject,
            "message": self.message,
            "blocking": self.blocking,
            "overridable": self.gate,
            "override": self.override,
        }


def _content(rule: str, code: str, message: str, subject: str | None = None) -> VisitCheck:
    return VisitCheck(rule, subject, code, message, True, False)


def _gate(
    rule: str, code: str, message: str, blocks: bool, subject: str | None = None
) -> VisitCheck:
    return VisitCheck(rule, subject, code, message, blocks, True)


def visit_checks(
    case: Case, record: VisitRecord, profile: PolicyProfile, today: date
) -> list[VisitCheck]:
    """Every unmet check of `record`, with each override applied to the one check it names."""
    raw = requirement_checks(case, record, profile, today)
    by_id = {c.id: c for c in raw}
    answered: dict[str, str] = {}
    checks: list[VisitCheck] = []
    for n, given in enumerate(record.overrides):
        target = by_id.get(given.check)
        where = _("override {n} ({check})").format(n=n + 1, check=given.check)
        if target is None:
            checks.append(
                VisitCheck(
                    "override",
                    None,
                    f"stale-{given.check}",
                    _("{where} answers no unmet check of this visit; remove it").format(
                        where=where
                    ),
                    True,
                )
            )
        elif not target.gate:
            checks.append(
                _content(
                    target.rule,
                    f"not-overridable-{target.code}",
                    _(
                        "{where}: {message} is a content requirement and cannot be overridden"
                    ).format(where=where, message=target.message),
                    target.subject,
                )
            )
        elif given.check in answered:
            checks.append(
                VisitCheck(
                    "override",
                    None,
                    f"duplicate-{given.check}",
                    _("{where}: the check already has an override; keep one").format(where=where),
                    True,
                )
            )
        elif not given.reason.strip():
            checks.append(
                VisitCheck(
                    "override",
                    None,
                    f"no-reason-{given.check}",
                    _("{where} has no reason; write why the rule is not met").format(where=where),
                    True,
                )
            )
        else:
            answered[given.check] = given.reason.strip()
    for check in raw:
        reason = answered.get(check.id)
        if reason is not None:
            check = VisitCheck(
                check.rule, check.subject, check.code, check.message, False, True, reason
            )
        checks.append(check)
    return checks


def blocking_checks(checks: Iterable[VisitCheck]) -> list[VisitCheck]:
    """The checks that stop the signature."""
    return [c for c in checks if c.blocking]


def requirement_checks(
    case: Case, record: VisitRecord, profile: PolicyProfile, today: date
) -> list[VisitCheck]:
    """What the profile requires of the record, before any override."""
    checks = _date_checks(case, record, today)
    p = profile
    kinds = p.contact_kinds
    if record.kind is None:
        checks.append(_content("VI-1", "kind", _("choose the kind of contact")))
    elif record.kind not in kinds:
        checks.append(
            _content(
                "VI-1",
                "kind-unknown",
                _('"{kind}" is not a kind of contact of this profile ({kinds})').format(
                    kind=record.kind, kinds=", ".join(kinds)
                ),
            )
        )
    if record.outcome is None:
        checks.append(
            _content("VI-1", "outcome", _("record the outcome: completed, or an attempt"))
        )
    elif record.outcome not in OUTCOMES:
        checks.append(
            _content(
                "VI-1",
                "outcome-unknown",
                _("the outcome must be one of {outcomes}").format(outcomes=", ".join(OUTCOMES)),
            )
        )
    people = {person.id for person in case.people}
    for pid in record.present:
        if pid not in people:
            checks.append(
                _content(
                    "VI-1",
                    "present-unknown",
                    _("{pid} is not a person of this case").format(pid=pid),
                    pid,
                )
            )
    if record.outcome is not None and not record.completed:
        # an attempt's safety step is answered too: what it says must not contradict itself
        return checks + _attempt_checks(case, record) + _safety_consistency(record)
    if record.attempt_time.strip() or record.attempt_action.strip():
        # a file or an older draft: "completed" beside an attempt's time and what was done
        checks.append(
            _content(
                "VI-1",
                "completed-with-attempt",
                _(
                    "the visit is recorded as completed, yet an attempt's time or action is "
                    "written: remove them, or record the attempt's outcome"
                ),
            )
        )
    if record.announced is None:
        checks.append(_content("VI-4", "announced", _("record whether the visit was announced")))
    # rule VI-4: unannounced visits required, and this one was announced
    if p.applies("VI-4") and case.unannounced.required and record.announced is True:
        why = case.unannounced.reason or _("reason not recorded")
        checks.append(
            _gate(
                "VI-4",
                "announced",
                _(
                    "this case requires unannounced visits ({why}) but this visit was announced"
                ).format(why=why),
                p.gate_unannounced == "block",
            )
        )
    children = {child.id: child for child in case.children}
    for contact in record.children:
        if contact.person not in children:
            checks.append(
                _content(
                    "VI-1",
                    "child-unknown",
                    _("{person} is not a child of this case").format(person=contact.person),
                    contact.person,
                )
            )
    for child in case.children:
        checks += _child_checks(child, record.contact_or_none(child.id), record, p)
    checks += _safety_checks(record, p)
    checks += _record_content_checks(case, record, p)
    return checks


def _date_checks(case: Case, record: VisitRecord, today: date) -> list[VisitCheck]:
    """Rule VI-1: the visit's date is a real `YYYY-MM-DD`, not in the future, not before the
    case opened; the next visit is a real date after it. Never overridable."""
    checks: list[VisitCheck] = []
    day = strict_date(record.date)
    if day is None:
        checks.append(
            _content(
                "VI-1",
                "date",
                _('write the visit date as YYYY-MM-DD (not "{date}")').format(date=record.date),
            )
        )
    elif day > today:
        checks.append(
            _content(
                "VI-1",
                "date-future",
                _("the visit date {day} is after today ({today})").format(day=day, today=today),
            )
        )
    elif day < case.opened:
        checks.append(
            _content(
                "VI-1",
                "date-before-opened",
                _("the visit date {day} is before the case opened ({opened})").format(
                    day=day, opened=case.opened
                ),
            )
        )
    if record.next_visit.strip():
        following = strict_date(record.next_visit)
        if following is None:
            checks.append(
                _content(
                    "VI-1",
                    "next-visit-date",
                    _('write the next visit date as YYYY-MM-DD (not "{next_visit}")').format(
                        next_visit=record.next_visit
                    ),
                )
            )
        elif day is not None and following < day:
            checks.append(
                _content("VI-1", "next-visit-before", _("the next visit date is before this visit"))
            )
    return checks


def _attempt_checks(case: Case, record: VisitRecord) -> list[VisitCheck]:
    """An attempt records when and what was done; it saw no child and meets no visit rule."""
    checks: list[VisitCheck] = []
    if not record.attempt_time.strip():
        checks.append(_content("VI-1", "attempt-time", _("record the time of the attempt (HH:MM)")))
    if not record.attempt_action.strip():
        checks.append(_content("VI-1", "attempt-action", _("record what was done at the attempt")))
    names = {person.id: person.name for person in case.people}
    for contact in record.children:
        if contact.seen is True or contact.private_interview or contact.observation:
            name = names.get(contact.person, contact.person)
            checks.append(
                _content(
                    "VI-1",
                    "attempt-seen",
                    _(
                        "{name} is recorded as seen, but the visit was an attempt ({outcome})"
                    ).format(name=name, outcome=record.outcome),
                    contact.person,
                )
            )
    return checks


def _child_checks(
    child: Person, contact: ChildContact | None, record: VisitRecord, p: PolicyProfile
) -> list[VisitCheck]:
    """Rules VI-2, VI-3 for one child: answered, possible, and met only as the rule says."""
    pid, name = child.id, child.name
    c = contact or ChildContact(pid)
    checks: list[VisitCheck] = []
    if c.seen and c.not_seen_reason.strip():
        # a file or an older draft: "seen" beside a reason the child was not seen
        checks.append(
            _content(
                "VI-1",
                "seen-with-reason",
                _(
                    "{name} is recorded as seen, yet a reason for not seeing them is written: "
                    "remove it, or record them as not seen"
                ).format(name=name),
                pid,
            )
        )
    if c.seen is None:
        checks.append(
            _content("VI-1", "seen", _("record whether {name} was seen").format(name=name), pid)
        )
    elif c.seen and pid not in record.present:
        checks.append(
            _content(
                "VI-1",
                "seen-not-present",
                _("{name} is recorded as seen but not as present; tick who is present").format(
                    name=name
                ),
                pid,
            )
        )
    elif not c.seen:
        if c.not_seen_reason not in NOT_SEEN_REASONS:
            checks.append(
                _content(
                    "VI-1",
                    "not-seen-reason",
                    _("say why {name} was not seen ({not_seen_reasons})").format(
                        name=name, not_seen_reasons=", ".join(NOT_SEEN_REASONS)
                    ),
                    pid,
                )
            )
        elif c.not_seen_reason == "other" and not c.not_seen_detail.strip():
            checks.append(
                _content(
                    "VI-1",
                    "not-seen-detail",
                    _("write why {name} was not seen").format(name=name),
                    pid,
                )
            )
    seen = c.seen is True and pid in record.present
    if not seen and (c.private_interview is not None or c.observation is not None):
        checks.append(
            _content(
                "VI-1",
                "unseen-contact",
                _("{name} was not seen and present, so cannot be interviewed or observed").format(
                    name=name
                ),
                pid,
            )
        )
    interview = c.private_interview
    if interview is not None and p.visit_requires_private_interview_details:
        # rule VI-2: an interview records alone, overheard and where
        if interview.alone is None:
            checks.append(
                _content(
                    "VI-2",
                    "interview-alone",
                    _("record whether {name} was seen alone").format(name=name),
                    pid,
                )
            )
        if interview.could_be_overheard is None:
            checks.append(
                _content(
                    "VI-2",
                    "interview-overheard",
                    _("record whether anyone could overhear {name}").format(name=name),
                    pid,
                )
            )
        if not interview.where.strip():
            checks.append(
                _content(
                    "VI-2",
                    "interview-where",
                    _("record where {name} was interviewed").format(name=name),
                    pid,
                )
            )
    observation = c.observation
    if observation is not None and p.visit_requires_observation_details:
        # rule VI-3: an observation records interaction and condition
        if not observation.interaction.strip():
            checks.append(
                _content(
                    "VI-3",
                    "observation-interaction",
                    _("describe how {name} interacts with the caregiver").format(name=name),
                    pid,
                )
            )
        if not observation.condition.strip():
            checks.append(
                _content(
                    "VI-3",
                    "observation-condition",
                    _("describe {name}'s condition").format(name=name),
                    pid,
                )
            )
    # rule VI-2: each verbal child victim is interviewed privately, face to face
    if p.applies("VI-2") and child.verbal and child.victim:
        why = _vi2_unmet(c, seen, record, p)
        if why is not None:
            code, words = why
            checks.append(
                _gate(
                    "VI-2",
                    code,
                    _("{name} (a child victim) was not interviewed privately: {words}").format(
                        name=name, words=words
                    ),
                    p.gate_private_interview == "block",
                    pid,
                )
            )
    # rule VI-3: each non-verbal child is directly observed in their own home environment
    if p.applies("VI-3") and not child.verbal:
        why = _vi3_unmet(c, seen, record, p)
        if why is not None:
            code, words = why
            checks.append(
                _gate(
                    "VI-3",
                    code,
                    _("{name} (non-verbal) was not directly observed: {words}").format(
                        name=name, words=words
                    ),
                    p.gate_observation == "block",
                    pid,
                )
            )
    return checks


def _vi2_unmet(
    c: ChildContact, seen: bool, record: VisitRecord, p: PolicyProfile
) -> tuple[str, str] | None:
    """Why VI-2 is not met for this child, or None when it is."""
    if not seen:
        return "not-seen", _unseen_words(c)
    if not p.kind_meets(record.kind, "VI-2"):
        return "kind", _kind_cannot_meet(record.kind, "VI-2")
    interview = c.private_interview
    if interview is None:
        return "no-interview", _("no private interview recorded")
    if interview.alone is not True or interview.could_be_overheard is not False:
        return "not-private", _("not alone, or could be overheard")
    return None


def _vi3_unmet(
    c: ChildContact, seen: bool, record: VisitRecord, p: PolicyProfile
) -> tuple[str, str] | None:
    """Why VI-3 is not met for this child, or None when it is."""
    if not seen:
        return "not-seen", _unseen_words(c)
    if not p.kind_meets(record.kind, "VI-3"):
        return "kind", _kind_cannot_meet(record.kind, "VI-3")
    if c.observation is None:
        return "no-observation", _("no direct observation recorded")
    return None


def _unseen_words(c: ChildContact) -> str:
    """Why the child does not count as seen, in words that say no more than was answered."""
    if c.seen is None:
        return _("seen: not answered")
    if c.seen:
        return _("marked seen but not ticked as present")
    return _("not seen at this visit")


def _kind_cannot_meet(kind: str | None, rule: str) -> str:
    if kind is None:
        return _("a contact of unknown kind cannot meet {rule}").format(rule=rule)
    return _("a {kind} contact cannot meet {rule}").format(kind=kind, rule=rule)


def vi2_met(case: Case, record: VisitRecord, profile: PolicyProfile) -> set[str]:
    """Children whose private interview at this visit meets VI-2."""
    if not record.completed:
        return set()
    met = set()
    for contact in record.children:
        seen = contact.seen is True and contact.person in record.present
        if _vi2_unmet(contact, seen, record, profile) is None:
            met.add(contact.person)
    return met


def vi3_met(case: Case, record: VisitRecord, profile: PolicyProfile) -> set[str]:
    """Children whose direct observation at this visit meets VI-3."""
    if not record.completed:
        return set()
    met = set()
    for contact in record.children:
        seen = contact.seen is True and contact.person in record.present
        if _vi3_unmet(contact, seen, record, profile) is None:
            met.add(contact.person)
    return met


def _safety_checks(record: VisitRecord, p: PolicyProfile) -> list[VisitCheck]:
    """Rules SA-3, SA-2: safety answered; new threats need the alternative plan's interventions."""
    checks: list[VisitCheck] = []
    safety = record.safety
    if p.visit_requires_safety_changed and safety.changed is None:
        checks.append(
            _content(
                "SA-3",
                "safety-changed",
                _("record whether safety has changed since the last visit"),
            )
        )
    return checks + _safety_consistency(record)


def _safety_consistency(record: VisitRecord) -> list[VisitCheck]:
    """Rules SA-3, SA-2 on what is written, for a visit or an attempt alike: no threats or
    plan beside "no change"; new threats need the alternative plan's interventions."""
    checks: list[VisitCheck] = []
    safety = record.safety
    written = (
        any(t.strip() for t in safety.new_threats)
        or bool(safety.circumstances)
        or bool(safety.interventions.strip())
        or bool(safety.phone_approval_by.strip())
        or bool(safety.phone_approval_at.strip())
    )
    if safety.changed is not True and written:
        # the record would say "no change" (or nothing) beside threats and a plan that
        # signing never makes: no threat, no plan for a supervisor to approve
        checks.append(
            _content(
                "SA-3",
                "unchanged-with-threats",
                _(
                    "safety is not recorded as changed, yet circumstances, threats or a plan "
                    "are written: answer that it changed, or remove them"
                ),
            )
        )
    threats = [t for t in safety.new_threats if t.strip()] if safety.changed else []
    if threats and not safety.interventions.strip():
        checks.append(
            _content(
                "SA-2",
                "interventions",
                _("new threats were named: write the alternative safety plan's interventions"),
            )
        )
    return checks


def _record_content_checks(case: Case, record: VisitRecord, p: PolicyProfile) -> list[VisitCheck]:
    """The profile's `[visit_record]`: notes, next visit, progress on each goal (PL-4)."""
    checks: list[VisitCheck] = []
    if p.visit_requires_notes and not record.notes.strip():
        checks.append(_content("VI-1", "notes", _("write the visit notes")))
    if p.visit_requires_next_visit_date and not record.next_visit.strip():
        checks.append(_content("VI-1", "next-visit", _("book the next visit date")))
    plan = case.service_plan
    if p.visit_requires_goal_progress and plan is not None and plan.completed is not None:
        for goal in plan.goals:
            if not record.progress.get(goal.id, "").strip():
                checks.append(
                    _content(
                        "PL-4",
                        "goal-progress",
                        _('note progress on the goal "{text}"').format(text=goal.text),
                        goal.id,
                    )
                )
    return checks
