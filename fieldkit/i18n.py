"""Languages: every user-facing string of fieldkit goes through `_` / `ngettext` here.

English is the source language: a message id is its English text. Translations live in
gettext catalogues under `fieldkit/locale/<lang>/LC_MESSAGES/<domain>.po` (edited by people)
and the `.mo` compiled from them (`make catalogs`; a test checks they are
complete and match). Two domains keep the work apart: `fieldkit` (CLI, services, practice
words, PDFs) and `screens` (the field app and the supervisor console); a lookup tries both.

The language is the worker's: the profile's `language` preference, else the environment
(`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`), else English. A family's copy of a plan can be
written in another language through `translator(code)` without touching the worker's.

Strings fixed at import (Textual binding descriptions, label tables) are marked with `N_` so
extraction finds them, and translated with `_` where they are shown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gettext
import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español"}
"""The languages fieldkit ships, by code, each named in itself."""
DEFAULT = "en"
DOMAINS = ("fieldkit", "screens")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_ENV_KEYS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def normalise(code: str | None) -> str | None:
    """`fr_CA.UTF-8` → `fr`, `es-MX` → `es`; None for empty, `C`/`POSIX` or unshipped languages."""
    if not code:
        return None
    # LANGUAGE may list several, colon-separated, in order of preference.
    for part in code.split(":"):
        base = part.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return None


def language_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The first shipped language the environment names, in gettext's order of precedence."""
    env = os.environ if environ is None else environ
    for key in _ENV_KEYS:
        value = env.get(key)
        if value:
            # The first variable that is set decides, as in gettext; "C" means English.
            return normalise(value) or (DEFAULT if value in ("C", "POSIX") else None)
    return None


def choose(preference: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The worker's language: the profile's preference, else the environment, else English."""
    return normalise(preference) or language_from_env(environ) or DEFAULT


@cache
def translator(code: str) -> gettext.NullTranslations:
    """The catalogues of one language, both domains chained; English is the identity."""
    lang = normalise(code) or DEFAULT
    result: gettext.NullTranslations = gettext.NullTranslations()
    if lang == DEFAULT:
        return result
    first: gettext.NullTranslations | None = None
    for domain in DOMAINS:
        found = gettext.translation(domain, LOCALE_DIR, [lang], fallback=True)
        if first is None:
            first = found
        else:
            first.add_fallback(found)
    return first or result


_state = {"language": DEFAULT}
_active: list[gettext.NullTranslations] = [translator(DEFAULT)]


def set_language(code: str | None) -> str:
    """Make `code` (normalised; unshipped → English) the language of every later lookup."""
    lang = normalise(code) or DEFAULT
    _state["language"] = lang
    _active[0] = translator(lang)
    return lang


def language() -> str:
    """The code of the language in use."""
    return _state["language"]


@contextlib.contextmanager
def using(code: str | None) -> Iterator[str]:
    """The block runs in `code`'s language; the previous language comes back after it."""
    previous = language()
    try:
        yield set_language(code)
    finally:
        set_language(previous)


def _(message: str) -> str:
    """`message` in the current language (itself where no translation exists)."""
    return _active[0].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The plural form for `n` in the current language's own plural rule."""
    return _active[0].ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extraction looks for
    """Marks a string for extraction where it is fixed at import; `_` translates it when shown."""
    return message


def format_date(value: dt.date, form: str = "medium", lang: str | None = None) -> str:
    """A date as the language writes it (`26 nov. 2026`, `26 nov 2026`, `Nov 26, 2026`)."""
    # Babel's date module loads locale data on first use; importing it here keeps
    # `fieldkit --help` and the CLI's start from paying for it when no date is shown.
    from babel.dates import format_date as babel_format_date

    return str(babel_format_date(value, format=form, locale=lang or language()))


def warm(code: str) -> None:
    """Load the locale data `format_date` will read for `code` (Babel's first use is about
    15 ms of CPU), on a thread that has the time, so the thread that draws does not."""
    from babel import localedata  # local: see format_date

    localedata.load(normalise(code) or DEFAULT)


def format_datetime(value: dt.datetime, form: str = "medium", lang: str | None = None) -> str:
    """A date and time as the language writes it."""
    from babel.dates import format_datetime as babel_format_datetime  # see format_date

    return str(babel_format_datetime(value, format=form, locale=lang or language()))
