"""Command palette: find a case by name or id, the app's actions, and the language."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from fieldkit.screens.dashboard import DashboardScreen
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from fieldkit import i18n
from fieldkit.i18n import _
from fieldkit.text import clean, safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp


class CaseCommands(Provider):
    """Cases by name or id (from the decrypted caseload in memory) and app actions."""

    def _entries(self) -> list[tuple[str, str, object]]:
        fk = cast("FieldkitApp", self.app)
        entries: list[tuple[str, str, object]] = [
            (_("Lock now"), _("drop the keys from memory"), fk.action_lock),
            (_("Blank the screen"), _("privacy"), fk.action_blank),
            (_("Help: keys"), _("list every key"), fk.action_help),
        ]
        entries += self._languages()
        if fk.store is None:
            return entries
        dashboard = next((s for s in fk.screen_stack if isinstance(s, DashboardScreen)), None)
        if dashboard is not None:
            for row in dashboard.rows:
                entries.append(
                    (
                        _("Open case {case} {family}").format(case=row.case_id, family=row.family),
                        " · ".join(row.names),
                        partial(dashboard.open_case, row.case_id),
                    )
                )
        return entries

    def _languages(self) -> list[tuple[str, str, object]]:
        """One entry per language (each named in itself); the choice is the profile's."""
        fk = cast("FieldkitApp", self.app)
        return [
            (
                _("Language: {name}").format(name=name),
                _("the app speaks it from now on; kept for this profile"),
                partial(fk.choose_language, code),
            )
            for code, name in i18n.LANGUAGES.items()
            if code != fk.language
        ]

    async def discover(self) -> Hits:
        """The actions, before anything is typed."""
        for title, help_text, callback in self._entries()[: 3 + len(i18n.LANGUAGES) - 1]:
            yield DiscoveryHit(clean(title), callback, help=clean(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        """Cases and actions whose words match."""
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(
                    score,
                    highlighted(matcher, clean(title)),
                    callback,  # type: ignore[arg-type]
                    help=safe_content(help_text),
                )


def highlighted(matcher: Matcher, text: str) -> Content:
    """The text as written, the letters the query matched styled as Textual styles them.

    Not `matcher.highlight`, which reads its text as markup: a name is never markup (one
    with `[/]` stopped the app; `[@click=…]` would have made it an action)."""
    content = Content(text)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    if score:
        for offset in offsets:
            if not text[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
