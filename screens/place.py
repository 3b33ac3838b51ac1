"""Where the worker was: the screen stack as ids only, so a lock can drop every decrypted
screen and the unlock can rebuild the same stack (case, visit step, record, review)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.supervisor.conflicts import ConflictsScreen
from fieldkit.screens.supervisor.record_review import RecordReviewScreen
from fieldkit.screens.supervisor.supervision import SupervisionScreen
from fieldkit.screens.supervisor.team import TeamScreen
from fieldkit.screens.visit.record import VisitRecordScreen
from fieldkit.screens.visit.step import VisitStep

if TYPE_CHECKING:
    from textual.screen import Screen

Place = dict[str, str]
"""One screen of the stack in clear ids: {"screen": "case", "case_id": "C-1"}."""


def place_of(screen: Screen[object]) -> Place | None:
    """The screen's place, if it has one (dialogs and help have none: they are not kept)."""

    if isinstance(screen, VisitStep):
        return {
            "screen": "visit",
            "case_id": screen.session.case.id,
            "visit_id": str(screen.session.draft.get("visit_id", "")),
        }
    if isinstance(screen, CaseScreen):
        return {"screen": "case", "case_id": screen.case_id}
    if isinstance(screen, VisitRecordScreen):
        return {"screen": "record", "case_id": screen.case.id, "visit_id": screen.visit_id}
    if isinstance(screen, DashboardScreen):
        return {"screen": "caseload"}
    if isinstance(screen, TeamScreen):
        return {"screen": "team"}
    if isinstance(screen, ConflictsScreen):
        return {"screen": "conflicts"}
    if isinstance(screen, SupervisionScreen):
        return {"screen": "supervision", "case_id": screen.case_id}
    if isinstance(screen, RecordReviewScreen):
        item = screen.item
        return {
            "screen": "review",
            "case_id": item.case_id,
            "target": item.target,
            "target_id": item.target_id,
        }
    return None


def places_of(stack: list[Screen[object]]) -> list[Place]:
    """The places above the mode's first screen, bottom first; stops at the first without."""
    places: list[Place] = []
    for screen in stack[1:]:
        place = place_of(screen)
        if place is None:
            break
        places.append(place)
    return places


def screen_for(place: Place) -> Screen[None] | None:
    """A screen that needs nothing but ids (a case, a team view); None for the others."""

    kind = place.get("screen")
    if kind == "caseload":
        return DashboardScreen()
    if kind == "case":
        return CaseScreen(place["case_id"])
    if kind == "team":
        return TeamScreen()
    if kind == "conflicts":
        return ConflictsScreen()
    if kind == "supervision":
        return SupervisionScreen(place["case_id"])
    return None
