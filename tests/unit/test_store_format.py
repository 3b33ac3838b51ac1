"""The stored form of an entity: each value once (schema 3), the same fold state back, and
profiles of schema 2 (state and view stored apart) migrated without a change in what
they read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fieldkit import changelog, services
from fieldkit.changelog import OpMeta
from fieldkit.crypto import aad_for
from fieldkit.store import SCHEMA_VERSION, Store
from fieldkit.store.entities import EntityState, EntityView, pack_state, unpack_state
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, signed_visit, transfer_doc


def _meta(op: str, hlc: str, dev: str = "d1") -> OpMeta:
    return OpMeta(op, hlc, dev, "jsmith", "put")


def test_pack_keeps_every_head_value_and_mark() -> None:
    """SA-1/SA-2: concurrent versions of a safety-critical field survive the stored form."""
    state = changelog.apply(None, _meta("o1", "1.0"), {"set": {"text": "a", "active": True}})
    state = changelog.apply(state, _meta("o2", "2.0", "d2"), {"set": {"text": "b"}, "base": {}})
    state = changelog.apply(
        state, _meta("o4", "4.0"), {"set": {"active": False}, "base": {"active": ["o3"]}}
    )
    state = changelog.apply(
        state, OpMeta("o5", "5.0", "d1", "jsmith", "sign"), {"content_hash": "x"}
    )
    assert len(state["heads"]["text"]) == 2 and state["pending"]
    packed = json.loads(json.dumps(pack_state("threat", state)))
    assert unpack_state(packed) == state
    assert packed["f"] == changelog.values(state)
    # one copy of each op's metadata, one of each current value
    assert len(packed["o"]) == 3
    view = EntityView.of(EntityState("C-1", "threat", "t1", state))
    assert packed["m"] == [view.signed, view.altered_after_signing, view.critical_conflicts]
    assert packed["m"] == [True, True, 2]  # text and active both hold two versions


def _to_schema_2(store: Store, path: Path) -> dict[str, str]:
    """Rewrite every entity as fieldkit wrote it at schema 2: whole state, view apart."""
    rows = store._conn.execute("SELECT case_id, entity, entity_id, doc FROM entities").fetchall()
    docs = {}
    with store.transaction():
        for cid, ent, eid, doc in rows:
            _, sealer = store.case_sealer(cid)
            row_id = f"{cid}/{ent}/{eid}"
            packed = json.loads(sealer.open(doc, aad_for("entities", "doc", row_id)))
            state = unpack_state(packed)
            view = [packed["f"], *packed["m"]]
            store._conn.execute(
                "UPDATE entities SET doc=?, view=? WHERE case_id=? AND entity=? AND entity_id=?",
                (
                    sealer.seal(json.dumps(state).encode(), aad_for("entities", "doc", row_id)),
                    sealer.seal(json.dumps(view).encode(), aad_for("entities", "view", row_id)),
                    cid,
                    ent,
                    eid,
                ),
            )
            docs[row_id] = json.dumps(state, sort_keys=True)
        store.set_meta("schema_version", "2")
    return docs


def test_a_schema_2_profile_is_migrated_and_reads_the_same(profile_path: Path) -> None:
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case("C-1"), sample_case("C-2")))
    signed_visit(store, "v7", case_id="C-1")
    views_before = [vars(v) for v in store.views()]
    states = _to_schema_2(store, profile_path)
    store.close()
    with sqlite3.connect(profile_path) as conn:
        assert conn.execute("SELECT count(*) FROM entities WHERE view IS NULL").fetchone()[0] == 0
    store = Store.open(profile_path, PASSPHRASE)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "4"
        assert store.settings_differences() == []
        with sqlite3.connect(profile_path) as conn:
            assert (
                conn.execute("SELECT count(*) FROM entities WHERE view IS NOT NULL").fetchone()[0]
                == 0
            )
        assert [vars(v) for v in store.views()] == views_before
        after = {
            f"{e.case_id}/{e.entity}/{e.entity_id}": json.dumps(e.state, sort_keys=True)
            for e in store.entities(include_deleted=True)
        }
        assert after == states
        report = store.verify()
        assert report.ok, report.problems
        assert store.rebuild_differences() == []
        # and it goes on folding: a change after the migration
        store.record("C-2", "visit", "v8", {"date": "2026-11-25", "kind": "home"})
        assert store.rebuild_differences() == []
    finally:
        store.close()


def test_a_new_visit_stores_its_values_in_the_entity_once(store: Store) -> None:
    fields = {"date": "2026-11-24", "notes": "UNIQUEVALUEMARK " * 4}
    store.record("C-1", "visit", "v1", fields)
    row = store._conn.execute("SELECT doc, view FROM entities WHERE entity='visit'").fetchone()
    assert row[1] is None
    _, sealer = store.case_sealer("C-1")
    plain = sealer.open(row[0], aad_for("entities", "doc", "C-1/visit/v1")).decode()
    assert plain.count(str(fields["notes"])) == 1
    assert plain.count(store.device_id) == 1  # the op's metadata once, not per field
