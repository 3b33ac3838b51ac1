"""`fieldkit policy show|set`: which practice standards this profile follows, changed checked."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from fieldkit import services
from fieldkit.cli.base import ctx_of
from fieldkit.i18n import _
from fieldkit.practice import PolicyProfile
from fieldkit.services import policies

console = Console()
policy_app = typer.Typer(
    help="Show or change the policy profile this profile follows.", no_args_is_help=True
)


def _describe(profile: PolicyProfile, stored: str) -> dict[str, object]:
    return {
        "policy": stored,
        "name": profile.name,
        "title": profile.title,
        "source": profile.source,
        "timezone": profile.timezone,
        "jurisdiction": profile.jurisdiction,
        "holiday_categories": list(profile.holiday_categories),
        "closures": sorted(d.isoformat() for d in profile.closures),
        "not_applied": sorted(profile.not_applied),
    }


def _print(doc: dict[str, object]) -> None:
    for key in ("policy", "name", "title", "timezone", "jurisdiction"):
        console.print(f"{key:13} {escape(str(doc[key]))}", highlight=False)
    closures = doc["closures"]
    if closures:
        console.print(f"{'closures':13} {escape(', '.join(map(str, closures)))}")  # type: ignore[call-overload]


def register(app: typer.Typer) -> None:
    """Add `fieldkit policy` to the CLI."""
    app.add_typer(policy_app, name="policy")

    @policy_app.command("show")
    def show(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
    ) -> None:
        """The stored policy profile and what it sets for the calendar."""
        store = services.open_store(ctx_of(ctx).path)
        try:
            stored = policies.stored_policy(store)
            doc = _describe(policies.current_profile(store), stored)
        finally:
            store.close()
        if as_json:
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        else:
            _print(doc)

    @policy_app.command("set")
    def set_(
        ctx: typer.Context,
        policy: Annotated[
            str, typer.Argument(help="A shipped profile name or an agency TOML file.")
        ],
    ) -> None:
        """Change the policy profile (checked first; a file is stored by its absolute path)."""
        store = services.open_store(ctx_of(ctx).path)
        try:
            profile = policies.set_policy(store, policy)
            doc = _describe(profile, policies.stored_policy(store))
        finally:
            store.close()
        console.print(
            _("Policy profile set to {policy} ({title})").format(
                policy=escape(str(doc["policy"])), title=escape(profile.title)
            ),
            highlight=False,
        )
