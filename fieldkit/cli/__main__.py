"""`python -m fieldkit.cli`: the same as the `fieldkit` command."""

from fieldkit.cli import main

main()
