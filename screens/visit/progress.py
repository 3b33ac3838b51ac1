"""Step 5: progress on each goal and activity of the service plan (PL-4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldkit.screens.visit.step import VisitStep
from textual.app import ComposeResult
from textual.widgets import Input, Label, Static

from fieldkit.i18n import _
from fieldkit.text import safe_content


class ProgressStep(VisitStep):
    """One line of progress per goal and per activity."""

    CSS_PATH = ["step.tcss", "progress.tcss"]

    def compose_body(self) -> ComposeResult:
        """Goals first, each followed by its activities."""
        plan = self.session.case.service_plan
        progress = self.record.progress
        if plan is None or not (plan.goals or plan.activities):
            yield Static(
                _(
                    "This case has no service plan goals recorded yet (PL-2, PL-4). "
                    "Note anything about the plan in the visit notes."
                ),
                id="no-plan",
            )
            return
        by_goal = {o.id: o.goal for o in plan.objectives}
        for n, goal in enumerate(plan.goals, 1):
            yield Label(
                _("Goal {n}: {text}").format(n=n, text=safe_content(goal.text)), classes="goal"
            )
            yield self.bind(
                Input(
                    progress.get(goal.id, ""),
                    id=f"progress-{goal.id}",
                    placeholder=_("progress on this goal"),
                ),
                self._setter(goal.id),
            )
            for activity in plan.activities:
                if by_goal.get(activity.objective) != goal.id:
                    continue
                who = f" — {activity.who}" if activity.who else ""
                yield Label(
                    _("  Activity: {text}").format(text=safe_content(activity.text))
                    + safe_content(who),
                    classes="activity",
                )
                yield self.bind(
                    Input(
                        progress.get(activity.id, ""),
                        id=f"progress-{activity.id}",
                        placeholder=_("progress on this activity"),
                        classes="activity-input",
                    ),
                    self._setter(activity.id),
                )

    def _setter(self, item_id: str) -> Callable[[Any], None]:
        """Rule PL-4: progress is keyed by the goal's or activity's id."""

        def put(value: Any) -> None:
            self.record.progress[item_id] = str(value)

        return put
