"""The stored form of an entity: each value once (schema 3), the same fold state back, and
profiles of schema 2 (state and view stored apart) migrated without a change in what
they read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit import changelog, services
from fieldkit.changelog import OpMeta
from fieldkit.crypto import aad_for
from fieldkit.store import SCHEMA_VERSION, Store
from fieldkit.store.entities import ENCODE, EntityState, EntityView, pack_state, unpack_state
from fieldkit.store.packing import pack_whole, pack_with_fields
from fieldkit.store.schema import LATEST_HLC
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
    doc, current = pack_with_fields("threat", state, "o2")
    assert current == changelog.values(state)
    assert "text" not in doc["f"] and doc["o"][doc["b"]][0] == "o2"  # o2's value: its body
    assert unpack_state(json.loads(json.dumps(doc)), {"text": "b"}) == state


def _to_schema_2(store: Store, path: Path) -> dict[str, str]:
    """Rewrite every entity as fieldkit wrote it at schema 2: whole state, view apart."""
    docs = {}
    with store.transaction():
        for ent_state in store.entities(include_deleted=True):
            cid, ent, eid = ent_state.case_id, ent_state.entity, ent_state.entity_id
            _, sealer = store.case_sealer(cid)
            row_id = f"{cid}/{ent}/{eid}"
            state = ent_state.state
            view = [ent_state.fields, *pack_state(ent, state)["m"]]
            store._conn.execute(
                "UPDATE entities SET doc=?, view=?, vop=NULL"
                " WHERE case_id=? AND entity=? AND entity_id=?",
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
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "6"
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


def test_a_new_visit_stores_its_values_once(store: Store) -> None:
    """Schema 5: the values a save sets stay in its op's sealed body; the entity names it."""
    fields = {"date": "2026-11-24", "notes": "UNIQUEVALUEMARK " * 40}
    store.record("C-1", "visit", "v1", fields)
    row = store._conn.execute(
        "SELECT e.doc, e.view, o.body, o.op_id FROM entities e JOIN ops o ON o.rowid = e.vop"
        " WHERE e.entity='visit'"
    ).fetchone()
    assert row[1] is None
    _, sealer = store.case_sealer("C-1")
    plain = sealer.open(row[0], aad_for("entities", "doc", "C-1/visit/v1")).decode()
    body = sealer.open(row[2], aad_for("ops", "body", row[3])).decode()
    assert plain.count(str(fields["notes"])) == 0 and body.count(str(fields["notes"])) == 1
    assert plain.count(store.device_id) == 1  # the op's metadata once, not per field
    assert store.views("C-1")[0].fields == fields
    # a later save of one field keeps the other in the doc, read from the first op no more
    store.record("C-1", "visit", "v1", {"notes": "second"})
    assert store.views("C-1")[0].fields == {"date": "2026-11-24", "notes": "second"}
    assert store.entity("C-1", "visit", "v1").fields == {"date": "2026-11-24", "notes": "second"}  # type: ignore[union-attr]
    assert store.rebuild_differences() == []
    # a small save keeps its values in the doc too (a view opens one sealed value)
    store.record("C-1", "contact", "c1", {"date": "2026-11-24", "with": "UNIQUESMALLMARK"})
    doc, vop = store._conn.execute(
        "SELECT doc, vop FROM entities WHERE entity='contact'"
    ).fetchone()
    assert vop is None
    assert b"UNIQUESMALLMARK" in sealer.open(doc, aad_for("entities", "doc", "C-1/contact/c1"))


def _to_schema_5_indexes(store: Store) -> None:
    """The op indexes fieldkit kept before schema 6: `ops_sync` and `ops_hlc`."""
    store._conn.execute("DROP INDEX ops_sync_hlc")
    store._conn.execute("CREATE INDEX ops_sync ON ops (sync_state)")
    store._conn.execute("CREATE INDEX ops_hlc ON ops (hlc)")


def _to_schema_4(store: Store) -> None:
    """Rewrite the profile as fieldkit kept it at schema 4: hex hashes, the `ops_case`
    index, every value in the entity's doc (no `vop`)."""
    with store.transaction():
        for ent_state in store.entities(include_deleted=True):
            cid, ent, eid = ent_state.case_id, ent_state.entity, ent_state.entity_id
            _, sealer = store.case_sealer(cid)
            row_id = f"{cid}/{ent}/{eid}"
            packed = pack_state(ent, ent_state.state)
            assert "b" not in packed
            store._conn.execute(
                "UPDATE entities SET doc=?, vop=NULL WHERE case_id=? AND entity=? AND entity_id=?",
                (
                    sealer.seal(json.dumps(packed).encode(), aad_for("entities", "doc", row_id)),
                    cid,
                    ent,
                    eid,
                ),
            )
        store._conn.execute("UPDATE ops SET hash=lower(hex(hash)), prev_hash=lower(hex(prev_hash))")
        store._conn.execute("CREATE INDEX ops_case ON ops (case_id)")
        _to_schema_5_indexes(store)
        store.set_meta("schema_version", "4")


def test_a_schema_4_profile_is_migrated_and_still_verifies(profile_path: Path) -> None:
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case("C-1"), sample_case("C-2")))
    signed_visit(store, "v7", case_id="C-1")
    views_before = [vars(v) for v in store.views()]
    ops_before = store.ops()
    _to_schema_4(store)
    store.close()
    with sqlite3.connect(profile_path) as conn:
        assert {r[0] for r in conn.execute("SELECT typeof(hash) FROM ops")} == {"text"}
    store = Store.open(profile_path, PASSPHRASE)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "6"
        with sqlite3.connect(profile_path) as conn:
            kinds = {
                r[0] for r in conn.execute("SELECT typeof(hash) || typeof(prev_hash) FROM ops")
            }
            assert kinds == {"blobblob"}
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            assert "ops_case" not in names
            assert "ops_sync_hlc" in names and not {"ops_sync", "ops_hlc"} & names
        assert store.ops() == ops_before  # the same hex hashes read back
        assert [vars(v) for v in store.views()] == views_before
        report = store.verify(full=True)
        assert report.ok, report.problems
        assert store.rebuild_differences() == []
        store.record("C-2", "visit", "v8", {"date": "2026-11-25", "kind": "home"})
        assert store.verify(full=True).ok
        assert store.rebuild_differences() == []
    finally:
        store.close()


def test_a_save_after_another_write_reads_the_state_again(profile_path: Path) -> None:
    """The states kept from a store's own saves are dropped once anything else wrote: another
    connection to the same file (the data version), or this one outside a save."""
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    first = {"notes": "first", "date": "2026-11-24"}
    try:
        store.record("C-1", "visit", "v1", first)
        with sqlite3.connect(profile_path) as other:
            other.execute("DELETE FROM entities WHERE entity_id='v1'")
        store.record("C-1", "visit", "v1", {"notes": "second"})
        assert store.entity("C-1", "visit", "v1").fields == {"notes": "second"}  # type: ignore[union-attr]
        store.record("C-1", "visit", "v1", first)
        with store.transaction():
            store._conn.execute("DELETE FROM entities WHERE entity_id='v1'")
        store.record("C-1", "visit", "v1", {"notes": "third"})
        assert store.entity("C-1", "visit", "v1").fields == {"notes": "third"}  # type: ignore[union-attr]
        # with nothing else written, the kept state is the row's
        store.record("C-1", "visit", "v1", {"date": "2026-11-25"})
        store.record("C-1", "visit", "v1", {"notes": "fourth"})
        assert store.entity("C-1", "visit", "v1").fields == {
            "notes": "fourth",
            "date": "2026-11-25",
        }  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_rolled_back_save_leaves_no_trace_in_the_next(profile_path: Path) -> None:
    """A save inside a larger transaction that rolls back: the state it kept goes too."""
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    try:
        store.record("C-1", "visit", "v1", {"notes": "first"})
        with pytest.raises(RuntimeError), store.transaction():
            store.record("C-1", "visit", "v1", {"notes": "rolled back"})
            raise RuntimeError
        store.record("C-1", "visit", "v1", {"date": "2026-11-24"})
        fields = {"notes": "first", "date": "2026-11-24"}
        assert store.entity("C-1", "visit", "v1").fields == fields  # type: ignore[union-attr]
        assert store.rebuild_differences() == []
        assert store.verify(full=True).ok
    finally:
        store.close()


def test_a_schema_5_profile_gets_one_index_for_the_outbox_and_the_clock(
    profile_path: Path,
) -> None:
    """Schema 6: `ops_sync` and `ops_hlc` become `ops_sync_hlc`; the outbox reads the same
    ops and the clock still starts after the latest op, whatever its sync state."""
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    ops = [store.record("C-1", "visit", f"v{n}", {"notes": f"n{n}"}) for n in range(5)]
    store.mark_acked([ops[-1].op_id])  # the latest op is no longer in the outbox
    store.quarantine(ops[1].op_id, "refused")
    with store.transaction():
        _to_schema_5_indexes(store)
        store.set_meta("schema_version", "5")
    store.close()
    store = Store.open(profile_path, PASSPHRASE)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "6"
        names = {r[0] for r in store._conn.execute("SELECT name FROM sqlite_master")}
        assert "ops_sync_hlc" in names and not {"ops_sync", "ops_hlc"} & names
        assert store.outbox_count() == 3
        assert store.op_ids("local") == {ops[0].op_id, ops[2].op_id, ops[3].op_id}
        assert store.quarantined() == [(ops[1].op_id, "refused")]
        assert store._conn.execute(LATEST_HLC).fetchone()[0] == ops[-1].hlc  # an acked op
        after = store.record("C-1", "visit", "v9", {"notes": "after"})
        assert after.hlc > ops[-1].hlc and after.prev_hash == ops[-1].hash
        assert store.verify(full=True).ok
    finally:
        store.close()


def test_the_clock_starts_after_the_latest_op_of_any_sync_state(profile_path: Path) -> None:
    """`LATEST_HLC` (a few index seeks) is `max(hlc)` over every op."""
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    try:
        assert store._conn.execute(LATEST_HLC).fetchone() == (None,)
        ops = [store.record("C-1", "visit", f"v{n}", {"notes": "x"}) for n in range(6)]
        for state, op in zip(["acked", "remote", "carried", "quarantined"], ops, strict=False):
            store._conn.execute("UPDATE ops SET sync_state=? WHERE op_id=?", (state, op.op_id))
        for latest in ops[::-1]:  # the latest op in each state in turn
            store._conn.execute("UPDATE ops SET hlc=? WHERE op_id=?", ("9" * 13, latest.op_id))
            assert store._conn.execute(LATEST_HLC).fetchone()[0] == "9" * 13
            store._conn.execute("UPDATE ops SET hlc=? WHERE op_id=?", (latest.hlc, latest.op_id))
            expected = store._conn.execute("SELECT max(hlc) FROM ops").fetchone()[0]
            assert store._conn.execute(LATEST_HLC).fetchone()[0] == expected
    finally:
        store.close()


NAMES = ["date", "notes", "seen", 'q"uote', "n\u00e9"]


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.tuples(st.permutations(NAMES), st.integers(min_value=1, max_value=5), st.booleans()),
        min_size=1,
        max_size=8,
    ),
    st.booleans(),
)
def test_a_whole_put_folds_encodes_and_packs_as_apply_and_pack_state_do(
    script: list[tuple[list[str], int, bool]], large: bool
) -> None:
    """A save's kept `WholePut` (every field set by one put) gives `apply`'s exact state,
    its body is `ENCODE` of the body `record` builds otherwise, and `pack_whole` writes
    `pack_state`'s doc, byte for byte; a put of other fields goes back to the state."""
    reference: dict[str, Any] | None = None
    kept: dict[str, Any] | changelog.WholePut | None = None
    wholes = 0
    for n, (order, count, whole) in enumerate(script):
        if whole and reference:  # every field the entity has, in another order
            names = [name for name in order if name in reference["heads"]]
        else:
            names = order[:count]
        filler = "x" * 600 if large else "x"
        values: dict[str, Any] = {name: [n, f"{name}-{n}", filler] for name in names}
        base = changelog.fresh_base(reference, values) if reference else {}
        body = {"set": values, "base": base}
        op, hlc = f"op{n:03d}", f"{n:013d}.000000"
        if type(kept) is changelog.WholePut and kept.sets_every_field(values):
            assert kept.body_json(values, ENCODE) == ENCODE(body)
            kept = kept.then(values, op, hlc, "own", "jsmith")
            wholes += 1
        else:
            state = kept.state() if type(kept) is changelog.WholePut else kept
            if state is None:
                folded = changelog.apply(None, _meta(op, hlc, "own"), body)
            else:
                folded = changelog.fresh_put(state, op, hlc, "own", "jsmith", values, base)  # type: ignore[assignment]
            assert folded is not None
            kept = changelog.WholePut.of(folded, values) or folded
        reference = changelog.apply(reference, _meta(op, hlc, "own"), body)
        values.clear()  # the caller's dict, changed after the save: the kept state's a copy
        got = kept.state() if type(kept) is changelog.WholePut else kept
        assert json.dumps(got) == json.dumps(reference)  # same values, same order
        if type(kept) is changelog.WholePut:
            assert pack_whole(kept) == ENCODE(pack_state("visit", reference, op))
    if len(script) > 1 and all(whole for _, _, whole in script[1:]):
        assert wholes == len(script) - 1


def test_saving_a_form_whole_and_in_parts_stores_what_the_log_folds_to(
    profile_path: Path,
) -> None:
    """Saves of a whole form (kept as a `WholePut`), of some of its fields, a sign and a
    delete, on two entities: every stored state is the log's fold, the kept state is the
    stored one, and the profile verifies."""
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    form = {"date": "2026-11-24", "notes": "n" * 700, "seen": ["p1"], "status": "draft"}
    try:
        for n in range(3):
            for entity_id in ("v1", "v2"):
                store.record("C-1", "visit", entity_id, {**form, "notes": f"{n}" * 700})
        kept = store._kept_states[("C-1", "visit", "v1")]
        assert type(kept) is changelog.WholePut
        assert kept.state() == store.entity("C-1", "visit", "v1").state  # type: ignore[union-attr]
        store.record("C-1", "visit", "v1", {"notes": "short"})  # a part: small body
        store.record("C-1", "visit", "v1", dict(reversed(list(form.items()))))
        store.record("C-1", "visit", "v1", {**form, "extra": 1})  # a new field
        store.record("C-1", "visit", "v1", {**form, "extra": 2})
        entity = store.entity("C-1", "visit", "v1")
        assert entity is not None
        store.sign("C-1", "visit", "v1", entity.fields)
        store.record("C-1", "visit", "v1", {**form, "extra": 3})
        store.record("C-1", "visit", "v2", action="delete")
        store.record("C-1", "visit", "v2", form)
        view = store.views("C-1")
        assert {v.entity_id for v in view} >= {"v1"}
        assert store.rebuild_differences() == []
        assert store.verify(full=True).ok
        v1 = store.entity("C-1", "visit", "v1")
        assert v1 is not None and v1.fields == {**form, "extra": 3}
        assert v1.altered_after_signing
    finally:
        store.close()


def test_a_state_with_more_than_one_version_or_op_is_not_kept_whole() -> None:
    """`WholePut.of` takes only the state a put of every field leaves: not one where a
    field still holds a concurrent version, or another op's version, or a pending base."""
    values = {"notes": "a", "date": "2026-11-24"}
    state = changelog.apply(None, _meta("o1", "1.0"), {"set": values, "base": {}})
    assert changelog.WholePut.of(state, values) is not None
    concurrent = json.loads(json.dumps(state))
    concurrent["heads"]["notes"].insert(0, {**state["heads"]["notes"][0], "op": "o0"})
    assert changelog.WholePut.of(concurrent, values) is None
    other = json.loads(json.dumps(state))
    other["heads"]["date"][0]["op"] = "o0"
    assert changelog.WholePut.of(other, values) is None
    pending = json.loads(json.dumps(state))
    pending["pending"] = {"notes": ["o9"]}
    assert changelog.WholePut.of(pending, values) is None
    assert changelog.WholePut.of(state, {"notes": "a"}) is None  # a field it did not set
