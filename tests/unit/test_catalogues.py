"""The gettext catalogues are complete: every message of both domains (`fieldkit`, `screens`)
is translated in French and Spanish, none fuzzy, placeholders and markup kept as written,
the templates hold what the code marks, and the committed .mo is what the .po compiles to."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from fieldkit import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "fieldkit" / "locale"
SOURCES = {"fieldkit": ROOT / "fieldkit", "screens": ROOT / "screens"}
"""Where each domain's strings are marked (what `make catalogs` extracts)."""
LANGS = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]
CASES = [(domain, lang) for domain in i18n.DOMAINS for lang in LANGS]

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
MARKUP = re.compile(r"\[/?[a-z]+\]")


def _po(domain: str, lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f, locale=lang, domain=domain)


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def _problems(message: Message) -> list[str]:
    """What is wrong with one entry: untranslated, fuzzy, placeholders or markup changed."""
    found: list[str] = []
    name = _ids(message)[0]
    forms = _forms(message)
    if not forms or not all(form.strip() for form in forms):
        found.append(f"{name!r}: not translated")
    if message.fuzzy:
        found.append(f"{name!r}: fuzzy")
    source = _ids(message)[-1]
    for form in (f for f in forms if f.strip()):
        if set(PLACEHOLDER.findall(form)) != set(PLACEHOLDER.findall(source)):
            found.append(f"{name!r}: placeholders differ in {form!r}")
        if Counter(MARKUP.findall(form)) != Counter(MARKUP.findall(source)):
            found.append(f"{name!r}: markup tags differ in {form!r}")
    return found


@pytest.mark.parametrize(("domain", "lang"), CASES)
def test_every_message_is_translated_with_its_placeholders(domain: str, lang: str) -> None:
    catalog = _po(domain, lang)
    assert not catalog.fuzzy, f"{domain}.po ({lang}) is marked fuzzy as a whole"
    problems = [p for m in _messages(catalog) for p in _problems(m)]
    assert not problems, f"{domain}.po ({lang}):\n" + "\n".join(problems)


@pytest.mark.parametrize(("domain", "lang"), CASES)
def test_the_catalogue_holds_every_marked_string(domain: str, lang: str) -> None:
    """What the code marks (`_`, `N_`, `ngettext`) is in the template and in the catalogue:
    a new string without `make catalogs` and a translation fails here."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "ngettext": (1, 2)}
    marked = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            SOURCES[domain], [("**.py", "python")], keywords=keywords
        )
        if message
    }
    with (LOCALE / f"{domain}.pot").open("rb") as f:
        template = {_ids(m)[0] for m in _messages(read_po(f))}
    translated = {_ids(m)[0] for m in _messages(_po(domain, lang))}
    assert marked - template == set(), f"{domain}.pot is stale: run make catalogs"
    assert marked - translated == set(), f"{domain}.po ({lang}) lacks these: run make catalogs"


@pytest.mark.parametrize(("domain", "lang"), CASES)
def test_the_committed_mo_is_the_compiled_po(domain: str, lang: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _po(domain, lang))
    committed = (LOCALE / lang / "LC_MESSAGES" / f"{domain}.mo").read_bytes()
    assert committed == compiled.getvalue(), f"{domain}.mo ({lang}) is stale: run make catalogs"


def test_the_checks_catch_a_bad_entry() -> None:
    """The checks above can fail: an empty, a fuzzy, a renamed placeholder, a lost tag."""
    assert _problems(Message("Case {case}", "")) == ["'Case {case}': not translated"]
    assert _problems(Message("Case {case}", "Dossier {dossier}"))
    assert _problems(Message("[b]Due[/b]", "Échéances"))
    assert _problems(Message("Sync", "Synchro", flags=["fuzzy"])) == ["'Sync': fuzzy"]
    assert _problems(Message(("{n} visit", "{n} visits"), ("{n} visite", ""))) != []
    assert _problems(Message("Case {case}", "Dossier {case}")) == []
