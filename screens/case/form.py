"""What every case-record form shares: ctrl+s signs off the UI thread, one result line,
escape goes back. The practice gates and content rules run in the service before signing;
a refusal is shown on the result line and nothing is recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, ClassVar, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.status_bar import StatusBar
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.practice import PolicyProfile
    from fieldkit.services import Store


class FormError(FieldkitError):
    """A field the form itself can check (a date), shown on the result line."""


def parse_day(text: str, what: str | None = None) -> date:
    """A YYYY-MM-DD field, or FormError in words (`what`: the field's name, translated)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FormError(
            _("{what}: {text!r} is not a date (YYYY-MM-DD)").format(
                what=what or _("date"), text=text.strip()
            )
        ) from None


class CaseFormScreen(Screen[None]):
    """A form for one case record; subclasses compose fields and say what to sign."""

    TITLE_WORDS = N_("Record")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", N_("Sign"), priority=True),
        Binding("escape", "app.pop_screen", N_("Back")),
    ]

    class Done(Message):
        """The record was signed (ok) or refused, with the line to show."""

        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    def __init__(self, case_id: str) -> None:
        super().__init__()
        self.case_id = case_id

    @property
    def fk(self) -> FieldkitApp:
        """The app, with the unlocked store, the policy profile and today."""
        return cast("FieldkitApp", self.app)

    def compose(self) -> ComposeResult:
        """Title, the subclass's fields, the result line."""
        yield Static(
            _("{title} · case {case}").format(
                title=_(self.TITLE_WORDS), case=safe_content(self.case_id)
            ),
            classes="title-bar",
        )
        with VerticalScroll(classes="case-form"):
            yield from self.fields()
        yield Static("", id="form-result", classes="form-result")
        yield StatusBar()
        yield KeyFooter()

    def fields(self) -> ComposeResult:
        """The form's widgets."""
        yield from ()

    def submission(self) -> Callable[[Store, PolicyProfile], str]:
        """Read the widgets (UI thread) and return what signs the record (worker thread);
        raise FormError for what the form itself can check."""
        raise NotImplementedError

    def action_save(self) -> None:
        """Check what the form can, then sign off the UI thread."""
        try:
            job = self.submission()
        except FieldkitError as exc:
            self.query_one("#form-result", Static).update(f"✗ {safe_content(str(exc))}")
            return
        self.query_one("#form-result", Static).update(_("Checking and signing…"))
        self.sign(job)

    @work(thread=True, exclusive=True, group="case-form")
    def sign(self, job: Callable[[Store, PolicyProfile], str]) -> None:
        """Gates and content rules run in the service; a refusal records nothing."""
        store, policy = self.fk.store, self.fk.policy
        if store is None or policy is None:
            return
        try:
            text = job(store, policy)
        except FieldkitError as exc:
            self.post_message(self.Done(f"✗ {exc}", ok=False))
            return
        self.post_message(self.Done(f"✓ {text}", ok=True))

    @on(Done)
    def _done(self, event: Done) -> None:
        self.query_one("#form-result", Static).update(safe_content(event.text))
        if event.ok:
            self.app.pop_screen()
            self.app.notify(safe_content(event.text))
