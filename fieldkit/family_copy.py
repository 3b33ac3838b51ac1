"""The family's copy of a plan: a short PDF in plain language (rules SA-5, PL-6).

What the plan asks of whom, by when, and who to call. No case numbers, no rule ids, no
worker's notes: only what the family agreed to or was shown. Plaintext leaves fieldkit
only to the file the worker names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from fieldkit import services
from fieldkit.acknowledgements import acknowledgements_of
from fieldkit.errors import FieldkitError
from fieldkit.store import Store


def family_copy_lines(store: Store, case_id: str, plan: str, plan_id: str) -> list[tuple[str, str]]:
    """(style, text) lines of the family's copy, in the order they are printed."""
    case = services.load_case(store, case_id)
    ent = store.entity(case_id, plan, plan_id)
    if ent is None:
        raise FieldkitError(f"no {plan.replace('_', ' ')} {plan_id} on case {case_id}")
    f = ent.fields
    names = {p.id: p.name for p in case.people}
    family = ", ".join(p.name for p in case.caregivers) or case.family_name
    lines: list[tuple[str, str]] = []
    if plan == "safety_plan":
        lines.append(("Title", "Your family's safety plan"))
        lines.append(("BodyText", f"For: {family}"))
        agreed = f.get("agreed") or f.get("created")
        if agreed:
            lines.append(("BodyText", f"Made on: {agreed}"))
        lines.append(("Heading2", "Why we have this plan"))
        threats = {t.id: t.text for t in case.threats if t.active}
        wanted = f.get("threats") or list(threats)
        worries = [threats[t] for t in wanted if t in threats]
        lines += [("BodyText", f"- {w}") for w in worries] or [
            ("BodyText", "• To keep the children safe at home.")
        ]
        lines.append(("Heading2", "What the plan asks, of whom, by when"))
        for item in f.get("interventions") or []:
            who = item.get("who") or "Everyone in the home"
            when = item.get("when") or "Starting now, every day until the plan changes"
            lines.append(("BodyText", f"- {who}: {item.get('text', '')} — {when}."))
    else:
        sp = case.service_plan
        lines.append(("Title", "Your family's service plan"))
        lines.append(("BodyText", f"For: {family}"))
        if sp is not None and sp.completed:
            lines.append(("BodyText", f"Made on: {sp.completed}"))
        lines.append(("Heading2", "What we are working toward"))
        for goal in sp.goals if sp else ():
            lines.append(("BodyText", f"- {goal.text}"))
        lines.append(("Heading2", "What the plan asks, of whom, by when"))
        for act in sp.activities if sp else ():
            who = act.who or "Your family"
            when = act.when or "as agreed with your caseworker"
            where = f" at {act.where}" if act.where else ""
            lines.append(("BodyText", f"- {who}: {act.text}{where} — {when}."))
    lines.append(("Heading2", "Who to call"))
    lines.append(("BodyText", f"- Your caseworker: {case.worker or 'your caseworker'}"))
    if case.supervisor:
        lines.append(
            ("BodyText", f"- If you cannot reach them: their supervisor, {case.supervisor}")
        )
    for person in case.caregivers:
        if person.phone and person.relationship not in ("mother", "father", "parent"):
            lines.append(("BodyText", f"- {person.name}: {person.phone}"))
    lines.append(("BodyText", "• In an emergency: your local emergency number."))
    acks = acknowledgements_of(store, case_id, plan, plan_id)
    if acks:
        lines.append(("Heading2", "Who has seen this plan"))
        for ack in acks:
            who = names.get(ack.caregiver, ack.typed_name)
            lines.append(("BodyText", f"- {who} {ack.how_words} on {ack.at[:10]}."))
    return lines


def write_family_copy(store: Store, case_id: str, plan: str, plan_id: str, out: Path) -> None:
    """Write the family's copy to `out` (which must not exist yet)."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if out.exists():
        raise FieldkitError(f"{out} already exists; nothing was written")
    lines = family_copy_lines(store, case_id, plan, plan_id)
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    body.fontSize, body.leading = 13, 17  # large enough to read without glasses
    story: list[Any] = []
    for style, text in lines:
        if style == "Heading2":
            story.append(Spacer(1, 6))
        story.append(Paragraph(escape(text), styles[style]))
    try:
        SimpleDocTemplate(str(out), pagesize=letter, title=lines[0][1], author="").build(story)
    except OSError as exc:
        raise FieldkitError(f"cannot write {out}: {exc.strerror}") from None
