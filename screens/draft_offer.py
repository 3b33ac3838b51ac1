"""The unfinished-visit offer: after a crash or a closed lid, the draft is waiting."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from textual import _time, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from fieldkit.i18n import N_, _
from fieldkit.labels import step_label
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp
    from textual import events

    from fieldkit.domain import Case

DRAFT_WAITING = N_("An unfinished visit is waiting — F4 to resume.")
"""Said when the offer does not stay in front of a worker already typing."""


def _saved_at(updated: str) -> str:
    try:
        return datetime.fromisoformat(updated).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return updated


class DraftOfferScreen(ModalScreen[tuple[str, dict[str, Any]] | None]):
    """Enter resumes the highlighted visit, x discards it (asks again), Escape is later."""

    HELP_TITLE = N_("Unfinished visits")
    CSS_PATH = "draft_offer.tcss"
    AUTO_FOCUS = "#draft-list"
    BINDINGS = [
        Binding("escape", "later", N_("Later")),
        Binding("x", "discard", N_("Discard…")),
    ]

    def __init__(
        self,
        drafts: list[dict[str, Any]],
        cases: dict[str, Case],
        unbidden: bool = False,
        hold: int | None = None,
    ) -> None:
        """`unbidden`: offered by itself as the caseload appears (not by F4), so a key typed
        before it could be read is not an answer to it (`typed_before_seen`). `hold`: the
        keys held for it (F4 and Enter typed at once), handed over once its list has focus."""
        super().__init__()
        self.drafts = drafts
        self.cases = cases
        self._confirm: int | None = None
        # Textual stamps each key with `_time.get_time()` when the terminal delivers it.
        self._answers_since = float("inf") if unbidden else 0.0
        self._hold = hold
        self.stepping_aside = False
        """Closing for a key typed before it was drawn (`FieldkitApp._step_aside`)."""

    def on_screen_resume(self) -> None:
        """In front: an unbidden offer answers the keys typed once it is drawn (those
        typed before were meant for the caseload); keys held for an offer asked for go to it."""
        if self._answers_since:
            self.call_after_refresh(self._drawn)
        if self._hold is not None:
            hold, self._hold = self._hold, None
            self.call_after_refresh(cast("FieldkitApp", self.app).release_keys, hold)

    def _drawn(self) -> None:
        self._answers_since = _time.get_time()

    def typed_before_seen(self, key: events.Event) -> bool:
        """Was this key typed before the worker could have read the offer?"""
        return key.time < self._answers_since

    def compose(self) -> ComposeResult:
        """The unfinished visits, newest first."""
        with Vertical(id="draft-box"):
            yield Static(_("Unfinished visits — nothing typed was lost"), id="draft-title")
            options = []
            for n, d in enumerate(self.drafts):
                case = self.cases.get(d["case_id"])
                who = (
                    _("{family} family").format(family=case.family_name)
                    if case
                    else _("case {case}").format(case=d["case_id"])
                )
                step = step_label(str(d.get("step") or "kind"), case)
                options.append(
                    Option(
                        safe_content(
                            _("{who} · visit of {day} · at “{step}” · saved {saved}").format(
                                who=who,
                                day=d["record"].get("date"),
                                step=step,
                                saved=_saved_at(d.get("updated", "")),
                            )
                        ),
                        id=str(n),
                    )
                )
            yield OptionList(*options, id="draft-list")
            yield Static(_("Enter resume · x discard · Escape later"), id="draft-hint")

    @on(OptionList.OptionSelected, "#draft-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(("resume", self.drafts[int(event.option.id or 0)]))

    def action_discard(self) -> None:
        """Discarding is asked twice: a draft may hold a whole visit."""
        index = self.query_one("#draft-list", OptionList).highlighted
        if index is None:
            return
        if self._confirm == index:
            self.dismiss(("discard", self.drafts[index]))
            return
        self._confirm = index
        self.query_one("#draft-hint", Static).update(
            _("Press x again to DISCARD this visit for good · Escape keeps it")
        )

    def action_later(self) -> None:
        """Keep the drafts; F4 on the caseload offers them again."""
        self.dismiss(None)
