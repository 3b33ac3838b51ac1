"""Loading a policy profile: every key a profile file has, checked, into a `PolicyProfile`.

A malformed profile is refused with one line naming the file, the line and the key
(`fieldkit.practice.profile_toml` reads the files; this module says what they must hold).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from fieldkit.practice.profile import PolicyProfile, check_jurisdiction, holiday_names, time_zone
from fieldkit.practice.profile_toml import ProfileReader, list_profiles, read_profile, show_value
from fieldkit.practice.rules import RULES

DEFAULT_PROFILE = "ontario-std7"

GATE_MODES = ("block", "warn")
MONTH_MODES = ("calendar", "days")
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


def _build(reader: ProfileReader, check_calendar: bool = True) -> PolicyProfile:
    """Validate every key and make the typed profile.

    `check_calendar=False` skips asking the holidays library whether it knows the
    jurisdiction (loading it costs a third of a second): only for shipped profiles,
    which `tests/unit/test_practice_profile.py` loads with the check.
    """
    r = reader
    timezone = r.text("", "timezone")
    try:
        time_zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail(
            "", "timezone", f'unknown time zone {show_value(timezone)} (e.g. "America/Toronto")'
        ) from None

    not_applied = r.words("rules", "not_applied")
    for rule in not_applied:
        if rule not in RULES:
            raise r.fail("rules", "not_applied", f"unknown rule id {show_value(rule)}")
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
        known = holiday_names(jurisdiction)
        for item in names[key]:
            if item not in known:
                raise r.fail(
                    "calendar", key, f"{show_value(item)} is not a holiday name of {jurisdiction}"
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


def _evidence_settings(r: ProfileReader) -> dict[str, Any]:
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
    return _build(read_profile(target), check_calendar)


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
