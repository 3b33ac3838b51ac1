"""Demo data: deterministic, realistic, and imported through the normal path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fieldkit import services
from fieldkit.demo import demo_document
from fieldkit.store import Store
from fieldkit.transfer import check_document


def test_same_seed_same_caseload_and_different_seed_differs() -> None:
    day = date(2026, 11, 26)
    assert demo_document(30, 7, day) == demo_document(30, 7, day)
    assert demo_document(30, 7, day) != demo_document(30, 8, day)


def test_demo_caseload_covers_the_kinds_the_practice_knows() -> None:
    doc = demo_document(60, 7, date(2026, 11, 26))
    cases = check_document(doc)
    assert {c["kind"] for c in cases} == {"in-home-cps", "out-of-home-cps", "child-welfare"}
    children = [p for c in cases for p in c["people"] if p["role"] == "child"]
    assert any(not p["verbal"] for p in children)  # infants observed, not interviewed (VI-3)
    assert any("placement" in p for p in children)
    assert any(c["safety"].get("plan") for c in cases)
    assert all(c["history"]["visits"] for c in cases if c["opened"] < "2026-11-01")


def test_demo_seed_imports_through_the_same_path(store: Store) -> None:
    doc = demo_document(12, 3, date(2026, 11, 26))
    ids = services.import_cases(store, doc)
    assert len(ids) == 12
    for case in doc["cases"][:3]:
        assert services.export_case(store, case["id"])["cases"][0] == case


def test_mark_demo_puts_the_marker_in_this_profile_only(tmp_path: Path) -> None:
    """`demo-seed --mark-demo` marks its own profile; another profile is never marked."""
    from fieldkit.prefs import load_prefs
    from tests.conftest import run_cli

    demo_env = {
        "FIELDKIT_HOME": str(tmp_path / "demo"),
        "FIELDKIT_PASSPHRASE": "orange kettle river window",
    }
    real_env = {
        "FIELDKIT_HOME": str(tmp_path / "real"),
        "FIELDKIT_PASSPHRASE": "purple lantern meadow stone",
    }
    for env in (demo_env, real_env):
        assert run_cli("init", "--user", "jsmith", env=env).returncode == 0
    marked = run_cli("demo-seed", "--cases", "2", "--mark-demo", env=demo_env)
    assert marked.returncode == 0, marked.stderr
    assert run_cli("demo-seed", "--cases", "2", env=real_env).returncode == 0
    demo_profile = services.profile_path(tmp_path / "demo")
    real_profile = services.profile_path(tmp_path / "real")
    assert load_prefs(demo_profile) == {"demo_passphrase": "orange kettle river window"}
    assert "demo_passphrase" not in load_prefs(real_profile)
