"""A stored visit, read-only: signed visits change only by addenda that point to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from fieldkit.text import safe

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.domain import Case


class VisitRecordScreen(Screen[None]):
    """The visit as stored; `a` adds an addendum (a correction), Escape goes back."""

    HELP_TITLE = "Visit record"
    CSS_PATH = "record.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("a", "addendum", "Add addendum"),
    ]

    class RecordLoaded(Message):
        """The visit and its addenda were read."""

        def __init__(self, record: dict[str, Any]) -> None:
            super().__init__()
            self.record = record

    def __init__(self, case: Case, visit_id: str) -> None:
        super().__init__()
        self.case = case
        self.visit_id = visit_id

    def compose(self) -> ComposeResult:
        """Title, the record, the sync line, the keys."""
        yield Static(
            safe(f"Visit record · {self.case.id} · {self.case.family_name}"), classes="title-bar"
        )
        with VerticalScroll(id="record-body"):
            yield Static("Loading…", id="record")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the visit off the UI thread."""
        self.load()

    @work(thread=True, exclusive=True, group="record")
    def load(self) -> None:
        """The visit's fields, signature state and addenda."""
        from fieldkit.services import visits

        store = cast("FieldkitApp", self.app).store
        if store is not None:
            self.post_message(
                self.RecordLoaded(visits.visit_record(store, self.case.id, self.visit_id))
            )

    @on(RecordLoaded)
    def _loaded(self, event: RecordLoaded) -> None:
        self.query_one("#record", Static).update(safe(self._describe(event.record)))

    def _describe(self, record: dict[str, Any]) -> str:
        f = record["fields"]
        names = {p.id: p.name for p in self.case.people}
        state = "✓ SIGNED (read-only)" if record["signed"] else "not signed (imported history)"
        lines = [
            f"{state} · {f.get('kind', 'home')} visit on {f.get('date')} · "
            f"{'announced' if f.get('announced', True) else 'unannounced'}",
        ]
        if f.get("signed_at"):
            lines.append(f"signed by {f.get('author')} at {f['signed_at']}")
        if f.get("location"):
            lines.append(f"where: {f['location']}")
        if f.get("present"):
            lines.append("present: " + ", ".join(names.get(p, p) for p in f["present"]))
        lines.append("seen: " + (", ".join(names.get(p, p) for p in f.get("seen") or []) or "none"))
        for c in f.get("contacts") or []:
            name = names.get(c["person"], c["person"])
            if c.get("private_interview"):
                lines.append(
                    f"• {name}: private interview, seen alone {_yn(c.get('seen_alone'))}, "
                    f"at {c.get('where') or '?'}, "
                    f"could be overheard {_yn(c.get('could_be_overheard'))}"
                )
                if c.get("said"):
                    lines.append(f"    said: {c['said']}")
            elif c.get("observed"):
                lines.append(f"• {name}: observed with the caregiver")
                for key in ("interaction", "condition", "environment"):
                    if c.get(key):
                        lines.append(f"    {key}: {c[key]}")
        if "safety_changed" in f:
            lines.append(f"safety changed: {_yn(f.get('safety_changed'))}")
        if f.get("safety_plan"):
            lines.append(
                f"alternative safety plan {f['safety_plan']} (pending supervisor approval)"
            )
        for key in ("notes", "next_steps"):
            if f.get(key):
                lines.append(f"{key.replace('_', ' ')}: {f[key]}")
        if f.get("next_visit"):
            lines.append(f"next visit: {f['next_visit']}")
        for a in record["addenda"]:
            lines.append(f"ADDENDUM {a.get('date')} by {a.get('author')}: {a.get('text')}")
        return "\n".join(lines)

    def action_back(self) -> None:
        """Back to the case."""
        self.app.pop_screen()

    def action_addendum(self) -> None:
        """A correction to the record, kept beside it."""
        from fieldkit.screens.visit.addendum import AddendumDialog

        self.app.push_screen(AddendumDialog(), self._addendum_written)

    def _addendum_written(self, text: str | None) -> None:
        if text:
            self._save_addendum(text)

    @work(thread=True, group="record")
    def _save_addendum(self, text: str) -> None:
        from fieldkit.services import visits

        fk = cast("FieldkitApp", self.app)
        if fk.store is not None:
            visits.add_addendum(
                fk.store, self.case.id, self.visit_id, text, fk.store.user, fk.today
            )
            self.app.call_from_thread(self.load)


def _yn(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "not recorded")
