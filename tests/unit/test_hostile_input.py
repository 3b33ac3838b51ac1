"""Hostile input is refused in one line: case-transfer files and policy profiles, named
malformed files and hypothesis fuzzing; nothing is written, no traceback (THREAT_MODEL.md)."""

from __future__ import annotations

import copy
import json
import sqlite3
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit import services
from fieldkit.errors import TransferError
from fieldkit.practice.profile import ProfileError
from fieldkit.practice.profile_load import load_profile
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, cli_profile, run_cli, sample_case, transfer_doc


def _ops(path: Path) -> int:
    conn = sqlite3.connect(path)
    count = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    conn.close()
    return int(count)


def _mutated(mutate: str) -> Any:
    doc = transfer_doc(sample_case("C-1"))
    case = doc["cases"][0]
    if mutate == "kind-list":
        case["kind"] = ["in-home-cps"]
    elif mutate == "person-id-list":
        case["people"][0]["id"] = ["p1"]
    elif mutate == "threat-id-object":
        case["safety"]["threats"][0]["id"] = {"x": 1}
    elif mutate == "seen-number":
        case["history"]["visits"][0]["seen"] = 5
    elif mutate == "iso-week-date":
        case["opened"] = "2026-W05-1"
    elif mutate == "escape-in-name":
        case["people"][0]["name"] = "Maya \x1b[2J Ortiz"
    elif mutate == "nul-in-address":
        case["address"] = "12 Elm\x00"
    elif mutate == "bel-in-threat":
        case["safety"]["threats"][0]["text"] = "x\x07"
    elif mutate == "lone-surrogate":
        case["people"][2]["name"] = "Ana \ud800"
    elif mutate == "c1-csi":
        case["people"][2]["name"] = "Ana \x9b2J"
    return doc


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        ("kind-list", "key kind"),
        ("person-id-list", "people[0].id"),
        ("threat-id-object", "safety.threats[0].id"),
        ("seen-number", "history.visits[0].seen"),
        ("iso-week-date", "not a date"),
        ("escape-in-name", "control character"),
        ("nul-in-address", "control character"),
        ("bel-in-threat", "control character"),
        ("lone-surrogate", "lone surrogate"),
        ("c1-csi", "control character"),
    ],
)
def test_a_hostile_transfer_file_is_refused_in_one_line(
    tmp_path: Path, mutate: str, expected: str
) -> None:
    path = tmp_path / "home" / "default.fieldkit"
    Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON).close()
    before = _ops(path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_mutated(mutate)), encoding="utf-8")
    result = run_cli("case", "import", str(bad), env={"FIELDKIT_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert _ops(path) == before


def test_a_file_nested_100000_deep_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "home" / "default.fieldkit"
    Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON).close()
    deep = tmp_path / "deep.json"
    deep.write_text(
        '{"format": "fieldkit.case-transfer/1", "cases": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )
    result = run_cli("case", "import", str(deep), env={"FIELDKIT_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "nested" in result.stderr
    assert _ops(path) == 0


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


BASE = transfer_doc(sample_case("C-1"))
BASE_PATHS = _paths(BASE)[1:]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.sampled_from(BASE_PATHS), JSON)
def test_fuzzed_transfer_documents_import_whole_or_are_refused_in_one_line(
    store: Store, where: tuple[Any, ...], value: Any
) -> None:
    doc = copy.deepcopy(BASE)
    target: Any = doc
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    ids = set(store.case_ids())
    before = store.log_mark()
    try:
        imported = services.import_cases(store, doc)
    except TransferError as exc:
        assert "\n" not in str(exc)
        assert store.log_mark() == before
        return
    assert set(store.case_ids()) == ids | set(imported)
    for case_id in imported:  # what was accepted reads back and renders
        services.load_case(store, case_id)
        services.case_detail(store, case_id)
    store._conn.execute("DELETE FROM entities")  # the next example starts empty again
    store._conn.execute("DELETE FROM ops")
    store._seq, store._head = 0, "0" * 64


# --- policy profiles -----------------------------------------------------------------

SHIPPED = (resources.files("fieldkit.practice") / "profiles" / "ontario-std7.toml").read_text()
SHIPPED_DATA = tomllib.loads(SHIPPED)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _replace_line(text: str, section: str, key: str, value: str) -> str:
    lines, current = text.splitlines(), ""
    for n, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[]").strip()
        elif current == section and stripped.split("=")[0].strip() == key:
            lines[n] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    raise AssertionError(f"{section}.{key} not in the shipped profile")


KEYS = [
    (section, key)
    for section, values in SHIPPED_DATA.items()
    if isinstance(values, dict)
    for key, v in values.items()
    if not isinstance(v, dict)
] + [("", k) for k, v in SHIPPED_DATA.items() if not isinstance(v, dict)]

TOML_VALUES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.lists(st.text(max_size=8), max_size=8),
    st.lists(st.integers(min_value=-10, max_value=10**12), max_size=3),
    st.dates(),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KEYS), TOML_VALUES)
def test_fuzzed_profiles_load_or_are_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, where: tuple[str, str], value: Any
) -> None:
    section, key = where
    text = _replace_line(SHIPPED, section, key, _toml_value(value))
    path = tmp_path_factory.mktemp("profile") / "agency.toml"
    path.write_text(text, encoding="utf-8")
    try:
        profile = load_profile(path)
    except ProfileError as exc:
        assert "\n" not in str(exc)
        return
    profile.add_working_days(date(2026, 11, 26), 10)  # terminates on any accepted profile
    profile.add_period(date(2026, 11, 26), profile.visit_interval)


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("visits", "interval_months", "99999999999", "at most"),
        ("visits", "first_month_days", "99999999999", "at most"),
        ("calendar", "weekend", '["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]', "working day"),
        ("calendar", "holidays", '["2026-W05-1"]', "dates like"),
    ],
)
def test_absurd_profile_values_are_refused_in_one_line(
    tmp_path: Path, section: str, key: str, value: str, expected: str
) -> None:
    path = tmp_path / "agency.toml"
    path.write_text(
        f'extends = "ontario-std7"\nname = "agency"\n\n[{section}]\n{key} = {value}\n',
        encoding="utf-8",
    )
    result = run_cli("rules", "--profile", str(path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


def test_a_profile_named_with_markup_prints_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "agency.toml"
    path.write_text(_replace_line(SHIPPED, "", "name", '"[/]"'), encoding="utf-8")
    result = run_cli("rules", "--profile", str(path))
    assert result.returncode == 0, result.stderr
    assert "[/]" in result.stdout


def test_a_key_with_a_line_break_is_refused_in_one_line(store: Store) -> None:
    """A transfer file's key holding a newline is named escaped, on the one refusal line."""
    doc = copy.deepcopy(BASE)
    doc["cases"][0]["bad\nkey"] = 1
    with pytest.raises(TransferError) as refused:
        services.import_cases(store, doc)
    assert "\n" not in str(refused.value)
    assert "bad\\nkey" in str(refused.value)


def test_emoji_codes_print_as_typed(tmp_path: Path) -> None:
    """Text is data: a name such as ":smile:" that the CLI prints through Rich is not
    turned into an emoji (the export's confirmation names the file as given)."""
    env = cli_profile(tmp_path)
    out = tmp_path / ":smile: case.json"
    shown = run_cli("case", "export", "C-1", "--out", str(out), env={**env, "COLUMNS": "300"})
    assert shown.returncode == 0, shown.stderr
    assert ":smile: case.json" in shown.stdout and "\U0001f604" not in shown.stdout, shown.stdout
