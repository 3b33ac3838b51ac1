"""Use cases of the profile: where it lives, its passphrase, unlocking it.

Faces (CLI, screens) call these; these use the store. No SQL, no crypto and no Textual here.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import platformdirs

from fieldkit.errors import FieldkitError, ProfileMissing
from fieldkit.i18n import N_, _
from fieldkit.keyfiles import check_strength
from fieldkit.practice.profile import load_profile
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


def ask_passphrase(prompt: str = N_("Passphrase: "), confirm: bool = False) -> str:
    """The passphrase from the environment, or typed at a hidden prompt."""
    value = passphrase_from_env()
    if value is not None:
        return value
    try:
        first = getpass.getpass(_(prompt))
        if confirm and getpass.getpass(_("Again: ")) != first:
            raise FieldkitError(_("the two passphrases differ; nothing was changed"))
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
    return Store.open(path, passphrase if passphrase is not None else ask_passphrase())


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
            value = getpass.getpass(_("New passphrase: "))
            if getpass.getpass(_("Again: ")) != value:
                raise FieldkitError(_("the two passphrases differ; nothing was changed"))
        except (EOFError, KeyboardInterrupt):
            raise FieldkitError(_("no new passphrase given; nothing was changed")) from None

    check_strength(value, min_score)
    return value
