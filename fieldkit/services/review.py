"""Supervisor review: the queue, approvals bound to content, returns, supervision, conflicts.

An approval is a record like any other (entity kind "approval"), signed by the
supervisor's device as an op, holding the SHA-256 of exactly the content approved. When
that content changes (an addendum, a merge), the approval is stale and the item is back
in the queue. No Textual here: the console screens and the CLI call these.

Why one module: the supervisor's use cases, nearly all over one record kind: an approval
(entity "approval") bound to a content hash. The queue,
`decide`/`approve`/`return_for_changes`, a visit's review state and the returned records all
read the same `content_of` and `decisions`; supervision sessions (RV-1) and open conflicts
are the rest of the console's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fieldkit import changelog, evidence
from fieldkit.domain import Case, parse_date
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import PolicyProfile, visit_content_problems, visit_gates
from fieldkit.practice.visit_checks import visit_checks
from fieldkit.records import visit_from_fields
from fieldkit.services import casework
from fieldkit.services.cases import load_case, load_cases
from fieldkit.store import EntityState, Store
from fieldkit.visit_record import record_from_stored

SUPERVISOR_ROLES = ("supervisor", "admin")


class RoleError(FieldkitError):
    """Only a supervisor may approve, return or decide."""


def role_of(store: Store) -> str:
    """The role the server gave at enrollment, else the one set at `fieldkit init`."""
    return store.meta("sync_role") or store.meta("role") or "worker"


def is_supervisor(store: Store) -> bool:
    """The app opens on the review queue for these profiles."""
    return role_of(store) in SUPERVISOR_ROLES


def require_supervisor(store: Store) -> None:
    """Approvals come from a supervisor's profile (the server checks the role again)."""
    role = role_of(store)
    if role not in SUPERVISOR_ROLES:
        raise RoleError(
            _(
                "only a supervisor can approve or return records; this profile's role is {role}"
            ).format(role=role)
        )


def visit_content(store: Store, case_id: str, visit_id: str) -> dict[str, Any]:
    """Exactly what an approval of a visit covers: its fields and every addendum."""
    visit = store.entity(case_id, "visit", visit_id)
    if visit is None:
        raise FieldkitError(
            _("no visit {visit_id} on case {case_id}").format(visit_id=visit_id, case_id=case_id)
        )
    addenda = sorted(
        (
            {"id": e.entity_id, **e.fields}
            for e in store.entities(case_id, "addendum")
            if e.fields.get("visit") == visit_id
        ),
        key=lambda a: (str(a.get("date", "")), a["id"]),
    )
    return {"visit": visit.fields, "addenda": addenda}


def plan_content(store: Store, case_id: str, plan_id: str) -> dict[str, Any]:
    """What an approval of a safety plan covers: its interventions and threats."""
    plan = store.entity(case_id, "safety_plan", plan_id)
    if plan is None:
        raise FieldkitError(
            _("no safety plan {plan_id} on case {case_id}").format(plan_id=plan_id, case_id=case_id)
        )
    fields = plan.fields
    return {k: fields.get(k) for k in ("interventions", "threats", "created", "kind")}


def content_of(store: Store, case_id: str, target: str, target_id: str) -> dict[str, Any]:
    """The content an approval of `target` binds to."""
    if target == "visit":
        return visit_content(store, case_id, target_id)
    if target == "safety_plan":
        return plan_content(store, case_id, target_id)
    if target in SIGNED_TARGETS:
        if target == "service_plan":
            return casework.plan_content_of(store, case_id, target_id)
        return casework.closure_content_of(store, case_id, target_id)
    raise FieldkitError(_("{target} records are not reviewed").format(target=target))


SIGNED_TARGETS = ("service_plan", "closure")
"""Signed case records a supervisor approves or returns like visits (PL-2..6, CL-1)."""


@dataclass(frozen=True)
class Decision:
    """The latest decision on a record, and whether the content still matches it."""

    decision: str
    by: str
    at: str
    comment: str
    content_hash: str
    stale: bool
    hlc: str = ""
    """Where the decision sits in causal order (its op's hybrid clock)."""


def written_at(ent: EntityState, name: str) -> str:
    """The hybrid-clock time of the latest write to one field of a record."""
    return max((str(h.get("hlc", "")) for h in ent.state["heads"].get(name, [])), default="")


def decisions(store: Store, case_id: str, target: str, target_id: str) -> list[Decision]:
    """Every decision on a record, oldest first, each marked stale or not."""
    current = changelog.content_hash(content_of(store, case_id, target, target_id))
    found = []
    for ent in store.entities(case_id, "approval"):
        f = ent.fields
        if f.get("target") != target or f.get("target_id") != target_id:
            continue
        found.append(
            Decision(
                decision=str(f.get("decision")),
                by=str(f.get("by", "")),
                at=str(f.get("at", "")),
                comment=str(f.get("comment", "")),
                content_hash=str(f.get("content_hash", "")),
                stale=f.get("content_hash") != current,
                hlc=written_at(ent, "decision"),
            )
        )
    return sorted(found, key=lambda d: (d.at, d.hlc))


def latest_decision(store: Store, case_id: str, target: str, target_id: str) -> Decision | None:
    """The decision that stands, if any."""
    found = decisions(store, case_id, target, target_id)
    return found[-1] if found else None


@dataclass(frozen=True)
class VisitReview:
    """Where a signed visit stands with the supervisor: only the latest decision counts,
    and an addendum written after it (in causal order) answers a return."""

    decision: Decision | None
    addenda_since: int = 0

    @property
    def awaiting_addendum(self) -> bool:
        """Returned, and no addendum written since: the worker has something to do."""
        d = self.decision
        return d is not None and d.decision == "returned" and not self.addenda_since

    def words(self) -> str:
        """The review state in words (never colour alone); empty when nothing was decided."""
        d = self.decision
        if d is None:
            return ""
        if d.decision == "approved":
            if d.stale:
                return _("approved by {who}, changed since: back for review").format(who=d.by)
            return _("approved by {who}").format(who=d.by)
        if d.decision == "returned":
            if self.addenda_since:
                return _("returned by {who}, addendum received: awaiting review").format(who=d.by)
            return _("returned by {who}, awaiting the worker's addendum").format(who=d.by)
        return _("{decision} by {who}").format(decision=d.decision, who=d.by)


def visit_review(store: Store, case_id: str, visit_id: str) -> VisitReview:
    """The latest decision on a visit and the addenda written after it."""
    last = latest_decision(store, case_id, "visit", visit_id)
    if last is None:
        return VisitReview(None)
    since = sum(
        1
        for e in store.entities(case_id, "addendum")
        if e.fields.get("visit") == visit_id and written_at(e, "text") > last.hlc
    )
    return VisitReview(last, since)


def visit_reviews(store: Store, case_id: str) -> dict[str, VisitReview]:
    """Every signed visit of a case with a decision on it, by visit id."""
    ids = {
        str(e.fields.get("target_id"))
        for e in store.entities(case_id, "approval")
        if e.fields.get("target") == "visit"
    }
    return {
        visit_id: visit_review(store, case_id, visit_id)
        for visit_id in sorted(ids)
        if store.entity(case_id, "visit", visit_id) is not None
    }


def returned_records(store: Store, case_id: str) -> list[tuple[str, str, Decision]]:
    """Signed plans and closures (PL-2..6, CL-1) whose standing decision is a return the
    worker has not answered yet: (target, id, decision). A record changed since the return
    (revised and signed again) no longer waits on the worker."""
    targets = {
        (str(e.fields.get("target")), str(e.fields.get("target_id")))
        for e in store.entities(case_id, "approval")
        if e.fields.get("target") in SIGNED_TARGETS
    }
    found = []
    for target, target_id in sorted(targets):
        last = latest_decision(store, case_id, target, target_id)
        if last is None or last.decision != "returned" or last.stale:
            continue
        # A plan or closure signed after the return (in causal order) answers it.
        if any(
            e.entity_id != target_id and e.signed and _last_write(e) > last.hlc
            for e in store.entities(case_id, target)
        ):
            continue
        found.append((target, target_id, last))
    return found


def _last_write(ent: EntityState) -> str:
    return max((written_at(ent, name) for name in ent.state["heads"]), default="")


def decide(
    store: Store,
    case_id: str,
    target: str,
    target_id: str,
    decision: str,
    comment: str = "",
    now: datetime | None = None,
) -> str:
    """Record a supervisor's decision, bound to the SHA-256 of the content decided on."""
    require_supervisor(store)
    if decision in ("returned", "rejected", "disputed") and not comment.strip():
        raise FieldkitError(
            _("say why: a {decision} record needs a comment for the worker").format(
                decision=decision
            )
        )
    content = content_of(store, case_id, target, target_id)
    visit = store.entity(case_id, "visit", target_id) if target == "visit" else None
    if visit is not None and not visit.signed:
        raise FieldkitError(
            _("visit {target_id} is not signed yet; only signed visits are reviewed").format(
                target_id=target_id
            )
        )
    signed = store.entity(case_id, target, target_id) if target in SIGNED_TARGETS else None
    if signed is not None and not signed.signed:
        raise FieldkitError(
            _("{kind} {target_id} is not signed yet").format(
                kind=target.replace("_", " "), target_id=target_id
            )
        )
    moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    approval_id = f"ap-{changelog.uuid7()}"
    with store.transaction():
        store.record(
            case_id,
            "approval",
            approval_id,
            {
                "target": target,
                "target_id": target_id,
                "decision": decision,
                "comment": comment.strip(),
                "by": store.user,
                "at": moment,
                "content_hash": changelog.content_hash(content),
            },
        )
        if target == "safety_plan":
            # rule SA-2: the plan may be implemented once approved; rejected stays visible.
            state = {
                "approved": "approved",
                "confirmed": "approved",
                "rejected": "rejected",
                "disputed": "pending",
            }.get(decision)
            if state:
                store.record(
                    case_id,
                    "safety_plan",
                    target_id,
                    {"approval": state, "decided_by": store.user, "decided_at": moment},
                )
    return approval_id


def approve(store: Store, case_id: str, target: str, target_id: str, comment: str = "") -> str:
    """Approve exactly the content as it stands now."""
    return decide(store, case_id, target, target_id, "approved", comment)


def return_for_changes(
    store: Store, case_id: str, visit_id: str, comment: str, target: str = "visit"
) -> str:
    """Send a record back to the worker with what to correct: a visit is answered by an
    addendum, a service plan by a new version, a closure by a new closure."""
    return decide(store, case_id, target, visit_id, "returned", comment)


# --- the queue ------------------------------------------------------------------------


@dataclass
class QueueItem:
    """One thing waiting for the supervisor, with what the rules engine flags."""

    case_id: str
    target: str  # "safety_plan" or "visit"
    target_id: str
    family: str
    worker: str | None
    day: date
    title: str
    deadline: date | None = None
    flags: list[str] = field(default_factory=list)
    stale: bool = False
    last: str | None = None
    review: VisitReview | None = None
    """A visit's review state (returned and answered or not), for the words shown."""

    @property
    def state_words(self) -> str:
        """What an earlier decision left: "returned by …, awaiting the worker's addendum"."""
        if self.review is not None and self.review.decision is not None:
            return self.review.words()
        return _("approval stale: the record changed since") if self.stale else ""

    def to_json(self) -> dict[str, Any]:
        """For `fieldkit review --json`."""
        return {
            "case": self.case_id,
            "target": self.target,
            "id": self.target_id,
            "family": self.family,
            "worker": self.worker,
            "date": self.day.isoformat(),
            "title": self.title,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "flags": self.flags,
            "stale": self.stale,
            "last_decision": self.last,
            "addenda_since": self.review.addenda_since if self.review else 0,
        }


def visit_flags(
    case: Case,
    visit_fields: dict[str, Any],
    profile: PolicyProfile,
    received: datetime | None = None,
) -> list[str]:
    """What a supervisor should look at: children not seen, interviews and observations
    missing (VI-2, VI-3), a required unannounced visit that was announced (VI-4), late
    documentation, and times that do not add up (signed before it ended, synced late)."""
    # Only who was seen and the date are read here; the queue lists signed visits only.
    visit = visit_from_fields(visit_fields, str(visit_fields.get("visit_id", "")), signed=True)
    flags = []
    seen = visit.seen_ids()
    for child in case.children:
        if child.id not in seen:
            flags.append(_("{name} not seen").format(name=child.name))
    if isinstance(visit_fields.get("children"), dict):
        # a typed visit record: the checks the worker signed past, with their overrides

        record = record_from_stored(case.id, str(visit_fields.get("visit_id", "")), visit_fields)
        when = parse_date(str(visit_fields.get("signed_at") or "")[:10] or None) or visit.date
        for vc in visit_checks(case, record, profile, when):
            text = f"{vc.rule}: {vc.message}"
            if vc.override is not None:
                text += _(" — OVERRIDDEN: {override}").format(override=vc.override)
            if text not in flags:
                flags.append(text)
    else:
        for check in visit_gates(case, visit, profile) + visit_content_problems(
            case, visit, profile
        ):
            text = f"{check.rule}: {check.message}"
            if text not in flags:
                flags.append(text)
    signed_at = visit_fields.get("signed_at")
    days = profile.visit_documentation_working_days
    if signed_at and days:
        signed_day = signed_local_day(str(signed_at), profile)
        limit = profile.add_working_days(visit.date, days)
        if signed_day and signed_day > limit:
            flags.append(
                _("documented late: signed {signed_day}, due by {limit}").format(
                    signed_day=signed_day.isoformat(), limit=limit.isoformat()
                )
            )
    flags += evidence.time_flags(visit_fields, received, profile.sync_late_days)
    return flags


def signed_local_day(signed_at: str, profile: PolicyProfile) -> date | None:
    """The agency-zone day a record was signed: 22:50 in Toronto is that evening's day,
    not the next UTC day. A stamp without a zone is taken as UTC (how fieldkit writes it)."""
    try:
        moment = datetime.fromisoformat(signed_at.replace("Z", "+00:00"))
    except ValueError:
        return parse_date(signed_at[:10]) if len(signed_at) >= 10 else None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return profile.local_date(moment)


def review_queue(
    store: Store, profile: PolicyProfile, as_of: date, workers: set[str] | None = None
) -> list[QueueItem]:
    """Pending alternative safety plans first (SA-2 deadline), then signed visits not yet
    approved (or whose approval went stale), oldest first."""
    cases = {c.id: c for c in load_cases(store)}
    plans: list[QueueItem] = []
    visits: list[QueueItem] = []
    by_case: dict[str, list[EntityState]] = {}
    for ent in store.entities():
        by_case.setdefault(ent.case_id, []).append(ent)
    for case_id, entities in by_case.items():
        case = cases.get(case_id)
        if case is None or (workers is not None and case.worker not in workers):
            continue
        for ent in entities:
            if ent.entity == "safety_plan" and ent.fields.get("kind") == "alternative":
                if ent.fields.get("approval") not in ("pending", "phone-approved"):
                    continue
                created = parse_date(ent.fields.get("created")) or as_of
                # rule SA-2: documented by the next working day, approved before implemented.
                deadline = profile.add_working_days(
                    created, profile.safety_plan_documentation_working_days
                )
                phone = ent.fields.get("phone_approval_by")
                plans.append(
                    QueueItem(
                        case_id,
                        "safety_plan",
                        ent.entity_id,
                        case.family_name,
                        case.worker,
                        created,
                        _(
                            "alternative safety plan (phone approval by {who}: confirm or dispute)"
                        ).format(who=phone)
                        if phone
                        else _("alternative safety plan"),
                        deadline=deadline,
                        flags=[_("SA-2: not implemented until a supervisor approves")],
                    )
                )
            elif ent.entity in SIGNED_TARGETS and ent.signed:
                last = latest_decision(store, case_id, ent.entity, ent.entity_id)
                if last is not None and not last.stale and last.decision != "disputed":
                    continue  # approved, or sent back (answered by a new version)
                words = {"service_plan": _("service plan"), "closure": _("case closure")}
                field = "completed" if ent.entity == "service_plan" else "date"
                plans.append(
                    QueueItem(
                        case_id,
                        ent.entity,
                        ent.entity_id,
                        case.family_name,
                        case.worker,
                        parse_date(ent.fields.get(field)) or as_of,
                        words[ent.entity],
                        flags=[_("PL-4, PL-6: check goals, activities and the family's agreement")]
                        if ent.entity == "service_plan"
                        else [_("CL-1: check supports in place and the reason")],
                        stale=bool(last and last.stale),
                        last=last.decision if last else None,
                    )
                )
            elif ent.entity == "visit" and ent.signed:
                state = visit_review(store, case_id, ent.entity_id)
                last = state.decision
                if last is not None and last.decision == "approved" and not last.stale:
                    continue
                day = parse_date(ent.fields.get("date")) or as_of
                visits.append(
                    QueueItem(
                        case_id,
                        "visit",
                        ent.entity_id,
                        case.family_name,
                        case.worker,
                        day,
                        _("{kind} visit").format(kind=ent.fields.get("kind", "home")),
                        flags=(
                            [_("changed on another device after it was signed: check it")]
                            if ent.altered_after_signing
                            else []
                        )
                        + visit_flags(
                            case,
                            ent.fields,
                            profile,
                            evidence.received_at(store, (ent.signed or {}).get("op")),
                        ),
                        stale=bool(last and last.stale),
                        last=last.decision if last else None,
                        review=state,
                    )
                )
    plans.sort(key=lambda i: (i.deadline or i.day, i.case_id))
    visits.sort(key=lambda i: (i.day, i.case_id, i.target_id))
    return plans + visits


# --- supervision and conflicts ----------------------------------------------------------


def record_supervision(
    store: Store,
    case_id: str,
    day: date,
    decisions_text: str,
    visit_frequency_reviewed: bool,
    high_risk: bool | None = None,
) -> str:
    """Rule RV-1: a case reviewed in supervision; feeds the next-due date."""
    require_supervisor(store)
    if not decisions_text.strip():
        raise FieldkitError(_("write the decisions of the supervision session"))
    load_case(store, case_id)
    supervision_id = f"sup-{changelog.uuid7()}"
    with store.transaction():
        store.record(
            case_id,
            "supervision",
            supervision_id,
            {
                "date": day.isoformat(),
                "decisions": decisions_text.strip(),
                "visit_frequency_reviewed": visit_frequency_reviewed,
                "supervisor": store.user,
            },
        )
        if high_risk is not None:
            store.record(case_id, "case", case_id, {"high_risk": high_risk})
    return supervision_id


@dataclass(frozen=True)
class OpenConflict(changelog.FieldConflict):
    """Concurrent versions of one field of a case, for a person to choose between or combine."""

    case_id: str = ""


def open_conflicts(store: Store, case_id: str | None = None) -> list[OpenConflict]:
    """Every field with concurrent versions; safety-critical ones first."""
    found = [
        OpenConflict(c.entity, c.entity_id, c.field, c.critical, c.versions, case_id=e.case_id)
        for e in store.entities(case_id)
        for c in e.conflicts()
    ]
    return sorted(found, key=lambda c: (not c.critical, c.case_id, c.entity, c.entity_id))


def resolve_conflict(
    store: Store, case_id: str, entity: str, entity_id: str, field_name: str, value: Any
) -> changelog.Op:
    """A person's choice (one version, or a combination): an op whose base names every
    version it replaces, so every device folds to the one value."""
    current = store.entity(case_id, entity, entity_id)
    if current is None or len(current.state["heads"].get(field_name, [])) < 2:
        raise FieldkitError(
            _("{entity} {entity_id} field {field_name} has no open conflict").format(
                entity=entity, entity_id=entity_id, field_name=field_name
            )
        )
    return store.record(case_id, entity, entity_id, {field_name: value})
