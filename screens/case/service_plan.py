"""Service plan: goals → objectives → activities (PL-4), participants (PL-3), the family's
agreement (PL-6); blocked before the assessment (PL-1). It goes to the supervisor's queue.

The goals are written as an outline, one item a line:

    - Children are safe every evening                       (a goal)
      - No alcohol while caring for the children            (an objective)
        - Outpatient program; who: Ana; where: clinic; how: group; when: weekly; measure: letters
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldkit.screens.case.form import CaseFormScreen, FormError, parse_day
from textual.app import ComposeResult
from textual.widgets import Input, Label, TextArea

from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, casework

ACTIVITY_KEYS = ("who", "where", "how", "when", "measure")


def parse_outline(text: str) -> list[dict[str, Any]]:
    """The outline as the plan form's goals; FormError names the line that does not fit."""
    goals: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if not line.startswith("- "):
            raise FormError(f"goals line {number}: start each item with '- '")
        item = line[2:].strip()
        if indent < 2:
            goals.append({"text": item, "objectives": []})
        elif indent < 4:
            if not goals:
                raise FormError(f"goals line {number}: an objective needs a goal above it")
            goals[-1]["objectives"].append({"text": item, "activities": []})
        else:
            if not goals or not goals[-1]["objectives"]:
                raise FormError(f"goals line {number}: an activity needs an objective above it")
            parts = [p.strip() for p in item.split(";")]
            activity: dict[str, Any] = {"text": parts[0]}
            for part in parts[1:]:
                key, _, value = part.partition(":")
                if key.strip().lower() not in ACTIVITY_KEYS:
                    raise FormError(
                        f"goals line {number}: {key.strip()!r} is not one of "
                        + ", ".join(ACTIVITY_KEYS)
                    )
                activity[key.strip().lower()] = value.strip()
            goals[-1]["objectives"][-1]["activities"].append(activity)
    return goals


class ServicePlanScreen(CaseFormScreen):
    """One plan version; ctrl+s checks PL-1, PL-4, PL-6 and signs it."""

    CSS_PATH = "service_plan.tcss"
    AUTO_FOCUS = "#sp-goals"
    TITLE_WORDS = "Service plan (PL-1..PL-6)"

    def fields(self) -> ComposeResult:
        yield Label("Completed (YYYY-MM-DD)")
        yield Input(self.fk.today.isoformat(), id="sp-date")
        yield Label("Who took part, comma-separated (PL-3)")
        yield Input(id="sp-participants")
        yield Label(
            "Goals → objectives → activities, an outline (PL-4): '- goal', '  - objective', "
            "'    - activity; who: …; where: …; how: …; when: …; measure: …'"
        )
        yield TextArea(id="sp-goals")
        yield Label("The family's agreement or disagreement, in their words (PL-6)")
        yield Input(id="sp-agreement")

    def submission(self) -> Callable[[Store, PolicyProfile], str]:
        day = parse_day(self.query_one("#sp-date", Input).value, "completed")
        participants = [
            p.strip() for p in self.query_one("#sp-participants", Input).value.split(",")
        ]
        form = casework.PlanForm.from_form(
            day,
            {
                "family_agreement": self.query_one("#sp-agreement", Input).value,
                "participants": [p for p in participants if p],
                "goals": parse_outline(self.query_one("#sp-goals", TextArea).text),
            },
        )
        case_id = self.case_id

        def job(store: Store, policy: PolicyProfile) -> str:
            plan_id = casework.record_service_plan(store, case_id, form, policy)
            return f"Service plan {plan_id} signed; waiting for the supervisor."

        return job
