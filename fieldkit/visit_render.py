"""The one way a visit record is put into words: the review step before signing, the
signed-record screen, the supervisor's review, the PDF and the plain export all call
`visit_lines`, so what the worker affirmed is what every reader sees, overrides included.

Pure text, no markup: a face that uses Rich markup escapes each line itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fieldkit.domain import Case
from fieldkit.i18n import N_, _
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


def yes_no(value: bool | None, yes: str = N_("yes"), no: str = N_("no")) -> str:
    """An answer in words; None is "not recorded", never a silent yes or no."""
    if value is None:
        return _("not recorded")
    return _(yes) if value else _(no)


def _said(text: str) -> str:
    return text if text.strip() else _("not recorded")


def visit_lines(record: VisitRecord, names: Mapping[str, str]) -> list[VisitLine]:
    """Every field of the record, in the order a reader needs it."""

    def who(pid: str) -> str:
        name = names.get(pid)
        return f"{name} ({pid})" if name else pid

    lines: list[VisitLine] = []

    def add(section: str, label: str, value: str) -> None:
        lines.append(VisitLine(section, label, value))

    v = _("Visit")
    add(v, _("case"), record.case)
    add(v, _("visit id"), record.visit_id or _("not yet numbered"))
    add(v, _("date"), _said(record.date))
    add(v, _("kind of contact"), record.kind or _("not recorded"))
    add(v, _("outcome"), record.outcome or _("not recorded"))
    attempt = record.outcome is not None and not record.completed
    if attempt or record.attempt_time.strip() or record.attempt_action.strip():
        add(v, _("attempt time"), _said(record.attempt_time))
        add(v, _("what was done"), _said(record.attempt_action))
    add(v, _("announced"), yes_no(record.announced, N_("Announced"), N_("Unannounced")))
    add(v, _("present"), ", ".join(who(p) for p in record.present) or _("nobody recorded"))
    add(v, _("others present"), _said(record.others_present))
    add(v, _("where"), _said(record.location))
    for contact in record.children:
        lines += _child_lines(contact, who(contact.person))
    s = _("Safety")
    safety = record.safety
    add(s, _("safety changed since the last visit"), yes_no(safety.changed))
    if safety.changed or safety.circumstances or safety.new_threats:
        add(s, _("circumstances changed"), ", ".join(safety.circumstances) or _("none ticked"))
        add(s, _("new threats"), "; ".join(safety.new_threats) or _("none"))
        add(s, _("alternative plan interventions"), _said(safety.interventions).replace("\n", "; "))
        if safety.phone_approval_by.strip():
            add(
                s,
                _("approved by phone"),
                _("{phone_approval_by} at {phone_approval_at}").format(
                    phone_approval_by=safety.phone_approval_by,
                    phone_approval_at=safety.phone_approval_at or _("time not recorded"),
                ),
            )
        elif safety.new_threats:
            add(s, _("supervisor approval"), _("PENDING SUPERVISOR APPROVAL (SA-2)"))
    for item_id, text in record.progress.items():
        add(_("Progress"), names.get(item_id, item_id), _said(text))
    n = _("Notes and next steps")
    add(n, _("notes"), _said(record.notes))
    add(n, _("next steps"), _said(record.next_steps))
    add(n, _("next visit"), _said(record.next_visit))
    o = _("Overrides")
    if not record.overrides:
        add(o, _("overrides"), _("none"))
    for given in record.overrides:
        add(
            o,
            _("override of {check}").format(check=given.check),
            _("{message} — reason: {reason} (by {author} at {at})").format(
                message=given.message or given.check,
                reason=given.reason,
                author=given.author or _("unknown"),
                at=given.at or _("time not recorded"),
            ),
        )
    sig = _("Signature")
    add(sig, _("recorded by"), record.author or _("not recorded"))
    add(sig, _("signed at"), record.signed_at or _("NOT SIGNED"))
    return lines


def _child_lines(c: ChildContact, name: str) -> list[VisitLine]:
    lines = [VisitLine(name, _("seen"), yes_no(c.seen, N_("seen"), N_("NOT SEEN")))]
    if c.seen is False:
        reason = c.not_seen_reason or _("not recorded")
        if c.not_seen_detail.strip():
            reason = f"{reason}: {c.not_seen_detail}"
        lines.append(VisitLine(name, _("why not seen"), reason))
    interview = c.private_interview
    if interview is None:
        lines.append(VisitLine(name, _("private interview"), _("none recorded")))
    else:
        lines += [
            VisitLine(name, _("private interview"), _("recorded")),
            VisitLine(name, _("seen alone"), yes_no(interview.alone)),
            VisitLine(name, _("could be overheard"), yes_no(interview.could_be_overheard)),
            VisitLine(name, _("interviewed where"), _said(interview.where)),
            VisitLine(name, _("the child's words"), _said(interview.words)),
        ]
    observation = c.observation
    if observation is None:
        lines.append(VisitLine(name, _("direct observation"), _("none recorded")))
    else:
        lines += [
            VisitLine(name, _("direct observation"), _("recorded")),
            VisitLine(name, _("observed where"), _said(observation.where)),
            VisitLine(name, _("interaction with the caregiver"), _said(observation.interaction)),
            VisitLine(name, _("condition"), _said(observation.condition)),
            VisitLine(name, _("home environment"), _said(observation.environment)),
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
            found[goal.id] = _("goal: {text}").format(text=goal.text)
        for activity in plan.activities:
            found[activity.id] = _("activity: {text}").format(text=activity.text)
    return found
