"""Use cases of the profile: where it lives, its passphrase, unlocking it.

Faces (CLI, screens) call these; these use the store. No SQL, no crypto and no Textual here.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sqlite3
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import platformdirs

from fieldkit import sigcheck
from fieldkit.errors import FieldkitError, ProfileMissing
from fieldkit.i18n import N_, _
from fieldkit.keyfiles import check_strength
from fieldkit.practice.profile_load import load_profile
from fieldkit.store import Store

DEFAULT_PROFILE = "default"


def data_dir(override: str | Path | None = None) -> Path:
    """Where profiles live: --data-dir, then FIELDKIT_HOME, then the platform's data dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("FIELDKIT_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("fieldkit", appauthor=False))


def profile_path(directory: Path, name: str = DEFAULT_PROFILE) -> Path:
    """The SQLite file of one profile."""
    return directory / f"{name}.fieldkit"


APP_OPTIONS = ("--data-dir", "--profile", "--theme")
"""The root options of `fieldkit` with no command (the field app)."""


def app_options(args: list[str]) -> dict[str, str] | None:
    """The options of `fieldkit [--data-dir D] [--profile P] [--theme T]`; None when the
    arguments hold anything else (a command, `--help`, `--lang`)."""
    found: dict[str, str] = {}
    tokens = iter(args)
    for token in tokens:
        name, equals, value = token.partition("=")
        if name not in APP_OPTIONS:
            return None
        if not equals:
            following = next(tokens, None)
            if following is None:
                return None
            value = following
        found[name] = value
    return found


def passphrase_from_env() -> str | None:
    """FIELDKIT_PASSPHRASE, or the first line of FIELDKIT_PASSPHRASE_FILE, if set."""
    value = os.environ.get("FIELDKIT_PASSPHRASE")
    if value:
        return value
    file = os.environ.get("FIELDKIT_PASSPHRASE_FILE")
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise FieldkitError(
                _("cannot read FIELDKIT_PASSPHRASE_FILE {file}: {strerror}").format(
                    file=file, strerror=exc.strerror
                )
            ) from None
        return text.splitlines()[0] if text else ""
    return None


class NoHiddenPrompt(Exception):
    """No terminal to type a passphrase in without it being shown."""


def hidden_input(prompt: str) -> str:
    """A line typed at a prompt that does not show it. With no terminal to hide the typing
    in (stdin piped, no /dev/tty), getpass would warn and read the line with echo on:
    refused here, before anything is read."""
    with warnings.catch_warnings():
        # getpass warns before it falls back to an echoing read: the warning, as an error,
        # stops it there
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            return getpass.getpass(prompt)
        except getpass.GetPassWarning:
            raise NoHiddenPrompt from None


def ask_passphrase(prompt: str = N_("Passphrase: "), confirm: bool = False) -> str:
    """The passphrase from the environment, or typed at a hidden prompt."""
    value = passphrase_from_env()
    if value is not None:
        return value
    try:
        first = hidden_input(_(prompt))
        if confirm and hidden_input(_("Again: ")) != first:
            raise FieldkitError(_("the two passphrases differ; nothing was changed"))
    except NoHiddenPrompt:
        raise FieldkitError(
            _(
                "no terminal to type the passphrase in unseen; set FIELDKIT_PASSPHRASE or "
                "FIELDKIT_PASSPHRASE_FILE"
            )
        ) from None
    except (EOFError, KeyboardInterrupt):
        raise FieldkitError(
            _(
                "no passphrase given; type it, or set FIELDKIT_PASSPHRASE or "
                "FIELDKIT_PASSPHRASE_FILE"
            )
        ) from None
    return first


def open_store(path: Path, passphrase: str | None = None) -> Store:
    """Unlock a profile (passphrase from the argument, environment or prompt)."""
    if not path.exists():
        raise ProfileMissing(
            _("no fieldkit profile at {path}; create one with `fieldkit init`").format(path=path)
        )
    if passphrase is None:
        pending = take_pending_unlock(path)
        if pending is not None:
            return pending.result()
    return Store.open(path, passphrase if passphrase is not None else ask_passphrase())


def start_signature_helpers(path: Path) -> None:
    """Start the processes a full `verify` checks signatures with, before the unlock, when
    the profile's log is large enough for them (its clear op count, a hint: nothing is
    trusted from it; the check itself counts again after unlocking)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
        try:
            (count,) = conn.execute("SELECT max(rowid) FROM ops").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return
    sigcheck.start_early(int(count or 0))


def stop_signature_helpers() -> None:
    """Close the helpers `start_signature_helpers` started if no check took them (a wrong
    passphrase, a profile that would not open)."""
    sigcheck.close_early()


class PendingUnlock:
    """`Store.open` running in a thread from the moment the passphrase is known.

    Argon2id releases the GIL, so the key is derived while the app's modules load on the
    main thread; `result()` waits for it and raises what opening raised (wrong passphrase,
    damaged profile) where the caller can say so. `then`, if given, runs on the same thread
    once the store is open, before `done`; what it returns is `prepared` (None if it
    raised: the caller then reads for itself, and the unlock stands).
    """

    def __init__(
        self, path: Path, passphrase: str, then: Callable[[Store], object] | None = None
    ) -> None:
        self.path = path
        self._then = then
        self.prepared: object = None
        """What `then` returned for the open store (None without `then`, or if it raised)."""
        self._store: Store | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        threading.Thread(
            target=self._open, args=(passphrase,), name="fieldkit-unlock", daemon=True
        ).start()

    def _open(self, passphrase: str) -> None:
        try:
            self._store = Store.open(self.path, passphrase)
            if self._then is not None:
                with contextlib.suppress(Exception):
                    self.prepared = self._then(self._store)
        except BaseException as exc:  # handed to whoever waits, in their thread
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        """Opening finished (either way)."""
        return self._done.is_set()

    def result(self) -> Store:
        """The open store, once the key is derived; raises what opening raised."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._store is not None
        return self._store


_pending: PendingUnlock | None = None


def begin_unlock(
    path: Path, passphrase: str | None = None, then: Callable[[Store], object] | None = None
) -> PendingUnlock | None:
    """Start unlocking `path` now, with `passphrase` or the one from the environment, and
    then `then(store)` on the same thread; None (nothing started) without a passphrase or a
    profile — the caller asks as usual, and an unreadable FIELDKIT_PASSPHRASE_FILE is
    reported there."""
    try:
        passphrase = passphrase if passphrase is not None else passphrase_from_env()
    except FieldkitError:
        return None
    if not passphrase or not path.is_file():
        return None
    return PendingUnlock(path, passphrase, then)


def begin_early_unlock(path: Path) -> None:
    """`begin_unlock` with the environment's passphrase, before the command that will
    open `path` has loaded; `open_store` or the app take it (`take_pending_unlock`)."""
    global _pending
    _pending = begin_unlock(path)


def take_pending_unlock(path: Path) -> PendingUnlock | None:
    """The unlock begun early for this profile, if any (handed out once)."""
    global _pending
    pending, _pending = _pending, None
    if pending is not None and pending.path != path:
        return None
    return pending


def min_passphrase_score(policy: str | None) -> int:
    """The zxcvbn score the agency's policy profile demands of a new passphrase (at least 3)."""
    try:
        return max(3, load_profile(policy or None).min_passphrase_score)
    except Exception:  # an unreadable profile is reported where it is used; 3 holds here
        return 3


def ask_passphrase_new(min_score: int = 3) -> str:
    """The new passphrase: FIELDKIT_NEW_PASSPHRASE, or typed twice at a hidden prompt."""
    value = os.environ.get("FIELDKIT_NEW_PASSPHRASE")
    if value is None:
        try:
            value = hidden_input(_("New passphrase: "))
            if hidden_input(_("Again: ")) != value:
                raise FieldkitError(_("the two passphrases differ; nothing was changed"))
        except NoHiddenPrompt:
            raise FieldkitError(
                _(
                    "no terminal to type the new passphrase in unseen; set "
                    "FIELDKIT_NEW_PASSPHRASE; nothing was changed"
                )
            ) from None
        except (EOFError, KeyboardInterrupt):
            raise FieldkitError(_("no new passphrase given; nothing was changed")) from None

    check_strength(value, min_score)
    return value
