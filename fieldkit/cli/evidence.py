"""Evidence commands: collateral contacts, attachments, acknowledgements, verifiable records.

Case content never sits in argv: notes, names and captions come from a prompt, a file or
standard input (`-`), never from an option's value on the command line.

Why one module: one command group (`register` adds it whole) under one rule: case content
never enters argv, so every command that takes text reads it through the same
`read_text_input` and `_prompt` and cleans what it shows with `clean`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fieldkit import i18n, services
from fieldkit.acknowledgements import record_acknowledgement
from fieldkit.attachments import Attachment, attachments_of, find, is_local, opened_copy
from fieldkit.attachments import attach as attach_file
from fieldkit.cli.base import console, ctx_of, parse_day, progress_bar
from fieldkit.cli.practice import policy_for
from fieldkit.contacts import add_contact, contacts_of, parse_notes_input
from fieldkit.errors import FieldkitError
from fieldkit.family_copy import write_family_copy
from fieldkit.i18n import _
from fieldkit.record_verify import read_stamp, verify_stamp
from fieldkit.services import Store
from fieldkit.text import human_size

contact_app = typer.Typer(
    help="Collateral contacts: calls and meetings with teachers, doctors, relatives.",
    no_args_is_help=True,
)


def _store(ctx: typer.Context) -> Store:
    return services.open_store(ctx_of(ctx).path)


def read_text_input(source: str | None, what: str) -> str | None:
    """Text from `-` (standard input) or a file path; None when not given."""
    if source is None:
        return None
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FieldkitError(_("{what}: no such file {path}").format(what=what, path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FieldkitError(
            _("{what}: cannot read {path} ({exc})").format(what=what, path=path, exc=exc)
        ) from None


def _prompt(label: str) -> str:
    """One line typed at the terminal (never echoed into argv or history)."""
    if not sys.stdin.isatty():
        raise FieldkitError(
            _("{label} is needed: type it at the prompt, or put it in the notes input").format(
                label=label.lower()
            )
        )
    try:
        return str(typer.prompt(label))
    except (EOFError, KeyboardInterrupt, typer.Abort):
        raise FieldkitError(
            _("no {label} given; nothing was recorded").format(label=label.lower())
        ) from None


def clean(text: str) -> str:
    """Drop terminal control characters from text shown in a table."""
    return "".join(ch for ch in text if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127))


@contact_app.command("add")
def contact_add(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    kind: Annotated[str, typer.Option("--kind", help="call, meeting, video, email, …")] = "call",
    role: Annotated[
        str, typer.Option("--role", help="teacher, doctor, relative, provider, …")
    ] = "other",
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today).")] = None,
    child: Annotated[
        list[str] | None,
        typer.Option("--child", help="Id of a child the contact concerns (repeat)."),
    ] = None,
    notes: Annotated[
        str | None,
        typer.Option(
            "--notes",
            help="Read the notes from this file, or '-' for standard input; a first line "
            "'Who: NAME' names the contact. Without it you are prompted.",
        ),
    ] = None,
) -> None:
    """Record a collateral contact (signed; a correction is a new contact)."""
    day = date.today() if on is None else parse_day(on, "--date")
    text = read_text_input(notes, "--notes")
    who: str | None = None
    if text is not None:
        who, body = parse_notes_input(text)
    else:
        body = _prompt(_("Notes"))
    if who is None:
        who = _prompt(_("Who (name, where they work)"))
    store = _store(ctx)
    try:
        contact_id = add_contact(
            store,
            case_id,
            day=day,
            kind=kind,
            who=who,
            role=role,
            notes=body,
            children=list(child or []),
        )
    finally:
        store.close()
    console.print(
        _("Recorded contact {contact_id} on case {case_id}.").format(
            contact_id=contact_id, case_id=case_id
        )
    )


@contact_app.command("list")
def contact_list(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
) -> None:
    """The case's collateral contacts, newest first."""
    store = _store(ctx)
    try:
        case = services.load_case(store, case_id)
        found = contacts_of(store, case_id)
    finally:
        store.close()
    names = {p.id: p.name for p in case.people}
    table = Table(
        title=_("{n} collateral contacts on case {case_id}").format(n=len(found), case_id=case_id)
    )
    for column in (_("date"), _("kind"), _("who"), _("role"), _("children"), _("notes")):
        table.add_column(column)
    for c in found:
        table.add_row(
            str(c.date),
            c.kind,
            escape(clean(c.who)),
            c.role,
            escape(clean(", ".join(names.get(p, p) for p in c.children))),
            escape(clean(c.notes)),
        )
    console.print(table)


def _policy(store: Store) -> object:
    return policy_for(None, store.meta("policy"))


def attach(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    file: Annotated[Path, typer.Argument(help="The file to attach (photo, scan, document).")],
    visit: Annotated[
        str | None, typer.Option("--visit", help="Attach to this visit of the case.")
    ] = None,
    plan: Annotated[
        str | None, typer.Option("--plan", help="Attach to this safety plan of the case.")
    ] = None,
    caption: Annotated[
        str | None,
        typer.Option(
            "--caption",
            help="Read the caption from this file, or '-' for standard input "
            "(without it you are prompted at a terminal).",
        ),
    ] = None,
    keep_location: Annotated[
        bool,
        typer.Option("--keep-location", help="Keep a photo's GPS location (removed by default)."),
    ] = False,
) -> None:
    """Attach a file to a case, a visit or a safety plan (encrypted, signed)."""

    if visit and plan:
        raise FieldkitError(_("attach to a visit or to a plan, not both"))
    target, target_id = (
        ("visit", visit) if visit else ("safety_plan", plan) if plan else ("case", None)
    )
    text = read_text_input(caption, "--caption")
    if text is None:
        text = _prompt(_("Caption")) if sys.stdin.isatty() else ""
    store = _store(ctx)
    try:
        profile = _policy(store)
        ids = attach_file(
            store,
            case_id,
            file,
            target=target,
            target_id=target_id,
            caption=text.strip(),
            keep_location=keep_location,
            max_edge=int(getattr(profile, "photo_max_edge", 2048)),
            keep_original=bool(getattr(profile, "keep_photo_original", False)),
        )
        described = [find(store, case_id, i) for i in ids]
    finally:
        store.close()
    for att in described:
        what = "original of " + str(att.original_of) if att.original_of else att.kind
        console.print(
            _(
                "Attached {id} ({what}, {human_size}) to case {case_id}; it is "
                "encrypted and syncs separately from the text."
            ).format(id=att.id, what=what, human_size=human_size(att.size), case_id=case_id)
        )


def attachments_cmd(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    open_id: Annotated[
        str | None,
        typer.Option(
            "--open",
            help="Decrypt this attachment into a private temporary folder, open it, and "
            "remove it when you press Enter.",
        ),
    ] = None,
    download: Annotated[
        bool,
        typer.Option("--download", help="Fetch this case's attachments from the server now."),
    ] = False,
) -> None:
    """List a case's attachments (size, kind, caption), or open one on request."""
    store = _store(ctx)
    try:
        wanted = [find(store, case_id, open_id)] if open_id is not None else []
        if download:
            wanted = [a for a in attachments_of(store, case_id)]
        fetched = _fetch(store, [a for a in wanted if not is_local(store, a)])
        if fetched:
            console.print(
                _("Downloaded {fetched} attachment(s) from the server.").format(fetched=fetched)
            )
        if open_id is not None:
            with opened_copy(store, case_id, open_id) as path:
                _show_file(path)
            console.print(_("The decrypted copy was removed."))
            return
        found = attachments_of(store, case_id)
        rows = [(a, is_local(store, a)) for a in found]
    finally:
        store.close()
    table = Table(title=_("{n} attachments on case {case_id}").format(n=len(rows), case_id=case_id))
    for column in (_("id"), _("kind"), _("size"), _("on"), _("caption"), _("here")):
        table.add_column(column)
    for att, here in rows:
        on = "case" if att.target == "case" else f"{att.target.replace('_', ' ')} {att.target_id}"
        table.add_row(
            att.id,
            att.kind + (" (original)" if att.original_of else ""),
            human_size(att.size),
            escape(clean(on)),
            escape(clean(att.caption or att.name)),
            _("yes") if here else _("on the server"),
        )
    console.print(table)


def _fetch(store: Store, wanted: list[object]) -> int:
    """Download attachments on demand, chunk by chunk, with a progress bar per file."""
    from fieldkit.sync.attachment_sync import download  # local: httpx/pydantic, ~0.4 s of start-up
    from fieldkit.sync.transport import SyncClient  # local: httpx/pydantic, ~0.4 s of start-up

    if not wanted:
        return 0
    with (
        SyncClient(store) as client,
        progress_bar(Console(stderr=True, emoji=False), escape) as progress,
    ):
        client.hello()
        for att in wanted:
            assert isinstance(att, Attachment)
            download(store, client, att, progress)
    return len(wanted)


def _show_file(path: Path) -> None:
    """Hand the file to the desktop's viewer, then wait for the worker to finish."""
    opener = shutil.which("xdg-open") or shutil.which("open")
    if opener:
        subprocess.run([opener, str(path)], check=False, timeout=30)  # noqa: S603
    console.print(_("Decrypted copy: {path}").format(path=escape(str(path))))
    if sys.stdin.isatty():
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            input("Press Enter when you have finished with it… ")


PLAN_OPTION = {"safety": "safety_plan", "service": "service_plan"}


def acknowledge(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    caregiver: Annotated[str, typer.Option("--caregiver", help="The caregiver's person id.")],
    how: Annotated[
        str,
        typer.Option("--how", help="signed-on-paper, read-aloud-agreed or refused."),
    ],
    plan: Annotated[str, typer.Option("--plan", help="Plan id (default: plan).")] = "plan",
    kind: Annotated[str, typer.Option("--kind", help="safety or service plan.")] = "safety",
    attachment: Annotated[
        str | None,
        typer.Option("--attachment", help="The photographed signed page (signed-on-paper)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Read the name as the caregiver gave it from this file or '-' (standard "
            "input); without it you are prompted.",
        ),
    ] = None,
) -> None:
    """Record a caregiver's acknowledgement of a safety or service plan (SA-5, PL-6)."""
    if kind not in PLAN_OPTION:
        raise FieldkitError(_("--kind {kind}: safety or service").format(kind=repr(kind)))
    typed = read_text_input(name, "--name")
    typed = typed.strip().splitlines()[0] if typed and typed.strip() else None
    if typed is None:
        typed = _prompt(_("Name as the caregiver gave it"))
    store = _store(ctx)
    try:
        ack_id = record_acknowledgement(
            store,
            case_id,
            plan=PLAN_OPTION[kind],
            plan_id=plan,
            caregiver=caregiver,
            typed_name=typed,
            how=how,
            attachment=attachment,
        )
    finally:
        store.close()
    console.print(
        _("Recorded acknowledgement {ack_id} on case {case_id}.").format(
            ack_id=ack_id, case_id=case_id
        )
    )


def family_copy(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Write the family's copy here (plaintext PDF).")
    ],
    plan: Annotated[str, typer.Option("--plan", help="Plan id (default: plan).")] = "plan",
    kind: Annotated[str, typer.Option("--kind", help="safety or service plan.")] = "safety",
    language: Annotated[
        str | None,
        typer.Option(
            "--language",
            help="The family's language: en, fr or es (default: yours). Names and the "
            "plan's own words are printed as written.",
        ),
    ] = None,
) -> None:
    """The family's copy of a plan as a plain-language PDF, only where you name it."""
    if kind not in PLAN_OPTION:
        raise FieldkitError(_("--kind {kind}: safety or service").format(kind=repr(kind)))
    family = i18n.language() if language is None else i18n.normalise(language)
    if family is None:
        raise FieldkitError(
            _("--language {code}: choose one of {choices}").format(
                code=repr(language), choices=", ".join(i18n.LANGUAGES)
            )
        )
    store = _store(ctx)
    try:
        write_family_copy(store, case_id, PLAN_OPTION[kind], plan, out, family)
    finally:
        store.close()
    console.print(
        _("Wrote the family's copy in {language} to {out}").format(
            language=i18n.LANGUAGES[family], out=escape(str(out))
        )
    )


def verify_record(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A visit record PDF printed by fieldkit.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    server: Annotated[
        bool,
        typer.Option(
            "--server",
            help="Ask the agency server (an auditor's, a supervisor's or an admin's enrolled "
            "profile): it checks the op log's hashes, never the content.",
        ),
    ] = False,
) -> None:
    """Check a printed visit record against the signed log: unchanged, amended or unknown."""
    # local: the sync client (httpx, pydantic) is ~0.4 s of every command's start-up
    from fieldkit.services.sync import verify_record_on_server

    stamp = read_stamp(file)
    store = _store(ctx)
    try:
        verdict = verify_record_on_server(store, stamp) if server else verify_stamp(store, stamp)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(verdict.to_json(), indent=2) + "\n")
    else:
        mark = {"unchanged": "✓", "amended": "!", "unknown": "✗"}[verdict.status]
        status = {"unchanged": _("unchanged"), "amended": _("amended"), "unknown": _("unknown")}
        console.print(f"{mark} {status[verdict.status]}: {escape(verdict.message)}")
        for add in verdict.addenda:
            if "received_at" in add:  # from the server: ids and times, never text
                line = _("{kind} {id} by {author}, received {at}").format(
                    kind=add["kind"], id=add["id"], author=add["author"], at=add["received_at"]
                )
                console.print(f"  {escape(clean(line))}")
                continue
            line = f"{add.get('date')} {add.get('author', '')}: {add.get('text', '')}"
            console.print(_("  addendum {clean}").format(clean=escape(clean(line))))
    if verdict.status == "unknown":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the evidence commands to the fieldkit CLI."""
    app.add_typer(contact_app, name="contact")
    app.command("attach")(attach)
    app.command("attachments")(attachments_cmd)
    app.command("acknowledge")(acknowledge)
    app.command("family-copy")(family_copy)
    app.command("verify-record")(verify_record)
