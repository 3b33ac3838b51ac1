"""Command palette: find a case by name or id, and the app's actions."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from fieldkit.screens.dashboard import DashboardScreen
from textual.command import DiscoveryHit, Hit, Hits, Provider

from fieldkit.text import clean

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp


class CaseCommands(Provider):
    """Cases by name or id (from the decrypted caseload in memory) and app actions."""

    def _entries(self) -> list[tuple[str, str, object]]:
        fk = cast("FieldkitApp", self.app)
        entries: list[tuple[str, str, object]] = [
            ("Lock now", "drop the keys from memory", fk.action_lock),
            ("Blank the screen", "privacy", fk.action_blank),
            ("Help: keys", "list every key", fk.action_help),
        ]
        if fk.store is None:
            return entries
        dashboard = next((s for s in fk.screen_stack if isinstance(s, DashboardScreen)), None)
        if dashboard is not None:
            for row in dashboard.rows:
                entries.append(
                    (
                        f"Open case {row.case_id} {row.family}",
                        " · ".join(row.names),
                        partial(dashboard.open_case, row.case_id),
                    )
                )
        return entries

    async def discover(self) -> Hits:
        """The actions, before anything is typed."""
        for title, help_text, callback in self._entries()[:3]:
            yield DiscoveryHit(clean(title), callback, help=clean(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        """Cases and actions whose words match."""
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(clean(title)), callback, help=clean(help_text))  # type: ignore[arg-type]
