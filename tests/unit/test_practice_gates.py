"""Gate rules (PL-1, SA-2, VI-2, VI-3, VI-4), overrides, and content rules (PL-4, PL-6, RV-6)."""

from __future__ import annotations

from datetime import date

from fieldkit.domain import (
    Activity,
    ApprovalState,
    Assessment,
    Case,
    CaseKind,
    ChildContact,
    Goal,
    Objective,
    Person,
    SafetyPlan,
    ServicePlan,
    Supervision,
    Unannounced,
    Visit,
)
from fieldkit.practice import (
    GateCheck,
    Override,
    apply_overrides,
    blocking,
    load_profile,
    review_content_problems,
    safety_plan_gate,
    service_plan_content_problems,
    service_plan_gate,
    visit_content_problems,
    visit_gates,
)

ON = load_profile("ontario-std7")

MAYA = Person("p1", "child", "Maya", verbal=False, victim=True)
LEO = Person("p2", "child", "Leo", verbal=True, victim=True)
SIS = Person("p4", "child", "Ines", verbal=True, victim=False)
ANA = Person("p3", "caregiver", "Ana")


def _case(**fields: object) -> Case:
    return Case(
        id="C-1",
        kind=CaseKind.IN_HOME_CPS,
        opened=date(2026, 9, 1),
        people=[MAYA, LEO, SIS, ANA],
        **fields,  # type: ignore[arg-type]
    )


def _good_visit(**fields: object) -> Visit:
    base: dict[str, object] = {
        "id": "v1",
        "date": date(2026, 10, 3),
        "contacts": (
            ChildContact("p1", observed=True, interaction="reaches for mother", condition="well"),
            ChildContact("p2", private_interview=True, seen_alone=True, where="bedroom"),
        ),
        "notes": "Home tidy; grandmother present.",
        "next_visit": date(2026, 10, 10),
        "safety_changed": False,
    }
    base.update(fields)
    return Visit(**base)  # type: ignore[arg-type]


def test_vi2_vi3_visit_gates_pass_when_each_child_seen_properly() -> None:
    assert visit_gates(_case(), _good_visit(), ON) == []


def test_vi2_verbal_victim_not_interviewed_blocks() -> None:
    visit = _good_visit(contacts=(ChildContact("p1", observed=True), ChildContact("p2")))
    checks = visit_gates(_case(), visit, ON)
    assert checks == [
        GateCheck(
            "VI-2", "Leo (a child victim) was not interviewed privately at this visit", True, "p2"
        )
    ]


def test_vi3_non_verbal_child_not_observed_blocks() -> None:
    visit = _good_visit(contacts=(ChildContact("p2", private_interview=True),))
    (check,) = visit_gates(_case(), visit, ON)
    assert (check.rule, check.subject, check.blocking) == ("VI-3", "p1", True)


def test_vi4_announced_visit_when_unannounced_required_blocks() -> None:
    """Rule VI-4: unannounced visits "are required"; both shipped profiles block (override
    with a reason). Was a warning before the honest visit record."""
    case = _case(unannounced=Unannounced(True, "safety plan not followed"))
    (check,) = visit_gates(case, _good_visit(announced=True), ON)
    assert (check.rule, check.blocking) == ("VI-4", True)
    assert "safety plan not followed" in check.message
    assert visit_gates(case, _good_visit(announced=False), ON) == []


def test_override_with_reason_satisfies_gate_and_empty_reason_does_not() -> None:
    visit = _good_visit(contacts=(ChildContact("p1", observed=True), ChildContact("p2")))
    checks = visit_gates(_case(), visit, ON)
    empty = Override("VI-2", "  ", "jsmith", "2026-10-03T15:00:00-04:00", "p2")
    assert apply_overrides(checks, [empty]) == checks
    reason = Override(
        "VI-2",
        "Leo at school camp; interviewed there 10-05",
        "jsmith",
        "2026-10-03T15:00:00-04:00",
        "p2",
    )
    assert apply_overrides(checks, [reason]) == []
    other_child = Override("VI-2", "reason", "jsmith", "2026-10-03", "p9")
    assert blocking(apply_overrides(checks, [other_child])) == checks


def test_pl1_assessment_before_service_plan() -> None:
    (check,) = service_plan_gate(_case())
    assert (check.rule, check.blocking) == ("PL-1", True)
    assert service_plan_gate(_case(assessment_completed=date(2026, 9, 20))) == []
    not_discussed = _case(assessment=Assessment("a1", date(2026, 9, 20)))
    (warn,) = service_plan_gate(not_discussed, ON)
    assert (warn.rule, warn.blocking) == ("PL-1", False)


def test_sa2_alternative_plan_needs_supervisor_approval_before_implementation() -> None:
    pending = SafetyPlan(
        "sp2", kind="alternative", approval=ApprovalState.PENDING, created=date(2026, 10, 9)
    )
    (check,) = safety_plan_gate(pending)
    assert (check.rule, check.blocking, check.subject) == ("SA-2", True, "sp2")
    phoned = SafetyPlan(
        "sp2",
        kind="alternative",
        approval=ApprovalState.PHONE_APPROVED,
        created=date(2026, 10, 9),
        phone_approval_by="akhan",
    )
    (note,) = safety_plan_gate(phoned, ON)
    assert not note.blocking
    assert note.message == "approved by phone by akhan; document the approval by 2026-10-13"
    assert safety_plan_gate(SafetyPlan("sp1")) == []  # the initial plan is not gated


def test_visit_content_complete_record_has_no_problems() -> None:
    assert visit_content_problems(_case(), _good_visit(), ON) == []


def test_visit_content_problems_name_what_is_missing() -> None:
    visit = _good_visit(
        contacts=(ChildContact("p1", observed=True), ChildContact("p2", private_interview=True)),
        notes=" ",
        next_visit=None,
        safety_changed=None,
    )
    plan = ServicePlan("sp", date(2026, 9, 25), goals=(Goal("g1", "Safe evenings"),))
    problems = visit_content_problems(_case(service_plan=plan), visit, ON)
    assert [(p.rule, p.message) for p in problems] == [
        ("VI-1", "write the visit notes"),
        ("VI-1", "book the next visit date"),
        ("SA-3", "record whether safety has changed since the last visit"),
        ("VI-3", "describe how Maya interacts with the caregiver"),
        ("VI-3", "describe Maya's condition"),
        ("VI-2", "record whether Leo was seen alone"),
        ("VI-2", "record where Leo was interviewed"),
        ("PL-4", 'note progress on the goal "Safe evenings"'),
    ]
    assert all(p.blocking for p in problems)


def test_pl4_pl6_service_plan_content() -> None:
    plan = ServicePlan(
        "sp",
        None,
        goals=(Goal("g1", "Safe evenings"),),
        objectives=(Objective("o1", "g1", "Sober care every evening"),),
        activities=(
            Activity(
                "a1",
                "o1",
                "Attend AA",
                who="Ana",
                where="Church hall",
                how="Weekly meeting",
                when="Tuesdays",
                measure="Attendance slip",
            ),
        ),
        family_agreement="agreed",
    )
    assert service_plan_content_problems(plan, ON) == []
    thin = ServicePlan(
        "sp",
        None,
        goals=(Goal("g1", "Safe evenings"),),
        objectives=(Objective("o1", "g1", "Sober care"),),
        activities=(Activity("a1", "o1", "Attend AA", who="Ana"),),
    )
    assert [(p.rule, p.message) for p in service_plan_content_problems(thin, ON)] == [
        ("PL-4", 'activity "Attend AA" is missing WHERE, HOW, WHEN, MEASURE'),
        ("PL-6", "record the family's agreement or disagreement"),
    ]


def test_rv6_review_record_requirements() -> None:
    bare = _case()
    assert [p.message for p in review_content_problems(bare, ON, date(2027, 3, 1))] == [
        "the case record has no completed strengths and needs assessment (PL-1)",
        "the case record has no completed service plan (PL-2)",
        "the case record has no recorded visit (VI-1)",
        "the case record has no supervision review (RV-1)",
    ]
    full = _case(
        assessment_completed=date(2026, 9, 20),
        service_plan_completed=date(2026, 9, 25),
        visits=[_good_visit()],
        supervisions=[Supervision("s1", date(2026, 10, 15))],
    )
    assert review_content_problems(full, ON, date(2027, 3, 1)) == []
