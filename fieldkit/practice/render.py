"""Rich tables and help for `fieldkit due` and `fieldkit rules`; status in words, not colour."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fieldkit.domain import Case
from fieldkit.i18n import N_, _, ngettext
from fieldkit.practice.engine import OPEN_STATUSES, CaseFacts, DueItem, due_list
from fieldkit.practice.profile import PolicyProfile
from fieldkit.practice.rule_table import rules_rows
from fieldkit.text import aligned, cell, json_text, safe

STATUS_LABELS = {
    "overdue": (N_("⚠ overdue"), "bold red"),
    "missed": (N_("✗ missed"), "bold magenta"),
    "due": (N_("● due"), "yellow"),
    "due-soon": (N_("○ due soon"), "cyan"),
    "upcoming": (N_("· upcoming"), "dim"),
    "done-late": (N_("✓ done late"), "yellow"),
    "done": (N_("✓ done"), "green"),
}
"""Each status as a symbol and a word (readable without colour), and its colour."""

STATUS_HELP = N_("""\
Statuses ("today" is the --as-of day; numbers come from the policy profile):

  ⚠ overdue   the due date has passed and the requirement is not met.
  ✗ missed    a window that has closed without the requirement being met
              (a first-month visit, VI-5); it stays listed: it cannot be made up.
  ● due       due today or within due_days (7 in ontario-std7).
  ○ due soon  due within due_soon_days (14 in ontario-std7).
  · upcoming  not met yet, due later than that (only with --all).
  ✓ done late a one-time deadline met after its date (only with --all).
  ✓ done      met for this period: a one-time deadline was met, or a
              recurring one was done recently enough (only with --all).

Each line names its rule and the reason in words, e.g.
"last home visit 2026-10-03; monthly visits (VI-1)".
Dates are days in the agency's time zone.
`fieldkit rules` lists every rule with this profile's numbers.
""")


def status_text(status: str) -> Text:
    """A status as symbol + word, coloured for terminals that show colour."""
    label, style = STATUS_LABELS.get(status, (status, ""))
    return Text(_(label), style=style)


def _when(due: date, as_of: date) -> str:
    """Distance from today in words: "3 days late", "today", "in 5 days"."""
    days = (due - as_of).days
    if days == 0:
        return _("today")
    if days < 0:
        return ngettext("{n} day late", "{n} days late", -days).format(n=-days)
    return ngettext("in {n} day", "in {n} days", days).format(n=days)


def due_table(items: Iterable[DueItem], as_of: date) -> Table:
    """The due list for people: most urgent first, status in words, rule and reason on each line."""
    table = Table(
        title=_("Due as of {day}").format(day=as_of.isoformat()), show_lines=True, expand=False
    )
    table.add_column(_("Status"), no_wrap=True)
    table.add_column(_("Due"), no_wrap=True)
    table.add_column(_("Case"), no_wrap=True)
    table.add_column(_("Rule"), no_wrap=True)
    table.add_column(_("What, and why"), ratio=1, min_width=24)
    for item in items:
        when = "" if item.status in ("done", "done-late") else _when(item.due, as_of)
        table.add_row(
            status_text(item.status),
            f"{item.due.isoformat()}\n{when}" if when else item.due.isoformat(),
            f"{safe(item.case)}\n{safe(item.worker)}" if item.worker else safe(item.case),
            safe(item.rule),
            f"{safe(item.what)}\n[dim]{safe(item.reason)}[/dim]",
        )
    return table


def due_text(items: Iterable[DueItem], as_of: date) -> str:
    """The due list as plain aligned text: the columns and words of `due_table`, one block of
    two lines per item (status, due date, case, rule, what; then how late, worker, reason)."""
    rows: list[list[str]] = [[_("Status"), _("Due"), _("Case"), _("Rule"), _("What, and why")]]
    for item in items:
        when = "" if item.status in ("done", "done-late") else _when(item.due, as_of)
        label = _(STATUS_LABELS[item.status][0]) if item.status in STATUS_LABELS else item.status
        rows.append(
            [label, item.due.isoformat(), cell(item.case), cell(item.rule), cell(item.what)]
        )
        rows.append(["", when, cell(item.worker or ""), "", cell(item.reason)])
    lines = aligned(rows)
    out = [_("Due as of {day}").format(day=as_of.isoformat()), "", lines[0]]
    for n in range(1, len(lines), 2):
        out += ["", lines[n], lines[n + 1]]
    return "\n".join(out) + "\n"


def rules_table(profile: PolicyProfile) -> Table:
    """Every PRACTICE.md rule with its kind, this profile's values and how it is computed."""
    table = Table(
        title=_("Practice rules — profile {name}: {title}").format(
            name=safe(profile.name), title=safe(profile.title)
        )
    )
    table.add_column(_("Rule"), no_wrap=True)
    table.add_column(_("Kind"), no_wrap=True)
    table.add_column(_("Requirement"))
    table.add_column(_("In {name}").format(name=safe(profile.name)))
    table.add_column(_("How fieldkit checks it"))
    for row in rules_rows(profile):
        applied = row["applied"] == "yes"
        values = (row["values"] or "—") if applied else _("not applied in this profile")
        table.add_row(
            safe(row["id"]),
            safe("+".join(_(kind) for kind in row["kind"].split("+"))),
            safe(_(row["title"])),
            safe(values),
            safe(_(row["how"])),
        )
    table.caption = _(
        "deadline: yields due dates (see `fieldkit due`); gate: checked at the point of work, "
        "blocks or warns, overrides need a reason; content: must be in the record before "
        "signing; recorded: kept in the record, not computed."
    )
    return table


def print_due(
    console: Console,
    cases: Iterable[Case | CaseFacts],
    profile: PolicyProfile,
    as_of: date,
    *,
    case_id: str | None = None,
    as_json: bool = False,
    show_all: bool = False,
) -> int:
    """`fieldkit due`: print the due list (table or JSON lines list); returns the exit code."""
    case_list = list(cases)
    if case_id is not None and not any(c.id == case_id for c in case_list):
        console.print(
            _("No case {case} in this caseload.").format(case=case_id), style="red", highlight=False
        )
        return 2
    # only the items shown are put in words
    shown = None if show_all else OPEN_STATUSES
    items = due_list(case_list, profile, as_of, case_id=case_id, statuses=shown)
    if as_json:
        # console.out never wraps or highlights: scripts get exactly one JSON document
        console.out(json_text([item.to_json() for item in items]), highlight=False)
        return 0
    if not items:
        console.print(
            _("Nothing due, due soon or overdue as of {day}.").format(day=as_of.isoformat())
        )
        return 0
    console.file.write(due_text(items, as_of))
    console.file.flush()
    return 0


def print_rules(console: Console, profile: PolicyProfile) -> int:
    """`fieldkit rules`: print the rules table for a profile; returns the exit code."""
    console.print(rules_table(profile))
    console.print(_(STATUS_HELP), highlight=False)
    return 0
