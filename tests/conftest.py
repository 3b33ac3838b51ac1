"""Shared fixtures: throwaway profiles, fast key derivation, the user's real config kept out."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.store import Store

PASSPHRASE = "correct horse battery"
# Tests derive keys cheaply; the shipped cost (64 MiB) is checked in test_crypto.
FAST_ARGON = {"memory_kib": 1024, "iterations": 1, "lanes": 1}
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's real profile or passphrase."""
    monkeypatch.setenv("FIELDKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FIELDKIT_PASSPHRASE", raising=False)
    monkeypatch.delenv("FIELDKIT_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("FIELDKIT_NEW_PASSPHRASE", raising=False)
    monkeypatch.delenv("FIELDKIT_SERVER_DB", raising=False)


@pytest.fixture
def profile_path(tmp_path: Path) -> Path:
    """Where the test profile lives (the default profile of FIELDKIT_HOME)."""
    return tmp_path / "home" / "default.fieldkit"


@pytest.fixture
def store(profile_path: Path) -> Iterator[Store]:
    """An unlocked, empty profile."""
    s = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    yield s
    with contextlib.suppress(Exception):
        s.close()


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real `fieldkit` command in a child process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "fieldkit.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input if input is not None else "",  # never the terminal: no prompt waits
        start_new_session=True,  # no controlling terminal either: /dev/tty is not there
        timeout=120,
    )


def sample_case(case_id: str = "C-2026-0417", marker: str = "") -> dict[str, Any]:
    """The format card's example case; `marker` tags every sensitive text."""
    m = marker
    return {
        "id": case_id,
        "kind": "in-home-cps",
        "track": "home",
        "opened": "2026-09-01",
        "worker": "jsmith",
        "supervisor": "akhan",
        "address": f"12 Elm Street, Apt 3 {m}ADDR",
        "unannounced_visits": {"required": True, "reason": f"safety plan not followed {m}UNANN"},
        "people": [
            {
                "id": "p1",
                "role": "child",
                "name": f"Maya Ortiz {m}NAME1",
                "dob": "2025-02-11",
                "verbal": False,
                "victim": True,
            },
            {
                "id": "p2",
                "role": "child",
                "name": f"Leo Ortiz {m}NAME2",
                "dob": "2018-06-30",
                "verbal": True,
                "victim": True,
                "placement": {
                    "setting": "kinship",
                    "since": "2026-09-10",
                    "address": f"4 Oak Road {m}PLACE",
                },
            },
            {
                "id": "p3",
                "role": "caregiver",
                "name": f"Ana Ortiz {m}NAME3",
                "relationship": "mother",
                "phone": f"555-0100 {m}PHONE",
            },
        ],
        "safety": {
            "threats": [{"id": "t1", "text": f"Caregiver intoxicated {m}THREAT"}],
            "plan": {
                "agreed": "2026-09-01",
                "interventions": [
                    {
                        "threat": "t1",
                        "text": f"Grandmother evenings {m}PLAN",
                        "who": f"Rosa Diaz {m}WHO",
                    }
                ],
            },
        },
        "history": {
            "removal_date": "2026-09-10",
            "assessment_completed": "2026-09-20",
            "service_plan_completed": None,
            "last_formal_review": None,
            "last_supervision": "2026-10-15",
            "visits": [
                {
                    "date": "2026-10-03",
                    "announced": True,
                    "seen": ["p1", "p2"],
                    "private_interview": ["p2"],
                    "observed": ["p1"],
                }
            ],
        },
    }


def transfer_doc(*cases: dict[str, Any]) -> dict[str, Any]:
    """A case-transfer document holding `cases`."""
    return {"format": "fieldkit.case-transfer/1", "cases": list(cases)}


def write_json(path: Path, value: Any) -> Path:
    """Write JSON and return the path."""
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def cli_profile(tmp_path: Path, **env: str) -> dict[str, str]:
    """A profile made and filled as a worker does (`fieldkit init`, then `fieldkit case
    import` of the sample case C-1) under tmp_path/home; the environment to run it in."""
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(tmp_path / "home"), **env}
    made = run_cli("init", "--user", "jsmith", env=env)
    assert made.returncode == 0, made.stderr
    doc = write_json(tmp_path / "c.json", transfer_doc(sample_case("C-1")))
    imported = run_cli("case", "import", str(doc), env=env)
    assert imported.returncode == 0, imported.stderr
    return env


def signed_visit(
    store: Store,
    visit_id: str = "v1",
    day: str = "2026-11-20",
    signed_at: str = "2026-11-20T21:00:00+00:00",
    case_id: str = "C-1",
) -> None:
    """A visit as the field app signs it: one put of every field, then the sign op."""
    fields = {
        "date": day,
        "announced": False,
        "kind": "home",
        "seen": ["p1", "p2"],
        "private_interview": ["p2"],
        "observed": ["p1"],
        "contacts": [
            {
                "person": "p1",
                "seen": True,
                "observed": True,
                "interaction": "settles with mother",
                "condition": "clean, alert",
                "environment": "crib safe",
            },
            {
                "person": "p2",
                "seen": True,
                "private_interview": True,
                "seen_alone": True,
                "where": "bedroom",
                "could_be_overheard": False,
                "said": "Leo said grandma stays",
            },
        ],
        "notes": "Grandmother present; plan followed.",
        "next_visit": "2026-12-04",
        "safety_changed": False,
        "author": store.user,
        "signed_at": signed_at,
    }
    store.record(case_id, "visit", visit_id, fields)
    store.sign(case_id, "visit", visit_id, fields)
