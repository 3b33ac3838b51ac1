"""The unlock screen: the passphrase opens the profile (Argon2id, in a worker thread)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.workers import guarded
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from fieldkit import services
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.prefs import load_prefs
from fieldkit.services import Store, caseload
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.practice import PolicyProfile
    from fieldkit.services import Store


class UnlockScreen(Screen[None]):
    """Ask for the passphrase; a wrong one says so and lets the worker try again."""

    HELP_TITLE = N_("Unlock")
    CSS_PATH = "unlock.tcss"
    AUTO_FOCUS = "#passphrase"

    class UnlockFailed(Message):
        """Opening the profile failed; `reason` is written for the worker."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    class UnlockSucceeded(Message):
        """The store is open and the policy profile loaded."""

        def __init__(self, store: Store, policy: PolicyProfile) -> None:
            super().__init__()
            self.store = store
            self.policy = policy

    def compose(self) -> ComposeResult:
        """A title, the profile's file name, the passphrase field and a status line."""
        fk = cast("FieldkitApp", self.app)
        name = fk.profile_path.name if fk.profile_path else _("no profile")
        with Center(), Vertical(id="unlock-box"):
            yield Static("fieldkit", id="unlock-title")
            yield Static(
                _("Profile {name} is locked.").format(name=safe_content(name)), id="unlock-profile"
            )
            demo = load_prefs(fk.profile_path).get("demo_passphrase")
            if demo:  # marked by `demo-seed --mark-demo`: synthetic cases only
                yield Static(
                    _("Demo profile (synthetic cases): the passphrase is “{passphrase}”.").format(
                        passphrase=safe_content(demo)
                    ),
                    id="unlock-demo",
                )
            yield Input(
                placeholder=_("Passphrase, then Enter"),
                password=True,
                id="passphrase",
            )
            yield Static("", id="unlock-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        """On first start, a passphrase from the environment unlocks without typing."""
        fk = cast("FieldkitApp", self.app)
        if fk.use_env_passphrase:
            fk.use_env_passphrase = False
            passphrase = services.passphrase_from_env()
            if passphrase:
                self._begin(passphrase)

    @on(Input.Submitted, "#passphrase")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            self.query_one("#unlock-status", Static).update(_("Type your passphrase first."))
            return
        self._begin(event.value)

    def _begin(self, passphrase: str) -> None:
        fk = cast("FieldkitApp", self.app)
        field = self.query_one("#passphrase", Input)
        field.disabled = True
        self.query_one("#unlock-status", Static).update(_("Unlocking…"))
        if fk.profile_path is None:
            self.post_message(self.UnlockFailed(_("no profile to open")))
            return
        self._open(fk.profile_path, passphrase)

    @work(thread=True, exclusive=True, group="unlock")
    @guarded
    def _open(self, path: Path, passphrase: str) -> None:

        try:
            store = Store.open(path, passphrase)
        except FieldkitError as exc:
            self.post_message(self.UnlockFailed(str(exc)))
            return
        except Exception as exc:  # crypto and practice errors carry a worker-facing text
            self.post_message(self.UnlockFailed(str(exc) or type(exc).__name__))
            return
        try:
            policy = caseload.policy_of(store)
        except Exception as exc:
            store.lock()
            self.post_message(
                self.UnlockFailed(_("the policy profile cannot be read: {error}").format(error=exc))
            )
            return
        self.post_message(self.UnlockSucceeded(store, policy))

    @on(UnlockFailed)
    def _failed(self, event: UnlockFailed) -> None:
        field = self.query_one("#passphrase", Input)
        field.disabled = False
        field.value = ""
        field.focus()
        self.query_one("#unlock-status", Static).update(f"✗ {safe_content(event.reason)}")

    @on(UnlockSucceeded)
    def _succeeded(self, event: UnlockSucceeded) -> None:
        self.query_one("#passphrase", Input).value = ""
        cast("FieldkitApp", self.app).unlocked(event.store, event.policy)
