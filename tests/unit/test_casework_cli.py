"""The case-record commands as a worker and a supervisor use them at a shell.

Free text comes from a form file or stdin, never argv; gates (PL-1) and content rules
(PL-4, PL-6, RV-6, RV-4, CL-1) refuse in one line before anything is signed; the due list
re-plans after each record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import PASSPHRASE, run_cli, sample_case, transfer_doc, write_json

ENV = {"FIELDKIT_PASSPHRASE": PASSPHRASE}

PLAN_TOML = """
family_agreement = "Ana agrees with the plan"
participants = ["Ana Ortiz"]

[[goals]]
text = "Children are safe every evening"

[[goals.objectives]]
text = "No alcohol while caring for the children"

[[goals.objectives.activities]]
text = "Outpatient addiction program"
who = "Ana"
where = "community clinic"
how = "group sessions"
when = "twice weekly"
measure = "attendance letters"
"""


def _ok(*args: str, input: str | None = None) -> str:
    result = run_cli(*args, env=ENV, input=input)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _refused(*args: str, input: str | None = None) -> str:
    result = run_cli(*args, env=ENV, input=input)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def _due(as_of: str) -> dict[str, dict[str, Any]]:
    items = json.loads(_ok("due", "--case", "C-1", "--as-of", as_of, "--all", "--json"))
    return {i["rule"]: i for i in items}


def _show() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_ok("case", "show", "C-1", "--json"))
    return doc


def test_assessment_plan_return_approve_event_review_closure(tmp_path: Path) -> None:
    case = sample_case("C-1")
    case["history"]["assessment_completed"] = None  # PL-1: no assessment on record yet
    _ok("init", "--user", "akhan", "--role", "supervisor")
    _ok("case", "import", str(write_json(tmp_path / "c.json", transfer_doc(case))))
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN_TOML, encoding="utf-8")

    # rule PL-1: the plan is refused before the assessment, nothing signed
    err = _refused("plan", "record", "C-1", "--completed", "2026-09-28", "--from", str(plan))
    assert "PL-1: complete the family and child strengths and needs assessment" in err
    assert "service_plan" not in _show()["records"]

    # the assessment's free text comes from stdin (JSON form), never argv
    form = json.dumps({"strengths": "Grandmother close by", "needs": "Sobriety support"})
    _ok(
        "assessment",
        "record",
        "C-1",
        "--completed",
        "2026-09-20",
        "--discussed",
        "--from",
        "-",
        input=form,
    )
    out = _ok("plan", "record", "C-1", "--completed", "2026-09-28", "--from", str(plan))
    assert "waiting for the supervisor" in out
    first = _show()["records"]["service_plan"][0]["id"]
    # rule PL-2: the plan was completed 2026-09-28, within 30 days of 2026-09-01
    assert _due("2026-10-05")["PL-2"]["status"] == "done"

    queue = json.loads(_ok("review", "--json", "--as-of", "2026-10-05"))
    assert [(i["target"], i["id"]) for i in queue] == [("service_plan", first)]

    # returned by the supervisor with a reason from stdin: no longer the plan in force
    _ok("plan", "return", "C-1", first, "--text", "-", input="Add a goal on housing")
    assert json.loads(_ok("review", "--json", "--as-of", "2026-10-05")) == []
    assert _due("2026-10-05")["PL-2"]["status"] == "overdue"  # due 2026-10-01, no plan in force

    _ok("plan", "record", "C-1", "--completed", "2026-10-06", "--from", str(plan))
    second = [p["id"] for p in _show()["records"]["service_plan"] if p["id"] != first][0]
    _ok("plan", "approve", "C-1", second)
    assert json.loads(_ok("review", "--json", "--as-of", "2026-10-07")) == []
    # PL-2 met on 2026-10-06, 5 days after the deadline of 2026-10-01
    assert "5 days after the deadline" in _due("2026-10-07")["PL-2"]["reason"]

    # rule PL-7: a placement change on 2026-11-02 brings the plan review to 2026-12-02
    before = _due("2026-11-20")["RV-2"]["due"]
    assert before == "2027-04-06"  # the returned version does not count: 2026-10-06 + 6 mo
    _ok(
        "event",
        "record",
        "C-1",
        "placement-change",
        "--date",
        "2026-11-02",
        "--person",
        "p2",
        "--setting",
        "foster",
        "--from",
        "-",
        input='note = "Aunt could no longer care for Leo"\naddress = "9 Pine Road"\n',
    )
    moved = _due("2026-11-20")
    assert (moved["PL-7"]["due"], moved["PL-7"]["status"]) == ("2026-12-02", "due-soon")

    # a formal review (RV-2/RV-5) answers it; RV-4 asks for the prognosis (a child in care)
    review_form = tmp_path / "review.toml"
    review_form.write_text('notes = "Plan on track"\n', encoding="utf-8")
    err = _refused(
        "formal-review", "record", "C-1", "--date", "2026-11-25", "--from", str(review_form)
    )
    assert "RV-4: record the prognosis for reunification" in err
    review_form.write_text(
        'notes = "Plan on track"\nprognosis = "Good"\nparticipants = ["Ana Ortiz"]\n',
        encoding="utf-8",
    )
    _ok("formal-review", "record", "C-1", "--date", "2026-11-25", "--from", str(review_form))
    after = _due("2026-11-26")
    assert "PL-7" not in after
    assert (after["RV-2"]["due"], after["RV-2"]["status"]) == ("2027-05-25", "done")

    # rule CL-1: a closure with reason and supports; after its end date nothing is due
    closure = tmp_path / "closure.toml"
    closure.write_text('reason = "Goals met"\nsupports = ""\n', encoding="utf-8")
    err = _refused("closure", "record", "C-1", "--date", "2026-12-15", "--from", str(closure))
    assert "supports in place" in err
    closure.write_text(
        'reason = "Goals met"\nsupports = "Aunt and program"\ngoals_met = true\n', encoding="utf-8"
    )
    _ok("closure", "record", "C-1", "--date", "2026-12-15", "--from", str(closure))
    assert _due("2026-12-16") == {}
    assert _due("2026-12-14") != {}


def test_free_text_is_never_taken_from_argv(tmp_path: Path) -> None:
    _ok("init")
    _ok("case", "import", str(write_json(tmp_path / "c.json", transfer_doc(sample_case("C-1")))))
    # `--text` names a file or `-`; words typed there are not taken as the note
    err = _refused("plan", "return", "C-1", "sp-x", "--text", "Add a goal on housing")
    assert "no such file: Add a goal on housing" in err
    # without a form and without a terminal: one line saying how to give it
    err = _refused("assessment", "record", "C-1", "--completed", "2026-09-20", "--discussed")
    assert "give the form (strengths, needs) with --from FILE or --from -" in err
    err = _refused(
        "event", "record", "C-1", "party", "--date", "2026-10-01", "--from", "-", input=""
    )
    assert "event kind 'party'" in err


HOSTILE = [
    ("ESC", "Eve \x1b[2J Ortiz"),
    ("OSC title", "Eve \x1b]0;pwned\x07 Ortiz"),
    ("bidi override", "Eve \u202e Ortiz"),
    ("C1 CSI", "Eve \u009b2J Ortiz"),
    ("NUL", "Eve \x00 Ortiz"),
]


def test_record_text_holding_what_import_refuses_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """`facts add-person`, `facts person`, `facts threat` and `--text -` take only what
    `case import` takes: a record that holds a control or bidi character would be exported
    into a file its own import refuses."""
    _ok("init")
    _ok("case", "import", str(write_json(tmp_path / "c.json", transfer_doc(sample_case("C-1")))))
    before = _ok("case", "export", "C-1")
    for what, text in HOSTILE:
        form = json.dumps({"name": text})
        err = _refused("facts", "add-person", "C-1", "--role", "other", "--from", "-", input=form)
        assert "nothing was saved" in err, (what, err)
        form = json.dumps({"address": text})
        err = _refused("facts", "person", "C-1", "p3", "--from", "-", input=form)
        assert "nothing was saved" in err, (what, err)
        err = _refused("facts", "threat", "C-1", "--from", "-", input=json.dumps({"text": text}))
        assert "nothing was saved" in err, (what, err)
        err = _refused("plan", "return", "C-1", "sp-x", "--text", "-", input=text)
        assert "nothing was saved" in err, (what, err)
    assert _ok("case", "export", "C-1") == before
