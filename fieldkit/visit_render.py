"""The one way a visit record is put into words: the review step before signing, the
signed-record screen, the supervisor's review, the PDF and the plain export all call
`visit_lines`, so what the worker affirmed is what every reader sees, overrides included.

Pure text, no markup: a face that uses Rich markup escapes each line itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fieldkit.domain import Case
from fieldkit.visit_record import ChildContact, VisitRecord


@dataclass(frozen=True)
class VisitLine:
    """One line of the rendered record: its section, a label and the value in words."""

    section: str
    """"Visit", a child's name, "Safety", "Progress", "Next", "Overrides"."""
    label: str
    """What the value is, e.g. "seen alone"."""
    value: str
    """The answer in words; "not recorded" for no answer."""

    def text(self) -> str:
        """`label: value`, indented under its section."""
        return f"  {self.label}: {self.value}"


def yes_no(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    """An answer in words; None is "not recorded", never a silent yes or no."""
    if value is None:
        return "not recorded"
    return yes if value else no


def _said(text: str) -> str:
    return text if text.strip() else "not recorded"


def visit_lines(record: VisitRecord, names: Mapping[str, str]) -> list[VisitLine]:
    """Every field of the record, in the order a reader needs it."""

    def who(pid: str) -> str:
        name = names.get(pid)
        return f"{name} ({pid})" if name else pid

    lines: list[VisitLine] = []

    def add(section: str, label: str, value: str) -> None:
        lines.append(VisitLine(section, label, value))

    v = "Visit"
    add(v, "case", record.case)
    add(v, "visit id", record.visit_id or "not yet numbered")
    add(v, "date", _said(record.date))
    add(v, "kind of contact", record.kind or "not recorded")
    add(v, "outcome", record.outcome or "not recorded")
    attempt = record.outcome is not None and not record.completed
    if attempt or record.attempt_time.strip() or record.attempt_action.strip():
        add(v, "attempt time", _said(record.attempt_time))
        add(v, "what was done", _said(record.attempt_action))
    add(v, "announced", yes_no(record.announced, "Announced", "Unannounced"))
    add(v, "present", ", ".join(who(p) for p in record.present) or "nobody recorded")
    add(v, "others present", _said(record.others_present))
    add(v, "where", _said(record.location))
    for contact in record.children:
        lines += _child_lines(contact, who(contact.person))
    s = "Safety"
    safety = record.safety
    add(s, "safety changed since the last visit", yes_no(safety.changed))
    if safety.changed or safety.circumstances or safety.new_threats:
        add(s, "circumstances changed", ", ".join(safety.circumstances) or "none ticked")
        add(s, "new threats", "; ".join(safety.new_threats) or "none")
        add(s, "alternative plan interventions", _said(safety.interventions).replace("\n", "; "))
        if safety.phone_approval_by.strip():
            add(
                s,
                "approved by phone",
                f"{safety.phone_approval_by} at {safety.phone_approval_at or 'time not recorded'}",
            )
        elif safety.new_threats:
            add(s, "supervisor approval", "PENDING SUPERVISOR APPROVAL (SA-2)")
    for item_id, text in record.progress.items():
        add("Progress", names.get(item_id, item_id), _said(text))
    n = "Notes and next steps"
    add(n, "notes", _said(record.notes))
    add(n, "next steps", _said(record.next_steps))
    add(n, "next visit", _said(record.next_visit))
    o = "Overrides"
    if not record.overrides:
        add(o, "overrides", "none")
    for given in record.overrides:
        add(
            o,
            f"override of {given.check}",
            f"{given.message or given.check} — reason: {given.reason}"
            f" (by {given.author or 'unknown'} at {given.at or 'time not recorded'})",
        )
    sig = "Signature"
    add(sig, "recorded by", record.author or "not recorded")
    add(sig, "signed at", record.signed_at or "NOT SIGNED")
    return lines


def _child_lines(c: ChildContact, name: str) -> list[VisitLine]:
    lines = [VisitLine(name, "seen", yes_no(c.seen, "seen", "NOT SEEN"))]
    if c.seen is False:
        reason = c.not_seen_reason or "not recorded"
        if c.not_seen_detail.strip():
            reason = f"{reason}: {c.not_seen_detail}"
        lines.append(VisitLine(name, "why not seen", reason))
    interview = c.private_interview
    if interview is None:
        lines.append(VisitLine(name, "private interview", "none recorded"))
    else:
        lines += [
            VisitLine(name, "private interview", "recorded"),
            VisitLine(name, "seen alone", yes_no(interview.alone)),
            VisitLine(name, "could be overheard", yes_no(interview.could_be_overheard)),
            VisitLine(name, "interviewed where", _said(interview.where)),
            VisitLine(name, "the child's words", _said(interview.words)),
        ]
    observation = c.observation
    if observation is None:
        lines.append(VisitLine(name, "direct observation", "none recorded"))
    else:
        lines += [
            VisitLine(name, "direct observation", "recorded"),
            VisitLine(name, "observed where", _said(observation.where)),
            VisitLine(name, "interaction with the caregiver", _said(observation.interaction)),
            VisitLine(name, "condition", _said(observation.condition)),
            VisitLine(name, "home environment", _said(observation.environment)),
        ]
    return lines


def visit_text(record: VisitRecord, names: Mapping[str, str]) -> str:
    """The rendered record as plain text: section headings, then indented lines."""
    out: list[str] = []
    section = None
    for line in visit_lines(record, names):
        if line.section != section:
            section = line.section
            out.append(section)
        out.append(line.text())
    return "\n".join(out)


def names_of(case: Case) -> dict[str, str]:
    """Person id → name, for a case's people (and goal/activity ids → their text)."""
    found: dict[str, str] = {}
    for person in case.people:
        found[person.id] = person.name
    plan = case.service_plan
    if plan is not None:
        for goal in plan.goals:
            found[goal.id] = f"goal: {goal.text}"
        for activity in plan.activities:
            found[activity.id] = f"activity: {activity.text}"
    return found
