"""A profile's preferences beside its database: theme, language, demo marker.

They hold no case content (the test for clear data says so), so the unlock screen can read
them before any key exists: the worker's theme and language are right from the first frame.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

PREFS_SUFFIX = ".prefs.json"
KNOWN = {"theme", "language", "demo_passphrase"}
"""The only keys a preference file may hold; anything else is ignored on read."""


def prefs_path(profile: Path) -> Path:
    """`default.fieldkit` → `default.fieldkit.prefs.json`, in the same directory."""
    return profile.with_name(profile.name + PREFS_SUFFIX)


def load_prefs(profile: Path | None) -> dict[str, str]:
    """The profile's preferences; an absent or damaged file reads as none."""
    if profile is None:
        return {}
    try:
        raw: Any = json.loads(prefs_path(profile).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: str(v) for k, v in raw.items() if k in KNOWN and isinstance(v, str)}


def save_pref(profile: Path | None, key: str, value: str | None) -> None:
    """Set (or with None, remove) one preference; written whole, then renamed, mode 0600."""
    if profile is None or key not in KNOWN or not profile.parent.is_dir():
        return
    prefs = load_prefs(profile)
    if value is None:
        prefs.pop(key, None)
    else:
        prefs[key] = value
    target = prefs_path(profile)
    temp = target.with_name(target.name + ".tmp")
    with contextlib.suppress(OSError):
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(prefs, out, indent=1, sort_keys=True)
        os.replace(temp, target)
