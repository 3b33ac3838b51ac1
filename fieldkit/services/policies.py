"""Which policy profile a local profile follows: checked before it is stored, shown, changed.

The stored value is a shipped profile's name or the absolute path of an agency's TOML file,
so a command run from another directory reads the same profile. No Textual, no SQL here.
"""

from __future__ import annotations

from pathlib import Path

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import PolicyProfile, ProfileError, list_profiles, load_profile
from fieldkit.store import Store


def checked_policy(given: str) -> str:
    """The value to store for `--policy GIVEN`: a shipped name, or an agency file's absolute
    path; refused in one line when it is neither, or when the profile does not load."""
    text = given.strip()
    if not text:
        raise FieldkitError(_("--policy: name a shipped profile or a TOML file"))
    if text in list_profiles():
        return text
    path = Path(text).expanduser()
    looks_like_path = "/" in text or text.endswith(".toml")
    if not looks_like_path:
        known = ", ".join(list_profiles())
        raise FieldkitError(
            _('no policy profile named "{text}" (shipped profiles: {known})').format(
                text=text, known=known
            )
        )
    if not path.is_file():
        raise FieldkitError(_("{text}: no such profile file").format(text=text))
    resolved = path.resolve()
    try:
        load_profile(resolved)
    except ProfileError as exc:
        raise FieldkitError(str(exc)) from None
    return str(resolved)


def stored_policy(store: Store) -> str:
    """What the local profile follows (ontario-std7 for profiles made before it was stored)."""
    return store.meta("policy") or "ontario-std7"


def current_profile(store: Store) -> PolicyProfile:
    """The policy profile the local profile follows, loaded and validated."""
    try:
        return load_profile(stored_policy(store))
    except ProfileError as exc:
        raise FieldkitError(
            _("the stored policy profile cannot be used: {exc}").format(exc=exc)
        ) from None


def set_policy(store: Store, given: str) -> PolicyProfile:
    """Check, then store, the policy profile this local profile follows."""
    value = checked_policy(given)
    profile = load_profile(value)
    store.set_meta("policy", value)
    return profile


def stale_after_days(given: str | None) -> int:
    """`[sync] stale_after_days` of a practice profile (shipped name or TOML file; none:
    the default profile): after this many days without a sync a laptop is flagged."""
    try:
        return load_profile(checked_policy(given) if given else None).stale_after_days
    except ProfileError as exc:
        raise FieldkitError(str(exc)) from None
