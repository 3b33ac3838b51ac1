"""Every user-facing string of the field app goes through gettext: a scan of screens/**.py
for words handed to what the worker sees (widgets, bindings, notifications, dialogs, lines
of a screen) that are not inside `_()`, `N_()` or `ngettext()`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from fieldkit.screens.visit.step import ANSWER_WORDS

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "screens"

TRANSLATED = {"_", "N_", "ngettext"}
WORD = re.compile(r"[A-Za-z]{2,}")
TECHNICAL = re.compile(r"[A-Z]{2,4}-\d+|YYYY-MM-DD|HH:MM|Ctrl\+\w|PgUp|PgDn|fieldkit|\w*_\w*")
"""Rule ids, date patterns, key names, identifiers (`service_plan`) and the product's name are
the same in every language."""
PASS_THROUGH = {
    "safe",
    "safe_content",
    "escape",
    "esc",
    "clean",
    "str",
    "format",
    "join",
    "capitalize",
    "strip",
}
"""Calls whose result shows their arguments (a key given to `.get()` is not shown)."""

SINKS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    # callable: (positional arguments shown, keyword arguments shown)
    "Static": ((0,), ()),
    "Label": ((0,), ()),
    "Button": ((0,), ()),
    "Input": ((), ("placeholder",)),
    "Binding": ((2,), ("description", "tooltip")),
    "notify": ((0,), ("title", "message")),
    "update": ((0,), ()),
    "Option": ((0,), ()),
    "Choice": ((0,), ()),
    "RadioButton": ((0,), ()),
    "TickBox": ((0,), ()),
    "Selection": ((0,), ()),
    "Text": ((0,), ()),
    "add_columns": ((0, 1, 2, 3, 4, 5, 6), ()),
    "ConfirmDialog": ((0, 1), ()),
    "CommentModal": ((0, 1), ()),
    "FormError": ((0,), ()),
    "UnlockFailed": ((0,), ()),
    "SigningRefused": ((0,), ()),
    "WorkFailed": ((0,), ()),
    "Decided": ((0,), ()),
    "Recorded": ((0,), ()),
    "Resolved": ((0,), ()),
    "Done": ((0,), ()),
    "append": ((0,), ()),
}
"""What reaches the screen, and which of its arguments are words for the worker."""

SHOWN_NAMES = {"HELP_TITLE", "TITLE_WORDS", "RECORD_KEYS"}
"""Class and module constants shown as words (marked `N_`, translated where drawn)."""

EXEMPT = {
    ("screens/privacy.py", "fieldkit"): "the product's name, the one word of the privacy screen",
    ("screens/unlock.py", "fieldkit"): "the product's name as the unlock title",
}
"""Literals allowed unwrapped, each with its reason."""


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _wordy(text: str) -> bool:
    return len(WORD.findall(TECHNICAL.sub(" ", text))) > 0


def _bare(node: ast.expr | None) -> list[str]:
    """Literal words in an expression that no translation call wraps."""
    if node is None:
        return []
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) and _wordy(node.value) else []
    if isinstance(node, ast.Call):
        if _name(node.func) in TRANSLATED or _name(node.func) not in PASS_THROUGH:
            return []
        found: list[str] = []
        if isinstance(node.func, ast.Attribute):  # "…".format(...), ", ".join(...)
            found += _bare(node.func.value)
        for arg in node.args:
            found += _bare(arg)
        for kw in node.keywords:
            found += _bare(kw.value)
        return found
    if isinstance(node, ast.JoinedStr):
        found = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                found += _bare(part)
            elif isinstance(part, ast.FormattedValue):
                found += _bare(part.value)
        return found
    if isinstance(node, ast.BinOp):
        return _bare(node.left) + _bare(node.right)
    if isinstance(node, ast.IfExp):
        return _bare(node.body) + _bare(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [w for v in node.values for w in _bare(v)]
    if isinstance(node, ast.List | ast.Tuple):
        return [w for e in node.elts for w in _bare(e)]
    return []


def unwrapped(source: str, path: str = "<source>") -> list[str]:
    """Each user-facing literal of `source` outside `_()`/`N_()`/`ngettext()`, as
    "path:line: text" (the exemptions above left out)."""
    found: list[str] = []

    def flag(node: ast.AST, words: list[str]) -> None:
        for text in words:
            if (path, text) not in EXEMPT:
                found.append(f"{path}:{getattr(node, 'lineno', 0)}: {text!r}")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node.func) in SINKS:
            positions, keywords = SINKS[_name(node.func)]
            for n, arg in enumerate(node.args):
                if n in positions:
                    flag(node, _bare(arg))
            for kw in node.keywords:
                if kw.arg in keywords:
                    flag(node, _bare(kw.value))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if names & SHOWN_NAMES or any(n.endswith(("_WORDS", "_LABELS")) for n in names):
                value = node.value
                if isinstance(value, ast.Dict) and "KEY_WORDS" not in names:
                    flag(node, [w for v in value.values for w in _bare(v)])
                elif not isinstance(value, ast.Dict):
                    flag(node, _bare(value))
    return found


def test_every_screen_string_goes_through_gettext() -> None:
    problems: list[str] = []
    for path in sorted(SCREENS.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        problems += unwrapped(path.read_text(encoding="utf-8"), rel)
    assert not problems, "words shown without _() / N_():\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "planted",
    [
        'yield Static("Loading the caseload")',
        'yield Label(f"Was {name} seen?")',
        'self.notify("Visit kept as a draft")',
        'self.notify(_("Kept"), title="Signing is blocked")',
        'Binding("ctrl+n", "next_step", "Next step")',
        'Binding("f3", "cycle", N_("Filter"), tooltip="all or overdue")',
        'Input(placeholder="Search name or case id")',
        'lines.append(f"Earlier decisions: {n}")',
        'box.update("Nothing waiting for review." if empty else _("Ready"))',
        'Option(safe(f"{day} · nobody seen"), id=v)',
        'HELP_TITLE = "Review queue"',
        'FILTER_WORDS = {None: "all", "due": N_("due only")}',
    ],
)
def test_the_scan_finds_a_planted_string(planted: str) -> None:
    assert unwrapped(planted), planted


@pytest.mark.parametrize(
    "fine",
    [
        'yield Static(_("Loading the caseload"))',
        'yield Label(_("Was {name} seen?").format(name=name))',
        'Binding("ctrl+n", "next_step", N_("Next step"), tooltip=N_("the next one"))',
        'Static("", id="counts")',
        'lines.append(f"• {safe(person)} — {rule} VI-2")',
        'state.update(ngettext("{n} visit", "{n} visits", n).format(n=n))',
        'Input(placeholder=_("YYYY-MM-DD"), id="date")',
        'KEY_WORDS = {"escape": "Esc"}',
    ],
)
def test_the_scan_leaves_translated_strings_alone(fine: str) -> None:
    assert unwrapped(fine) == [], fine


def test_the_answers_a_step_offers_have_words_in_the_catalogue() -> None:
    """A visit step shows each answer through `_()`: every value of the record's answer
    lists (and the shipped kinds of contact) is marked in ANSWER_WORDS."""
    import tomllib

    from fieldkit.services.visits import SA3_CIRCUMSTANCES
    from fieldkit.visit_record import NOT_SEEN_REASONS, OUTCOMES

    values = {*OUTCOMES, *NOT_SEEN_REASONS, *SA3_CIRCUMSTANCES}
    for profile in (ROOT / "fieldkit" / "practice" / "profiles").glob("*.toml"):
        values |= set(tomllib.loads(profile.read_text(encoding="utf-8")).get("visit_kinds", {}))
    assert values - set(ANSWER_WORDS) == set()
