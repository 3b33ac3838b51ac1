"""The family's copy of a plan: a short PDF in plain language (rules SA-5, PL-6).

What the plan asks of whom, by when, and who to call. No case numbers, no rule ids, no
worker's notes: only what the family agreed to or was shown. Plaintext leaves fieldkit
only to the file the worker names.

The copy speaks the family's language, which may not be the worker's: the headings and
fixed sentences come from the catalogue of `language`, dates are written as that language
writes them; names and the plan's own words are data, printed as the worker wrote them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fieldkit import i18n, services
from fieldkit.acknowledgements import acknowledgements_of
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.store import Store


def _day(value: object) -> str:
    """A stored date as the family's language writes it ("26 novembre 2026"); English keeps
    the ISO date fieldkit has always printed; anything not a date as written."""
    text = str(value)
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        return text
    return day.isoformat() if i18n.language() == i18n.DEFAULT else i18n.format_date(day, "long")


def family_copy_lines(
    store: Store, case_id: str, plan: str, plan_id: str, language: str | None = None
) -> list[tuple[str, str]]:
    """(style, text) lines of the family's copy, in the order they are printed.

    `language` is the family's (default: the worker's); the worker's language is back
    in force when this returns.
    """
    if store.entity(case_id, plan, plan_id) is None:
        if plan == "safety_plan":
            message = _("no safety plan {plan_id} on case {case_id}")
        else:
            message = _("no service plan {plan_id} on case {case_id}")
        raise FieldkitError(message.format(plan_id=plan_id, case_id=case_id))
    worker_language = i18n.language()
    with i18n.using(language or worker_language) as lang:
        lines = _lines(store, case_id, plan, plan_id)
        if lang != worker_language:
            lines.append(
                (
                    "Italic",
                    _(
                        "Names and the plan's own words are as your caseworker wrote them; "
                        "they are not translated."
                    ),
                )
            )
    return lines


def _lines(store: Store, case_id: str, plan: str, plan_id: str) -> list[tuple[str, str]]:
    case = services.load_case(store, case_id)
    ent = store.entity(case_id, plan, plan_id)
    assert ent is not None  # checked by family_copy_lines
    f = ent.fields
    names = {p.id: p.name for p in case.people}
    family = ", ".join(p.name for p in case.caregivers) or case.family_name
    lines: list[tuple[str, str]] = []
    if plan == "safety_plan":
        lines.append(("Title", _("Your family's safety plan")))
        lines.append(("BodyText", _("For: {family}").format(family=family)))
        agreed = f.get("agreed") or f.get("created")
        if agreed:
            lines.append(("BodyText", _("Made on: {day}").format(day=_day(agreed))))
        lines.append(("Heading2", _("Why we have this plan")))
        threats = {t.id: t.text for t in case.threats if t.active}
        wanted = f.get("threats") or list(threats)
        worries = [threats[t] for t in wanted if t in threats]
        lines += [("BodyText", f"- {w}") for w in worries] or [
            ("BodyText", "• " + _("To keep the children safe at home."))
        ]
        lines.append(("Heading2", _("What the plan asks, of whom, by when")))
        for item in f.get("interventions") or []:
            who = item.get("who") or _("Everyone in the home")
            when = item.get("when") or _("Starting now, every day until the plan changes")
            lines.append(("BodyText", f"- {who}: {item.get('text', '')} — {when}."))
    else:
        sp = case.service_plan
        lines.append(("Title", _("Your family's service plan")))
        lines.append(("BodyText", _("For: {family}").format(family=family)))
        if sp is not None and sp.completed:
            lines.append(("BodyText", _("Made on: {day}").format(day=_day(sp.completed))))
        lines.append(("Heading2", _("What we are working toward")))
        for goal in sp.goals if sp else ():
            lines.append(("BodyText", f"- {goal.text}"))
        lines.append(("Heading2", _("What the plan asks, of whom, by when")))
        for act in sp.activities if sp else ():
            who = act.who or _("Your family")
            when = act.when or _("as agreed with your caseworker")
            where = _(" at {place}").format(place=act.where) if act.where else ""
            lines.append(("BodyText", f"- {who}: {act.text}{where} — {when}."))
    lines.append(("Heading2", _("Who to call")))
    worker = case.worker or _("your caseworker")
    lines.append(("BodyText", "- " + _("Your caseworker: {name}").format(name=worker)))
    if case.supervisor:
        line = _("If you cannot reach them: their supervisor, {name}")
        lines.append(("BodyText", "- " + line.format(name=case.supervisor)))
    for person in case.caregivers:
        if person.phone and person.relationship not in ("mother", "father", "parent"):
            lines.append(("BodyText", f"- {person.name}: {person.phone}"))
    lines.append(("BodyText", "• " + _("In an emergency: your local emergency number.")))
    acks = acknowledgements_of(store, case_id, plan, plan_id)
    if acks:
        lines.append(("Heading2", _("Who has seen this plan")))
        for ack in acks:
            who = names.get(ack.caregiver, ack.typed_name)
            line = _("{who} {how} on {day}.").format(
                who=who, how=ack.how_words, day=_day(ack.at[:10])
            )
            lines.append(("BodyText", "- " + line))
    return lines


def write_family_copy(
    store: Store, case_id: str, plan: str, plan_id: str, out: Path, language: str | None = None
) -> None:
    """Write the family's copy to `out` (which must not exist yet), in `language`."""
    # local: reportlab (~60 ms) and xml.sax.saxutils (urllib and ssl, ~10 ms) load only
    # for a PDF, not with every command that imports this module
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if out.exists():
        raise FieldkitError(_("{path} already exists; nothing was written").format(path=out))
    lines = family_copy_lines(store, case_id, plan, plan_id, language)
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
        raise FieldkitError(
            _("cannot write {path}: {reason}").format(path=out, reason=exc.strerror)
        ) from None
