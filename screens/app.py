"""The field app: the App class, its modes (locked / working) and the one factory, `make_app`.

Why one module: it is the App class, and what it holds acts on the app's own state: the lock
and idle timer, keys held across a screen change, the unlock and the restore of screens, and
the background sync all read or change the one open store and the app's mode, which Textual
gives to the App, not to a screen. The two functions after it are the sync's lines on the
status bar.
"""

from __future__ import annotations

import gc
import time
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldkit.screens.commands import CaseCommands
from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.draft_offer import DRAFT_WAITING, DraftOfferScreen
from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.help import HelpScreen
from fieldkit.screens.messages import OutboxChanged, SyncFinished, SyncProgress, WorkFailed
from fieldkit.screens.place import places_of, screen_for
from fieldkit.screens.privacy import PrivacyScreen
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.stylesheet import KeptStylesheet
from fieldkit.screens.supervisor.queue import ReviewQueueScreen
from fieldkit.screens.theme import DEFAULT_THEME, HIGH_CONTRAST
from fieldkit.screens.unlock import UnlockScreen
from fieldkit.screens.visit.session import AUTOSAVE_DELAY
from fieldkit.screens.workers import guarded, one_line
from fieldkit.sync.outcome import waiting_keys_line
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette

from fieldkit import i18n
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _, ngettext
from fieldkit.prefs import load_prefs, save_pref
from fieldkit.services import begin_unlock, caseload
from fieldkit.services.review import is_supervisor
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fieldkit.screens.place import Place
    from fieldkit.screens.visit.session import VisitSession
    from textual.screen import Screen

    from fieldkit.practice import PolicyProfile
    from fieldkit.services import PendingUnlock, Store
    from fieldkit.services.caseload import Caseload

IDLE_CHECK_SECONDS = 5.0
HOLD_KEYS_LIMIT = 15.0
"""Seconds at most that keys wait for a step to draw (a step that never draws frees them)."""
KEY_STALL_LIMIT = 10.0
"""Seconds at most that the next key waits for the one before it to be handled: a safety
net only (a handled key is followed until it stops or reaches the app). At 1 s a loaded
laptop let Ctrl+N overtake the Enter that answered the step's last question, and the
answer was never made."""
FIRST_FRAME_LIMIT = 0.5
"""Seconds at most that the first work screen waits for its key line before it is drawn."""
COLLECTOR_AFTER = 1.0
"""Seconds after the first frame that the collector's one full pass waits (`_collector_on`):
not under the worker's first keys."""
COLLECTOR_LIMIT = 5.0
"""Seconds after the mount at most that Python's cyclic collector stays off (`fieldkit.launch`
turns it off for the start; the first frame turns it back on)."""
# A supervisor's console syncs in the background this often (keys for late-enrolled workers).
BACKGROUND_SYNC_SECONDS = 600.0


class FieldkitApp(App[None]):
    """Unlock → caseload → case → guided visit; locks itself when left alone."""

    CSS_PATH = "global.tcss"
    TITLE = "fieldkit"
    BINDINGS = [
        Binding("f1", "help", N_("Help"), key_display="F1", tooltip=N_("the keys of this screen")),
        Binding(
            "question_mark",
            "help",
            N_("Help"),
            show=False,
            tooltip=N_("the keys of this screen"),
        ),
        Binding(
            "ctrl+l",
            "lock",
            N_("Lock"),
            priority=True,
            tooltip=N_("drop every key from memory now"),
        ),
        Binding(
            "ctrl+b",
            "blank",
            N_("Blank"),
            priority=True,
            tooltip=N_("hide the screen; any key returns"),
        ),
        Binding(
            "ctrl+y",
            "sync",
            N_("Sync"),
            priority=True,
            tooltip=N_("send and fetch changes, in the background"),
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            N_("Commands"),
            show=False,
            priority=True,
            tooltip=N_("find a case or an action"),
        ),
        Binding(
            "ctrl+q",
            "quit",
            N_("Quit"),
            show=False,
            priority=True,
            tooltip=N_("the draft is saved first"),
        ),
    ]
    COMMANDS = App.COMMANDS | {CaseCommands}

    def __init__(
        self,
        profile_path: Path | None = None,
        theme: str | None = None,
        store: Store | None = None,
        today: date | None = None,
        idle_lock_seconds: float | None = None,
        use_env_passphrase: bool = True,
        autosave_delay: float = AUTOSAVE_DELAY,
        pending: PendingUnlock | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__()
        self.stylesheet = KeptStylesheet(variables=self.get_css_variables())
        self.pending = pending
        """The unlock already running (begun as soon as the passphrase was known)."""
        self.preloaded: Caseload | None = None
        """The caseload's rows read with the unlock, for the dashboard's first frame."""
        self.profile_path = profile_path or (store.path if store is not None else None)
        self.store: Store | None = store
        self.policy: PolicyProfile | None = None
        self.fixed_today = today
        self.requested_theme = theme
        self.idle_lock_seconds = idle_lock_seconds
        self.autosave_delay = autosave_delay
        self.use_env_passphrase = use_env_passphrase and store is None
        self.visit_session: VisitSession | None = None
        self._pending_keys: list[events.Event] = []
        self._key_in_flight: events.Event | None = None
        self._keys_held = False
        self._hold_generation = 0
        self.places: list[Place] = []
        """Where the worker was when the app locked (ids only), rebuilt after unlock."""
        self.last_activity = time.monotonic()
        self.last_input_time = 0.0
        """When the last key, paste or click came (Textual's clock, as on `events.Key.time`)."""
        self._theme_settled = False
        self._switch_undelayed = False
        self._first_frame_held = False
        self._collector_due = False
        self.language = self._choose_language(language)

    def _choose_language(self, requested: str | None) -> str:
        """The language before the first screen draws: the one asked for (tests), else the
        profile's preference (readable before unlock), else LANG and its kin, else English."""
        saved = load_prefs(self.profile_path).get("language")
        return i18n.set_language(i18n.choose(requested or saved))

    def choose_language(self, code: str) -> None:
        """The worker picks a language (palette): this profile's from now on, like the theme.

        Screens opened from now on speak it; the key line of the screen in front follows at once.
        """
        self.language = i18n.set_language(code)
        save_pref(self.profile_path, "language", self.language)
        for footer in self.screen.query(KeyFooter):
            footer.refresh(recompose=True)
        self.notify(
            _("Language: {name}. Screens opened from now on use it.").format(
                name=i18n.LANGUAGES[self.language]
            )
        )

    def watch_theme(self, theme: str) -> None:
        """The theme the worker chooses (palette or flag) is this profile's from now on."""
        if self._theme_settled:
            save_pref(self.profile_path, "theme", theme)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette's system commands, in the worker's language (Textual's are English
        only, and its Quit says "as soon as possible" where fieldkit saves the draft first).

        Not Screenshot: it would write the screen (names, address, threats, notes) to disk
        as a plaintext SVG. Not Textual's Keys panel: "Help: keys" (F1) lists the keys of
        the screen in the worker's language.
        """
        yield SystemCommand(
            _("Theme"), _("the colours of the app; kept for this profile"), self.action_change_theme
        )
        yield SystemCommand(_("Quit"), _("the draft is saved first"), self.action_quit)
        if screen.maximized is not None:
            yield SystemCommand(
                _("Minimize"), _("the widget back to its place"), screen.action_minimize
            )
        elif screen.focused is not None and screen.focused.allow_maximize:
            yield SystemCommand(
                _("Maximize"), _("the focused widget fills the screen"), screen.action_maximize
            )

    def action_command_palette(self) -> None:
        """The command palette, its search line in the worker's language."""
        if self.use_command_palette and not any(
            isinstance(s, CommandPalette) for s in self.screen_stack
        ):
            self.push_screen(
                CommandPalette(
                    placeholder=_("Search for a case or a command…"), id="--command-palette"
                )
            )

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Refused: a screenshot is case content in the clear outside the encrypted store."""
        self.notify(
            _("Screenshots are off: they would put case content on disk unencrypted."),
            severity="warning",
        )

    @property
    def today(self) -> date:
        """Today in the agency's time zone (fixed in tests and screenshots)."""
        if self.fixed_today is not None:
            return self.fixed_today
        if self.policy is not None:
            return self.policy.today()
        return date.today()

    @property
    def idle_limit(self) -> float:
        """Seconds of no keys or clicks before the app locks (profile's idle_lock_minutes)."""
        if self.idle_lock_seconds is not None:
            return self.idle_lock_seconds
        minutes = self.policy.idle_lock_minutes if self.policy is not None else 10
        return float(minutes) * 60.0

    def on_mount(self) -> None:
        """Register the themes, then unlock (or go straight to work with an open store)."""
        self.register_theme(HIGH_CONTRAST)
        saved = load_prefs(self.profile_path).get("theme")
        wanted = self.requested_theme or saved or DEFAULT_THEME
        if wanted not in self.available_themes:
            names = ", ".join(sorted(self.available_themes))
            self.notify(
                safe_content(
                    _("No theme {name!r}; choose one of: {names}").format(name=wanted, names=names)
                ),
                severity="warning",
            )
            wanted = DEFAULT_THEME
        self.theme = wanted
        self._theme_settled = True
        if self.requested_theme == wanted:
            self.watch_theme(wanted)
        self.add_mode("locked", UnlockScreen)
        if (
            self.store is None
            and self.pending is None
            and self.use_env_passphrase
            and self.profile_path is not None
        ):
            self.pending = begin_unlock(self.profile_path)
        if self.store is not None:
            self.policy = caseload.policy_of(self.store)
            self.enter_work()
        elif self.pending is not None:  # straight to work: no unlock screen in between
            self.use_env_passphrase = False
            if self.pending.done:  # the key was derived while the app loaded
                outcome = self._open_pending()
                if isinstance(outcome, str):
                    self._unlock_failed(outcome)
                elif outcome is not None:
                    self.unlocked(*outcome)
            else:
                self.run_worker(self._finish_unlock, thread=True, group="unlock", name="unlock")
        else:
            self.switch_mode("locked")
            self._collector_on()  # the unlock screen is the first frame
        # and in any case once the start is surely over (a first frame that never came)
        self.set_timer(COLLECTOR_LIMIT, self._collector_on, name="collector")
        check_every = IDLE_CHECK_SECONDS
        if self.idle_lock_seconds is not None:
            check_every = max(0.05, min(check_every, self.idle_lock_seconds / 2))
        self.set_interval(check_every, self._check_idle)
        self.set_interval(BACKGROUND_SYNC_SECONDS, self._background_sync)

    async def on_event(self, event: events.Event) -> None:
        """Every key and click counts as activity; keys go one at a time, in order.

        Textual hands a key to the focused widget's own queue and reads the next one at once,
        so a Tab (or a step change) can overtake the letters typed before it, and letters
        typed after it can reach the field just left. Here a key is handed over only once
        the one before it is finished (handled by a widget, or back at the app and its
        binding run), and none while a step is being drawn (`hold_keys`).
        """
        if isinstance(event, events.Key | events.MouseDown | events.Paste):
            self.last_activity = time.monotonic()
            self.last_input_time = max(self.last_input_time, event.time)
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            self._pending_keys.append(event)
            await self._pump_keys()
            return
        await super().on_event(event)
        if event is self._key_in_flight:  # it came back up: its binding (if any) has run
            await self._key_done(event)

    async def _pump_keys(self) -> None:
        while self._pending_keys and not self._keys_held and self._key_in_flight is None:
            offer = self.screen
            if isinstance(offer, DraftOfferScreen) and offer.typed_before_seen(
                self._pending_keys[0]
            ):
                if not offer.stepping_aside:  # closed from the app's own queue, not
                    offer.stepping_aside = True  # from a widget's handler
                    self.call_later(self._step_aside, offer)
                return
            key = self._pending_keys.pop(0)
            target = self.focused or self.screen
            self._key_in_flight = key
            await super().on_event(key)
            if not key.is_forwarded or isinstance(key, events.Paste):
                self._key_in_flight = None  # a priority binding took it (or a paste)
                continue
            target.call_later(self._follow_key, key, target)
            self.set_timer(KEY_STALL_LIMIT, partial(self._key_done, key), name="key-stall")

    async def _follow_key(self, key: events.Event, node: Any) -> None:
        """The node has handled the key: done, or follow it to the parent it bubbled to."""
        if key is not self._key_in_flight:
            return
        parent = node.parent
        if parent is self:
            # The screen has posted the key on to the app (or stopped it): the app's queue
            # runs this after the key, so a key already finished by on_event is left alone.
            self.call_later(self._key_done, key)
            return
        if key._stop_propagation or parent is None or not node.is_attached:
            await self._key_done(key)
        else:
            parent.call_later(self._follow_key, key, parent)

    async def _key_done(self, key: events.Event) -> None:
        if key is self._key_in_flight:
            self._key_in_flight = None
            await self._pump_keys()

    async def _step_aside(self, offer: DraftOfferScreen) -> None:
        """A key typed before the worker could read the offer was meant for the caseload:
        the offer closes (its drafts stay, F4 brings it back) and the keys go on there."""
        if offer is self.screen:  # not closed meanwhile (a click) nor locked away
            self.notify(_(DRAFT_WAITING))
            await offer.dismiss(None)
        else:
            offer.stepping_aside = False
        await self._pump_keys()

    def hold_keys(self) -> int:
        """Keep what is typed until the next screen has focused its field (no key lost).

        Returns the hold's number, for `release_keys`."""
        if self._keys_held:
            return self._hold_generation
        self._keys_held = True
        self._hold_generation += 1
        generation = self._hold_generation

        async def too_long() -> None:
            if self._keys_held and self._hold_generation == generation:
                await self.release_keys()

        self.set_timer(HOLD_KEYS_LIMIT, too_long, name="release-keys")
        return generation

    async def release_keys(self, hold: int | None = None) -> None:
        """Hand the kept keys, in order, to the screen now in front (only if the hold is
        still the one numbered `hold`, when given: a later hold waits for its own screen)."""
        if hold is not None and (not self._keys_held or hold != self._hold_generation):
            return
        self._keys_held = False
        await self._pump_keys()

    def enter_work(self) -> None:
        """The store is open: the caseload, or the review queue for a supervisor."""

        self.last_activity = time.monotonic()
        if self.store is not None and self._outbox_changed not in self.store.outbox_listeners:
            self.store.outbox_listeners.append(self._outbox_changed)
        if "work" not in self._modes:
            if self.store is not None and is_supervisor(self.store):
                self.add_mode("work", ReviewQueueScreen)
            else:
                self.add_mode("work", DashboardScreen)
        if self.current_mode == self.DEFAULT_MODE:  # the first screen of this run
            self._hold_first_frame()
        self.switch_mode("work")

    def _hold_first_frame(self) -> None:
        """Draw nothing until the work screen's key line has its keys: one whole first frame.

        Leaving Textual's blank start-up screen, `switch_mode` would pause every repaint for
        a fixed 50 ms (`delay_update`, to hide a half-built screen) and the key line would
        come a frame or more later still (Textual's `Footer` fills in after a refresh).
        Here the pause ends as soon as the key line is filled (`KeyFooter.Shown`), or after
        FIRST_FRAME_LIMIT at most."""
        self._begin_batch()
        self._first_frame_held = True
        self._switch_undelayed = True  # this hold replaces switch_mode's fixed pause
        self.set_timer(FIRST_FRAME_LIMIT, self._release_first_frame, name="first-frame")

    def _release_first_frame(self) -> None:
        if self._first_frame_held:
            self._first_frame_held = False
            self._end_batch()

    def _collector_on(self) -> None:
        """`fieldkit.launch` leaves Python's cyclic collector off for the start: one full pass
        now (the start's own cycles, once, rather than the passes its loading would have
        made as it went), then on as usual."""
        if not gc.isenabled():
            gc.collect()
            gc.enable()

    def on_key_footer_shown(self, event: KeyFooter.Shown) -> None:
        """A key line has its keys: the first frame, if held, can be drawn, and once it is
        the start is over."""
        self._release_first_frame()
        if not gc.isenabled() and not self._collector_due:
            self._collector_due = True
            self.set_timer(COLLECTOR_AFTER, self._collector_on, name="collector")

    def delay_update(self, delay: float = 0.05) -> None:
        """Textual's fixed pause of every repaint after a mode switch, except when the first
        frame is held until it is whole (`_hold_first_frame`)."""
        if self._switch_undelayed:
            self._switch_undelayed = False
            return
        super().delay_update(delay)

    def _outbox_changed(self) -> None:
        """The store's outbox listener, called on the thread that wrote."""
        self.post_message(OutboxChanged())

    def on_outbox_changed(self, event: OutboxChanged) -> None:
        """Every status line of every open screen reads the outbox again, not only the
        one in front: the screen a worker goes back to must not show an older count."""
        for screen in self.screen_stack:
            for bar in screen.query(StatusBar):
                bar.refresh_status()

    @property
    def restoring(self) -> bool:
        """Screens are being rebuilt after an unlock (no offers, no pop-ups in between)."""
        return bool(self.places)

    def continue_restore(self, screen: Screen[Any]) -> None:
        """A screen is ready: open the next screen the worker had open before the lock."""
        if not self.places or screen is not self.screen:
            return
        place = self.places.pop(0)
        handler = getattr(screen, "restore_place", None)
        if handler is not None and handler(place):
            return
        following = screen_for(place)
        if following is None:
            self.places.clear()
            return
        self.push_screen(following)

    def unlocked(self, store: Store, policy: PolicyProfile) -> None:
        """Called by the unlock screen once its worker opened the store."""
        self.store, self.policy = store, policy
        self.enter_work()

    def _finish_unlock(self) -> None:
        """Wait for the unlock begun early (in a worker thread), then go to work."""
        outcome = self._open_pending()
        if isinstance(outcome, str):
            self.call_from_thread(self._unlock_failed, outcome)
        elif outcome is not None:
            self.call_from_thread(self.unlocked, *outcome)

    def _open_pending(self) -> tuple[Store, PolicyProfile] | str | None:
        """The store and policy of the unlock begun early (and the caseload's rows, when
        quick), or why it failed, in words for the unlock screen."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        try:
            store = pending.result()
        except Exception as exc:  # crypto and store errors carry a worker-facing text
            return str(exc) or type(exc).__name__
        read = pending.prepared  # read on the unlock's thread (`caseload.start_read`)
        if isinstance(read, caseload.StartRead):
            policy = read.policy
        else:
            try:
                policy = caseload.policy_of(store)
            except Exception as exc:
                store.lock()
                return f"the policy profile cannot be read: {exc}"
        if not is_supervisor(store):
            today = self._today_for(policy)
            if isinstance(read, caseload.StartRead) and read.as_of == today:
                self.preloaded = read.caseload
            else:
                try:
                    self.preloaded = caseload.quick_caseload(store, policy, today)
                except FieldkitError:
                    self.preloaded = None  # the dashboard's own read says what failed
        return store, policy

    def _today_for(self, policy: PolicyProfile) -> date:
        return self.fixed_today if self.fixed_today is not None else policy.today()

    def _unlock_failed(self, reason: str) -> None:
        self._collector_on()  # the unlock screen is the first frame
        self.switch_mode("locked")
        self.screen.post_message(UnlockScreen.UnlockFailed(reason))

    def _check_idle(self) -> None:
        if self.store is not None and time.monotonic() - self.last_activity >= self.idle_limit:
            self.action_lock()

    def action_sync(self) -> None:
        """Sync in the background; the worker keeps working while it runs."""
        if self.store is None:
            return
        self.notify(_("Syncing in the background…"), timeout=3)
        self.run_worker(self._sync, thread=True, exclusive=True, group="sync", name="sync")

    def _background_sync(self) -> None:
        """A supervisor's console syncs by itself now and then, so a worker enrolled after
        an assignment receives the case keys without anyone pressing a key."""
        store = self.store
        if store is None or not is_supervisor(store):
            return
        store.reload_settings()  # `fieldkit enroll` may have run in another terminal
        if not store.meta("sync_url"):
            return
        self.run_worker(
            lambda: self._sync(quiet=True), thread=True, exclusive=True, group="sync", name="sync"
        )

    def _sync(self, quiet: bool = False) -> None:
        try:
            self._sync_once(quiet)
        finally:  # however it ended, the status line stops saying a sync is running
            if not quiet:
                self.post_message(SyncProgress(""))

    @guarded
    def _sync_once(self, quiet: bool = False) -> None:
        """One sync; the worker's own (not `quiet`) shows its progress on the status line."""
        # Local: the sync client (httpx, pydantic) adds ~0.4 s (-X importtime) to the app's
        # cold start; it loads on the first Ctrl+Y or background sync instead.
        from fieldkit.services.sync import run_sync

        store = self.store
        if store is None:
            return
        try:
            summary = run_sync(store, None if quiet else self._sync_progress)
        except FieldkitError as exc:
            if not quiet:
                self.post_message(SyncFinished(str(exc), ok=False))
            return
        if quiet and not (summary.keys_shared or summary.rejected or summary.pulled):
            return
        self.post_message(SyncFinished(sync_message(summary), ok=summary.exit_code == 0))

    def _sync_progress(self, phase: str, done: int, total: int | None) -> None:
        """The sync service's progress callback (the one `fieldkit sync` draws its bars
        from), called on the sync's thread: handed to the UI as a message."""
        self.post_message(SyncProgress(sync_progress_line(phase, done, total)))

    def on_sync_progress(self, event: SyncProgress) -> None:
        """Show what the sync is doing on the status line of the screen in front."""
        self.sync_activity = event.text
        for bar in self.screen.query(StatusBar):
            bar.activity = event.text

    def on_sync_finished(self, event: Any) -> None:
        """Say what the sync did, and refresh the status line of the screen in front."""
        self.sync_activity = ""
        for bar in self.screen.query(StatusBar):
            bar.activity = ""
        self.notify(
            safe_content(event.text), severity="information" if event.ok else "warning", timeout=8
        )
        for screen in self.screen_stack:
            for bar in screen.query(StatusBar):
                bar.refresh_status()
        after_sync = getattr(self.screen, "after_sync", None)
        if after_sync is not None:  # a screen showing what a sync changes reads it again
            after_sync()

    def action_help(self) -> None:
        """List every key of the screen in front of the worker."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_blank(self) -> None:
        """Privacy: blank the screen at once (any key brings it back)."""
        if not isinstance(self.screen, PrivacyScreen):
            self.push_screen(PrivacyScreen())

    def action_lock(self) -> None:
        """Lock now: flush the draft, drop every key and every decrypted screen."""
        store = self.store
        if store is None:
            return

        self._harvest_step()
        session = self.visit_session
        self._pending_keys.clear()  # keys typed for the visit never reach the passphrase field
        self._keys_held = False
        if "work" in self._modes and self.current_mode == "work":
            self.places = places_of(list(self.screen_stack))
        self.store = None
        self.visit_session = None
        self.remove_mode("locked")
        self.add_mode("locked", UnlockScreen)
        self.switch_mode("locked")
        if "work" in self._modes:
            self.remove_mode("work")
        self.run_worker(
            lambda: self._lock_store(store, session), thread=True, group="lock", name="lock"
        )

    def _harvest_step(self) -> None:
        """The visit step in front puts every answer its widgets hold into the draft."""
        harvest = getattr(self.screen, "harvest", None)
        if harvest is not None and self.visit_session is not None:
            harvest()

    def _lock_store(self, store: Store, session: Any) -> None:
        """Write the draft, then drop the keys; a failed write is said, the lock still holds."""
        try:
            if session is not None:
                session.flush_now(store)
        except FieldkitError as exc:
            self.post_message(
                WorkFailed(
                    _("the draft could not be written before locking: {error}").format(
                        error=one_line(exc)
                    )
                )
            )
        finally:
            store.lock()

    def on_work_failed(self, event: WorkFailed) -> None:
        """A worker's error, in one line; the screen stays where it was."""
        self.notify(safe_content(event.text), severity="error", timeout=10)

    async def action_quit(self) -> None:
        """Quit: the draft is written first, then the keys are dropped."""
        self._harvest_step()
        store, session = self.store, self.visit_session
        if store is not None:
            worker = self.run_worker(
                lambda: self._lock_store(store, session), thread=True, name="quit"
            )
            await worker.wait()
            self.store = None
        self.exit()


def sync_progress_line(phase: str, done: int, total: int | None) -> str:
    """One line for the status bar while a sync runs: the ops first, then each file."""
    direction = getattr(phase, "direction", None)
    if direction is not None:  # one attachment's chunks (`attachment_sync.FileProgress`)
        name = getattr(phase, "name", "") or "file"
        return f"{direction} {name} {done}/{total} chunks"
    if phase == "verify":
        return "syncing: checking this laptop's signed log…"
    if phase == "push":
        return f"syncing: sending changes {done}/{total}" if total else "syncing: nothing to send"
    if phase == "pull":
        return f"syncing: receiving changes ({done} so far)"
    return f"syncing: {phase} {done}" + (f"/{total}" if total else "")


def sync_message(summary: Any) -> str:
    """One line a worker can read at a glance: what moved, what needs them."""
    parts = [
        _("↑ {n} sent").format(n=summary.pushed),
        _("↓ {n} received").format(n=summary.pulled),
    ]
    if summary.returns_received:
        parts.append(_("↩ {n} returned for changes").format(n=summary.returns_received))
    if summary.approvals_received:
        parts.append(_("✓ {n} approved").format(n=summary.approvals_received))
    if summary.needs_resolution:
        parts.append(
            ngettext(
                "⚠ {n} conflict needs resolution",
                "⚠ {n} conflicts need resolution",
                summary.needs_resolution,
            ).format(n=summary.needs_resolution)
        )
    if summary.rejected:
        parts.append(
            _("✗ {n} refused by the server (fieldkit outbox)").format(n=len(summary.rejected))
        )
    elif summary.quarantined_total:
        parts.append(_("✗ {n} still refused (fieldkit outbox)").format(n=summary.quarantined_total))
    if summary.waiting:
        parts.append(_("{n} still waiting").format(n=summary.waiting))
    if summary.waiting_keys:
        parts.append(waiting_keys_line(len(summary.waiting_keys)))
    if summary.keys_shared:
        shared = len(summary.keys_shared)
        parts.append(
            ngettext(
                "{n} case key shared with the team", "{n} case keys shared with the team", shared
            ).format(n=shared)
        )
    head = _("Synced") if summary.exit_code == 0 else _("Synced, not everything accepted")
    return _("{head}: {parts}").format(head=head, parts=" · ".join(parts))


def make_app(
    profile_path: Path | None = None,
    theme: str | None = None,
    store: Store | None = None,
    today: date | None = None,
    idle_lock_seconds: float | None = None,
    autosave_delay: float = AUTOSAVE_DELAY,
    pending: PendingUnlock | None = None,
    language: str | None = None,
) -> FieldkitApp:
    """The one way to build the field app: the CLI, tests, benchmarks and screenshots use it.

    `idle_lock_seconds` overrides the profile's idle lock and `autosave_delay` the draft's
    debounce (seconds), so tests wait on what happened, never on the clock. `pending` is an
    unlock begun before the app was built (`services.begin_unlock`); without one, a
    passphrase in the environment starts the unlock when the app mounts. `language`
    (en, fr, es) overrides the profile's language and the environment's.
    """
    return FieldkitApp(
        profile_path=profile_path,
        theme=theme,
        store=store,
        today=today,
        idle_lock_seconds=idle_lock_seconds,
        autosave_delay=autosave_delay,
        pending=pending,
        language=language,
    )
