"""Policy profiles and imports refuse what would break later: one line, nothing stored.

Dotted-key errors name their line; an extending profile without a name is not its parent;
jurisdictions are checked; `init --policy` and `policy set` check and store absolute paths;
the supervisor's "documented late" flag counts the agency's local day; imports check every
key they store (a bad `safety.plan.approval` used to crash every later command).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fieldkit import services
from fieldkit.domain import Case, CaseKind
from fieldkit.errors import TransferError
from fieldkit.practice import ProfileError, load_profile
from fieldkit.services import review
from fieldkit.store import Store
from tests.conftest import PASSPHRASE, run_cli, sample_case, transfer_doc, write_json

ON = load_profile("ontario-std7")
ENV = {"FIELDKIT_PASSPHRASE": PASSPHRASE}


def _write(tmp_path: Path, text: str, name: str = "agency.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'extends = "ontario-std7"\n# dotted keys above any [section]\n'
            'visits.interval_days = "monthly"\n',
            "agency.toml line 3: key visits.interval_days: expected a whole number of days",
        ),
        (
            'extends = "ontario-std7"\nvisits.intervall_days = 14\n',
            "agency.toml line 2: key visits.intervall_days: unknown key",
        ),
        (
            'extends = "ontario-std7"\n[calendar]\njurisdiction = "XX-YY"\n',
            'agency.toml line 3: key calendar.jurisdiction: unknown country "XX"',
        ),
        (
            'extends = "us-ongoing"\n[calendar]\njurisdiction = "US-ZZ"\n',
            'agency.toml line 3: key calendar.jurisdiction: "US" has no subdivision "ZZ"',
        ),
        (
            'extends = "ontario-std7"\n[calendar]\nalso_observed = ["Civic Holliday"]\n',
            'agency.toml line 3: key calendar.also_observed: "Civic Holliday" is not a holiday',
        ),
        (
            'extends = "ontario-std7"\n[calendar]\nclosures = ["2026-12-32"]\n',
            "agency.toml line 3: key calendar.closures: expected dates like 2026-12-25",
        ),
    ],
)
def test_profile_errors_name_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path, text))
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_extending_profile_without_a_name_is_not_its_parent(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, 'extends = "ontario-std7"\n[visits]\n'))
    assert profile.name == "agency" != ON.name
    assert profile.title == f"{ON.title}, as extended by agency.toml"
    assert profile.source == "agency.toml"
    named = load_profile(
        _write(tmp_path, 'extends = "ontario-std7"\nname = "cas-east"\n', "b.toml")
    )
    assert (named.name, named.title) == ("cas-east", ON.title)


def test_documented_late_flag_uses_the_agency_local_day() -> None:
    """A visit on Monday 2026-11-02 is due documented by Wednesday 11-04 (2 working days);
    signed 22:50 Wednesday in Toronto = 03:50 UTC Thursday: on time, not late."""
    case = Case("C-1", CaseKind.IN_HOME_CPS, date(2026, 9, 1))
    visit = {
        "date": "2026-11-02",
        "notes": "n",
        "next_visit": "2026-11-20",
        "safety_changed": False,
    }
    on_time = review.visit_flags(case, {**visit, "signed_at": "2026-11-05T03:50:00+00:00"}, ON)
    assert not [f for f in on_time if f.startswith("documented late")]
    late = review.visit_flags(case, {**visit, "signed_at": "2026-11-05T15:00:00+00:00"}, ON)
    assert "documented late: signed 2026-11-05, due by 2026-11-04" in late


# ---------------------------------------------------------------- imports check every key


def _broken(change: Any) -> dict[str, Any]:
    case = sample_case("C-1")
    change(case)
    return transfer_doc(case)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["safety"]["plan"].update(approval="maybe"), "safety.plan.approval"),
        (lambda c: c["safety"]["plan"].update(created="yesterday"), "safety.plan.created"),
        (lambda c: c["safety"]["plan"].update(kind="other"), "safety.plan.kind"),
        (lambda c: c["safety"]["threats"][0].update(active="yes"), "safety.threats[0].active"),
        (lambda c: c["people"][2].update(phone=5550100), "people[2].phone"),
        (lambda c: c["people"][0].update(_order=3), "people[0]._order"),
        (lambda c: c.update(high_risk="no"), "high_risk"),
        (lambda c: c.update(_has_visits=True), "_has_visits"),
        (lambda c: c["history"]["visits"][0].update(next_visit="soon"), "next_visit"),
        (
            lambda c: c["safety"].update(
                alternative_plans=[{"id": "alt-1", "kind": "alternative", "approval": "ok"}]
            ),
            "safety.alternative_plans[0].approval",
        ),
        (
            lambda c: c.update(
                records={"event": [{"id": "e1", "kind": "party", "date": "2026-10-01"}]}
            ),
            "records.event[0].kind",
        ),
        (
            lambda c: c.update(records={"closure": [{"id": "x1", "date": "soon"}]}),
            "records.closure[0].date",
        ),
        (
            lambda c: c.update(records={"objective": [{"id": "o1", "goal": "g9", "text": "t"}]}),
            "records.objective[0].goal",
        ),
        (lambda c: c.update(records={"diary": []}), "records.diary"),
    ],
)
def test_import_refuses_a_bad_value_whole(store: Store, change: Any, key: str) -> None:
    with pytest.raises(TransferError) as caught:
        services.import_cases(store, _broken(change))
    assert f"key {key}" in str(caught.value) or key in str(caught.value), str(caught.value)
    assert "nothing was imported" in str(caught.value)
    assert store.case_ids() == []


def test_import_then_every_command_loads_the_case(store: Store) -> None:
    doc = _broken(lambda c: c["safety"]["plan"].update(approval="approved", created="2026-09-01"))
    services.import_cases(store, doc)
    assert [c.id for c in services.load_cases(store)] == ["C-1"]


# ---------------------------------------------------------------- init --policy, policy set


def test_init_refuses_an_unknown_policy_name(tmp_path: Path) -> None:
    result = run_cli("init", "--policy", "ontario-std8", env=ENV)
    assert result.returncode != 0
    assert result.stderr.strip().startswith('fieldkit: no policy profile named "ontario-std8"')
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "default.fieldkit").exists()


def test_init_and_policy_set_store_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency = _write(tmp_path, 'extends = "us-ongoing"\n[calendar]\njurisdiction = "US-WI"\n')
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "--policy", "agency.toml", env=ENV)
    assert result.returncode == 0, result.stderr
    shown = run_cli("policy", "show", "--json", env=ENV)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["policy"] == str(agency.resolve())
    assert (doc["name"], doc["jurisdiction"]) == ("agency", "US-WI")

    bad = _write(tmp_path, 'extends = "ontario-std7"\n[visits]\ninterval_days = 0\n', "bad.toml")
    refused = run_cli("policy", "set", str(bad), env=ENV)
    assert refused.returncode != 0
    assert "bad.toml line 3: key visits.interval_days" in refused.stderr
    assert json.loads(run_cli("policy", "show", "--json", env=ENV).stdout)["policy"] == str(
        agency.resolve()
    )
    unknown = run_cli("policy", "set", "nowhere", env=ENV)
    assert unknown.returncode != 0 and 'no policy profile named "nowhere"' in unknown.stderr

    changed = run_cli("policy", "set", "ontario-std7", env=ENV)
    assert changed.returncode == 0, changed.stderr
    doc = json.loads(run_cli("policy", "show", "--json", env=ENV).stdout)
    assert (doc["policy"], doc["jurisdiction"]) == ("ontario-std7", "CA-ON")


def test_due_follows_the_policy_that_was_set(tmp_path: Path) -> None:
    """`policy set` changes what `due` computes: FED-1 is not applied in Ontario."""
    assert run_cli("init", env=ENV).returncode == 0
    src = write_json(tmp_path / "c.json", transfer_doc(sample_case("C-1")))
    assert run_cli("case", "import", str(src), env=ENV).returncode == 0

    def rules() -> set[str]:
        out = run_cli("due", "--as-of", "2026-10-01", "--all", "--json", env=ENV)
        assert out.returncode == 0, out.stderr
        return {i["rule"] for i in json.loads(out.stdout)}

    assert "FED-1" not in rules()
    assert run_cli("policy", "set", "us-ongoing", env=ENV).returncode == 0
    assert "FED-1" in rules()
