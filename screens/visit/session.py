"""A visit in progress: its typed record, the order of its steps, and its one write worker.

Every write of the visit (the debounced encrypted autosave and the signature) goes through
`VisitSession._write_lock` in the session's worker group; once the visit is signed the
session is closed and no late autosave can bring back a draft of it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fieldkit.screens.visit.child_contact import ChildContactStep
from fieldkit.screens.visit.contact_kind import ContactKindStep
from fieldkit.screens.visit.next_steps import NextStepsStep
from fieldkit.screens.visit.presence import PresenceStep
from fieldkit.screens.visit.progress import ProgressStep
from fieldkit.screens.visit.review import ReviewStep
from fieldkit.screens.visit.safety_check import SafetyCheckStep

from fieldkit.errors import FieldkitError
from fieldkit.labels import step_label
from fieldkit.services import visits
from fieldkit.services.visits import mark_ended

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp
    from textual.screen import Screen
    from textual.timer import Timer

    from fieldkit.domain import Case
    from fieldkit.practice import PolicyProfile
    from fieldkit.practice.visit_checks import VisitCheck
    from fieldkit.services import Store
    from fieldkit.visit_record import VisitRecord

AUTOSAVE_DELAY = 0.25
"""Seconds after the last keystroke before the draft is written (≤ 300 ms); `make_app` can
set another for tests."""


class VisitSession:
    """Owns the visit record while the visit's step screens come and go."""

    def __init__(
        self, app: FieldkitApp, case: Case, draft: dict[str, Any], policy: PolicyProfile
    ) -> None:
        self.app = app
        self.case = case
        self.draft = draft
        self.record: VisitRecord = visits.record_of(draft)
        self.policy = policy
        self.closed = False
        self.indicator: Callable[[str], None] | None = None
        self._timer: Timer | None = None
        self._changes = 0
        self._written = 0
        self._write_lock = threading.Lock()

    # --- steps -------------------------------------------------------------------------

    @property
    def steps(self) -> list[str]:
        """kind → present → safety → one step per child → progress → next → review."""
        children = [f"child:{c.id}" for c in self.case.children]
        return ["kind", "present", "safety", *children, "progress", "next", "review"]

    def title(self, key: str) -> str:
        """The step's title in words, e.g. "Leo Ortiz: private interview"."""
        return step_label(key, self.case)

    def person(self, person_id: str) -> Any:
        """A person on the case, or None."""
        return next((p for p in self.case.people if p.id == person_id), None)

    def screen_for(self, key: str) -> Screen[None]:
        """The step's screen."""

        if key.startswith("child:"):
            return ChildContactStep(self, key)
        screens: dict[str, Callable[[VisitSession, str], Screen[None]]] = {
            "kind": ContactKindStep,
            "present": PresenceStep,
            "safety": SafetyCheckStep,
            "progress": ProgressStep,
            "next": NextStepsStep,
            "review": ReviewStep,
        }
        return screens.get(key, ContactKindStep)(self, key)

    def start(self) -> None:
        """Open the visit at the step it was left on."""
        self.app.visit_session = self
        key = self.draft.get("step") or "kind"
        if key not in self.steps:
            key = "kind"
        self.app.hold_keys()
        self.app.push_screen(self.screen_for(key))

    def go(self, key: str) -> None:
        """Move to another step; the draft is written first."""
        if self.closed:
            return
        self.draft["step"] = key
        if key == "review":
            mark_ended(self.draft)
        self.changed()
        self.flush()
        self.app.hold_keys()
        self.app.switch_screen(self.screen_for(key))

    def offset(self, key: str, delta: int) -> str | None:
        """The step `delta` steps away from `key`, or None past either end."""
        steps = self.steps
        at = steps.index(key) + delta if key in steps else 0
        return steps[at] if 0 <= at < len(steps) else None

    def leave(self) -> None:
        """Back to the case; the draft stays until the visit is signed or discarded."""
        self.flush()
        self.app.visit_session = None
        self.app.pop_screen()

    # --- autosave ----------------------------------------------------------------------

    def changed(self) -> None:
        """Something was typed: write the draft once typing pauses."""
        if self.closed:
            return
        self._changes += 1
        if self.indicator is not None:
            self.indicator("editing")
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(self.app.autosave_delay, self.flush, name="autosave")

    def flush(self) -> None:
        """Write the draft now, off the UI thread (step change, quit, lock)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._changes <= self._written:
            return
        store = self.app.store
        if store is None:
            return
        snapshot = (self._changes, self.snapshot())
        self.app.run_worker(
            lambda: self._write(store, *snapshot), thread=True, group="visit-write", name="autosave"
        )

    def snapshot(self) -> dict[str, Any]:
        """The draft as it will be written: the envelope and the record's JSON form."""
        data = {k: v for k, v in self.draft.items() if k != "record"}
        data["record"] = copy.deepcopy(self.record.to_doc())
        return data

    def flush_now(self, store: Store) -> None:
        """Write the draft in the calling (worker) thread: the app is locking or quitting."""
        if self._changes > self._written:
            self._write(store, self._changes, self.snapshot(), notify=False)

    def checks(self) -> list[VisitCheck]:
        """Every check of the record as it stands (the same function `fieldkit visit` runs)."""
        return visits.check_record(self.case, self.record, self.policy, self.app.today)

    def sign(self, store: Store) -> str:
        """Sign in the calling write-worker thread, under the write lock; closes the session."""

        with self._write_lock:
            if self.closed:
                raise FieldkitError("this visit is already signed")
            visits.sign_visit(
                store,
                self.case,
                self.record,
                self.policy,
                self.app.today,
                times={k: self.draft.get(k) for k in visits.TIME_KEYS},
            )
            self.closed = True
            self._written = self._changes
        return self.record.visit_id

    def _write(self, store: Store, changes: int, data: dict[str, Any], notify: bool = True) -> None:
        with self._write_lock:
            if self.closed or changes <= self._written:
                return
            try:
                visits.save_draft(store, data)
            except Exception as exc:
                if notify:
                    self.app.call_from_thread(
                        self.app.notify,
                        f"The draft could not be saved: {exc}. Keep this screen open.",
                        severity="error",
                    )
                return
            self._written = changes
        if notify and self.indicator is not None:
            self.app.call_from_thread(
                self.indicator, "saved" if self._written == self._changes else "editing"
            )

    @property
    def saved(self) -> bool:
        """Everything typed is on disk."""
        return self._written >= self._changes
