"""`fieldkit visit check|sign|start` on the scenarios of the honest visit record, and the
wizard and the file path giving the same check list for the same answers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from fieldkit.screens.visit.review import ReviewStep

from fieldkit.store import Store
from tests.conftest import PASSPHRASE, run_cli
from tests.functional.conftest import settle, type_text
from tests.functional.test_visit_honest import (
    CASE,
    child_step,
    family_store,  # noqa: F401  (fixture)
    infant_step,
    kind_step,
    present_step,
    safety_step,
    signed_visits,
    start,
)

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def fk(store: Store, *args: str, stdin: str | None = None) -> Any:
    """The real `fieldkit` on the test's profile."""
    path = Path(store.path)
    return run_cli(
        "--data-dir",
        str(path.parent),
        "--profile",
        path.stem,
        *args,
        env={"FIELDKIT_PASSPHRASE": PASSPHRASE},
        input=stdin,
    )


def visit_doc(**changes: Any) -> dict[str, Any]:
    """A visit meeting every rule of ontario-std7 on the family case; `changes` on top."""
    doc: dict[str, Any] = {
        "format": "fieldkit.visit/1",
        "case": CASE,
        "date": YESTERDAY,
        "kind": "home",
        "outcome": "completed",
        "announced": False,
        "present": ["p1", "p2", "p3"],
        "children": {
            "p1": {
                "seen": True,
                "observation": {"interaction": "reaches for mother", "condition": "fed"},
            },
            "p2": {
                "seen": True,
                "private_interview": {
                    "alone": True,
                    "could_be_overheard": False,
                    "where": "his bedroom",
                    "words": "mum is better now",
                },
            },
        },
        "safety": {"changed": False},
        "progress": {"g1": "calm evenings"},
        "notes": "home tidy",
        "next_visit": (date.today() + timedelta(days=14)).isoformat(),
        "overrides": [],
    }
    doc.update(changes)
    return doc


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def check_ids(store: Store, path: Path) -> dict[str, bool]:
    shown = fk(store, "visit", "check", str(path), "--json")
    assert shown.returncode in (0, 1), shown.stderr
    return {c["id"]: c["blocking"] for c in json.loads(shown.stdout)}


# (scenario, changes to the complete visit, the blocking check ids)
ABSENT_INFANT = {
    "present": ["p2", "p3"],
    "children": {
        **visit_doc()["children"],
        "p1": {"seen": False, "not_seen_reason": "asleep elsewhere"},
    },
}
SCENARIOS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("complete", {}, set()),
    ("absent infant", ABSENT_INFANT, {"VI-3/p1/not-seen"}),
    ("bad date", {"date": "2026-11-3"}, {"VI-1/-/date"}),
    (
        "future date",
        {"date": (date.today() + timedelta(days=1)).isoformat()},
        {"VI-1/-/date-future"},
    ),
    (
        "not private",
        {
            "children": {
                **visit_doc()["children"],
                "p2": {
                    "seen": True,
                    "private_interview": {"alone": False, "could_be_overheard": True, "where": "k"},
                },
            }
        },
        {"VI-2/p2/not-private"},
    ),
    ("phone", {"kind": "phone"}, {"VI-2/p2/kind", "VI-3/p1/kind"}),
    (
        "no interventions",
        {"safety": {"changed": True, "new_threats": ["x"]}},
        {"SA-2/-/interventions"},
    ),
    ("announced", {"announced": True}, {"VI-4/-/announced"}),
    # "no change" beside a new threat and a plan: the record would say both (the plan is
    # never made, no supervisor sees it)
    (
        "no change but threats",
        {"safety": {"changed": False, "new_threats": ["x"], "interventions": "y"}},
        {"SA-3/-/unchanged-with-threats"},
    ),
    (
        "unanswered but circumstances",
        {"safety": {"changed": None, "circumstances": ["a move"]}},
        {"SA-3/-/safety-changed", "SA-3/-/unchanged-with-threats"},
    ),
    (
        "no change but a phone approval time",
        {"safety": {"changed": False, "phone_approval_at": "10:05"}},
        {"SA-3/-/unchanged-with-threats"},
    ),
    # an attempt's safety step says the same things: it must not contradict itself either
    (
        "attempt, no change but threats",
        {
            "outcome": "no one home",
            "attempt_time": "10:00",
            "attempt_action": "left a card",
            "present": [],
            "children": {},
            "safety": {"changed": False, "new_threats": ["knife in kitchen"]},
        },
        {"SA-3/-/unchanged-with-threats"},
    ),
    (
        "attempt, threats but no plan",
        {
            "outcome": "no one home",
            "attempt_time": "10:00",
            "attempt_action": "left a card",
            "present": [],
            "children": {},
            "safety": {"changed": True, "new_threats": ["knife in kitchen"]},
        },
        {"SA-2/-/interventions"},
    ),
    # VI-1: "seen" beside a reason for not seeing, "completed" beside an attempt
    (
        "seen with a not-seen reason",
        {
            "children": {
                **visit_doc()["children"],
                "p2": {**visit_doc()["children"]["p2"], "not_seen_reason": "at school"},
            }
        },
        {"VI-1/p2/seen-with-reason"},
    ),
    (
        "completed with an attempt",
        {"attempt_time": "10:00", "attempt_action": "left a card"},
        {"VI-1/-/completed-with-attempt"},
    ),
]


@pytest.mark.parametrize(("name", "changes", "blocking"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_check_lists_the_blocking_checks(
    family_store: Store,  # noqa: F811
    tmp_path: Path,
    name: str,
    changes: dict[str, Any],
    blocking: set[str],
) -> None:
    """`check --json`: each check's id, rule, subject, message, blocking; exit 1 if any blocks."""
    path = write(tmp_path, visit_doc(**changes))
    shown = fk(family_store, "visit", "check", str(path), "--json")
    assert shown.returncode == (1 if blocking else 0), shown.stderr
    checks = json.loads(shown.stdout)
    assert {c["id"] for c in checks if c["blocking"]} == blocking
    for c in checks:
        assert set(c) >= {"id", "rule", "subject", "message", "blocking"}
        assert c["id"].startswith(f"{c['rule']}/")


def test_sign_refuses_then_signs_with_an_override_naming_the_gate(
    family_store: Store,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`sign` exits 1 naming VI-3/p1/not-seen; with that override it signs and prints the id."""
    path = write(tmp_path, visit_doc(**ABSENT_INFANT))
    refused = fk(family_store, "visit", "sign", str(path))
    assert refused.returncode == 1
    assert "VI-3/p1/not-seen" in refused.stderr and "Traceback" not in refused.stderr
    assert signed_visits(family_store) == []
    wrong = visit_doc(**ABSENT_INFANT, overrides=[{"check": "VI-3/p1/kind", "reason": "x"}])
    assert fk(family_store, "visit", "sign", str(write(tmp_path, wrong))).returncode == 1
    good = visit_doc(
        **ABSENT_INFANT, overrides=[{"check": "VI-3/p1/not-seen", "reason": "asleep upstairs"}]
    )
    signed = fk(family_store, "visit", "sign", str(write(tmp_path, good)))
    assert signed.returncode == 0, signed.stderr
    (visit,) = signed_visits(family_store)
    assert signed.stdout.strip() == visit["id"]
    assert visit["seen"] == ["p2"] and visit["observed"] == []
    assert visit["overrides"][0]["check"] == "VI-3/p1/not-seen"
    assert visit["overrides"][0]["author"] == "jsmith"


def test_content_override_is_refused(family_store: Store, tmp_path: Path) -> None:  # noqa: F811
    """Rule SA-2: an override of a content requirement is itself a blocking check."""
    doc = visit_doc(
        safety={"changed": True, "new_threats": ["x"]},
        overrides=[{"check": "SA-2/-/interventions", "reason": "later"}],
    )
    checks = check_ids(family_store, write(tmp_path, doc))
    assert checks["SA-2/-/interventions"] is True
    assert checks["SA-2/-/not-overridable-interventions"] is True


@pytest.mark.parametrize(
    ("content", "words"),
    [("{not json", "not JSON"), ('{"format": "x"}', "fieldkit.visit/1"), ("[]", "JSON object")],
)
def test_bad_file_is_one_line(
    family_store: Store,  # noqa: F811
    tmp_path: Path,
    content: str,
    words: str,
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    shown = fk(family_store, "visit", "check", str(path))
    assert shown.returncode == 1 and words in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1


def test_start_asks_line_prompts_and_signs(family_store: Store) -> None:  # noqa: F811
    """`visit start`: the same questions as plain lines; y signs what was shown."""
    answers = [
        "1",  # kind: home
        "1",  # outcome: completed
        "",  # date: today
        "n",  # unannounced
        "y", "y", "y",  # Maya, Leo, Ana present
        "", "",  # others present, location
        "y", "y", "", "reaches for mother", "fed", "",  # Maya seen, observed
        "y", "y", "y", "n", "his bedroom", "mum is better now",  # Leo interviewed privately
        "n",  # safety unchanged
        "calm evenings",  # goal progress
        "home tidy", "", (date.today() + timedelta(days=14)).isoformat(),
        "y",  # sign
    ]  # fmt: skip
    shown = fk(family_store, "visit", "start", CASE, stdin="\n".join(answers) + "\n")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "the child's words: mum is better now" in shown.stdout
    (visit,) = signed_visits(family_store)
    assert visit["private_interview"] == ["p2"] and visit["observed"] == ["p1"]
    assert visit["announced"] is False


async def test_wizard_and_file_give_the_same_checks(
    family_store: Store,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One check function: a phone contact with Leo not alone, typed in the wizard and
    written as a file, gives the same check list."""
    app = make_app(store=family_store, today=date.today())
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await kind_step(pilot, kind="phone", announced=True, date=YESTERDAY)
        await present_step(pilot, (1, 2))
        await safety_step(pilot)
        await infant_step(pilot, reason="at school")
        await child_step(pilot, alone="no", overheard="yes")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await type_text(pilot, "#notes", "short call")
        await pilot.press("ctrl+r")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewStep)
        wizard = {c.id: c.blocking for c in review.checks}
    doc = visit_doc(
        kind="phone",
        announced=True,
        present=["p2", "p3"],
        children={
            "p1": {"seen": False, "not_seen_reason": "at school"},
            "p2": {
                "seen": True,
                "private_interview": {
                    "alone": False,
                    "could_be_overheard": True,
                    "where": "his bedroom",
                    "words": "mum is better now",
                },
            },
        },
        progress={},
        notes="short call",
        next_visit="",
    )
    from_file = check_ids(family_store, write(tmp_path, doc))
    assert from_file == wizard
    assert {"VI-2/p2/kind", "VI-3/p1/not-seen", "VI-4/-/announced"} <= set(wizard)
