"""The CLI and the PDFs speak the worker's language (and the family's): French, Spanish.

Each command runs as a person runs it (`python -m fieldkit.cli`), with LANG or the profile's
language preference; the output must hold the translated words and none of the English
message ids of the `fieldkit` catalogue. Dates in the PDFs are worked out by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from pypdf import PdfReader

from fieldkit import i18n
from fieldkit.pdf import visit_pdf
from fieldkit.services import caseload, visits
from fieldkit.store import Store
from fieldkit.visit_record import ChildContact, ChildObservation, PrivateInterview, VisitRecord
from tests.conftest import (
    FAST_ARGON,
    PASSPHRASE,
    cli_profile,
    run_cli,
    sample_case,
    transfer_doc,
)
from tests.unit.test_acknowledgements import read_aloud_agreed

POT = Path(i18n.LOCALE_DIR) / "fieldkit.pot"
WIDE = {"COLUMNS": "250"}  # one table row per line: a message is never cut by wrapping


def _english_fragments() -> list[str]:
    """Every run of two or more words of the catalogue's English ids, between placeholders.

    A message printed untranslated shows each of its literal fragments verbatim; a
    translated one shows none of them (the fragments are long enough not to be French or
    Spanish by chance: two words of three letters or more, eight letters in all; three words
    for a piece between placeholders). Words the worker or the policy profile wrote are
    data and stay as written.
    """
    with POT.open("rb") as handle:
        catalogue = read_po(handle)
    found: set[str] = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in ids:
            plain = re.sub(r"\[/?[a-z ]*\]", " ", text)  # Rich markup is not printed
            parts = re.split(r"\{[^}]*\}|\n", plain)
            # a whole message needs two words; a piece between placeholders three, so
            # that "safety plan" (of "the {kind} safety plan") does not catch data
            need = 2 if len(parts) == 1 else 3
            for part in parts:
                part = " ".join(part.split()).strip(" ;:,.()·—-")
                words = [w for w in part.split() if len(re.sub(r"\W", "", w)) >= 3]
                if len(words) >= need and len(re.sub(r"\W", "", part)) >= 8:
                    found.add(part)
    return sorted(found)


FRAGMENTS = _english_fragments()


def assert_no_english(output: str) -> None:
    """No English message of the fieldkit catalogue is left in `output`."""
    flat = " ".join(output.split())
    left = [f for f in FRAGMENTS if f in flat]
    assert not left, f"untranslated: {left[:5]}"


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    """Tests calling the core in-process leave the process in English, as they found it."""
    yield
    i18n.set_language(i18n.DEFAULT)


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A profile with the sample case (a safety plan, a caregiver acknowledgement)."""
    return cli_profile(tmp_path, **WIDE)


def test_fragments_come_from_the_catalogue() -> None:
    """The check below can fail: the catalogue's English is there to be found."""
    assert "home visit" in FRAGMENTS and "Practice rules — profile" in FRAGMENTS
    with pytest.raises(AssertionError):
        assert_no_english("Due as of 2026-11-26: last home visit 2026-10-03")


def test_due_in_french_from_lang(home: dict[str, str]) -> None:
    done = run_cli("due", "--as-of", "2026-11-26", env={**home, "LANG": "fr_FR.UTF-8"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "À faire au 2026-11-26" in out
    assert "État" in out and "Quoi, et pourquoi" in out
    assert "⚠ en retard" in out  # the sample case's visit is long overdue
    assert "visite à domicile inopinée" in out  # VI-4 on this case
    assert "jours de retard" in out
    assert_no_english(out)


def test_json_stays_english_for_scripts(home: dict[str, str]) -> None:
    done = run_cli("due", "--as-of", "2026-11-26", "--json", env={**home, "LANG": "fr_FR.UTF-8"})
    items = json.loads(done.stdout)
    assert any(i["what"] == "unannounced home visit" for i in items)
    assert all("visite" not in i["what"] for i in items)


def test_case_list_in_the_profile_language_over_lang(home: dict[str, str]) -> None:
    chosen = run_cli("language", "es", env={**home, "LANG": "fr_FR.UTF-8"})
    assert chosen.returncode == 0, chosen.stderr
    assert "fieldkit habla Español" in chosen.stdout
    shown = run_cli("language", env={**home, "LANG": "fr_FR.UTF-8"})
    assert "Idioma: Español (es), elegido para este perfil." in shown.stdout
    done = run_cli("case", "list", env={**home, "LANG": "fr_FR.UTF-8"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1 caso" in out and "familia" in out and "última visita" in out
    assert "protección en el hogar" in out  # the case kind in words, not "in-home-cps"
    assert_no_english(out)
    # --lang wins over both, for one run
    english = run_cli("--lang", "en", "case", "list", env={**home, "LANG": "fr_FR.UTF-8"})
    assert "1 cases" not in english.stdout and "last visit" in english.stdout


def test_rules_in_spanish(home: dict[str, str]) -> None:
    assert run_cli("language", "es", env=home).returncode == 0
    done = run_cli("rules", env=home)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Reglas de práctica — perfil ontario-std7" in out
    assert "Visitas domiciliarias al menos una vez al mes" in out  # VI-1's title
    assert "Estados (" in out and "⚠ vencido" in out
    assert_no_english(out)


def test_bad_input_is_one_translated_line(home: dict[str, str]) -> None:
    french = run_cli("due", "--as-of", "2026-13-01", env={**home, "LANG": "fr_FR.UTF-8"})
    assert french.returncode == 1
    assert french.stderr.strip() == (
        "fieldkit: --as-of '2026-13-01' n'est pas une date ; écrivez AAAA-MM-JJ"
    )
    assert "Traceback" not in french.stderr
    assert run_cli("language", "es", env=home).returncode == 0
    spanish = run_cli("family-copy", "C-1", "--out", "x.pdf", "--kind", "other", env=home)
    assert spanish.returncode == 1
    assert spanish.stderr.strip() == "fieldkit: --kind 'other': safety o service"
    unknown = run_cli("language", "de", env=home)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "fieldkit: no hay ningún idioma 'de'; elija entre en, fr, es"


def test_a_wrong_passphrase_is_said_in_the_workers_language(home: dict[str, str]) -> None:
    """The one error every worker meets was English in French and Spanish (the CLI, and
    the app's unlock screen, which shows the same words)."""
    french = run_cli("due", env={**home, "LANG": "fr_FR.UTF-8", "FIELDKIT_PASSPHRASE": "nope"})
    assert french.returncode == 1
    assert french.stderr.strip().startswith("fieldkit: phrase de passe incorrecte pour ce profil")
    assert "Traceback" not in french.stderr
    assert_no_english(french.stderr)
    spanish = run_cli("--lang", "es", "due", env={**home, "FIELDKIT_PASSPHRASE": "nope"})
    assert spanish.returncode == 1
    assert "frase de contraseña incorrecta para este perfil" in spanish.stderr
    assert_no_english(spanish.stderr)


def test_sync_offline_in_spanish(home: dict[str, str], tmp_path: Path) -> None:
    not_enrolled = run_cli("sync", env={**home, "LANG": "es_MX.UTF-8"})
    assert not_enrolled.returncode == 1
    assert "este portátil no está registrado" in not_enrolled.stderr
    store = Store.open(tmp_path / "home" / "default.fieldkit", PASSPHRASE)
    store.set_meta("sync_url", "http://127.0.0.1:9")  # nothing listens on the discard port
    store.close()
    offline = run_cli("sync", env={**home, "LANG": "es_MX.UTF-8"})
    assert offline.returncode == 2  # offline, nothing lost
    assert "esperando sincronización; no se pierde nada" in offline.stderr
    assert "no se puede conectar con el servidor http://127.0.0.1:9" in offline.stderr
    assert_no_english(offline.stderr)


def _pdf_text(path: Path) -> str:
    return " ".join(" ".join((page.extract_text() or "") for page in PdfReader(path).pages).split())


def test_family_copy_in_spanish_for_a_french_speaking_worker(
    home: dict[str, str], tmp_path: Path
) -> None:
    """Rules SA-5, PL-6: the family's copy in the family's language, not the worker's."""
    store = Store.open(tmp_path / "home" / "default.fieldkit", PASSPHRASE)
    read_aloud_agreed(store)
    store.close()
    assert run_cli("language", "fr", env=home).returncode == 0
    out = tmp_path / "familia.pdf"
    made = run_cli("family-copy", "C-1", "--out", str(out), "--language", "es", env=home)
    assert made.returncode == 0, made.stderr
    assert "Copie de la famille en Español écrite dans" in made.stdout  # the worker's French
    text = _pdf_text(out)
    assert "El plan de seguridad de su familia" in text
    assert "Por qué tenemos este plan" in text and "Caregiver intoxicated" in text  # data
    assert "Lo que pide el plan, a quién y para cuándo" in text
    assert "Rosa Diaz WHO: Grandmother evenings PLAN — Desde ahora" in text
    assert "A quién llamar" in text and "Su trabajador(a) social: jsmith" in text
    assert "su supervisor(a), akhan" in text
    # 2026-09-01 and 2026-11-20 as Spanish writes them, worked out by hand
    assert "Hecho el: 1 de septiembre de 2026" in text
    assert (
        "Ana Ortiz NAME3 escuchó la lectura del plan y estuvo de acuerdo "
        "el 20 de noviembre de 2026." in text
    )
    assert "no se traducen" in text  # the worker's words are data, said so
    assert "Your family" not in text and "Who to call" not in text
    assert "Le plan de sécurité" not in text  # not the worker's language either


def test_family_copy_in_french_and_in_the_worker_language(
    home: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "famille.pdf"
    made = run_cli("family-copy", "C-1", "--out", str(out), env={**home, "LANG": "fr_CA.UTF-8"})
    assert made.returncode == 0, made.stderr
    text = _pdf_text(out)
    assert "Le plan de sécurité de votre famille" in text
    assert "Établi le : 1 septembre 2026" in text
    assert "Votre intervenant(e) : jsmith" in text
    assert "ne sont pas traduits" not in text  # same language as the worker: no footer


def _signed_visit(tmp_path: Path) -> tuple[Store, str]:
    """A signed home visit of 2026-11-25 on the sample case, with one gate overridden."""
    store = Store.create(tmp_path / "v.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    from fieldkit import services

    services.import_cases(store, transfer_doc(sample_case("C-1")))
    case = visits.load_case_with_plan(store, "C-1")
    policy = caseload.policy_of(store)
    record = VisitRecord(
        case="C-1",
        visit_id="v-fr",
        date="2026-11-25",
        kind="home",
        outcome="completed",
        announced=True,
        present=["p1", "p2", "p3"],
        location="MKLOCATION",
        children=[
            ChildContact(
                "p1", True, observation=ChildObservation("MKWHERE", "MKINTER", "MKCOND", "MKENV")
            ),
            ChildContact("p2", True, private_interview=PrivateInterview(True, False, "MKW", "MKS")),
        ],
        notes="MKNOTES",
        next_visit="2026-12-09",
        author="jsmith",
    )
    record.safety.changed = False
    today = datetime(2026, 11, 26).date()
    with i18n.using("fr"):
        checks = visits.check_record(case, record, policy, today)
        gate = next(c for c in checks if c.id == "VI-4/-/announced")
        assert "exige des visites inopinées" in gate.message  # shown in French
        visits.add_override(record, gate, "MKREASON", "jsmith", datetime(2026, 11, 25, tzinfo=UTC))
        blocking = [c.id for c in visits.check_record(case, record, policy, today) if c.blocking]
        assert blocking == []
    visits.sign_visit(store, case, record, policy, today)
    return store, "v-fr"


def test_visit_pdf_in_french(tmp_path: Path) -> None:
    store, visit_id = _signed_visit(tmp_path)
    try:
        stored = store.entity("C-1", "visit", visit_id)
        assert stored is not None
        (override,) = stored.fields["overrides"]
        # the signed record keeps the check's English words, whatever the worker read
        assert "requires unannounced visits" in override["message"]
        out = tmp_path / "visite.pdf"
        with i18n.using("fr"):
            visit_pdf(store, visit_id, out)
    finally:
        store.close()
    text = _pdf_text(out)
    for label in (
        "Compte rendu de visite à domicile — dossier C-1",
        "Visite du 25 nov. 2026",  # 2026-11-25, worked out by hand
        "type de contact: home",
        "annoncée: Annoncée",
        "rencontre en privé: consigné",
        "Sécurité",
        "sécurité modifiée depuis la dernière visite: non",
        "Notes et prochaines étapes",
        "Dérogations",
        "dérogation à VI-4/-/announced",
        "raison : MKREASON",
        "Quand ce compte rendu a été fait",
        "Reçu par le serveur: pas encore synchronisé",
        "Révision par le superviseur",
        "Pas encore revu.",
        "SHA-256 du contenu :",
        "fieldkit-record/1 case=C-1 visit=v-fr",  # the stamp verify-record reads stays as is
    ):
        assert label in text, label
    assert "Supervisor review" not in text and "Not yet reviewed" not in text
    assert "MKNOTES" in text and "MKLOCATION" in text


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_fieldkit_catalogue_is_complete_and_keeps_placeholders(lang: str) -> None:
    """Every English message has a translation with the same placeholders and Rich markup,
    and the compiled catalogue fieldkit loads says the same as the one people edit."""
    with POT.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    po = Path(i18n.LOCALE_DIR) / lang / "LC_MESSAGES" / "fieldkit.po"
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale=lang)
    found = {m.id: m for m in catalogue if m.id}
    assert wanted <= set(found), sorted(str(w) for w in wanted - set(found))[:5]
    fields = re.compile(r"\{[^}]*\}")
    markup = re.compile(r"\[/?[a-z ]*\]")
    problems = []
    for key in wanted:
        message = found[key]
        ids = key if isinstance(key, tuple) else (key,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        for text in strings:
            if sorted(set(fields.findall(text))) != sorted(set(fields.findall(ids[-1]))):
                problems.append(f"placeholders differ: {ids[0]!r} → {text!r}")
            if markup.findall(text) != markup.findall(ids[0]):
                problems.append(f"markup differs: {ids[0]!r} → {text!r}")
    assert not problems, problems[:5]
    loaded = i18n.translator(lang)
    for key in sorted(k for k in wanted if isinstance(k, str))[::25]:
        assert loaded.gettext(key) == found[key].string, key  # the .mo is up to date
