"""The sync status line every working screen shows (outbox count and last sync)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fieldkit.screens.workers import guarded
from textual import work
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from fieldkit.i18n import _
from fieldkit.services import caseload
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp


class StatusBar(Static):
    """ "14 changes waiting to sync · last sync today 17:42"; refreshed off the UI thread."""

    text: reactive[str] = reactive("")
    activity: reactive[str] = reactive("")
    """What a running sync is doing ("uploading photo.jpg 3/12 chunks"); shown over `text`."""

    class SyncStatusRead(Message):
        """The outbox count and last sync time were read from the store."""

        def __init__(self, text: str, generation: int) -> None:
            super().__init__()
            self.text = text
            self.generation = generation

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0
        """Which read is the latest: an older read that ends later is not shown."""

    def watch_text(self, text: str) -> None:
        """Show the latest status."""
        self._show()

    def watch_activity(self, activity: str) -> None:
        """A running sync's progress, or back to the status when it ends."""
        self._show()

    def _show(self) -> None:
        self.update("⇅ " + safe_content(self.activity or self.text or _("checking sync status…")))

    def on_mount(self) -> None:
        """Read once now and again every 30 seconds (a sync already running shows first)."""
        self.activity = getattr(self.app, "sync_activity", "")
        self.refresh_status()
        self.set_interval(30, self.refresh_status)

    def on_status_bar_sync_status_read(self, event: SyncStatusRead) -> None:
        """Show what the latest read found (a write since makes an older one stale)."""
        if event.generation == self._generation:
            self.text = event.text

    def refresh_status(self) -> None:
        """Ask a worker to read the outbox (after a signature, say)."""
        self._generation += 1
        self._read(self._generation)

    @work(thread=True, exclusive=True, group="sync-status")
    @guarded
    def _read(self, generation: int) -> None:
        fk = cast("FieldkitApp", self.app)
        store = fk.store
        if store is None:
            return
        try:
            text = caseload.sync_status(store, fk.today)
        except Exception:
            return
        self.post_message(self.SyncStatusRead(text, generation))
