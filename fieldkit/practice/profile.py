"""Policy profiles: every number and list from PRACTICE.md, read from a TOML file, never from code.

A profile is a TOML file. `load_profile("ontario-std7")` reads a shipped one from
`fieldkit/practice/profiles/`; `load_profile("agency.toml")` reads an agency's own file,
which may `extends = "ontario-std7"` and override only the keys it sets differently.
A malformed profile is refused with one line naming the file, the line and the key.
"""

from __future__ import annotations

import calendar
import json
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldkit.i18n import _, ngettext
from fieldkit.practice.rules import RULES

DEFAULT_PROFILE = "ontario-std7"

STATUSES = ("overdue", "missed", "due", "due-soon", "upcoming", "done-late", "done")
"""Every status a due item can have, most urgent first. "missed": a duty whose window has
closed without it being met (VI-5); "done-late": a one-time duty met after its deadline."""

GATE_MODES = ("block", "warn")
MONTH_MODES = ("calendar", "days")
PERIOD_UNITS = ("days", "weeks", "months")
EVENT_KINDS = (
    "placement-change",
    "new-referral",
    "absent-parent-located",
    "treatment-completed",
    "reunification",
)
VISIT_KIND_RULES = ("VI-2", "VI-3")
"""The visit rules a kind of contact can meet, as listed in a profile's `[visit_kinds]`."""

DEFAULT_VISIT_KIND_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("home", ("VI-2", "VI-3")),
    ("placement", ("VI-2", "VI-3")),
    ("school", ("VI-2",)),
    ("office", ("VI-2",)),
    ("phone", ()),
    ("video", ()),
)
"""With no `[visit_kinds]`: face to face meets VI-2; only the child's own home meets VI-3."""

REVIEW_RECORD_ITEMS = ("assessment", "service-plan", "safety-plan", "visit", "supervision")
ACTIVITY_FIELDS = ("who", "where", "how", "when", "measure")
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


class ProfileError(Exception):
    """A policy profile the user wrote cannot be used; str() is one line naming file, line, key."""


@dataclass(frozen=True)
class Period:
    """A recurring interval as the standard states it (1 month, 6 weeks, 30 days)."""

    count: int
    unit: str

    def describe(self) -> str:
        """Words for tables and reasons: "1 month", "6 weeks"."""
        n = self.count
        if self.unit == "days":
            return ngettext("{n} day", "{n} days", n).format(n=n)
        if self.unit == "weeks":
            return ngettext("{n} week", "{n} weeks", n).format(n=n)
        if self.unit == "months":
            return ngettext("{n} month", "{n} months", n).format(n=n)
        unit = self.unit[:-1] if n == 1 else self.unit
        return f"{n} {unit}"


def add_months(day: date, months: int) -> date:
    """Calendar months with end-of-month clamping: 2026-08-31 + 6 months = 2027-02-28."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def split_jurisdiction(code: str) -> tuple[str, str | None]:
    """ "CA-ON" → ("CA", "ON"); "US" → ("US", None)."""
    country, _sep, subdivision = code.strip().partition("-")
    return country.upper(), (subdivision.upper() or None)


@lru_cache(maxsize=64)
def public_holidays(
    jurisdiction: str,
    categories: tuple[str, ...],
    year: int,
    also: tuple[str, ...] = (),
    not_observed: tuple[str, ...] = (),
) -> dict[date, str]:
    """Holidays (observed dates included) of a country or subdivision for one year, from the
    maintained `holidays` library, so no hand-typed list runs out: the `categories`, plus
    holidays of any category named in `also`, less those named in `not_observed`."""

    country, subdivision = split_jurisdiction(jurisdiction)

    def table(cats: tuple[str, ...]) -> dict[date, list[str]]:
        found = _country_holidays(
            country, subdiv=subdivision, years=year, categories=cats, observed=True
        )
        return {day: str(name).split("; ") for day, name in found.items()}

    result: dict[date, list[str]] = table(categories)
    if also:
        every = tuple(_country_holidays(country).supported_categories)
        for day, names in table(every).items():
            wanted = [n for n in names if _base_name(n) in also]
            if wanted:
                result.setdefault(day, []).extend(n for n in wanted if n not in result[day])
    kept = {
        day: [n for n in names if _base_name(n) not in not_observed]
        for day, names in result.items()
    }
    return {day: "; ".join(names) for day, names in kept.items() if names}


def _country_holidays(country: str, **options: Any) -> Any:
    """The `holidays` table in the library's own language for the country, never the one
    LANG names: holiday names in a policy profile are matched as written (a French LANG
    must not turn "Civic Holiday" into a name the profile does not know)."""
    # local: holidays adds ~50 ms to every start (-X importtime); only the holiday calendar
    # needs it
    import holidays as holidays_lib

    language = getattr(getattr(holidays_lib, country, None), "default_language", None)
    return holidays_lib.country_holidays(country, language=language, **options)


def _base_name(name: str) -> str:
    """ "Christmas Day (observed)" → "Christmas Day"."""
    return name.removesuffix(" (observed)")


def check_jurisdiction(code: str, categories: tuple[str, ...]) -> str | None:
    """None when the `holidays` library knows the jurisdiction and categories, else why not."""
    # local: holidays adds ~50 ms to every start (-X importtime); see _country_holidays
    import holidays as holidays_lib

    country, subdivision = split_jurisdiction(code)
    # One country's calendar, not `list_supported_countries()`: that imports every
    # country's module (about 0.3 s on each unlock).
    try:
        known = holidays_lib.country_holidays(country)
    except NotImplementedError:
        return f'unknown country "{country}" (ISO 3166 codes, e.g. "CA-ON", "US-WI")'
    if subdivision is not None and subdivision not in known.subdivisions:
        return f'"{country}" has no subdivision "{subdivision}"'
    try:
        _country_holidays(country, subdiv=subdivision, categories=categories)
    except (NotImplementedError, ValueError) as exc:
        return str(exc).splitlines()[0]
    return None


@lru_cache(maxsize=16)
def _holiday_names(jurisdiction: str) -> frozenset[str]:
    """Every holiday name the library knows for a jurisdiction (any category), 2020-2040."""

    country, subdivision = split_jurisdiction(jurisdiction)
    every = tuple(_country_holidays(country).supported_categories)
    found = _country_holidays(
        country, subdiv=subdivision, years=range(2020, 2041), categories=every
    )
    return frozenset(_base_name(n) for name in found.values() for n in str(name).split("; "))


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    """Zones are looked up once; zoneinfo caches too, but the error path should be ours."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class PolicyProfile:
    """One jurisdiction's (or agency's) practice numbers; the rules engine reads only this."""

    name: str
    title: str
    source: str
    timezone: str
    idle_lock_minutes: int
    due_days: int
    due_soon_days: int
    month_counting: str
    days_per_month: int
    weekend: frozenset[int]
    jurisdiction: str
    holiday_categories: tuple[str, ...]
    closures: frozenset[date]
    also_observed: tuple[str, ...]
    not_observed: tuple[str, ...]
    not_applied: frozenset[str]
    visit_interval: Period
    visit_kinds: tuple[str, ...]
    first_month_days: int
    first_month_interval_days: int
    unannounced_required_when: tuple[str, ...]
    service_plan_deadline_days: int
    foster_care_plan_deadline_days: int
    supervision_interval: Period
    supervision_high_risk_interval: Period
    review_interval: Period
    event_review_days: tuple[tuple[str, int], ...]
    safety_plan_documentation_working_days: int
    gate_assessment_before_plan: str
    gate_safety_plan_approval: str
    gate_private_interview: str
    gate_observation: str
    gate_unannounced: str
    visit_requires_notes: bool
    visit_requires_next_visit_date: bool
    visit_requires_safety_changed: bool
    visit_requires_private_interview_details: bool
    visit_requires_observation_details: bool
    visit_requires_goal_progress: bool
    plan_activity_fields: tuple[str, ...]
    plan_requires_family_agreement: bool
    plan_min_goals: int
    review_record_requires: tuple[str, ...]
    visit_documentation_working_days: int = 0
    visit_kind_rules: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Rules VI-2, VI-3: each kind of contact a visit can be, and the visit rules it can meet."""

    def kind_meets(self, kind: str | None, rule: str) -> bool:
        """Whether a contact of this kind can meet `rule` (VI-2, VI-3); unknown kinds meet none."""
        return any(name == kind and rule in rules for name, rules in self.visit_kind_rules)

    @property
    def contact_kinds(self) -> tuple[str, ...]:
        """The kinds of contact a visit can be, in the profile's order."""
        return tuple(name for name, _rules in self.visit_kind_rules)

    min_passphrase_score: int = 3
    """zxcvbn score (0-4) a new passphrase must reach; an agency may demand 4."""
    sync_late_days: int = 14
    stale_after_days: int = 7
    """`[sync] stale_after_days`: a laptop not synced for more days than this is flagged."""
    photo_max_edge: int = 2048
    keep_photo_original: bool = False
    pull_attachments: str = "on-demand"

    def applies(self, rule: str) -> bool:
        """A rule the jurisdiction does not apply yields no due items or checks."""
        return rule not in self.not_applied

    def event_days(self, kind: str) -> int | None:
        """Days after a significant event by which the plan is reviewed (PL-7, EV-1, RV-3)."""
        for event_kind, days in self.event_review_days:
            if event_kind == kind:
                return days
        return None

    def add_period(self, day: date, period: Period) -> date:
        """Add an interval the way this profile counts months (calendar or fixed days)."""
        if period.unit == "days":
            return day + timedelta(days=period.count)
        if period.unit == "weeks":
            return day + timedelta(weeks=period.count)
        if self.month_counting == "days":
            return day + timedelta(days=period.count * self.days_per_month)
        return add_months(day, period.count)

    def holiday_name(self, day: date) -> str | None:
        """The jurisdiction's public holiday or the agency's closure on `day`, in words."""
        if day in self.closures:
            return _("agency closure")
        table = public_holidays(
            self.jurisdiction,
            self.holiday_categories,
            day.year,
            self.also_observed,
            self.not_observed,
        )
        return table.get(day)

    def is_holiday(self, day: date) -> bool:
        """A public holiday of the profile's jurisdiction (any year) or an agency closure day."""
        return self.holiday_name(day) is not None

    def is_working_day(self, day: date) -> bool:
        """Rule SA-2 counts working days: not a weekend day, not a holiday or closure."""
        return day.weekday() not in self.weekend and not self.is_holiday(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n=1: the next working day); n=0 rolls forward."""
        current = day
        if n <= 0:
            while not self.is_working_day(current):
                current += timedelta(days=1)
            return current
        remaining = n
        while remaining:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def local_date(self, ts: datetime) -> date:
        """The agency-zone calendar date of an instant: a 23:30 visit stays on its own day."""
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError("local_date needs an aware datetime (with a time zone)")
        try:
            zone = _zone(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ProfileError(
                _("{name}: key timezone: unknown time zone {timezone}").format(
                    name=Path(self.source).name, timezone=repr(self.timezone)
                )
            ) from exc
        return ts.astimezone(zone).date()

    def today(self, now: datetime | None = None) -> date:
        """Today's date in the agency's time zone (the default --as-of)."""
        return self.local_date(now if now is not None else datetime.now().astimezone())

    def status_for(self, due: date, as_of: date) -> str:
        """Rule-independent status of an open requirement; see render.STATUS_HELP."""
        if due < as_of:
            return "overdue"
        days = (due - as_of).days
        if days <= self.due_days:
            return "due"
        if days <= self.due_soon_days:
            return "due-soon"
        return "upcoming"


# --------------------------------------------------------------------------- loading


def _profiles_dir() -> Path:
    """Where shipped profiles live (package data of fieldkit.practice.profiles)."""
    return Path(str(resources.files("fieldkit.practice.profiles")))


def list_profiles() -> list[str]:
    """Names of the shipped profiles, for `--profile` help and `fieldkit rules`."""
    return sorted(p.stem for p in _profiles_dir().glob("*.toml"))


_Origins = dict[tuple[str, str], tuple[str, str]]
"""(section, key) → (file name, file text): where a merged key came from, for line numbers."""


def _resolve(name_or_path: str | Path, base: Path | None) -> Path:
    """A bare name is a shipped profile; anything else is a path (relative to the extender)."""
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or "/" in text or text.endswith(".toml")
    if not looks_like_path:
        candidate = _profiles_dir() / f"{text}.toml"
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
            ).format(name=path.name, line=line, given=_show(parent))
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


def _show(value: object) -> str:
    """A value as the user wrote it, for error messages."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Reader:
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
            raise self.fail(section, key, f"expected a whole number of {what}, got {_show(value)}")
        if value < minimum:
            raise self.fail(section, key, f"expected at least {minimum} {what}, got {value}")
        maximum = UPPER_BOUNDS.get(what, 3660)
        if value > maximum:
            raise self.fail(section, key, f"expected at most {maximum} {what}, got {_show(value)}")
        return value

    def text(self, section: str, key: str) -> str:
        """A non-empty string."""
        value = self.raw(section, key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(section, key, f"expected text, got {_show(value)}")
        return value

    def flag(self, section: str, key: str) -> bool:
        """true or false."""
        value = self.raw(section, key)
        if not isinstance(value, bool):
            raise self.fail(section, key, f"expected true or false, got {_show(value)}")
        return value

    def choice(self, section: str, key: str, allowed: tuple[str, ...]) -> str:
        """One of a fixed set of words."""
        value = self.raw(section, key)
        if value not in allowed:
            options = ", ".join(json.dumps(a) for a in allowed)
            raise self.fail(section, key, f"expected one of {options}, got {_show(value)}")
        return str(value)

    def words(
        self, section: str, key: str, allowed: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        """A list of strings, optionally from a fixed set."""
        value = self.raw(section, key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(section, key, f"expected a list of text, got {_show(value)}")
        if allowed is not None:
            for item in value:
                if item not in allowed:
                    options = ", ".join(json.dumps(a) for a in allowed)
                    raise self.fail(
                        section, key, f"expected items from {options}, got {_show(item)}"
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
            raise self.fail(section, key, f"expected a list of dates, got {_show(value)}")
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
                    section, key, f"expected dates like 2026-12-25, got {_show(item)}"
                ) from None
        return frozenset(result)

    def weekdays(self, section: str, key: str) -> frozenset[int]:
        """Day names (Saturday, Sun, ...) as weekday numbers."""
        result: set[int] = set()
        for item in self.words(section, key):
            number = _WEEKDAYS.get(item.lower())
            if number is None:
                raise self.fail(
                    section, key, f'expected day names like "Saturday", got {_show(item)}'
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


def _build(reader: _Reader, check_calendar: bool = True) -> PolicyProfile:
    """Validate every key and make the typed profile.

    `check_calendar=False` skips asking the holidays library whether it knows the
    jurisdiction (loading it costs a third of a second): only for shipped profiles,
    which `tests/unit/test_practice_profile.py` loads with the check.
    """
    r = reader
    timezone = r.text("", "timezone")
    try:
        _zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail(
            "", "timezone", f'unknown time zone {_show(timezone)} (e.g. "America/Toronto")'
        ) from None

    not_applied = r.words("rules", "not_applied")
    for rule in not_applied:
        if rule not in RULES:
            raise r.fail("rules", "not_applied", f"unknown rule id {_show(rule)}")
    due_days = r.whole("status", "due_days", default=7)
    due_soon_days = r.whole("status", "due_soon_days", default=14)
    if due_soon_days < due_days:
        raise r.fail(
            "status",
            "due_soon_days",
            f"must be at least due_days ({due_days}), got {due_soon_days}",
        )
    events = r.sections.get("events", {})
    event_days: list[tuple[str, int]] = []
    for kind in events:
        if kind not in EVENT_KINDS:
            options = ", ".join(EVENT_KINDS)
            raise r.fail("events", kind, f"unknown event kind (known: {options})")
        event_days.append((kind, r.whole("events", kind)))
    name, title = r.text("", "name"), r.text("", "title")
    origin = r.origins.get(("", "name"))
    if origin is not None and origin[0] != r.top:
        # an agency file that extends a profile without naming itself is not its parent
        name = Path(r.top).stem
        if r.origins.get(("", "title"), (r.top,))[0] != r.top:
            title = f"{title}, as extended by {r.top}"
    jurisdiction = r.text("calendar", "jurisdiction")
    categories = (
        r.words("calendar", "holiday_categories")
        if r.has("calendar", "holiday_categories")
        else ("public",)
    )
    problem = check_jurisdiction(jurisdiction, categories) if check_calendar else None
    if problem is not None:
        key = "jurisdiction"
        if (
            r.has("calendar", "holiday_categories")
            and check_jurisdiction(jurisdiction, ("public",)) is None
        ):
            key = "holiday_categories"
        raise r.fail("calendar", key, problem)
    names: dict[str, tuple[str, ...]] = {}
    for key in ("also_observed", "not_observed"):
        names[key] = r.words("calendar", key) if r.has("calendar", key) else ()
        if not names[key] or not check_calendar:
            continue
        known = _holiday_names(jurisdiction)
        for item in names[key]:
            if item not in known:
                raise r.fail(
                    "calendar", key, f"{_show(item)} is not a holiday name of {jurisdiction}"
                )
    also_observed, not_observed = names["also_observed"], names["not_observed"]
    closures: frozenset[date] = frozenset()
    for key in ("closures", "holidays"):  # `holidays`: the older name of agency closure days
        if r.has("calendar", key):
            closures |= r.dates("calendar", key)
    profile = PolicyProfile(
        name=name,
        title=title,
        source=r.top,
        timezone=timezone,
        idle_lock_minutes=r.whole("", "idle_lock_minutes", "minutes", minimum=1, default=10),
        min_passphrase_score=r.whole("", "min_passphrase_score", "score", minimum=3, default=3),
        due_days=due_days,
        due_soon_days=due_soon_days,
        month_counting=r.choice("calendar", "months", MONTH_MODES),
        days_per_month=r.whole("calendar", "days_per_month", minimum=1),
        weekend=r.weekdays("calendar", "weekend"),
        jurisdiction=jurisdiction,
        holiday_categories=categories,
        closures=closures,
        also_observed=also_observed,
        not_observed=not_observed,
        not_applied=frozenset(not_applied),
        visit_interval=r.period("visits", "interval"),
        visit_kinds=r.words("visits", "counted_kinds"),
        first_month_days=r.whole("visits", "first_month_days"),
        first_month_interval_days=r.whole("visits", "first_month_interval_days"),
        unannounced_required_when=r.words("unannounced", "required_when"),
        service_plan_deadline_days=r.whole("service_plan", "deadline_days", minimum=1),
        foster_care_plan_deadline_days=r.whole("foster_care_plan", "deadline_days", minimum=1),
        supervision_interval=r.period("supervision", "interval"),
        supervision_high_risk_interval=r.period("supervision", "high_risk_interval"),
        review_interval=r.period("review", "interval"),
        event_review_days=tuple(event_days),
        safety_plan_documentation_working_days=r.whole(
            "safety_plan", "documentation_working_days", "working days"
        ),
        gate_assessment_before_plan=r.choice("gates", "assessment_before_plan", GATE_MODES),
        gate_safety_plan_approval=r.choice("gates", "safety_plan_approval", GATE_MODES),
        gate_private_interview=r.choice("gates", "private_interview", GATE_MODES),
        gate_observation=r.choice("gates", "observation", GATE_MODES),
        gate_unannounced=r.choice("gates", "unannounced", GATE_MODES),
        visit_requires_notes=r.flag("visit_record", "notes"),
        visit_requires_next_visit_date=r.flag("visit_record", "next_visit_date"),
        visit_requires_safety_changed=r.flag("visit_record", "safety_changed"),
        visit_requires_private_interview_details=r.flag(
            "visit_record", "private_interview_details"
        ),
        visit_requires_observation_details=r.flag("visit_record", "observation_details"),
        visit_requires_goal_progress=r.flag("visit_record", "goal_progress"),
        plan_activity_fields=r.words("service_plan_record", "activity_fields", ACTIVITY_FIELDS),
        plan_requires_family_agreement=r.flag("service_plan_record", "family_agreement"),
        plan_min_goals=r.whole("service_plan_record", "min_goals", "goals"),
        review_record_requires=r.words("review_record", "requires", REVIEW_RECORD_ITEMS),
        visit_documentation_working_days=r.whole(
            "visit_record", "documentation_working_days", "working days", default=0
        ),
        stale_after_days=r.whole("sync", "stale_after_days", minimum=1, default=7),
        **_evidence_settings(r),
    )
    kinds = r.sections.get("visit_kinds")
    if kinds is None:
        kind_rules = DEFAULT_VISIT_KIND_RULES
    else:
        kind_rules = tuple((kind, r.words("visit_kinds", kind, VISIT_KIND_RULES)) for kind in kinds)
        if not kind_rules:
            raise r.fail("visit_kinds", "", "list at least one kind of contact")
    profile = replace(profile, visit_kind_rules=kind_rules)
    r.check_unknown()
    return profile


ATTACHMENT_PULL_MODES = ("on-demand", "always")


def _evidence_settings(r: _Reader) -> dict[str, Any]:
    """The `[evidence]` section: agency settings for time evidence and attachments."""
    present = r.sections.get("evidence", {})
    keep = False
    if "keep_photo_original" in present:
        keep = r.flag("evidence", "keep_photo_original")
    return {
        "sync_late_days": r.whole("evidence", "sync_late_days", default=14),
        "photo_max_edge": r.whole(
            "evidence", "photo_max_edge", "pixels", minimum=320, default=2048
        ),
        "keep_photo_original": keep,
        "pull_attachments": r.choice("evidence", "pull_attachments", ATTACHMENT_PULL_MODES)
        if "pull_attachments" in present
        else "on-demand",
    }


def _load(target: str | Path, check_calendar: bool = True) -> PolicyProfile:
    """Read, merge and validate a profile and its `extends` chain."""
    sections, origins, top = _load_raw(target, None, ())
    return _build(_Reader(sections, origins, top), check_calendar)


@lru_cache(maxsize=8)
def _load_shipped(name: str) -> PolicyProfile:
    """Shipped profiles never change while fieldkit runs; read each once (their calendar
    is checked by the tests, not on every start)."""
    return _load(name, check_calendar=False)


def load_profile(name_or_path: str | Path | None = None) -> PolicyProfile:
    """Load a shipped profile by name (default ontario-std7) or an agency's TOML file by path."""
    target: str | Path = DEFAULT_PROFILE if name_or_path is None else name_or_path
    if isinstance(target, str) and target in list_profiles():
        return _load_shipped(target)
    return _load(target)
