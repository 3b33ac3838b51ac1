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
from fieldkit.visit_record import record_from_stored
from fieldkit.visit_render import names_of, visit_lines


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
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    case_id = find_visit(store, visit_id)
    entity = store.entity(case_id, "visit", visit_id)
    if entity is None or not entity.signed:
        raise FieldkitError(f"visit {visit_id} is not signed; only signed visits are exported")
    case = services.load_case(store, case_id)
    content = review.visit_content(store, case_id, visit_id)
    fields: dict[str, Any] = content["visit"]
    styles = getSampleStyleSheet()

    def para(text: str, style: str = "BodyText") -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), styles[style])

    record = record_from_stored(case_id, visit_id, fields)
    story: list[Any] = [
        para(f"Home visit record — case {case.id}", "Title"),
        para(f"Family: {case.family_name}    Worker: {record.author or case.worker}"),
    ]
    section = None
    for line in visit_lines(record, names_of(case)):
        if line.section != section:
            section = line.section
            story.append(para(section, "Heading3"))
        story.append(para(f"{line.label}: {line.value}"))
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
