"""The ongoing-services case, in the practice's own words: plain dataclasses, no I/O.

The store keeps each of these as an *entity* (a row folded from signed ops); `Case.from_entities`
assembles the case the rules engine and the screens read. Rule ids cite `PRACTICE.md`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from fieldkit.changelog import SAFETY_CRITICAL_FIELDS as SAFETY_CRITICAL_FIELDS

Day = date  # a field named `date` shadows the type inside a class body


class CaseKind(StrEnum):
    """Rule CT-1: the three kinds of ongoing case."""

    IN_HOME_CPS = "in-home-cps"
    OUT_OF_HOME_CPS = "out-of-home-cps"
    CHILD_WELFARE = "child-welfare"


class Track(StrEnum):
    """Rule CT-3: the three planning tracks."""

    HOME = "home"
    REUNIFICATION = "reunification"
    PERMANENCY = "permanency"


class ApprovalState(StrEnum):
    """Where a plan or visit stands with the supervisor (SA-2, supervisor review)."""

    PENDING = "pending"
    PHONE_APPROVED = "phone-approved"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"


# Entity kinds as stored in the change log. Names are the practice's words.
ENTITY_KINDS = (
    "case",
    "person",
    "threat",
    "safety_plan",
    "assessment",
    "service_plan",
    "goal",
    "objective",
    "activity",
    "visit",
    "approval",
    "supervision",
    "review",
    "event",
    "closure",
    "override",
    "addendum",
)

EVENT_KINDS = (
    "placement-change",
    "new-referral",
    "new-information",
    "removal",
    "reunification",
    "absent-parent-located",
    "treatment-completed",
    "became-cps",
)
"""Rules PL-7, EV-1, EV-2, RV-3, CT-2, FED-1: what can happen on a case and move its dates."""

REVIEW_KINDS = ("formal", "plan-update")
"""Rules RV-2, RV-5 (formal review) and PL-7 (a plan update after an event)."""


def parse_date(value: Any) -> date | None:
    """An ISO date from a stored field; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class Placement:
    """Rule SA-4: where a child lives out of home, since when."""

    setting: str
    since: date | None
    address: str | None = None


@dataclass(frozen=True)
class Person:
    """A child or caregiver on the case; children carry what the visit rules need."""

    id: str
    role: str
    name: str
    dob: date | None = None
    verbal: bool = True
    victim: bool = False
    placement: Placement | None = None
    relationship: str | None = None
    phone: str | None = None

    @property
    def is_child(self) -> bool:
        """Children are seen, interviewed or observed at visits (VI-2, VI-3)."""
        return self.role == "child"

    def age_on(self, day: date) -> int | None:
        """Whole years of age on `day`, or None without a date of birth."""
        if self.dob is None:
            return None
        years = day.year - self.dob.year
        if (day.month, day.day) < (self.dob.month, self.dob.day):
            years -= 1
        return years


@dataclass(frozen=True)
class SafetyThreat:
    """Rule SA-1: an identified threat that a safety plan must control."""

    id: str
    text: str
    active: bool = True
    identified: date | None = None


@dataclass(frozen=True)
class Intervention:
    """Rule SA-1: what controls one threat, and who carries it out."""

    threat: str
    text: str
    who: str | None = None


@dataclass(frozen=True)
class SafetyPlan:
    """Rules SA-1, SA-2, SA-5: the plan in force, or an alternative awaiting approval."""

    id: str
    kind: str = "initial"  # "initial" or "alternative" (SA-2)
    agreed: date | None = None
    interventions: tuple[Intervention, ...] = ()
    approval: ApprovalState = ApprovalState.APPROVED
    created: date | None = None
    phone_approval_by: str | None = None
    phone_approval_at: str | None = None
    shared_with_family: bool | None = None
    active: bool = True

    @property
    def pending_approval(self) -> bool:
        """SA-2: an alternative plan may not be implemented before a supervisor approves it."""
        return self.kind == "alternative" and self.approval in (
            ApprovalState.PENDING,
            ApprovalState.PHONE_APPROVED,
        )


@dataclass(frozen=True)
class Assessment:
    """Rule PL-1: the strengths-and-needs assessment, done before the service plan."""

    id: str
    completed: date | None
    strengths: str = ""
    needs: str = ""
    discussed_with_family: bool = False


@dataclass(frozen=True)
class Activity:
    """Rule PL-4: an intervention activity with WHO, WHERE, HOW, WHEN and its measure."""

    id: str
    objective: str
    text: str
    who: str = ""
    where: str = ""
    how: str = ""
    when: str = ""
    measure: str = ""
    progress: str = ""


@dataclass(frozen=True)
class Objective:
    """Rule PL-4: a concrete, observable step toward a goal."""

    id: str
    goal: str
    text: str


@dataclass(frozen=True)
class Goal:
    """Rule PL-4: the broad direction the family is working toward."""

    id: str
    text: str
    progress: str = ""


@dataclass(frozen=True)
class ServicePlan:
    """Rules PL-2, PL-4, PL-6: the plan, its goals and the family's agreement."""

    id: str
    completed: date | None
    family_agreement: str | None = None
    approval: str | None = None  # supervisor's latest decision (approved, returned, ...)
    goals: tuple[Goal, ...] = ()
    objectives: tuple[Objective, ...] = ()
    activities: tuple[Activity, ...] = ()


@dataclass(frozen=True)
class ChildContact:
    """One child at one visit: seen, interviewed privately (VI-2) or observed (VI-3)."""

    person: str
    seen: bool = True
    private_interview: bool = False
    observed: bool = False
    seen_alone: bool | None = None
    where: str = ""
    could_be_overheard: bool | None = None
    said: str = ""
    interaction: str = ""
    condition: str = ""
    environment: str = ""


@dataclass(frozen=True)
class Visit:
    """Rules VI-1..4: a home visit and its per-child contacts."""

    id: str
    date: date
    announced: bool = True
    kind: str = "home"
    contacts: tuple[ChildContact, ...] = ()
    present: tuple[str, ...] = ()
    location: str = ""
    safety_changed: bool | None = None
    notes: str = ""
    next_steps: str = ""
    next_visit: Day | None = None
    signed: bool = False
    signed_at: str | None = None
    author: str | None = None
    outcome: str = "completed"
    """Rule VI-1: "completed", or an attempt ("no one home", "refused entry"): counts for none."""

    def seen_ids(self) -> set[str]:
        """Ids of the children seen at this visit."""
        return {c.person for c in self.contacts if c.seen}

    def interviewed_ids(self) -> set[str]:
        """VI-2: children interviewed privately."""
        return {c.person for c in self.contacts if c.private_interview}

    def observed_ids(self) -> set[str]:
        """VI-3: children directly observed."""
        return {c.person for c in self.contacts if c.observed}


@dataclass(frozen=True)
class Supervision:
    """Rule RV-1: a case reviewed in supervision."""

    id: str
    date: date
    decisions: str = ""
    visit_frequency_reviewed: bool = False
    supervisor: str | None = None


@dataclass(frozen=True)
class Review:
    """Rules RV-2, RV-5, PL-7: a formal case review or plan update."""

    id: str
    date: date
    kind: str = "formal"


@dataclass(frozen=True)
class CaseEvent:
    """Rules EV-1, EV-2, PL-7, CT-2: something that happened and may move a deadline."""

    id: str
    kind: str  # new-referral, new-information, placement-change, absent-parent-located,
    # removal, treatment-completed, became-cps, reunification
    date: date
    note: str = ""


@dataclass(frozen=True)
class Closure:
    """Rule CL-1: safe case closure and its end date."""

    date: date
    reason: str = ""


@dataclass(frozen=True)
class Unannounced:
    """Rule VI-4: whether unannounced visits are required, and why."""

    required: bool = False
    reason: str = ""


@dataclass
class Case:
    """An ongoing-services case as the rules engine and the screens see it."""

    id: str
    kind: CaseKind
    opened: date
    track: Track | None = None
    worker: str | None = None
    supervisor: str | None = None
    address: str = ""
    unannounced: Unannounced = field(default_factory=Unannounced)
    people: list[Person] = field(default_factory=list)
    threats: list[SafetyThreat] = field(default_factory=list)
    safety_plans: list[SafetyPlan] = field(default_factory=list)
    assessment_completed: date | None = None
    service_plan_completed: date | None = None
    last_formal_review: date | None = None
    last_supervision: date | None = None
    removal_date: date | None = None
    high_risk: bool = False
    visits: list[Visit] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    service_plan: ServicePlan | None = None
    assessment: Assessment | None = None
    closure: Closure | None = None
    needs_resolution: int = 0
    service_plan_dates: list[date] = field(default_factory=list)
    """Rules PL-2, PL-7, FED-1: when each version of the service plan was completed."""

    @property
    def children(self) -> list[Person]:
        """The children on the case."""
        return [p for p in self.people if p.is_child]

    @property
    def caregivers(self) -> list[Person]:
        """Everyone on the case who is not a child."""
        return [p for p in self.people if not p.is_child]

    @property
    def family_name(self) -> str:
        """A short label for lists: the first caregiver's or child's name."""
        for person in self.caregivers + self.children:
            return person.name
        return self.id

    def last_visit(self) -> Visit | None:
        """The most recent visit, signed or imported."""
        return max(self.visits, key=lambda v: v.date, default=None)

    def pending_safety_plans(self) -> list[SafetyPlan]:
        """SA-2: alternative plans that still wait for a supervisor."""
        return [p for p in self.safety_plans if p.pending_approval]
