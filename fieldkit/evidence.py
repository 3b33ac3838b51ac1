"""Time evidence: when a visit started and ended on the laptop, when the server received it.

A visit keeps its start and end from the laptop clock; the server stamps every op with the
moment it received it, and a laptop keeps that stamp beside the op (`op_receipts`, kept by
the store's log). The supervisor's review compares them: a visit signed before it ended, or
synced implausibly long after it was signed, is flagged (the threshold is the profile's
`sync_late_days`). Location is never collected.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fieldkit.i18n import N_, _
from fieldkit.store import Store


def received_at(store: Store, op_id: str | None) -> datetime | None:
    """When the server received this op, if this laptop has heard (`Store.record_receipts`)."""
    ms = store.receipt_ms(op_id) if op_id else None
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def sign_op_of(store: Store, case_id: str, entity: str, entity_id: str) -> str | None:
    """The op that signed a record (its receipt time is the record's arrival)."""
    ent = store.entity(case_id, entity, entity_id)
    mark = ent.signed if ent is not None else None
    return str(mark["op"]) if mark else None


def visit_received_at(store: Store, case_id: str, visit_id: str) -> datetime | None:
    """When the server received the signature of a visit."""
    return received_at(store, sign_op_of(store, case_id, "visit", visit_id))


def now_text(moment: datetime | None = None) -> str:
    """The laptop clock as stored on a record: UTC, to the second."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def parse_moment(value: Any) -> datetime | None:
    """An ISO instant from a record; a naive one is taken as UTC; junk is None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def time_flags(fields: dict[str, Any], received: datetime | None, sync_late_days: int) -> list[str]:
    """What a supervisor should question about when a visit was documented."""
    flags: list[str] = []
    started = parse_moment(fields.get("started_at"))
    ended = parse_moment(fields.get("ended_at"))
    signed = parse_moment(fields.get("signed_at"))
    if started and ended and ended < started:
        flags.append(
            _("ended ({ended}) before it started ({started})").format(
                ended=_show(ended), started=_show(started)
            )
        )
    if signed and ended and signed < ended:
        flags.append(
            _("signed at {signed}, before the visit ended at {ended}").format(
                signed=_show(signed), ended=_show(ended)
            )
        )
    if signed and started and signed < started:
        flags.append(
            _("signed at {signed}, before the visit started at {started}").format(
                signed=_show(signed), started=_show(started)
            )
        )
    if received and signed and sync_late_days > 0:
        late = received - signed
        if late > timedelta(days=sync_late_days):
            flags.append(
                _(
                    "synced {days} days after it was signed (received {received}; the "
                    "profile expects within {sync_late_days} days)"
                ).format(days=late.days, received=_show(received), sync_late_days=sync_late_days)
            )
    if received and signed and received < signed - timedelta(minutes=10):
        flags.append(
            _(
                "received by the server at {received}, before its signing time {signed}: "
                "the laptop clock was wrong"
            ).format(received=_show(received), signed=_show(signed))
        )
    return flags


def _show(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def timeline(fields: dict[str, Any], received: datetime | None) -> list[tuple[str, str]]:
    """(label, when) lines for the record: laptop times and the server's receipt."""
    lines = []
    for label, key in (
        (N_("Started (laptop clock)"), "started_at"),
        (N_("Ended (laptop clock)"), "ended_at"),
        (N_("Signed (laptop clock)"), "signed_at"),
    ):
        moment = parse_moment(fields.get(key))
        lines.append((_(label), _show(moment) if moment else _("not recorded")))
    lines.append(
        (_("Received by the server"), _show(received) if received else _("not yet synced"))
    )
    return lines
