"""Every rule id in PRACTICE.md is known to the engine; `fieldkit rules`/`due` render in words."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from fieldkit.domain import Case, CaseKind, Visit
from fieldkit.practice import (
    RULES,
    STATUS_HELP,
    due_list,
    due_table,
    list_profiles,
    load_profile,
    print_due,
    print_rules,
    rules_rows,
    rules_table,
)
from fieldkit.practice.rules import KINDS

PRACTICE_MD = Path(__file__).parents[2] / ".." / "shared" / "PRACTICE.md"


def practice_rule_ids() -> set[str]:
    """Rule ids from the first column of PRACTICE.md's rule tables."""
    text = PRACTICE_MD.read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*([A-Z]{2,3}-\d+)\s*\|", text, flags=re.MULTILINE))


def test_practice_md_is_readable_and_has_rules() -> None:
    ids = practice_rule_ids()
    assert {"PL-2", "FED-1", "SA-2", "VI-1", "RV-1", "RV-2", "RV-5", "PL-7"} <= ids


def test_engine_knows_every_practice_rule_id() -> None:
    missing = sorted(practice_rule_ids() - set(RULES))
    assert missing == [], f"rules in PRACTICE.md the engine does not know: {missing}"


def test_every_rule_says_how_it_is_computed_or_why_recorded() -> None:
    for rule in RULES.values():
        assert set(rule.kinds) <= set(KINDS), rule.id
        assert rule.title and rule.how, rule.id
        if "recorded" in rule.kinds:
            assert rule.how.startswith("Recorded, not computed:"), rule.id


def test_deadline_rules_named_in_practice_md_are_deadlines() -> None:
    text = PRACTICE_MD.read_text(encoding="utf-8")
    line = next(li for li in text.splitlines() if li.startswith("- A **deadline rule**"))
    named = re.findall(r"[A-Z]{2,3}-\d+", line.split("yields")[0])
    for rule_id in named:
        assert "deadline" in RULES[rule_id].kinds, rule_id


@pytest.mark.parametrize("name", list_profiles())
def test_rules_table_shows_profile_values(name: str) -> None:
    profile = load_profile(name)
    rows = {row["id"]: row for row in rules_rows(profile)}
    assert set(rows) == set(RULES)
    assert rows["PL-2"]["values"] == "30 days after the case opened"
    console = Console(width=240, record=True)
    console.print(rules_table(profile))
    out = console.export_text()
    assert "VI-1" in out and "recorded" in out


def test_rules_rows_mark_not_applied() -> None:
    rows = {row["id"]: row for row in rules_rows(load_profile("ontario-std7"))}
    assert rows["FED-1"]["applied"] == "not applied"
    assert rows["RV-1"]["values"] == "every 6 weeks; high risk every 3 weeks"


def test_status_help_explains_each_status_in_words() -> None:
    for word in ("overdue", "due soon", "due ", "done", "upcoming"):
        assert word in STATUS_HELP


def _case() -> Case:
    return Case(
        id="C-2026-0417",
        kind=CaseKind.IN_HOME_CPS,
        opened=date(2026, 9, 1),
        worker="jsmith",
        visits=[Visit("v1", date(2026, 10, 3))],
    )


def test_due_table_shows_status_in_words_without_colour() -> None:
    as_of = date(2026, 11, 5)
    console = Console(width=240, record=True, no_color=True)
    console.print(due_table(due_list([_case()], load_profile(), as_of), as_of))
    out = console.export_text()
    assert "⚠ overdue" in out and "2 days late" in out
    assert "last home visit 2026-10-03; monthly visits (VI-1)" in out


def test_print_due_json_is_a_list_of_objects() -> None:
    console = Console(width=240, record=True)
    code = print_due(console, [_case()], load_profile(), date(2026, 11, 5), as_json=True)
    assert code == 0
    records = json.loads(console.export_text())
    assert {"case", "rule", "what", "due", "status", "reason"} <= set(records[0])
    assert {r["status"] for r in records} <= {"overdue", "missed", "due", "due-soon"}
    visit = [r for r in records if r["rule"] == "VI-1"][0]
    assert (visit["due"], visit["status"]) == ("2026-11-03", "overdue")


def test_print_due_unknown_case_exits_non_zero() -> None:
    console = Console(record=True)
    assert print_due(console, [_case()], load_profile(), date(2026, 11, 5), case_id="C-9") == 2
    assert "No case C-9" in console.export_text()


def test_print_rules() -> None:
    console = Console(width=240, record=True)
    assert print_rules(console, load_profile("us-ongoing")) == 0
    assert "FED-1" in console.export_text()
