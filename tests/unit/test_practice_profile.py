"""Policy profiles: shipped profiles, `extends`, errors with file/line/key, calendars and zones."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from fieldkit.practice import Period, ProfileError, add_months, list_profiles, load_profile

ON = load_profile("ontario-std7")
US = load_profile("us-ongoing")


def test_shipped_profiles_pass_the_calendar_check_they_skip_at_start() -> None:
    """Shipped profiles load without asking the holidays library (a third of a second per
    start); their jurisdiction and categories are checked here instead."""
    from fieldkit.practice.profile import check_jurisdiction, holiday_names
    from fieldkit.practice.profile_load import _load

    for name in list_profiles():
        checked = _load(name, check_calendar=True)
        assert checked == load_profile(name)
        assert check_jurisdiction(checked.jurisdiction, checked.holiday_categories) is None
        known = holiday_names(checked.jurisdiction)
        assert set(checked.also_observed) | set(checked.not_observed) <= known
    assert check_jurisdiction("ZZ", ("public",)) is not None


def test_shipped_profiles_load() -> None:
    assert {"ontario-std7", "us-ongoing"} <= set(list_profiles())
    assert load_profile() == ON
    assert ON.visit_interval == Period(1, "months")  # rule VI-1
    assert ON.supervision_interval == Period(6, "weeks")  # rule RV-1
    assert ON.service_plan_deadline_days == 30  # rule PL-2
    assert US.foster_care_plan_deadline_days == 60  # rule FED-1
    assert ON.review_interval == Period(6, "months")  # rules RV-2, RV-5, PL-7
    assert ON.safety_plan_documentation_working_days == 1  # rule SA-2
    assert not ON.applies("FED-1") and US.applies("FED-1")
    assert ON.idle_lock_minutes == 10
    assert ON.timezone == "America/Toronto" and US.timezone == "America/Chicago"
    assert ON.unannounced_required_when  # rule VI-4


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),  # clamp to a 28-day February
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # leap February
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 10, 31), 1, date(2026, 11, 30)),  # 31-day month into a 30-day month
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across the year end
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("profile", "start", "n", "expected"),
    [
        # rule SA-2: "next working day" skips weekends and the profile's holidays
        (ON, date(2026, 10, 7), 1, date(2026, 10, 8)),  # Wed → Thu
        (ON, date(2026, 10, 9), 1, date(2026, 10, 13)),  # Fri → Tue (Mon 12 Thanksgiving)
        (ON, date(2026, 10, 10), 1, date(2026, 10, 13)),  # Sat → Tue
        (ON, date(2026, 12, 24), 1, date(2026, 12, 29)),  # Christmas Fri, Boxing Day Mon 28
        (ON, date(2026, 11, 25), 1, date(2026, 11, 26)),  # US Thanksgiving is a work day here
        (US, date(2026, 11, 25), 1, date(2026, 11, 27)),  # Wed → Fri (Thu 26 Thanksgiving)
        (US, date(2026, 7, 2), 1, date(2026, 7, 6)),  # Thu → Mon (Fri 3 July 4th observed)
        (ON, date(2026, 10, 9), 2, date(2026, 10, 14)),
        (ON, date(2026, 10, 10), 0, date(2026, 10, 13)),  # n=0 rolls a closed day forward
    ],
)
def test_add_working_days(profile: object, start: date, n: int, expected: date) -> None:
    assert profile.add_working_days(start, n) == expected  # type: ignore[attr-defined]


def test_is_working_day() -> None:
    assert ON.is_working_day(date(2026, 10, 13))
    assert not ON.is_working_day(date(2026, 10, 12))  # Thanksgiving (Ontario)
    assert not ON.is_working_day(date(2026, 10, 10))  # Saturday
    assert ON.is_working_day(date(2026, 11, 26)) and not US.is_working_day(date(2026, 11, 26))


@pytest.mark.parametrize(
    ("profile", "ts", "expected"),
    [
        # 22:45 in Toronto (EDT, -4) is already 02:45 the next day in UTC
        (ON, datetime(2026, 11, 1, 2, 45, tzinfo=UTC), date(2026, 10, 31)),
        # 23:30 in Chicago (CDT, -5)
        (US, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), date(2026, 10, 31)),
        # after the DST change (EST, -5): 23:59 Toronto on 2026-11-30
        (ON, datetime(2026, 12, 1, 4, 59, tzinfo=UTC), date(2026, 11, 30)),
        (ON, datetime(2026, 12, 1, 5, 0, tzinfo=UTC), date(2026, 12, 1)),
        (
            ON,
            datetime(2026, 10, 31, 22, 45, tzinfo=timezone(timedelta(hours=-4))),
            date(2026, 10, 31),
        ),
    ],
)
def test_local_date_in_agency_zone(profile: object, ts: datetime, expected: date) -> None:
    assert profile.local_date(ts) == expected  # type: ignore[attr-defined]


def test_local_date_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError):
        ON.local_date(datetime(2026, 10, 31, 22, 45))


def _write(tmp_path: Path, text: str, name: str = "agency.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_agency_profile_extends_and_overrides(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'extends = "ontario-std7"\nname = "agency"\n\n[visits]\ninterval_days = 14\n\n'
        "[supervision]\nhigh_risk_interval_weeks = 2\n",
    )
    profile = load_profile(path)
    assert profile.name == "agency"
    assert profile.visit_interval == Period(14, "days")  # replaces interval_months
    assert profile.supervision_interval == Period(6, "weeks")  # inherited
    assert profile.supervision_high_risk_interval == Period(2, "weeks")
    assert (profile.jurisdiction, profile.closures) == (ON.jurisdiction, ON.closures)
    assert profile.add_period(date(2026, 10, 3), profile.visit_interval) == date(2026, 10, 17)


def test_agency_profile_extends_a_file_beside_it(tmp_path: Path) -> None:
    _write(tmp_path, 'extends = "us-ongoing"\nname = "region"\n', "region.toml")
    path = _write(tmp_path, 'extends = "region.toml"\nname = "office"\n[status]\ndue_days = 3\n')
    profile = load_profile(str(path))
    assert profile.name == "office" and profile.due_days == 3
    assert profile.timezone == "America/Chicago"


def test_optional_keys_have_documented_defaults(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "fieldkit/practice/profiles/ontario-std7.toml").read_text()
    text = text.replace("idle_lock_minutes = 10\n", "").replace("due_days = 7\n", "")
    profile = load_profile(_write(tmp_path, text.replace('name = "ontario-std7"', 'name = "own"')))
    assert (profile.name, profile.idle_lock_minutes, profile.due_days) == ("own", 10, 7)


def test_months_counted_as_days(tmp_path: Path) -> None:
    path = _write(tmp_path, 'extends = "ontario-std7"\n[calendar]\nmonths = "days"\n')
    profile = load_profile(path)
    # 6 x 30 days from 2026-08-31: Sep 30, Oct 30, Nov 29, Dec 29, Jan 28, Feb 27
    assert profile.add_period(date(2026, 8, 31), Period(6, "months")) == date(2027, 2, 27)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'extends = "ontario-std7"\n# agency overrides\nname = "agency"\n\n[visits]\n'
            'counted_kinds = ["home"]\ninterval_days = "monthly"\n',
            "agency.toml line 7: key visits.interval_days: expected a whole number of days, "
            'got "monthly"',
        ),
        (
            'extends = "ontario-std7"\n[visits]\nintervall_days = 14\n',
            "agency.toml line 3: key visits.intervall_days: unknown key",
        ),
        (
            'extends = "ontario-std7"\ntimezone = "Mars/Olympus"\n',
            'agency.toml line 2: key timezone: unknown time zone "Mars/Olympus"',
        ),
        (
            'extends = "ontario-std7"\n[gates]\nprivate_interview = "maybe"\n',
            'agency.toml line 3: key gates.private_interview: expected one of "block", "warn"',
        ),
        (
            'extends = "ontario-std7"\n[calendar]\nholidays = ["2026-13-01"]\n',
            "agency.toml line 3: key calendar.holidays: expected dates like 2026-12-25, "
            'got "2026-13-01"',
        ),
        (
            'extends = "ontario-std7"\n[visits]\ninterval_days = 14\ninterval_weeks = 2\n',
            "agency.toml line 4: key visits.interval_weeks: set only one of",
        ),
        (
            'extends = "ontario-std7"\n[rules]\nnot_applied = ["XX-9"]\n',
            'agency.toml line 3: key rules.not_applied: unknown rule id "XX-9"',
        ),
        (
            'extends = "ontario-std7"\n[visits]\ninterval_days = 0\n',
            "agency.toml line 3: key visits.interval_days: expected at least 1 days, got 0",
        ),
        ('extends = "ontario-std7"\n[visits\n', "agency.toml line 2: not valid TOML"),
        ('name = "bare"\ntitle = "x"\n', "agency.toml: key timezone: missing"),
        ('extends = "nowhere"\n', 'no policy profile named "nowhere"'),
    ],
)
def test_malformed_profile_is_refused_with_file_line_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_extends_loop_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    path = _write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(ProfileError, match="loop"):
        load_profile(path)


def test_unknown_profile_name() -> None:
    with pytest.raises(ProfileError, match='no policy profile named "quebec"'):
        load_profile("quebec")


def test_practice_package_imports_no_textual() -> None:
    package = Path(__file__).parents[2] / "fieldkit" / "practice"
    for module in package.rglob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "textual" for n in names), module


def test_the_stale_threshold_is_a_profile_setting(tmp_path: Path) -> None:
    """`[sync] stale_after_days`: 7 in both shipped profiles, overridable, checked."""
    assert load_profile("ontario-std7").stale_after_days == 7
    assert load_profile("us-ongoing").stale_after_days == 7
    ten = _write(tmp_path, 'extends = "ontario-std7"\n[sync]\nstale_after_days = 10\n')
    assert load_profile(ten).stale_after_days == 10
    for bad, message in (("0", "at least 1"), ('"week"', "whole number"), ("99999", "at most")):
        path = _write(tmp_path, f'extends = "ontario-std7"\n[sync]\nstale_after_days = {bad}\n')
        with pytest.raises(ProfileError, match=message):
            load_profile(path)
    typo = _write(tmp_path, 'extends = "ontario-std7"\n[sync]\nstale_days = 3\n')
    with pytest.raises(ProfileError, match="unknown key"):
        load_profile(typo)
