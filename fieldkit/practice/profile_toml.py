"""Reading policy profile files: find a shipped or agency file, follow its `extends` chain,
merge, and read each key typed, with an error that names the file, the line and the key.

`load_profile("ontario-std7")` (`fieldkit.practice.profile_load`) reads a shipped file from
`fieldkit/practice/profiles/`; `load_profile("agency.toml")` an agency's own file, which may
`extends = "ontario-std7"` and override only the keys it sets differently. What keys a
profile has is `profile_load`'s; this module knows TOML, files and value types only.
"""

from __future__ import annotations

import calendar
import json
import re
import tomllib
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fieldkit.i18n import _
from fieldkit.practice.profile import Period, ProfileError

PERIOD_UNITS = ("days", "weeks", "months")
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_WEEKDAYS.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})


# The largest number a profile may set, by unit: ten years, a day of minutes, 100 goals.
# Bigger values are typos and would overflow date arithmetic or stall the due list.
UPPER_BOUNDS: dict[str, int] = {
    "days": 3660,
    "weeks": 520,
    "months": 120,
    "minutes": 1440,
    "goals": 100,
    "score": 4,
}


def profiles_dir() -> Path:
    """Where shipped profiles live (package data of fieldkit.practice.profiles)."""
    return Path(str(resources.files("fieldkit.practice.profiles")))


def list_profiles() -> list[str]:
    """Names of the shipped profiles, for `--profile` help and `fieldkit rules`."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


_Origins = dict[tuple[str, str], tuple[str, str]]
"""(section, key) → (file name, file text): where a merged key came from, for line numbers."""


def _resolve(name_or_path: str | Path, base: Path | None) -> Path:
    """A bare name is a shipped profile; anything else is a path (relative to the extender)."""
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or "/" in text or text.endswith(".toml")
    if not looks_like_path:
        candidate = profiles_dir() / f"{text}.toml"
        if candidate.is_file():
            return candidate
        known = ", ".join(list_profiles())
        raise ProfileError(
            _('no policy profile named "{text}" (shipped profiles: {known})').format(
                text=text, known=known
            )
        )
    path = Path(text).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise ProfileError(_("{text}: no such profile file").format(text=text))
    return path


def _read(path: Path) -> tuple[dict[str, Any], str]:
    """Parse one TOML file; a syntax error names the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(
            _("{name}: cannot read the profile ({exc})").format(name=path.name, exc=exc)
        ) from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        if match:
            detail = message[: match.start()].strip()
            raise ProfileError(
                _("{name} line {line}: not valid TOML: {detail}").format(
                    name=path.name, line=match.group(1), detail=detail
                )
            ) from exc
        raise ProfileError(
            _("{name}: not valid TOML: {message}").format(name=path.name, message=message)
        ) from exc


def _period_base(key: str) -> str | None:
    """`interval_days` → `interval`; other keys → None."""
    for unit in PERIOD_UNITS:
        if key.endswith("_" + unit):
            return key[: -len(unit) - 1]
    return None


def _load_raw(
    name_or_path: str | Path, base: Path | None, chain: tuple[Path, ...]
) -> tuple[dict[str, dict[str, Any]], _Origins, str]:
    """Read a profile and its `extends` chain into one merged table with key origins."""
    path = _resolve(name_or_path, base).resolve()
    if path in chain:
        raise ProfileError(
            _("{name}: key extends: profiles extend each other in a loop").format(name=path.name)
        )
    data, text = _read(path)
    sections: dict[str, dict[str, Any]] = {"": {}}
    for key, value in data.items():
        if isinstance(value, dict):
            sections[key] = dict(value)
        else:
            sections[""][key] = value
    origins: _Origins = {}
    for section, values in sections.items():
        for key in values:
            origins[(section, key)] = (path.name, text)
    parent = sections[""].pop("extends", None)
    if parent is None:
        return sections, origins, path.name
    if not isinstance(parent, str) or not parent:
        line = _line_of(text, "", "extends")
        raise ProfileError(
            _(
                "{name} line {line}: key extends: expected a profile name or file, got {given}"
            ).format(name=path.name, line=line, given=show_value(parent))
        )
    merged, merged_origins, _text = _load_raw(parent, path.parent, (*chain, path))
    for section, values in sections.items():
        target = merged.setdefault(section, {})
        for key in values:
            period = _period_base(key)
            if period is not None:  # `interval_days` here replaces the parent's `interval_months`
                for unit in PERIOD_UNITS:
                    target.pop(f"{period}_{unit}", None)
                    merged_origins.pop((section, f"{period}_{unit}"), None)
        for key, value in values.items():
            target[key] = value
            merged_origins[(section, key)] = origins[(section, key)]
    return merged, merged_origins, path.name


def _line_of(text: str, section: str, key: str) -> int | None:
    """The 1-based line where `key` is set inside `[section]` (tomllib keeps no positions)."""
    current = ""
    key_pattern = re.compile(r'^\s*(?:"' + re.escape(key) + r'"|' + re.escape(key) + r")\s*=")
    part = r'(?:"{0}"|{0})'
    dotted_pattern = re.compile(
        r"^\s*"
        + part.format(re.escape(section))
        + r"\s*\.\s*"
        + part.format(re.escape(key))
        + r"\s*="
    )
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\s*([^\]\s]+)\s*\]\s*(#.*)?$", line)
        if header:
            current = header.group(1).strip('"')
            continue
        if current == section and key_pattern.match(line):
            return number
        if current == "" and section and dotted_pattern.match(line):
            return number  # `visits.interval_days = 14` above any [section] header
    if section and key == "":
        for number, line in enumerate(text.splitlines(), start=1):
            if re.match(r"^\s*\[\s*" + re.escape(section) + r"\s*\]", line):
                return number
    return None


def show_value(value: object) -> str:
    """A value as the user wrote it, for error messages."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ProfileReader:
    """Typed access to the merged table; every error names file, line and dotted key."""

    def __init__(self, sections: dict[str, dict[str, Any]], origins: _Origins, top: str) -> None:
        """Keep the merged table and where each key came from."""
        self.sections = sections
        self.origins = origins
        self.top = top
        self.used: set[tuple[str, str]] = set()

    def fail(self, section: str, key: str, message: str) -> ProfileError:
        """One-line error: `agency.toml line 7: key visits.interval_days: ...`."""
        dotted = f"{section}.{key}" if section else key
        origin = self.origins.get((section, key))
        if origin is None:
            return ProfileError(
                _("{top}: key {dotted}: {message}").format(
                    top=self.top, dotted=dotted, message=message
                )
            )
        name, text = origin
        line = _line_of(text, section, key)
        where = f"{name} line {line}" if line is not None else name
        return ProfileError(
            _("{where}: key {dotted}: {message}").format(
                where=where, dotted=dotted, message=message
            )
        )

    def has(self, section: str, key: str) -> bool:
        """Whether an optional key is set (in the file or a profile it extends)."""
        return key in self.sections.get(section, {})

    def raw(self, section: str, key: str, default: Any = None) -> Any:
        """A value that must be present, unless the key has a documented default."""
        values = self.sections.get(section, {})
        if key not in values and default is not None:
            return default
        if key not in values:
            raise self.fail(section, key, "missing (set it in the profile or extend one that does)")
        self.used.add((section, key))
        return values[key]

    def whole(
        self,
        section: str,
        key: str,
        what: str = "days",
        minimum: int = 0,
        default: int | None = None,
    ) -> int:
        """A whole number (days, minutes, goals) no smaller than `minimum`, no absurd size."""
        value = self.raw(section, key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(
                section, key, f"expected a whole number of {what}, got {show_value(value)}"
            )
        if value < minimum:
            raise self.fail(section, key, f"expected at least {minimum} {what}, got {value}")
        maximum = UPPER_BOUNDS.get(what, 3660)
        if value > maximum:
            raise self.fail(
                section, key, f"expected at most {maximum} {what}, got {show_value(value)}"
            )
        return value

    def text(self, section: str, key: str) -> str:
        """A non-empty string."""
        value = self.raw(section, key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(section, key, f"expected text, got {show_value(value)}")
        return value

    def flag(self, section: str, key: str) -> bool:
        """true or false."""
        value = self.raw(section, key)
        if not isinstance(value, bool):
            raise self.fail(section, key, f"expected true or false, got {show_value(value)}")
        return value

    def choice(self, section: str, key: str, allowed: tuple[str, ...]) -> str:
        """One of a fixed set of words."""
        value = self.raw(section, key)
        if value not in allowed:
            options = ", ".join(json.dumps(a) for a in allowed)
            raise self.fail(section, key, f"expected one of {options}, got {show_value(value)}")
        return str(value)

    def words(
        self, section: str, key: str, allowed: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        """A list of strings, optionally from a fixed set."""
        value = self.raw(section, key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(section, key, f"expected a list of text, got {show_value(value)}")
        if allowed is not None:
            for item in value:
                if item not in allowed:
                    options = ", ".join(json.dumps(a) for a in allowed)
                    raise self.fail(
                        section, key, f"expected items from {options}, got {show_value(item)}"
                    )
        return tuple(value)

    def period(self, section: str, base: str) -> Period:
        """Exactly one of `base_days`, `base_weeks`, `base_months`, at least 1."""
        values = self.sections.get(section, {})
        present = [unit for unit in PERIOD_UNITS if f"{base}_{unit}" in values]
        if not present:
            keys = ", ".join(f"{base}_{u}" for u in PERIOD_UNITS)
            raise self.fail(section, f"{base}_days", f"missing (set one of {keys})")
        if len(present) > 1:
            raise self.fail(
                section,
                f"{base}_{present[1]}",
                f"set only one of {base}_{present[0]} and {base}_{present[1]}",
            )
        unit = present[0]
        return Period(self.whole(section, f"{base}_{unit}", unit, minimum=1), unit)

    def dates(self, section: str, key: str) -> frozenset[date]:
        """A list of TOML dates (2026-12-25) or ISO date strings."""
        value = self.raw(section, key)
        if not isinstance(value, list):
            raise self.fail(section, key, f"expected a list of dates, got {show_value(value)}")
        result: set[date] = set()
        for item in value:
            if isinstance(item, date) and not isinstance(item, datetime):
                result.add(item)
                continue
            try:
                if not isinstance(item, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
                    raise ValueError(item)
                result.add(date.fromisoformat(item))
            except ValueError:
                raise self.fail(
                    section, key, f"expected dates like 2026-12-25, got {show_value(item)}"
                ) from None
        return frozenset(result)

    def weekdays(self, section: str, key: str) -> frozenset[int]:
        """Day names (Saturday, Sun, ...) as weekday numbers."""
        result: set[int] = set()
        for item in self.words(section, key):
            number = _WEEKDAYS.get(item.lower())
            if number is None:
                raise self.fail(
                    section, key, f'expected day names like "Saturday", got {show_value(item)}'
                )
            result.add(number)
        if len(result) >= 7:
            raise self.fail(section, key, "a week needs at least one working day")
        return frozenset(result)

    def check_unknown(self) -> None:
        """A typo in a key name must not silently fall back to the parent's value."""
        for section, values in self.sections.items():
            for key in values:
                if (section, key) not in self.used:
                    raise self.fail(
                        section, key, "unknown key (check the spelling against ontario-std7.toml)"
                    )


def read_profile(target: str | Path) -> ProfileReader:
    """A profile file and its `extends` chain, merged, ready to be read key by key."""
    sections, origins, top = _load_raw(target, None, ())
    return ProfileReader(sections, origins, top)
