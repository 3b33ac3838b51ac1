"""`fieldkit due` and `fieldkit rules` as a person and a script use them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import PASSPHRASE, SHARED, run_cli, sample_case, transfer_doc, write_json

ENV = {"FIELDKIT_PASSPHRASE": PASSPHRASE}


def _seeded(tmp_path: Path) -> None:
    assert run_cli("init", "--user", "jsmith", env=ENV).returncode == 0
    other = sample_case("C-2")
    other["worker"] = "mlee"
    src = write_json(tmp_path / "cases.json", transfer_doc(sample_case("C-1"), other))
    assert run_cli("case", "import", str(src), env=ENV).returncode == 0


def test_due_json_lists_the_visit_overdue_by_hand(tmp_path: Path) -> None:
    _seeded(tmp_path)
    result = run_cli("due", "--as-of", "2026-11-26", "--case", "C-1", "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert items and all(
        {"case", "rule", "what", "due", "status", "reason"} <= set(i) for i in items
    )
    visit = [i for i in items if i["rule"] == "VI-1"]
    # Last visit 2026-10-03; monthly visits: due 2026-11-03, so overdue on 2026-11-26.
    assert visit and visit[0]["due"] == "2026-11-03" and visit[0]["status"] == "overdue"
    assert "2026-10-03" in visit[0]["reason"]


def test_due_team_json_groups_by_worker(tmp_path: Path) -> None:
    _seeded(tmp_path)
    result = run_cli("due", "--as-of", "2026-11-26", "--team", "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    team = json.loads(result.stdout)
    assert [w["worker"] for w in team] == ["jsmith", "mlee"]
    assert team[0]["counts"]["overdue"] >= 1
    assert {i["case"] for i in team[1]["items"]} == {"C-2"}


def test_rules_lists_every_practice_rule_id() -> None:
    result = run_cli("rules", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    ids = set(
        re.findall(
            r"\|\s*((?:CT|SA|PL|FED|VI|RV|EV|CL)-\d+)\s*\|", (SHARED / "PRACTICE.md").read_text()
        )
    )
    assert len(ids) >= 30
    missing = [i for i in ids if i not in result.stdout]
    assert not missing


def test_a_malformed_profile_is_one_line_naming_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "agency.toml"
    bad.write_text('extends = "ontario-std7"\n\n[visits]\ninterval_days = "monthly"\n')
    result = run_cli("rules", "--profile", str(bad))
    assert result.returncode == 1
    assert "agency.toml" in result.stderr and "line 4" in result.stderr
    assert "interval_days" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_due_rejects_a_bad_date(tmp_path: Path) -> None:
    _seeded(tmp_path)
    result = run_cli("due", "--as-of", "2026-02-30", env=ENV)
    assert result.returncode == 1 and "YYYY-MM-DD" in result.stderr


def test_due_for_an_unknown_case_is_one_line_on_stderr(tmp_path: Path) -> None:
    """`due --case` with a case not in the profile: one line on stderr and a non-zero exit;
    stdout stays empty, so a script reading `--json` never parses a sentence. The line
    was printed on stdout, in the --json output too."""
    _seeded(tmp_path)
    for extra in ((), ("--json",)):
        result = run_cli("due", "--case", "C-404", *extra, env=ENV)
        assert result.returncode != 0
        assert result.stdout == "", result.stdout
        assert result.stderr.strip().count("\n") == 0 and "C-404" in result.stderr
        assert "Traceback" not in result.stderr


def test_due_for_another_workers_case_is_one_line_on_stderr(tmp_path: Path) -> None:
    """`due --case C-2 --worker jsmith`, C-2 being mlee's: one line on stderr and exit 1,
    stdout empty (the --json output too). The sentence was printed on stdout, exit 2."""
    _seeded(tmp_path)
    for extra in ((), ("--json",)):
        result = run_cli("due", "--case", "C-2", "--worker", "jsmith", *extra, env=ENV)
        assert result.returncode == 1, (result.returncode, result.stdout)
        assert result.stdout == "", result.stdout
        assert result.stderr.strip().count("\n") == 0
        assert "C-2" in result.stderr and "jsmith" in result.stderr
        assert "Traceback" not in result.stderr
    # the worker's own case still answers
    result = run_cli("due", "--case", "C-2", "--worker", "mlee", "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    assert {i["case"] for i in json.loads(result.stdout)} <= {"C-2"}
