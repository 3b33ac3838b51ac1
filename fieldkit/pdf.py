"""A signed visit, with its approval, as a PDF for the paper file (reportlab).

Plaintext leaves fieldkit only here and only to the file the user names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from fieldkit import changelog, contacts, evidence, services
from fieldkit.errors import FieldkitError
from fieldkit.record_verify import qr_png, stamp_for
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
    story += _evidence_story(store, case_id, visit_id, fields, names_of(case), para)
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
    stamp = _stamp_story(store, case_id, visit_id, para)
    story += stamp[1]
    try:
        SimpleDocTemplate(
            str(out),
            pagesize=letter,
            title=f"Visit {visit_id}",
            author="fieldkit",
            subject=stamp[0],
        ).build(story)
    except OSError as exc:
        raise FieldkitError(f"cannot write {out}: {exc.strerror}") from None


def _evidence_story(
    store: Store,
    case_id: str,
    visit_id: str,
    fields: dict[str, Any],
    names: dict[str, str],
    para: Any,
) -> list[Any]:
    """Time evidence (laptop and server) and the collateral contacts since the last visit."""
    received = evidence.visit_received_at(store, case_id, visit_id)
    story: list[Any] = [para("When this record was made", "Heading2")]
    story += [para(f"{label}: {when}") for label, when in evidence.timeline(fields, received)]
    found = contacts.contacts_since_previous_visit(store, case_id, visit_id)
    if found:
        story.append(para("Collateral contacts since the previous visit", "Heading2"))
        story += [para(contacts.contact_line(c, names)) for c in found]
    return story


def _stamp_story(store: Store, case_id: str, visit_id: str, para: Any) -> tuple[str, list[Any]]:
    """The record's stamp as text and a QR code, for `fieldkit verify-record`."""
    import io

    from reportlab.platypus import Image

    stamp = stamp_for(store, case_id, visit_id)
    story: list[Any] = [
        para(f"Approval SHA-256: {stamp.approval_hash or 'not approved'}", "Code"),
        para("Check this paper against the signed record: fieldkit verify-record FILE.pdf"),
        para(stamp.text, "Code"),
        Image(io.BytesIO(qr_png(stamp.text)), width=110, height=110, hAlign="LEFT"),
    ]
    return stamp.text, story
