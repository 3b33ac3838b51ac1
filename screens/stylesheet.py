"""The app's stylesheet: Textual's, parsed again only where what it is made of changed."""

from __future__ import annotations

from typing import Any

from textual.css.stylesheet import Stylesheet


class KeptStylesheet(Stylesheet):
    """Textual's stylesheet, whose `reparse` parses only the sources it has not parsed
    under the theme variables in force (Textual's own builds a new stylesheet and parses
    every source).

    Textual parses every source again (its own default CSS, each widget's, ours) on each
    `refresh_css` or new screen stylesheet, and opening the first screen of a mode makes
    three such passes with one new source and the same theme: a third of the CSS work
    between `make_app` and the dashboard's first frame. Another theme still parses
    everything, as before.
    """

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._parsed_from: tuple[tuple[Any, ...], tuple[Any, ...]] | None = None
        """The sources and variables the rules were last parsed from."""

    def _made_of(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return (tuple(self.source.items()), tuple(sorted(self._variables.items())))

    def set_variables(self, variables: dict[str, str]) -> None:
        """New theme variables; the same ones again keep what was parsed under them."""
        if variables != self._variables:
            super().set_variables(variables)

    def parse(self) -> None:
        """Parse the sources (Textual's way: those parsed before come from its cache)."""
        super().parse()
        self._parsed_from = self._made_of()

    def reparse(self) -> None:
        """Parse again where needed: Textual's cache holds the rules of every source parsed
        under the variables in force (another theme empties it), so only new ones parse."""
        if not self._require_parse and self._parsed_from == self._made_of():
            return
        self.parse()
