"""Policy profiles: every number and list from PRACTICE.md, as the rules engine reads them.

`PolicyProfile` is one agency's numbers, typed, with the calendar arithmetic they need
(periods, working days, public holidays, the agency's time zone). It is read from a TOML
file by `fieldkit.practice.profile_load` (the keys a profile has) over
`fieldkit.practice.profile_toml` (finding, reading and merging the files).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldkit.i18n import _, ngettext

STATUSES = ("overdue", "missed", "due", "due-soon", "upcoming", "done-late", "done")
"""Every status a due item can have, most urgent first. "missed": a duty whose window has
closed without it being met (VI-5); "done-late": a one-time duty met after its deadline."""


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
def holiday_names(jurisdiction: str) -> frozenset[str]:
    """Every holiday name the library knows for a jurisdiction (any category), 2020-2040."""

    country, subdivision = split_jurisdiction(jurisdiction)
    every = tuple(_country_holidays(country).supported_categories)
    found = _country_holidays(
        country, subdiv=subdivision, years=range(2020, 2041), categories=every
    )
    return frozenset(_base_name(n) for name in found.values() for n in str(name).split("; "))


@lru_cache(maxsize=32)
def time_zone(name: str) -> ZoneInfo:
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
            zone = time_zone(self.timezone)
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
