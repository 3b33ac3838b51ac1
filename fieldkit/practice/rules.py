"""Every rule id in PRACTICE.md, with what fieldkit does with it, so coverage can be audited.

The catalogue alone, below the profile (which checks its rule ids against it); the
profile's numbers per rule, in words, are `rule_table.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldkit.i18n import N_

KINDS = (N_("deadline"), N_("gate"), N_("content"), N_("recorded"))


@dataclass(frozen=True)
class Rule:
    """One PRACTICE.md rule: how the engine computes it, or why it is recorded, not computed."""

    id: str
    kinds: tuple[str, ...]
    title: str
    how: str

    @property
    def kind(self) -> str:
        """The rule's kinds in words, e.g. "deadline+gate"."""
        return "+".join(self.kinds)


def _rule(rule_id: str, kinds: str, title: str, how: str) -> tuple[str, Rule]:
    """Registry entry builder; `kinds` is "deadline+gate" style."""
    return rule_id, Rule(rule_id, tuple(kinds.split("+")), title, how)


RULES: dict[str, Rule] = dict(
    [
        _rule(
            "CT-1",
            "recorded",
            N_("Case kinds: in-home CPS, out-of-home CPS, child-welfare services"),
            N_(
                "Recorded, not computed: the case's kind is set at transfer; out-of-home cases and "
                "children with a placement bring in FED-1 and RV-5."
            ),
        ),
        _rule(
            "CT-2",
            "recorded",
            N_("A child-welfare case becomes CPS when a child becomes unsafe"),
            N_(
                "Recorded, not computed: a became-cps event is listed as done with its date and "
                "reason; whether a child is unsafe is the worker's judgement."
            ),
        ),
        _rule(
            "CT-3",
            "recorded",
            N_("Three planning tracks, each with default goals"),
            N_(
                "Recorded, not computed: the track is a case field; goals are chosen by the family "
                "and worker."
            ),
        ),
        _rule(
            "CT-4",
            "recorded",
            N_("The casework loop: relationship → assessment → goals → activities → reassessment"),
            N_(
                "Recorded, not computed: the loop is the order of the screens; its checkpoints are "
                "PL-1, PL-2 and RV-2."
            ),
        ),
        _rule(
            "SA-1",
            "recorded",
            N_("A safety plan controls each identified threat; sufficient, feasible, sustainable"),
            N_(
                "Recorded, not computed: sufficiency is a judgement; the plan links each "
                "intervention to its threat."
            ),
        ),
        _rule(
            "SA-2",
            "deadline+gate",
            N_(
                "Alternative safety plan: supervisor approval before implementation, documented "
                "by the next working day"
            ),
            N_(
                "Gate: an alternative plan waiting for approval cannot be implemented. Deadline: "
                "approval is due the day the plan is made; documentation by the working day "
                "after (weekends, the jurisdiction's public holidays and agency closures skipped)."
            ),
        ),
        _rule(
            "SA-3",
            "recorded",
            N_("A new safety assessment whenever circumstances change"),
            N_(
                "Recorded, not computed: a change of circumstances is the worker's judgement; each "
                "visit records whether safety changed."
            ),
        ),
        _rule(
            "SA-4",
            "recorded",
            N_("Out-of-home placement is confirmed safe; continues until threats are eliminated"),
            N_("Recorded, not computed: the placement and its start date are recorded per child."),
        ),
        _rule(
            "SA-5",
            "recorded",
            N_("The safety plan is shared with the family for review and agreement"),
            N_("Recorded, not computed: the plan records whether it was shared with the family."),
        ),
        _rule(
            "SA-6",
            "recorded",
            N_("A child can be removed at any time; a case can close when the child is safe"),
            N_(
                "Recorded, not computed: a removal event starts FED-1; "
                "a closure ends every deadline."
            ),
        ),
        _rule(
            "PL-1",
            "gate",
            N_("Strengths and needs assessment before the service plan, discussed with the family"),
            N_(
                "Gate: a service plan cannot be signed before the assessment is completed; warns "
                "when its results were not discussed with the family."
            ),
        ),
        _rule(
            "PL-2",
            "deadline",
            N_("Initial service plan within N days of the case opening"),
            N_("Deadline: case opened + the profile's days; done when the plan is completed."),
        ),
        _rule(
            "PL-3",
            "recorded",
            N_("Plan developed with the family in a family-centred conference"),
            N_("Recorded, not computed: who took part is a matter for the plan's notes."),
        ),
        _rule(
            "PL-4",
            "content",
            N_("Measurable goals, objectives and activities with WHO, WHERE, HOW, WHEN, measure"),
            N_(
                "Content: a plan cannot be signed without the profile's number of goals and each "
                "activity's required fields; visits note progress on each goal."
            ),
        ),
        _rule(
            "PL-5",
            "recorded",
            N_(
                "Plans build on strengths, involve absent parents and relatives, "
                "accessible services"
            ),
            N_("Recorded, not computed: a matter of the plan's substance, judged in supervision."),
        ),
        _rule(
            "PL-6",
            "content",
            N_("The family's agreement or disagreement is recorded"),
            N_("Content: a plan cannot be signed without the family's agreement or disagreement."),
        ),
        _rule(
            "PL-7",
            "deadline",
            N_("Plan updated at least every 6 months and after significant events"),
            N_(
                "Deadline: the plan review is brought forward to the profile's days after a "
                "placement change, located absent parent or completed treatment, if sooner than "
                "the periodic review; done when a review or plan update is dated on or after it."
            ),
        ),
        _rule(
            "FED-1",
            "deadline+content",
            N_("Case plan for a child in foster care within 60 days of removal"),
            N_(
                "Deadline: removal date (case field or latest removal event) + the profile's days; "
                "done when a plan or review is dated on or after the removal. The education and "
                "health records it must hold are recorded, not computed."
            ),
        ),
        _rule(
            "VI-1",
            "deadline",
            N_("Home visits at least once per month"),
            N_(
                "Deadline: last home visit (or case opened) + the profile's interval, counted in "
                "the agency's time zone."
            ),
        ),
        _rule(
            "VI-2",
            "gate+content",
            N_("Each verbal child victim interviewed privately"),
            N_(
                "Gate at each visit: each verbal child victim is interviewed privately, with seen "
                "alone and where recorded."
            ),
        ),
        _rule(
            "VI-3",
            "gate+content",
            N_("Each non-verbal child directly observed at home, with the caregiver"),
            N_(
                "Gate at each visit: each non-verbal child is observed, with interaction and "
                "condition recorded."
            ),
        ),
        _rule(
            "VI-4",
            "gate",
            N_("Unannounced visits where the profile's circumstances apply"),
            N_(
                "Gate: warns when a case requires unannounced visits and the visit was announced; "
                "the due visit says it must be unannounced."
            ),
        ),
        _rule(
            "VI-5",
            "deadline",
            N_("Most intense contact in the first month of ongoing service"),
            N_(
                "Deadline: in the profile's first-month window after the case opened, visits are "
                "due every first-month interval instead of monthly."
            ),
        ),
        _rule(
            "VI-6",
            "recorded",
            N_("Level of involvement depends on needs, risk, court orders and progress"),
            N_("Recorded, not computed: a judgement; marking a case high risk shortens RV-1."),
        ),
        _rule(
            "RV-1",
            "deadline",
            N_("Case reviewed in supervision every 6 weeks; higher-risk cases more often"),
            N_(
                "Deadline: last supervision (or case opened) + the profile's interval, or the "
                "higher-risk interval when the case is marked high risk."
            ),
        ),
        _rule(
            "RV-2",
            "deadline",
            N_("Formal case review every 6 months after the initial service plan"),
            N_(
                "Deadline: last formal review (or the service plan's completion) + the profile's "
                "interval."
            ),
        ),
        _rule(
            "RV-3",
            "deadline",
            N_("Plan reviewed when reunification tools are done and the child is reunited"),
            N_(
                "Deadline: a reunification event brings the plan review forward "
                "by the profile's days."
            ),
        ),
        _rule(
            "RV-4",
            "recorded",
            N_("Concurrent planning at each review after an out-of-home placement"),
            N_(
                "Recorded, not computed: the prognosis for reunification is a judgement recorded "
                "at the review; the review date itself is RV-2/RV-5."
            ),
        ),
        _rule(
            "RV-5",
            "deadline",
            N_("Permanency goals for a child in care reviewed every 6 months"),
            N_(
                "Deadline: for a child in care, last formal review (or removal) + the profile's "
                "review interval."
            ),
        ),
        _rule(
            "RV-6",
            "content",
            N_("At review or termination the case record holds the required documentation"),
            N_(
                "Content: the profile lists what must be on record (assessment, service plan, a "
                "visit, a supervision ...) before a review or closure is signed."
            ),
        ),
        _rule(
            "EV-1",
            "deadline",
            N_("A new referral on an open case is recorded and the plan enhanced"),
            N_(
                "Deadline: a new-referral event brings the plan review forward by the profile's "
                "days; the intake or investigation itself is outside fieldkit."
            ),
        ),
        _rule(
            "EV-2",
            "recorded",
            N_("New information on a known incident is integrated at the next formal review"),
            N_(
                "Recorded, not computed: it moves no date; it is named in the next review's reason."
            ),
        ),
        _rule(
            "CL-1",
            "recorded",
            N_("Safe case closure with goals met and supports in place; end date recorded"),
            N_(
                "Recorded, not computed: a closed case has no due items after its end date; "
                "RV-6 applies at termination."
            ),
        ),
    ]
)
