"""Case key generations: reassigning a case and revoking a device give the case a new key
for what is sealed from then on; whoever left (a worker taken off the case, a revoked
laptop) never receives it, while the team reads the old work and the new."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fieldkit.sync import admin
from fieldkit.sync.client import SyncRefused, assign_case, run_sync
from fieldkit.sync.protocol import envelope_context
from sqlalchemy import text

from fieldkit import services
from fieldkit.changelog import Op
from fieldkit.crypto import CryptoError, Sealer, aad_for, unwrap_with_private
from fieldkit.store import SCHEMA_VERSION, Store
from fieldkit.store.entities import pack_state
from tests.conftest import PASSPHRASE
from tests.sync.conftest import Agency, assigned_case, synced_team


def _server_body(agency: Agency, op_id: str) -> bytes:
    with agency.engine.connect() as conn:
        row = conn.execute(text("SELECT body FROM ops WHERE op_id=:o"), {"o": op_id}).first()
    assert row is not None, f"op {op_id} is not on the server"
    return bytes(row[0])


def _envelopes(agency: Agency, key_id: str) -> dict[str, bytes]:
    with agency.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT recipient, wrapped FROM case_keys WHERE key_id=:k"), {"k": key_id}
        ).all()
    return {r[0]: bytes(r[1]) for r in rows}


def _opens_with_any(keys: list[tuple[str, int, bytes]], op: Op, body: bytes) -> bool:
    for _key_id, _generation, key in keys:
        try:
            Sealer(key).open(body, aad_for("ops", "body", op.op_id))
        except CryptoError:
            continue
        return True
    return False


def test_reassignment_seals_new_work_with_a_key_the_old_worker_never_gets(agency: Agency) -> None:
    sup, a = synced_team(agency)
    old_key_id, old_generation = a.case_key_generation("C-1") or ("", -1)
    assert old_generation == 0
    before = a.record("C-1", "visit", "v-a", {"date": "2026-11-02", "notes": "by jsmith"})
    assert before.key_id == old_key_id
    run_sync(a)
    a_keys = a.case_keys("C-1")  # everything jsmith's laptop holds for the case (a copy)
    b = agency.laptop("bwong")

    assign_case(sup, "C-1", "bwong")
    assert run_sync(sup).keys_rotated == ["C-1"]
    new_key_id, new_generation = sup.case_key_generation("C-1") or ("", -1)
    assert new_generation == 1 and new_key_id != old_key_id
    after = sup.record("C-1", "visit", "v-s", {"date": "2026-11-03", "notes": "by akhan"})
    assert after.key_id == new_key_id  # future ops use the new key
    run_sync(sup)

    # The new key went to the new team and the recovery key, never to jsmith.
    wrapped = _envelopes(agency, new_key_id)
    assert set(wrapped) == {"akhan", "bwong", "@recovery"}
    recovered = unwrap_with_private(
        wrapped["@recovery"], agency.recovery, envelope_context("C-1", new_key_id)
    )
    assert recovered == sup.case_key("C-1")[1]

    # bwong reads the old work and the new, and writes with the new key.
    got = run_sync(b)
    assert b.has_case_key("C-1", old_key_id) and b.has_case_key("C-1", new_key_id)
    assert b.open_body(before)["set"]["notes"] == "by jsmith"
    assert b.open_body(after)["set"]["notes"] == "by akhan"
    assert got.pulled >= 2
    assert b.record("C-1", "visit", "v-b", {"date": "2026-11-04"}).key_id == new_key_id

    # jsmith's laptop: nothing new arrives, no new key, and its keys do not open the op.
    assert run_sync(a).pulled == 0
    assert not a.has_case_key("C-1", new_key_id)
    with pytest.raises(Exception, match="no key"):
        a.open_body(after)
    assert not _opens_with_any(a_keys, after, _server_body(agency, after.op_id))
    assert _opens_with_any(a_keys, before, _server_body(agency, before.op_id))  # the check works
    assert any(e["action"] == "rotate key" for e in admin.audit_events(agency.engine))


def test_after_a_revoke_the_next_ops_use_a_key_the_laptop_never_received(agency: Agency) -> None:
    sup, lost = synced_team(agency)
    lost_keys = lost.case_keys("C-1")
    assert [g for _k, g, _key in lost_keys] == [0]
    admin.revoke(agency.engine, lost.device_id)

    summary = run_sync(sup)
    assert summary.keys_rotated == ["C-1"]
    new_key_id, generation = sup.case_key_generation("C-1") or ("", -1)
    assert generation == 1
    op = sup.record("C-1", "visit", "v-after", {"date": "2026-11-05", "notes": "after"})
    assert op.key_id == new_key_id
    run_sync(sup)

    with pytest.raises(SyncRefused, match="revoked"):
        run_sync(lost)
    assert not lost.has_case_key("C-1", new_key_id)
    assert not _opens_with_any(lost_keys, op, _server_body(agency, op.op_id))
    # Once re-keyed, the case is not re-keyed again on the next sync.
    assert run_sync(sup).keys_rotated == []


def test_a_second_laptop_asking_for_the_same_generation_is_refused(agency: Agency) -> None:
    """Two laptops of a team re-keying at once: the first wins, the second is told so and
    takes the winner's key at its next sync."""
    from fieldkit.sync.outcome import SyncSummary
    from fieldkit.sync.rotation import rotate_keys
    from fieldkit.sync.transport import SyncClient, fetch_keys

    sup, worker = synced_team(agency)
    admin.revoke(agency.engine, agency.laptop("bwong").device_id)  # bwong holds no C-1 key
    assert run_sync(sup).keys_rotated == []
    with agency.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO case_key_rotations (case_id, reason, asked_ms) VALUES ('C-1', 'test', 1)"
        )
    with SyncClient(sup) as client:
        asked = fetch_keys(sup, client)
        assert asked.rotate == ["C-1"]
        assert run_sync(worker).keys_rotated == ["C-1"]  # the worker's laptop was quicker
        late = SyncSummary()
        rotate_keys(sup, client, asked, client.hello().recovery_pub, late)
    assert late.keys_rotated == []
    assert any("another laptop replaced it first" in p for p in late.team_problems)
    assert sup.case_key_generation("C-1") != worker.case_key_generation("C-1")
    assert run_sync(sup).keys_rotated == []
    assert sup.case_key_generation("C-1") == worker.case_key_generation("C-1")


def _to_whole_states(store: Store) -> None:
    """Rewrite every entity as fieldkit 1 kept it: the whole fold state, its view apart."""
    with store.transaction():
        for ent_state in store.entities(include_deleted=True):
            cid, ent, eid = ent_state.case_id, ent_state.entity, ent_state.entity_id
            _key_id, sealer = store.case_sealer(cid)
            row_id = f"{cid}/{ent}/{eid}"
            view = [ent_state.fields, *pack_state(ent, ent_state.state)["m"]]
            store._conn.execute(
                "UPDATE entities SET doc=?, view=?, vop=NULL"
                " WHERE case_id=? AND entity=? AND entity_id=?",
                (
                    sealer.seal(
                        json.dumps(ent_state.state).encode(),
                        aad_for("entities", "doc", row_id),
                    ),
                    sealer.seal(json.dumps(view).encode(), aad_for("entities", "view", row_id)),
                    cid,
                    ent,
                    eid,
                ),
            )


@pytest.mark.parametrize("version", ["1", "3"])
def test_a_profile_from_before_key_generations_opens_and_keeps_its_data(
    agency: Agency, version: str
) -> None:
    """Version 1 (whole states, views apart, no summaries) and version 3 (one packed doc per
    entity, summaries) both had one key per case: the key-generation step (4) runs after
    the others and every row keeps opening with the key it was sealed with."""
    sup, _worker = assigned_case(agency)
    path = sup.path
    key_id, _ = sup.case_key("C-1")
    sup.save_draft("d-1", "C-1", {"notes": "half done"})
    views_before = [vars(v) for v in sup.views()]
    cases_before = [c.id for c in services.load_cases(sup)]
    if version == "1":
        _to_whole_states(sup)
    sup.set_meta("schema_version", version)
    sup.close()
    # One key per case, no key named on entity rows or drafts.
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        ALTER TABLE case_keys RENAME TO ck2;
        CREATE TABLE case_keys (
            case_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, wrapped BLOB NOT NULL);
        INSERT INTO case_keys SELECT case_id, key_id, wrapped FROM ck2;
        DROP TABLE ck2;
        ALTER TABLE entities DROP COLUMN key_id;
        ALTER TABLE drafts DROP COLUMN key_id;
        """
    )
    if version == "1":
        conn.execute("DROP TABLE summaries")
    conn.commit()
    conn.close()

    opened = Store.open(path, PASSPHRASE)
    agency.stores.append(opened)
    assert opened.meta("schema_version") == str(SCHEMA_VERSION) == "6"
    assert opened.case_key_generation("C-1") == (key_id, 0)
    assert [vars(v) for v in opened.views()] == views_before
    assert [c.id for c in services.load_cases(opened)] == cases_before
    assert [s["id"] for s in services.case_listing(opened)] == cases_before
    assert opened.drafts("C-1")[0][3] == {"notes": "half done"}
    assert opened.settings_differences() == []
    assert opened.verify().ok
    assert opened.rebuild_differences() == []
    assert opened.record("C-1", "visit", "v9", {"date": "2026-11-06"}).key_id == key_id
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT DISTINCT key_id FROM entities").fetchall() == [(key_id,)]
        assert (
            check.execute("SELECT count(*) FROM entities WHERE view IS NOT NULL").fetchone()[0] == 0
        )


def test_summaries_are_sealed_with_the_current_key_after_a_rotation(agency: Agency) -> None:
    """A case's summary (services.summaries) is never left under a replaced key: the next
    listing seals it with the new generation, and reads it back."""
    sup, _a = assigned_case(agency)
    run_sync(sup)
    before = services.case_listing(sup)
    assert set(sup.case_summaries()) == {"C-1"}
    agency.laptop("bwong")
    assign_case(sup, "C-1", "bwong")
    assert run_sync(sup).keys_rotated == ["C-1"]
    assert "C-1" not in sup.case_summaries()
    listing = services.case_listing(sup)
    assert [s["id"] for s in listing] == [s["id"] for s in before] == ["C-1"]
    assert listing[0] == services.case_summary(services.load_case(sup, "C-1"))
    assert set(sup.case_summaries()) == {"C-1"}
    (old_id, _g0, old_key), (new_id, generation, new_key) = sup.case_keys("C-1")
    assert generation == 1 and (new_id, 1) == sup.case_key_generation("C-1")
    raw = sup._conn.execute("SELECT doc FROM summaries WHERE case_id='C-1'").fetchone()[0]
    aad = aad_for("summaries", "doc", "C-1")
    head, _, _rules = Sealer(new_key).open(raw, aad).partition(b"\n")  # services.summaries
    assert json.loads(head)["list"]["id"] == "C-1"
    with pytest.raises(CryptoError):
        Sealer(old_key).open(raw, aad)


def test_the_server_takes_a_new_key_only_for_the_team(agency: Agency) -> None:
    """A rotation wrapping the key to someone off the team, or sent by someone off it, or
    missing a member, is refused; the server keeps the generation it had."""
    from fieldkit.sync.transport import SyncClient

    from fieldkit.crypto import b64, load_x25519_public, random_key, wrap_to_public

    sup, _a = assigned_case(agency)
    run_sync(sup)
    outsider = agency.laptop("bwong")
    key, key_id = random_key(), "C-1#extra"

    def envelope(name: str) -> dict[str, object]:
        with SyncClient(sup) as client:
            if name == "@recovery":
                pub = client.hello().recovery_pub
            else:
                pub = client.get(f"/v1/users/{name}")["box_pub"]
        wrapped = wrap_to_public(key, load_x25519_public(pub), envelope_context("C-1", key_id))
        return {"case_id": "C-1", "key_id": key_id, "generation": 1, "recipient": name,
                "wrapped": b64(wrapped)}  # fmt: skip

    team = [envelope("akhan"), envelope("jsmith"), envelope("@recovery")]
    request = {"key_id": key_id, "generation": 1}
    with SyncClient(sup) as client:
        with pytest.raises(SyncRefused, match="bwong is not on case C-1"):
            client.post("/v1/cases/C-1/keys", {**request, "envelopes": [*team, envelope("bwong")]})
        with pytest.raises(SyncRefused, match="no case key envelope for jsmith"):
            client.post("/v1/cases/C-1/keys", {**request, "envelopes": [team[0], team[2]]})
    with SyncClient(outsider) as client, pytest.raises(SyncRefused, match="not on case C-1"):
        client.post("/v1/cases/C-1/keys", {**request, "envelopes": team})
    assert set(_envelopes(agency, key_id)) == set()
    with SyncClient(sup) as client:
        client.post("/v1/cases/C-1/keys", {**request, "envelopes": team})
    assert set(_envelopes(agency, key_id)) == {"akhan", "jsmith", "@recovery"}


def test_migration_0005_makes_existing_envelopes_generation_zero(db_url: str) -> None:
    """An existing deployment: each case's one key becomes generation 0 of that case, and a
    new generation can follow it."""
    from alembic import command
    from alembic.config import Config
    from fieldkit.sync.db import ALEMBIC_INI, MIGRATIONS, make_engine, open_database

    engine = make_engine(db_url)
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004_attachments")
        for recipient in ("jsmith", "akhan"):
            conn.execute(
                text(
                    "INSERT INTO case_keys (case_id, recipient, key_id, wrapped, by_device,"
                    " created_ms) VALUES ('C-1', :r, 'C-1#old', :w, 'd1', 1)"
                ),
                {"r": recipient, "w": b"sealed"},
            )
    engine.dispose()
    engine = open_database(db_url)
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT recipient, key_id, generation FROM case_keys ORDER BY recipient")
        ).all()
        assert [tuple(r) for r in rows] == [("akhan", "C-1#old", 0), ("jsmith", "C-1#old", 0)]
        conn.execute(
            text(
                "INSERT INTO case_keys (case_id, key_id, recipient, generation, wrapped,"
                " by_device, created_ms) VALUES ('C-1', 'C-1#new', 'akhan', 1, :w, 'd1', 2)"
            ),
            {"w": b"sealed"},
        )
        assert conn.execute(text("SELECT count(*) FROM case_key_rotations")).scalar() == 0
    engine.dispose()


def test_an_op_sealed_with_a_key_not_here_yet_arrives_once_the_key_does(agency: Agency) -> None:
    """The laptop holds generation 0 only; an op sealed with generation 1 is kept on the
    server, not lost: it is pulled again from the case's start once that key arrives."""
    sup, worker = synced_team(agency)
    with agency.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO case_key_rotations (case_id, reason, asked_ms)"
                " VALUES ('C-1', 'test', 1)"
            )
        )
    assert run_sync(sup).keys_rotated == ["C-1"]
    new_key_id, _ = sup.case_key("C-1")
    sup.record("C-1", "visit", "v-new", {"date": "2026-11-07", "notes": "sealed anew"})
    run_sync(sup)
    with agency.engine.begin() as conn:
        held = conn.execute(
            text("SELECT * FROM case_keys WHERE key_id=:k AND recipient='jsmith'"),
            {"k": new_key_id},
        ).one()
        conn.execute(
            text("DELETE FROM case_keys WHERE key_id=:k AND recipient='jsmith'"),
            {"k": new_key_id},
        )
    run_sync(worker)
    assert not worker.has_case_key("C-1", new_key_id)
    assert worker.entity("C-1", "visit", "v-new") is None
    with agency.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO case_keys (case_id, key_id, recipient, generation, wrapped,"
                " by_device, created_ms) VALUES (:c, :k, :r, :g, :w, :d, :t)"
            ),
            {
                "c": held.case_id,
                "k": held.key_id,
                "r": held.recipient,
                "g": held.generation,
                "w": held.wrapped,
                "d": held.by_device,
                "t": held.created_ms,
            },
        )
    run_sync(worker)
    arrived = worker.entity("C-1", "visit", "v-new")
    assert arrived is not None and arrived.fields["notes"] == "sealed anew"
