"""The server's per-sync look-ups find their rows by index, so a sync costs the same in a
3,000-laptop agency as in a small one (docs/server.md "A state-sized server")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fieldkit.sync.db import open_database
from fieldkit.sync.models import CASE_KEYS, CASE_TEAM, OPS
from fieldkit.sync.protocol import PulledOp, PullRequest
from fieldkit.sync.server.common import Caller
from fieldkit.sync.server.pull import PullServer
from fieldkit.sync.server.teams import key_rows_for
from sqlalchemy import event, insert

from fieldkit.crypto import b64

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
    query = key_rows_for("worker-7").compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    with engine.connect() as conn:
        plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql(f"{explain} {query}").all())
        assert len(conn.execute(key_rows_for("worker-7")).all()) == 13
    engine.dispose()
    assert "ix_case_keys_recipient" in plan, plan


PARALLEL_CHEAP = (
    "%20-cparallel_setup_cost%3D0%20-cparallel_tuple_cost%3D0"
    "%20-cmin_parallel_index_scan_size%3D0%20-cmin_parallel_table_scan_size%3D0"
)


@pytest.mark.postgres
def test_a_pull_page_is_planned_without_parallel_workers(pg_url: str) -> None:
    """On a state-sized database PostgreSQL plans a page with parallel workers, whose start
    costs more than the page (here they are made free, so it plans them at any size)."""
    engine = open_database(pg_url + PARALLEL_CHEAP)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'INSERT INTO case_team (case_id, "user", role, added_ms) '
            "SELECT 'C-' || c, 'u-' || (c %% 50), 'worker', 0 FROM generate_series(0, 649) AS c"
        )
        conn.exec_driver_sql(
            "INSERT INTO ops (op_id, device_id, seq, hlc, author, case_id, entity, entity_id,"
            " action, key_id, body, prev_hash, hash, sig, received_ms) SELECT 'op-' || i,"
            " 'd-' || (i %% 50), i / 50 + 1, i::text, 'u', 'C-' || (i %% 650), 'visit', 'v',"
            " 'put', 'k', '\\x00', '', '', '\\x00', 0 FROM generate_series(0, 49999) AS i"
        )
        conn.exec_driver_sql("ANALYZE")
    caller = Caller(device_id="d-x", user="u-7", role="worker", sign_pub=b"")
    page, served, unchecked = _page_plans(engine, caller, limit=100, explain="EXPLAIN ")
    assert len(page.ops) == 100
    assert "Gather" in unchecked, unchecked  # the planner would use workers here
    assert "Gather" not in served, served


def _plan(rows: list[Any]) -> str:
    return "\n".join(str(r[0]) for r in rows)


def _page_plans(engine: Any, caller: Caller, limit: int, explain: str) -> tuple[Any, str, str]:
    """A pull's page, the plan of its page query as the server ran it (its transaction's
    settings applied), and the plan of the same statement on a plain connection. Disposes
    of the engine."""
    seen: list[tuple[str, Any, str]] = []

    def explain_page(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM ops JOIN case_team" in statement:
            with conn.connection.dbapi_connection.cursor() as probe:
                probe.execute(explain + statement, params)
                seen.append((statement, params, _plan(probe.fetchall())))

    event.listen(engine, "before_cursor_execute", explain_page)
    page = PullServer(engine).pull(caller, PullRequest(cursor=0, limit=limit))
    event.remove(engine, "before_cursor_execute", explain_page)
    [(statement, params, served)] = seen
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as probe:
            probe.execute(explain + statement, params)
            unchecked = _plan(probe.fetchall())
    engine.dispose()
    return page, served, unchecked


@pytest.mark.postgres
def test_a_full_pull_page_is_sorted_in_memory(pg_url: str) -> None:
    """A page of the caller's ops (here 2,900 of 1.5 KB each, gathered from its cases) is
    sorted by cursor in memory: with PostgreSQL's default 4 MB of `work_mem` the same sort
    spills to disk (a supervisor's page of 5,000 ops: 36 ms against 9 ms at 10,000,000
    ops, docs/server.md)."""
    engine = open_database(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'INSERT INTO case_team (case_id, "user", role, added_ms) '
            "SELECT 'C-' || c, 'u-' || (c %% 25), 'worker', 0 FROM generate_series(0, 649) AS c"
        )
        # The caller's ops carry bodies of 1.5 KB (incompressible, kept in the row as a
        # real body is), the others one byte.
        conn.exec_driver_sql(
            "INSERT INTO ops (op_id, device_id, seq, hlc, author, case_id, entity, entity_id,"
            " action, key_id, body, prev_hash, hash, sig, received_ms) SELECT 'op-' || i,"
            " 'd-' || (i %% 50), i / 50 + 1, i::text, 'u', 'C-' || (i %% 650), 'visit', 'v',"
            " 'put', 'k', CASE WHEN i %% 650 %% 25 = 1 THEN decode(("
            "SELECT string_agg(md5(i::text || '/' || j), '') FROM generate_series(1, 94) AS j"
            "), 'hex') ELSE '\\x00' END, repeat('0', 64), repeat('1', 64), '\\x00', 0"
            " FROM generate_series(0, 74999) AS i"
        )
        conn.exec_driver_sql("ANALYZE")
    caller = Caller(device_id="d-x", user="u-1", role="worker", sign_pub=b"")
    page, served, unchecked = _page_plans(engine, caller, limit=2900, explain="EXPLAIN ANALYZE ")
    assert len(page.ops) == 2900 and page.more
    assert "Sort Method: external merge" in unchecked, unchecked  # the default spills
    assert "Sort Method: quicksort" in served and "Disk" not in served, served


def _op_row(n: int) -> dict[str, Any]:
    return {
        "op_id": f"op-{n}",
        "device_id": "d-1",
        "seq": n,
        "hlc": str(n),
        "author": "u",
        "case_id": "C-1",
        "entity": "visit",
        "entity_id": "v",
        "action": "put",
        "key_id": "k",
        "body": b"\x00",
        "prev_hash": "",
        "hash": "",
        "sig": b"\x00",
        "received_ms": 0,
    }


def test_an_idle_pull_reads_no_case_team_and_no_op(db_url: str) -> None:
    """A laptop whose cursor is the newest has nothing to fetch: the server answers from
    the newest cursor alone (one probe of the end of the cursor index), not with the page
    query over the caller's cases; one op stored after it brings the page query back."""
    engine = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(
            insert(CASE_TEAM), [{"case_id": "C-1", "user": "u-1", "role": "worker", "added_ms": 0}]
        )
        conn.execute(insert(OPS), [_op_row(1), _op_row(2)])
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    server = PullServer(engine)
    caller = Caller(device_id="d-x", user="u-1", role="worker", sign_pub=b"")
    first = server.pull(caller, PullRequest(cursor=0, limit=100))
    assert [op.op_id for op in first.ops] == ["op-1", "op-2"] and not first.more
    event.listen(engine, "before_cursor_execute", note)
    idle = server.pull(caller, PullRequest(cursor=first.next_cursor, limit=100))
    event.remove(engine, "before_cursor_execute", note)
    assert (idle.ops, idle.next_cursor, idle.more) == ([], first.next_cursor, False)
    assert not any("case_team" in s for s in statements), statements
    assert [s for s in statements if "ops" in s] == [statements[-1]], statements
    assert "max(ops.cursor)" in statements[-1], statements  # that probe, nothing else
    with engine.begin() as conn:
        conn.execute(insert(OPS), [_op_row(3)])
    later = server.pull(caller, PullRequest(cursor=first.next_cursor, limit=100))
    engine.dispose()
    assert [op.op_id for op in later.ops] == ["op-3"] and later.next_cursor > first.next_cursor


def test_a_pulled_page_carries_body_and_signature_as_the_laptop_encodes_them(
    db_url: str,
) -> None:
    """The page's JSON is written from the rows by pydantic's serializer: `body` and `sig`
    are URL-safe base64 with padding, the text `crypto.b64` writes, for every length."""
    engine = open_database(db_url)
    blobs = [bytes(range(256))[:n] + b"\xfb\xff" * (n % 3) for n in range(7)]
    with engine.begin() as conn:
        conn.execute(
            insert(CASE_TEAM), [{"case_id": "C-1", "user": "u-1", "role": "worker", "added_ms": 0}]
        )
        conn.execute(
            insert(OPS),
            [
                {**_op_row(n + 1), "body": blob, "sig": blob[::-1], "hash": f'h"{n}\u00e9'}
                for n, blob in enumerate(blobs)
            ],
        )
    caller = Caller(device_id="d-x", user="u-1", role="worker", sign_pub=b"")
    raw = PullServer(engine).pull_json(caller, PullRequest(cursor=0, limit=100))
    engine.dispose()
    page = json.loads(raw)
    assert [op["body"] for op in page["ops"]] == [b64(blob) for blob in blobs]
    assert [op["sig"] for op in page["ops"]] == [b64(blob[::-1]) for blob in blobs]
    assert [op["hash"] for op in page["ops"]] == [f'h"{n}\u00e9' for n in range(7)]
    assert [op["cursor"] for op in page["ops"]] == sorted(op["cursor"] for op in page["ops"])
    assert (page["more"], page["next_cursor"]) == (False, page["ops"][-1]["cursor"])
    assert set(page["ops"][0]) == set(PulledOp.model_fields)
