"""App-wide messages, named for what happened."""

from __future__ import annotations

from textual.message import Message


class Unlocked(Message):
    """The profile was unlocked; the store is open."""


class DraftSaved(Message):
    """The visit draft was written, encrypted, to disk."""
