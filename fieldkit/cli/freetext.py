"""Case content typed for a command never travels in argv.

Anyone on the laptop reads every process's command line (`/proc/PID/cmdline`, `ps`) and
the shell keeps it in its history. A command that takes free text (a comment, an addendum,
supervision decisions, a conflict's chosen value) reads it from stdin (`--text -`), a file
(`--text @notes.txt`), or asks for it at the prompt when neither is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.text import check_text

# Larger than any comment; a runaway pipe is refused rather than stored.
MAX_TEXT = 64 * 1024


def read_free_text(source: str | None, flag: str, what: str, required: bool = False) -> str:
    """The text named by `source`: "-" (stdin), "@FILE", or None (prompt, or "" if optional).

    Anything else is text typed on the command line: refused, saying how to give it.
    """
    if source is None:
        if not required:
            return ""
        if sys.stdin.isatty():
            typed = str(typer.prompt(what.capitalize())).strip()
            check_text(typed, flag)
            return typed
        return _checked(sys.stdin.read(MAX_TEXT + 1), flag)
    if source == "-":
        return _checked(sys.stdin.read(MAX_TEXT + 1), flag)
    if source.startswith("@") and len(source) > 1:
        path = Path(source[1:])
        try:
            with path.open(encoding="utf-8") as handle:
                return _checked(handle.read(MAX_TEXT + 1), flag)
        except FileNotFoundError:
            raise FieldkitError(
                _("{flag}: no such file {path}").format(flag=flag, path=path)
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FieldkitError(
                _("{flag}: cannot read {path} ({exc})").format(flag=flag, path=path, exc=exc)
            ) from None
    raise FieldkitError(
        _(
            "{flag}: case text on the command line is visible to every user of "
            "this laptop and kept in shell history; nothing was saved. Give it "
            "with {flag} - (stdin), {flag} @FILE, or leave {flag} out to be asked"
        ).format(flag=flag)
    )


def _checked(text: str, flag: str) -> str:
    if len(text) > MAX_TEXT:
        raise FieldkitError(
            _("{flag}: the text is longer than {max_text} characters").format(
                flag=flag, max_text=MAX_TEXT
            )
        )
    check_text(text, flag)
    return text.strip()


__all__ = ["MAX_TEXT", "read_free_text"]
