"""Case key generations on the server: which key of a case is current, and asking a case's
team for a new one (reassignment, a revoked device). The server only keeps envelopes: the
new key is made and wrapped by a laptop of the team (fieldkit.sync.client)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select

from .models import CASE_KEY_ROTATIONS, CASE_KEYS


def current_keys(conn: Connection, case_ids: list[str]) -> dict[str, tuple[str, int]]:
    """case → (key_id, generation) of its current key: the newest generation held."""
    if not case_ids:
        return {}
    newest = (
        select(CASE_KEYS.c.case_id, func.max(CASE_KEYS.c.generation).label("g"))
        .where(CASE_KEYS.c.case_id.in_(sorted(set(case_ids))))
        .group_by(CASE_KEYS.c.case_id)
        .subquery()
    )
    found: dict[str, tuple[str, int]] = {}
    for case_id, key_id, generation in conn.execute(
        select(CASE_KEYS.c.case_id, CASE_KEYS.c.key_id, CASE_KEYS.c.generation)
        .join(
            newest,
            (newest.c.case_id == CASE_KEYS.c.case_id) & (newest.c.g == CASE_KEYS.c.generation),
        )
        .order_by(CASE_KEYS.c.case_id, CASE_KEYS.c.created_ms, CASE_KEYS.c.key_id)
    ).all():
        found[case_id] = (key_id, int(generation))  # the latest of one generation wins
    return found


def ask_rotation(conn: Connection, case_ids: list[str], reason: str, at_ms: int) -> None:
    """Ask the teams of these cases for a new key before anything more is sealed."""
    for case_id in sorted(set(case_ids)):
        conn.execute(delete(CASE_KEY_ROTATIONS).where(CASE_KEY_ROTATIONS.c.case_id == case_id))
        conn.execute(
            insert(CASE_KEY_ROTATIONS).values(case_id=case_id, reason=reason, asked_ms=at_ms)
        )
