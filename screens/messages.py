"""App-wide messages, named for what happened."""

from __future__ import annotations

from textual.message import Message


class SyncFinished(Message):
    """A background sync ended: what it did, or why it could not (work stays waiting)."""

    def __init__(self, text: str, ok: bool) -> None:
        super().__init__()
        self.text = text
        self.ok = ok


class SyncProgress(Message):
    """A background sync moved on: "sending changes 40/120", "uploading photo.jpg 3/12
    chunks" (ops first, then each attachment's chunks)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class OutboxChanged(Message):
    """A write added to the outbox (or a sync took from it): every status line reads again."""


class WorkFailed(Message):
    """A background worker met a FieldkitError; the app shows its one line."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
