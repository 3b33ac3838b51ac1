"""Caregivers' acknowledgement of a safety plan or service plan, and the family's copy.

Rule SA-5: the safety plan is shared with the family for review and agreement; rule PL-6:
the family's agreement (or disagreement) with the service plan is recorded. Each
acknowledgement is a signed record (entity "acknowledgement"): which caregiver, the name
they typed or gave, how it was given (signed on paper and photographed as an attachment,
read aloud and agreed, or refused), when, and the SHA-256 of the plan content it answers,
so a later change to the plan shows the acknowledgement as being of an earlier version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldkit import changelog, services
from fieldkit.errors import FieldkitError
from fieldkit.evidence import now_text
from fieldkit.i18n import N_, _
from fieldkit.store import Store

HOW = {
    "signed-on-paper": N_("signed the plan on paper (photographed)"),
    "read-aloud-agreed": N_("had the plan read aloud and agreed"),
    "refused": N_("refused to acknowledge the plan"),
}
PLAN_KINDS = ("safety_plan", "service_plan")
BOOKKEEPING = frozenset(
    {"shared_with_family", "approval", "decided_by", "decided_at", "family_agreement"}
)
"""Fields that record what happened to a plan, not what it asks: outside its hash."""


@dataclass(frozen=True)
class Acknowledgement:
    """One caregiver's answer to one version of a plan."""

    id: str
    plan: str
    plan_id: str
    caregiver: str
    typed_name: str
    how: str
    at: str
    plan_hash: str
    attachment: str | None = None
    note: str = ""
    author: str = ""
    current: bool = True

    @property
    def how_words(self) -> str:
        """The way it was given, in words."""
        words = HOW.get(self.how)
        return _(words) if words else self.how


def plan_hash(store: Store, case_id: str, plan: str, plan_id: str) -> str:
    """SHA-256 of what the caregiver was shown: the plan's fields (and, for a service plan,
    its goals, objectives and activities)."""
    if plan not in PLAN_KINDS:
        raise FieldkitError(
            _("acknowledge a safety plan or a service plan, not {plan}").format(plan=repr(plan))
        )
    ent = store.entity(case_id, plan, plan_id)
    if ent is None:
        raise FieldkitError(
            _("no {kind} {plan_id} on case {case_id}").format(
                kind=plan.replace("_", " "), plan_id=plan_id, case_id=case_id
            )
        )
    content: dict[str, Any] = {
        "plan": {k: v for k, v in ent.fields.items() if k not in BOOKKEEPING}
    }
    if plan == "service_plan":
        for kind in ("goal", "objective", "activity"):
            content[kind] = {e.entity_id: e.fields for e in store.entities(case_id, kind)}
    return changelog.content_hash(content)


def record_acknowledgement(
    store: Store,
    case_id: str,
    *,
    plan: str,
    plan_id: str,
    caregiver: str,
    typed_name: str,
    how: str,
    attachment: str | None = None,
    note: str = "",
    at: str | None = None,
) -> str:
    """Rules SA-5, PL-6: record a caregiver's acknowledgement as one signed record."""
    case = services.load_case(store, case_id)
    caregivers = {p.id: p for p in case.caregivers}
    if caregiver not in caregivers:
        known = ", ".join(f"{p.id} ({p.name})" for p in case.caregivers) or "none"
        raise FieldkitError(
            _("{caregiver} is not a caregiver on case {case_id} ({known})").format(
                caregiver=repr(caregiver), case_id=case_id, known=known
            )
        )
    if how not in HOW:
        raise FieldkitError(
            _("how it was given: one of {choices}, not {given}").format(
                choices=", ".join(HOW), given=repr(how)
            )
        )
    if not typed_name.strip():
        raise FieldkitError(_("type the caregiver's name as they gave it"))
    digest = plan_hash(store, case_id, plan, plan_id)
    if how == "signed-on-paper":
        if not attachment:
            raise FieldkitError(
                _(
                    "a plan signed on paper needs its photograph: attach it first "
                    "(`fieldkit attach CASE --plan ID FILE`) and name the attachment"
                )
            )
        if store.entity(case_id, "attachment", attachment) is None:
            raise FieldkitError(
                _("no attachment {attachment} on case {case_id}").format(
                    attachment=attachment, case_id=case_id
                )
            )
    ack_id = f"ack-{changelog.uuid7()}"
    fields: dict[str, Any] = {
        "plan": plan,
        "plan_id": plan_id,
        "caregiver": caregiver,
        "typed_name": typed_name.strip(),
        "how": how,
        "at": at or now_text(),
        "plan_hash": digest,
        "note": note.strip(),
        "author": store.user,
    }
    if attachment:
        fields["attachment"] = attachment
    with store.transaction():
        store.record(case_id, "acknowledgement", ack_id, fields)
        store.sign(case_id, "acknowledgement", ack_id, fields)
        if plan == "safety_plan" and how != "refused":
            # rule SA-5: the plan has been shared with the family.
            store.record(case_id, "safety_plan", plan_id, {"shared_with_family": True})
    return ack_id


def acknowledgements_of(
    store: Store, case_id: str, plan: str | None = None, plan_id: str | None = None
) -> list[Acknowledgement]:
    """Acknowledgements on a case (of one plan if named), oldest first, marked current or not."""
    hashes: dict[tuple[str, str], str] = {}
    found = []
    for ent in store.entities(case_id, "acknowledgement"):
        f = ent.fields
        if plan is not None and f.get("plan") != plan:
            continue
        if plan_id is not None and f.get("plan_id") != plan_id:
            continue
        key = (str(f.get("plan")), str(f.get("plan_id")))
        if key not in hashes:
            try:
                hashes[key] = plan_hash(store, case_id, *key)
            except FieldkitError:
                hashes[key] = ""
        found.append(
            Acknowledgement(
                id=ent.entity_id,
                plan=key[0],
                plan_id=key[1],
                caregiver=str(f.get("caregiver") or ""),
                typed_name=str(f.get("typed_name") or ""),
                how=str(f.get("how") or ""),
                at=str(f.get("at") or ""),
                plan_hash=str(f.get("plan_hash") or ""),
                attachment=f.get("attachment"),
                note=str(f.get("note") or ""),
                author=str(f.get("author") or ""),
                current=f.get("plan_hash") == hashes[key],
            )
        )
    return sorted(found, key=lambda a: (a.at, a.id))
