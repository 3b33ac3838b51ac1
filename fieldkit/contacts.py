"""Collateral contacts: calls and meetings with teachers, doctors, relatives and providers.

Each contact is a record of its own (entity kind "contact"), written as one signed op and
sealed like every other record: date, kind, who, their role, notes and the children it
concerns. Once written it is signed and cannot change; a correction is a new contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fieldkit import changelog, services
from fieldkit.domain import parse_date
from fieldkit.errors import FieldkitError
from fieldkit.evidence import now_text
from fieldkit.i18n import _
from fieldkit.store import Store

CONTACT_KINDS = ("call", "meeting", "video", "email", "letter", "text-message")
CONTACT_ROLES = ("teacher", "doctor", "relative", "provider", "therapist", "police", "other")


@dataclass(frozen=True)
class CollateralContact:
    """One contact with someone outside the family about the case."""

    id: str
    date: date
    kind: str
    who: str
    role: str
    notes: str
    children: tuple[str, ...] = ()
    author: str = ""
    recorded_at: str = ""

    @classmethod
    def from_fields(cls, contact_id: str, fields: dict[str, Any]) -> CollateralContact:
        """The contact from its stored record."""
        return cls(
            id=contact_id,
            date=parse_date(fields.get("date")) or date.min,
            kind=str(fields.get("kind") or ""),
            who=str(fields.get("who") or ""),
            role=str(fields.get("role") or ""),
            notes=str(fields.get("notes") or ""),
            children=tuple(str(c) for c in fields.get("children") or ()),
            author=str(fields.get("author") or ""),
            recorded_at=str(fields.get("recorded_at") or ""),
        )


def add_contact(
    store: Store,
    case_id: str,
    *,
    day: date,
    kind: str,
    who: str,
    role: str,
    notes: str,
    children: list[str] | None = None,
    today: date | None = None,
) -> str:
    """Record a collateral contact as one signed record; refused whole when anything is off."""
    case = services.load_case(store, case_id)
    if kind not in CONTACT_KINDS:
        raise FieldkitError(
            _("contact kind {kind}: choose one of {contact_kinds}").format(
                kind=repr(kind), contact_kinds=", ".join(CONTACT_KINDS)
            )
        )
    if role not in CONTACT_ROLES:
        raise FieldkitError(
            _("role {role}: choose one of {contact_roles}").format(
                role=repr(role), contact_roles=", ".join(CONTACT_ROLES)
            )
        )
    if not who.strip():
        raise FieldkitError(_("say who the contact was with (a name and where they work)"))
    if not notes.strip():
        raise FieldkitError(_("the contact has no notes; write what was said"))
    if day > (today or date.today()):
        raise FieldkitError(
            _("the contact date {day} is in the future; nothing was recorded").format(day=day)
        )
    child_ids = {c.id for c in case.children}
    concerned = list(dict.fromkeys(children or []))
    for pid in concerned:
        if pid not in child_ids:
            known = ", ".join(sorted(child_ids)) or "none"
            raise FieldkitError(
                _("{pid} is not a child of case {case_id} (children: {known})").format(
                    pid=repr(pid), case_id=case_id, known=known
                )
            )
    contact_id = f"cc-{changelog.uuid7()}"
    fields = {
        "date": day.isoformat(),
        "kind": kind,
        "who": who.strip(),
        "role": role,
        "notes": notes.strip(),
        "children": concerned,
        "author": store.user,
        "recorded_at": now_text(),
    }
    with store.transaction():
        store.record(case_id, "contact", contact_id, fields)
        store.sign(case_id, "contact", contact_id, fields)
    return contact_id


def contacts_of(store: Store, case_id: str) -> list[CollateralContact]:
    """A case's collateral contacts, newest first."""
    found = [
        CollateralContact.from_fields(e.entity_id, e.fields)
        for e in store.entities(case_id, "contact")
    ]
    return sorted(found, key=lambda c: (c.date, c.recorded_at, c.id), reverse=True)


def contact_line(contact: CollateralContact, names: dict[str, str]) -> str:
    """One line for a history list: date, kind, who, children, notes (plain text)."""
    about = ", ".join(names.get(pid, pid) for pid in contact.children)
    concern = _(" · about {children}").format(children=about) if about else ""
    return _("{date} · {kind} with {who} ({role}){concern}: {notes}").format(
        date=contact.date,
        kind=contact.kind,
        who=contact.who,
        role=contact.role,
        concern=concern,
        notes=contact.notes,
    )


def parse_notes_input(text: str) -> tuple[str | None, str]:
    """Notes typed or piped in; a first line `Who: …` names the contact instead of a prompt."""
    lines = text.splitlines()
    if lines and lines[0].lower().startswith("who:"):
        who = lines[0][4:].strip()
        return (who or None), "\n".join(lines[1:]).strip()
    return None, text.strip()


def contacts_since_previous_visit(
    store: Store, case_id: str, visit_id: str
) -> list[CollateralContact]:
    """Contacts dated after the visit before this one: what the supervisor reads beside it."""
    visits = {
        e.entity_id: parse_date(e.fields.get("date")) for e in store.entities(case_id, "visit")
    }
    this_day = visits.get(visit_id)
    earlier = [
        d for vid, d in visits.items() if d and this_day and d < this_day and vid != visit_id
    ]
    since = max(earlier, default=None)
    found = contacts_of(store, case_id)
    return [c for c in found if since is None or c.date > since]
