"""A signed visit, with its approval, as a PDF for the paper file (reportlab).

Plaintext leaves fieldkit only here and only to the file the user names.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from fieldkit import changelog, contacts, evidence, i18n, services
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.record_verify import qr_png, stamp_for
from fieldkit.services import review
from fieldkit.store import Store
from fieldkit.visit_record import record_from_stored
from fieldkit.visit_render import names_of, visit_lines

DECISIONS = {
    "approved": N_("approved"),
    "returned": N_("returned"),
    "disputed": N_("disputed"),
    "rejected": N_("rejected"),
    "confirmed": N_("confirmed"),
}
"""A supervisor's decision in words (the stored value is the id)."""


def _visit_day(value: str) -> str:
    """The visit's date as the worker's language writes it ("26 nov. 2026"; English keeps
    ISO); "" if none."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return ""
    return day.isoformat() if i18n.language() == i18n.DEFAULT else i18n.format_date(day)


def find_visit(store: Store, visit_id: str) -> str:
    """The case holding a visit id."""
    for ent in store.entities(entity="visit"):
        if ent.entity_id == visit_id:
            return ent.case_id
    raise FieldkitError(
        _("no visit {visit_id} in this profile; `fieldkit case show` lists them").format(
            visit_id=visit_id
        )
    )


def visit_pdf(store: Store, visit_id: str, out: Path) -> None:
    """Render the visit, its addenda and every supervisor decision to `out`."""
    # local: reportlab (~60 ms) and xml.sax.saxutils (urllib and ssl, ~10 ms) load only
    # for a PDF, not with every command that imports this module
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    case_id = find_visit(store, visit_id)
    entity = store.entity(case_id, "visit", visit_id)
    if entity is None or not entity.signed:
        raise FieldkitError(
            _("visit {visit_id} is not signed; only signed visits are exported").format(
                visit_id=visit_id
            )
        )
    case = services.load_case(store, case_id)
    content = review.visit_content(store, case_id, visit_id)
    fields: dict[str, Any] = content["visit"]
    styles = getSampleStyleSheet()

    def para(text: str, style: str = "BodyText") -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), styles[style])

    record = record_from_stored(case_id, visit_id, fields)
    story: list[Any] = [
        para(_("Home visit record — case {case}").format(case=case.id), "Title"),
        para(
            _("Family: {family}    Worker: {worker}").format(
                family=case.family_name, worker=record.author or case.worker
            )
        ),
    ]
    day = _visit_day(record.date)
    if day:
        para_day = _("Visit of {day}").format(day=day)
        story.append(para(para_day))
    section = None
    for line in visit_lines(record, names_of(case)):
        if line.section != section:
            section = line.section
            story.append(para(section, "Heading3"))
        story.append(para(f"{line.label}: {line.value}"))
    if content["addenda"]:
        story.append(para(_("Addenda"), "Heading2"))
        for add in content["addenda"]:
            story.append(para(f"{add.get('date')} {add.get('author', '')}: {add.get('text', '')}"))
    story += _evidence_story(store, case_id, visit_id, fields, names_of(case), para)
    story.append(para(_("Supervisor review"), "Heading2"))
    decided = review.decisions(store, case_id, "visit", visit_id)
    if not decided:
        story.append(para(_("Not yet reviewed.")))
    for d in decided:
        words = _(DECISIONS[d.decision]) if d.decision in DECISIONS else d.decision
        said = _("{decision} by {who} at {when}").format(decision=words, who=d.by, when=d.at)
        if d.stale:
            said += " " + _("(STALE: the record changed after this decision)")
        story.append(para(said))
        if d.comment:
            story.append(para(_("Comment: {comment}").format(comment=d.comment)))
    story += [
        Spacer(1, 8),
        para(_("Content SHA-256: {hash}").format(hash=changelog.content_hash(content)), "Code"),
    ]
    stamp = _stamp_story(store, case_id, visit_id, para)
    story += stamp[1]
    try:
        SimpleDocTemplate(
            str(out),
            pagesize=letter,
            title=_("Visit {visit_id}").format(visit_id=visit_id),
            author="fieldkit",
            subject=stamp[0],
        ).build(story)
    except OSError as exc:
        raise FieldkitError(
            _("cannot write {path}: {reason}").format(path=out, reason=exc.strerror)
        ) from None


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
    story: list[Any] = [para(_("When this record was made"), "Heading2")]
    story += [para(f"{label}: {when}") for label, when in evidence.timeline(fields, received)]
    found = contacts.contacts_since_previous_visit(store, case_id, visit_id)
    if found:
        story.append(para(_("Collateral contacts since the previous visit"), "Heading2"))
        story += [para(contacts.contact_line(c, names)) for c in found]
    return story


def _stamp_story(store: Store, case_id: str, visit_id: str, para: Any) -> tuple[str, list[Any]]:
    """The record's stamp as text and a QR code, for `fieldkit verify-record`."""
    # local: reportlab (~60 ms of start-up) loads only for a PDF
    from reportlab.platypus import Image

    stamp = stamp_for(store, case_id, visit_id)
    story: list[Any] = [
        para(
            _("Approval SHA-256: {hash}").format(hash=stamp.approval_hash or _("not approved")),
            "Code",
        ),
        para(_("Check this paper against the signed record: fieldkit verify-record FILE.pdf")),
        para(stamp.text, "Code"),
        Image(io.BytesIO(qr_png(stamp.text)), width=110, height=110, hAlign="LEFT"),
    ]
    return stamp.text, story
