"""The worker's language: chosen from the profile, then the environment, then English."""

from __future__ import annotations

import datetime as dt

from fieldkit import i18n


def test_profile_preference_wins_over_the_environment() -> None:
    assert i18n.choose("fr", {"LANG": "es_MX.UTF-8"}) == "fr"


def test_environment_in_gettext_order() -> None:
    assert i18n.choose(None, {"LANGUAGE": "es:fr", "LANG": "fr_CA.UTF-8"}) == "es"
    assert i18n.choose(None, {"LANG": "fr_CA.UTF-8"}) == "fr"
    assert i18n.choose(None, {"LC_ALL": "C", "LANG": "fr_FR.UTF-8"}) == "en"


def test_unshipped_language_falls_back_to_english() -> None:
    assert i18n.choose("de", {"LANG": "de_DE.UTF-8"}) == "en"


def test_using_restores_the_previous_language() -> None:
    with i18n.using("fr"):
        assert i18n.language() == "fr"
    assert i18n.language() == "en"


def test_dates_in_the_language() -> None:
    day = dt.date(2026, 11, 26)
    assert i18n.format_date(day, lang="en") == "Nov 26, 2026"
    assert i18n.format_date(day, lang="fr") == "26 nov. 2026"
