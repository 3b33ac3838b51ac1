"""The `fieldkit` command: thin; parses, calls a service, prints. Errors are one line.

Why one module: these are the commands of the root `fieldkit` app itself (no sub-app,
registered before the groups): opening the app, the profile and its passphrase, verify, case
list/show/export, language and demo-seed; each is a short parse, call, print.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from fieldkit import i18n, services
from fieldkit.cli.base import (
    Context,
    app,
    case_app,
    console,
    ctx_of,
    err_console,
    parse_day,
    passphrase_app,
)
from fieldkit.demo import demo_document, plan_records
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, ngettext
from fieldkit.keyfiles import (
    check_strength,
    new_recovery_key,
    private_text,
    public_text,
    read_recovery_private,
    read_recovery_public,
)
from fieldkit.labels import case_kind_label
from fieldkit.prefs import load_prefs, save_pref
from fieldkit.services.policies import checked_policy
from fieldkit.text import aligned, cell, json_text, safe


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        str | None,
        typer.Option(
            "--data-dir",
            help="Where profiles live (default: FIELDKIT_HOME, then the platform's data dir).",
        ),
    ] = None,
    profile: Annotated[str, typer.Option("--profile", help="Profile name.")] = "default",
    theme: Annotated[
        str | None, typer.Option("--theme", help="App theme, e.g. high-contrast.")
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="Language of this run: en, fr or es (default: the profile's, then LANG).",
        ),
    ] = None,
) -> None:
    """Open the field app (no command), or run a command."""
    ctx.obj = Context(services.data_dir(data_dir), profile)
    choose_language(ctx.obj, lang)
    # `--json` is for scripts: its words (and the errors it carries) stay English.
    if ctx.meta.get("fieldkit.json"):
        i18n.set_language(i18n.DEFAULT)
    if ctx.invoked_subcommand is None:
        run_app(ctx_of(ctx), theme, lang)


def choose_language(context: Context, lang: str | None) -> str:
    """This run's language: --lang, else the profile's preference, else LANG; else English."""
    chosen = i18n.set_language(i18n.choose(load_prefs(context.path).get("language")))
    if lang is None:
        return chosen
    if i18n.normalise(lang) is None:  # said in the language the run would otherwise speak
        raise FieldkitError(
            _("--lang {code}: choose one of {choices}").format(
                code=lang, choices=", ".join(i18n.LANGUAGES)
            )
        )
    return i18n.set_language(lang)


def run_app(context: Context, theme: str | None, lang: str | None = None) -> None:
    """Open the Textual app on this profile (or print the caseload without a terminal);
    `lang` (`--lang`, already checked) is the app's language for this run."""
    if not context.path.exists():
        raise FieldkitError(
            _("no fieldkit profile at {path}; create one with `fieldkit init`").format(
                path=context.path
            )
        )
    if not sys.stdout.isatty():
        _print_caseload(context)
        return
    # Local: loading Textual is most of the app's start-up; the other commands skip it.
    from fieldkit.screens.app import make_app

    pending = services.take_pending_unlock(context.path)  # begun in `fieldkit.cli.early`
    language = i18n.normalise(lang) if lang is not None else None
    make_app(profile_path=context.path, theme=theme, pending=pending, language=language).run()


def _print_caseload(context: Context) -> None:
    store = services.open_store(context.path)
    try:
        listing = services.case_listing(store)
    finally:
        store.close()
    rows = [[_("case"), _("family"), _("kind"), _("children"), _("last visit")]]
    for s in sorted(listing, key=lambda s: s["id"]):
        rows.append(
            [
                cell(s["id"]),
                cell(s["family"]),
                cell(case_kind_label(s["kind"])),
                str(s["children"]),
                cell(s["last_visit"] or _("none")),
            ]
        )
    count = ngettext("{n} case", "{n} cases", len(listing)).format(n=len(listing))
    title = _("Caseload · {profile} · {count}").format(profile=cell(context.path.name), count=count)
    sys.stdout.write("\n".join([title, "", *aligned(rows)]) + "\n")


@app.command()
def init(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="Your user name on the agency's server.")] = "worker",
    policy: Annotated[str, typer.Option(help="Policy profile (see `fieldkit rules`).")] = (
        "ontario-std7"
    ),
    recovery_key: Annotated[
        Path | None,
        typer.Option(help="The agency's recovery public key file (OUT.pub of recovery-keygen)."),
    ] = None,
    role: Annotated[
        str, typer.Option(help="worker or supervisor (the server's enrollment sets it too).")
    ] = "worker",
) -> None:
    """Create a profile: a random master key behind your passphrase (and the agency's key)."""
    context = ctx_of(ctx)
    recovery = None
    if recovery_key is not None:
        recovery = read_recovery_public(recovery_key)
    if context.path.exists():
        raise FieldkitError(
            _("a profile already exists at {path}; nothing was changed").format(path=context.path)
        )

    policy = checked_policy(policy)
    passphrase = services.ask_passphrase(_("New passphrase: "), confirm=True)
    check_strength(passphrase, services.min_passphrase_score(policy), [user])
    if role not in ("worker", "supervisor", "admin"):
        raise FieldkitError(
            _("--role {role}: choose worker, supervisor or admin").format(role=repr(role))
        )
    store = services.Store.create(context.path, passphrase, user, recovery, policy)
    store.set_meta("role", role)
    console.print(
        _("Created profile [bold]{profile}[/] for {user} at {path}").format(
            profile=safe(context.profile), user=safe(user), path=safe(context.path)
        )
    )
    if recovery is None:
        console.print(
            "[yellow]"
            + _("No agency recovery key: a forgotten passphrase cannot be recovered.")
            + "[/]"
        )
    store.close()


@passphrase_app.command("change")
def passphrase_change(ctx: typer.Context) -> None:
    """Rewrap the master key under a new passphrase (the data is not re-encrypted).

    Without a terminal, the new passphrase is read from FIELDKIT_NEW_PASSPHRASE."""
    context = ctx_of(ctx)
    store = services.open_store(context.path)
    try:
        new = services.ask_passphrase_new(services.min_passphrase_score(store.meta("policy")))
        store.change_passphrase(new)
    finally:
        store.close()
    console.print(_("Passphrase changed."))


@passphrase_app.command("reset")
def passphrase_reset(
    ctx: typer.Context,
    recovery_private_key: Annotated[
        Path,
        typer.Option(
            "--recovery-private-key",
            help="The agency's recovery private key file (kept offline by the IT lead).",
        ),
    ],
) -> None:
    """Set a new passphrase on a profile whose passphrase is forgotten (agency recovery key).

    Without a terminal, the new passphrase is read from FIELDKIT_NEW_PASSPHRASE."""
    context = ctx_of(ctx)
    private = read_recovery_private(recovery_private_key)
    store = services.Store.open_with_recovery(context.path, private)
    try:
        score = services.min_passphrase_score(store.meta("policy"))
        store.change_passphrase(services.ask_passphrase_new(score))
    finally:
        store.close()
    console.print(_("Passphrase reset with the agency recovery key."))


@app.command("recovery-keygen")
def recovery_keygen(
    out: Annotated[Path, typer.Argument(help="Where to write the private key (keep offline).")],
) -> None:
    """Make the agency's recovery key pair: OUT (private) and OUT.pub (for `init`)."""
    if out.exists():
        raise FieldkitError(_("{path} already exists; nothing was written").format(path=out))
    key = new_recovery_key()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(private_text(key))
        Path(f"{out}.pub").write_text(public_text(key.public_key()), encoding="utf-8")
    except OSError as exc:
        raise FieldkitError(
            _("cannot write {path}: {reason}").format(path=out, reason=exc.strerror)
        ) from None
    console.print(
        _("Wrote {path} (private: keep it offline) and {path}.pub (give to `init`).").format(
            path=safe(out)
        )
    )


@app.command()
def verify(
    ctx: typer.Context,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Also rebuild state from the log and compare.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Check every signature again, not only those after the last verify."
        ),
    ] = False,
) -> None:
    """Check every op's hash link, sequence and signature; name the first bad op."""
    context = ctx_of(ctx)
    if full:  # every signature: the helpers start while the profile unlocks
        services.start_signature_helpers(context.path)
    try:
        store = services.open_store(context.path)
        try:
            report = store.verify(full=full)
            differences = store.rebuild_differences() if rebuild and report.ok else []
        finally:
            store.close()
    finally:
        services.stop_signature_helpers()  # none left running when the unlock failed
    if not report.ok:
        for problem in report.problems:
            where = (
                _("op {op}: ").format(op=problem.op_id) if problem.op_id != "-" else _("profile: ")
            )
            err_console.print(f"[red]✗[/] {safe(where)}{safe(problem.message)}")
        first = report.problems[0]
        if first.op_id != "-":
            message = _(
                "the change log failed verification at op {op}; do not sync; "
                "ask your agency's IT lead"
            ).format(op=first.op_id)
        else:
            message = _(
                "the change log failed verification (the profile was altered); do not sync; "
                "ask your agency's IT lead"
            )
        raise FieldkitError(message)
    if differences:
        for line in differences:
            err_console.print(f"[red]✗[/] {safe(line)}")
        raise FieldkitError(
            ngettext(
                "{n} record differs from the change log",
                "{n} records differ from the change log",
                len(differences),
            ).format(n=len(differences))
        )
    ops = ngettext("{n} op", "{n} ops", report.ops).format(n=report.ops)
    devices = ngettext("{n} device", "{n} devices", report.devices).format(n=report.devices)
    if rebuild:
        line = _("✓ {ops} from {devices} verified; state rebuilt from the log matches")
    else:
        line = _("✓ {ops} from {devices} verified")
    console.print(line.format(ops=ops, devices=devices))


@case_app.command("export")
def case_export(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (plaintext).")
    ] = None,
) -> None:
    """Export one case in the case-transfer format (plaintext: only where you name it)."""
    context = ctx_of(ctx)
    store = services.open_store(context.path)
    try:
        doc = services.export_case(store, case_id)
    finally:
        store.close()
    text = json_text(doc, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        _write_named_file(out, text)
        console.print(_("Wrote case {case} to {path}").format(case=safe(case_id), path=safe(out)))


def _write_named_file(out: Path, text: str) -> None:
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FieldkitError(
            _("cannot write {path}: {reason}").format(path=out, reason=exc.strerror)
        ) from None


@case_app.command("list")
def case_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """List the cases in this profile."""
    context = ctx_of(ctx)
    store = services.open_store(context.path)
    try:
        summaries = services.case_listing(store)
    finally:
        store.close()
    summaries.sort(key=lambda s: s["id"])
    if as_json:
        _print_json(summaries)
        return
    rows = [[_("case"), _("family"), _("kind"), _("worker"), _("children"), _("last visit")]]
    for s in summaries:
        rows.append(
            [
                cell(s["id"]),
                cell(s["family"]),
                cell(case_kind_label(s["kind"])),
                cell(s["worker"] or ""),
                str(s["children"]),
                cell(s["last_visit"] or _("none")),
            ]
        )
    count = ngettext("{n} case", "{n} cases", len(summaries)).format(n=len(summaries))
    sys.stdout.write("\n".join([count, "", *aligned(rows)]) + "\n")


@case_app.command("show")
def case_show(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """Show one case: people, safety, history, records and open conflicts."""
    context = ctx_of(ctx)
    store = services.open_store(context.path)
    try:
        detail = services.case_detail(store, case_id)
    finally:
        store.close()
    if as_json:
        _print_json(detail)
        return
    sys.stdout.write(json_text(detail, indent=2) + "\n")


@app.command("language")
def language(
    ctx: typer.Context,
    code: Annotated[
        str | None,
        typer.Argument(help="en, fr or es: set this profile's language; none: show it."),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Forget the profile's choice (LANG decides again).")
    ] = False,
) -> None:
    """Show or set the language fieldkit speaks to you in on this profile (per worker)."""
    context = ctx_of(ctx)
    if code is None and not reset:
        stored = load_prefs(context.path).get("language")
        current = i18n.language()
        name = i18n.LANGUAGES[current]
        if stored:
            console.print(
                _("Language: {name} ({code}), chosen for this profile.").format(
                    name=name, code=current
                )
            )
        else:
            console.print(
                _("Language: {name} ({code}), from the environment (LANG).").format(
                    name=name, code=current
                )
            )
        console.print(
            _("Available: {choices}. `fieldkit language CODE` sets it.").format(
                choices=", ".join(f"{c} ({n})" for c, n in i18n.LANGUAGES.items())
            )
        )
        return
    if not context.path.exists():
        raise FieldkitError(
            _("no fieldkit profile at {path}; create one with `fieldkit init`").format(
                path=context.path
            )
        )
    if reset:
        save_pref(context.path, "language", None)
        i18n.set_language(i18n.choose(None))
        console.print(_("This profile's language is forgotten; LANG decides."))
        return
    chosen = i18n.normalise(code)
    if chosen is None:
        raise FieldkitError(
            _("no language {code}; choose one of {choices}").format(
                code=repr(code), choices=", ".join(i18n.LANGUAGES)
            )
        )
    save_pref(context.path, "language", chosen)
    i18n.set_language(chosen)
    console.print(
        _("From now on fieldkit speaks {name} on this profile.").format(name=i18n.LANGUAGES[chosen])
    )


@app.command("demo-seed")
def demo_seed(
    ctx: typer.Context,
    cases: Annotated[int, typer.Option("--cases", min=1, help="How many cases.")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same caseload.")] = 7,
    today: Annotated[
        str | None, typer.Option("--today", help="Anchor date YYYY-MM-DD (default: today).")
    ] = None,
    mark_demo: Annotated[
        bool,
        typer.Option(
            "--mark-demo",
            help="Mark this profile as a demo: its unlock screen states the passphrase "
            "(FIELDKIT_PASSPHRASE). Only for throwaway profiles with synthetic cases.",
        ),
    ] = False,
) -> None:
    """Write a synthetic, deterministic caseload through the normal import path."""
    context = ctx_of(ctx)
    anchor = parse_day(today, "--today") if today else date.today()
    doc = demo_document(cases, seed, anchor)
    store = services.open_store(context.path)
    try:
        with store.transaction():
            ids = services.import_cases(store, doc)
            for case_id, kind, record_id, fields in plan_records(doc, seed):
                store.record(case_id, kind, record_id, fields)
    finally:
        store.close()
    console.print(
        ngettext(
            "Seeded {n} synthetic case (seed {seed}, as of {day}).",
            "Seeded {n} synthetic cases (seed {seed}, as of {day}).",
            len(ids),
        ).format(n=len(ids), seed=seed, day=anchor)
    )
    if mark_demo:
        save_pref(context.path, "demo_passphrase", services.passphrase_from_env() or "")


def _print_json(value: Any) -> None:
    sys.stdout.write(json_text(value, indent=2) + "\n")
