"""A signed visit, with its approval, as a PDF for the paper file (reportlab).

Plaintext leaves fieldkit only here and only to the file the user names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from fieldkit import changelog, services
from fieldkit.errors import FieldkitError
from fieldkit.services import review
from fieldkit.store import Store


def find_visit(store: Store, visit_id: str) -> str:
    """The case holding a visit id."""
    for ent in store.entities(entity="visit"):
        if ent.entity_id == visit_id:
            return ent.case_id
    raise FieldkitError(f"no visit {visit_id} in this profile; `fieldkit case show` lists them")


def visit_pdf(store: Store, visit_id: str, out: Path) -> None:
    """Render the visit, its addenda and every supervisor decision to `out`."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    case_id = find_visit(store, visit_id)
    entity = store.entity(case_id, "visit", visit_id)
    if entity is None or not entity.signed:
        raise FieldkitError(f"visit {visit_id} is not signed; only signed visits are exported")
    case = services.load_case(store, case_id)
    content = review.visit_content(store, case_id, visit_id)
    fields: dict[str, Any] = content["visit"]
    names = {p.id: p.name for p in case.people}
    styles = getSampleStyleSheet()

    def para(text: str, style: str = "BodyText") -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), styles[style])

    story: list[Any] = [
        para(f"Home visit record — case {case.id}", "Title"),
        para(f"Family: {case.family_name}    Worker: {fields.get('author') or case.worker}"),
        para(
            f"Visit date: {fields.get('date')}    "
            f"{'Announced' if fields.get('announced', True) else 'Unannounced'}    "
            f"Kind: {fields.get('kind', 'home')}"
        ),
        para(f"Where: {fields.get('location') or case.address}"),
        para(f"Signed: {fields.get('signed_at') or 'yes'}"),
        Spacer(1, 8),
        para("Children", "Heading2"),
    ]
    rows = [["Child", "Seen", "Private interview", "Observed", "Notes"]]
    for contact in fields.get("contacts") or []:
        pid = contact.get("person", "")
        note = contact.get("said") or contact.get("interaction") or contact.get("condition") or ""
        rows.append(
            [
                names.get(pid, pid),
                "yes" if contact.get("seen", True) else "no",
                "yes" if contact.get("private_interview") else "no",
                "yes" if contact.get("observed") else "no",
                para(str(note)),
            ]
        )
    if len(rows) == 1:
        for pid in fields.get("seen") or []:
            rows.append(
                [
                    names.get(pid, pid),
                    "yes",
                    "yes" if pid in (fields.get("private_interview") or []) else "no",
                    "yes" if pid in (fields.get("observed") or []) else "no",
                    "",
                ]
            )
    story.append(Table(rows, colWidths=[110, 40, 80, 60, 220], repeatRows=1))
    for label, key in (
        ("Notes", "notes"),
        ("Next steps", "next_steps"),
        ("Next visit", "next_visit"),
    ):
        if fields.get(key):
            story += [para(label, "Heading3"), para(str(fields[key]))]
    if content["addenda"]:
        story.append(para("Addenda", "Heading2"))
        for add in content["addenda"]:
            story.append(para(f"{add.get('date')} {add.get('author', '')}: {add.get('text', '')}"))
    story.append(para("Supervisor review", "Heading2"))
    decided = review.decisions(store, case_id, "visit", visit_id)
    if not decided:
        story.append(para("Not yet reviewed."))
    for d in decided:
        state = " (STALE: the record changed after this decision)" if d.stale else ""
        story.append(para(f"{d.decision} by {d.by} at {d.at}{state}"))
        if d.comment:
            story.append(para(f"Comment: {d.comment}"))
    story += [
        Spacer(1, 8),
        para(f"Content SHA-256: {changelog.content_hash(content)}", "Code"),
    ]
    try:
        SimpleDocTemplate(
            str(out), pagesize=letter, title=f"Visit {visit_id}", author="fieldkit"
        ).build(story)
    except OSError as exc:
        raise FieldkitError(f"cannot write {out}: {exc.strerror}") from None
