"""The server's per-sync look-ups find their rows by index, so a sync costs the same in a
3,000-laptop agency as in a small one (docs/server.md "A state-sized server")."""

from __future__ import annotations

from fieldkit.sync.db import open_database
from fieldkit.sync.models import CASE_KEYS
from fieldkit.sync.server.teams import envelopes_of
from sqlalchemy import insert

CASES = 3000


def test_a_users_envelopes_are_found_by_the_recipient_index(db_url: str) -> None:
    """Before migration 0006 the envelope look-up read every envelope of the agency."""
    engine = open_database(db_url)
    rows = [
        {
            "case_id": f"C-{c}",
            "key_id": f"C-{c}#0",
            "recipient": recipient,
            "generation": 0,
            "wrapped": b"sealed",
            "by_device": "d1",
            "created_ms": 1,
        }
        for c in range(CASES)
        for recipient in (f"worker-{c // 13}", "@recovery")
    ]
    with engine.begin() as conn:
        conn.execute(insert(CASE_KEYS), rows)
        conn.exec_driver_sql("ANALYZE")
    query = envelopes_of("worker-7").compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    with engine.connect() as conn:
        plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql(f"{explain} {query}").all())
        assert len(conn.execute(envelopes_of("worker-7")).all()) == 13
    engine.dispose()
    assert "ix_case_keys_recipient" in plan, plan
