"""fieldkit: the caseworker's offline, encrypted home-visit kit."""

__version__ = "0.1.0"
