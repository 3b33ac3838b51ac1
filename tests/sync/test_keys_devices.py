"""The device list of `/v1/keys` is incremental, and a laptop never calls an op
unverifiable for want of a device it was not sent."""

from __future__ import annotations

import pytest
from fieldkit.sync import admin, grants
from fieldkit.sync import client as client_module
from fieldkit.sync.case_teams import assign_case
from fieldkit.sync.client import SyncClient, enroll, run_sync
from fieldkit.sync.keygen import ask_rotation, current_keys
from fieldkit.sync.models import CASE_KEYS
from fieldkit.sync.protocol import KeysResponse
from fieldkit.sync.transport import DEVICES_AS_OF
from sqlalchemy import select

from fieldkit import services
from fieldkit.crypto import b64
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc
from tests.sync.conftest import Agency, assigned_case


def test_keys_lists_only_devices_enrolled_since_the_last_answer(agency: Agency) -> None:
    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    since = worker.meta(DEVICES_AS_OF)
    assert since
    with SyncClient(worker) as client:
        client.hello()
        full = client.get("/v1/keys")
        later = client.get(f"/v1/keys?devices_since={int(since) + 20 * 60_000}")
    assert {d["device_id"] for d in full["devices"]} >= {sup.device_id, worker.device_id}
    assert later["devices"] == []
    assert later["envelopes"] == full["envelopes"]


def test_an_op_from_a_device_not_yet_listed_is_verified_after_asking_for_all(
    agency: Agency,
) -> None:
    sup, worker = assigned_case(agency)
    run_sync(sup)
    # This laptop believes it has every device up to far in the future: the server's
    # incremental list leaves out the supervisor's second laptop.
    worker.set_meta(DEVICES_AS_OF, str(10**15))
    run_sync(worker)
    second = agency.laptop("akhan")
    run_sync(second)
    second.record("C-1", "visit", "v7", {"date": "2026-11-04", "notes": "second laptop"})
    assert run_sync(second).pushed == 1
    assert second.device_id not in worker.device_keys()
    got = run_sync(worker)
    assert got.refused_from_server == []
    assert got.pulled == 1
    assert second.device_id in worker.device_keys()


def test_keys_in_four_reads_answer_what_each_separate_read_says(agency: Agency) -> None:
    """`/v1/keys` reads teams, key rows, devices and grants in four statements: its current
    keys, holders, rotations, grant and waiting laptops are those of the separate reads."""
    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    waiting_laptop = Store.create(
        agency.home / "jsmith-waiting.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON
    )
    enroll(
        waiting_laptop,
        agency.url,
        admin.enroll_code(agency.engine, "jsmith").code,
        PASSPHRASE,
        argon=FAST_ARGON,
    )
    agency.stores.append(waiting_laptop)
    with agency.engine.begin() as conn:
        ask_rotation(conn, ["C-1"], "test", 1)
    for laptop in (worker, waiting_laptop):
        with SyncClient(laptop) as client:
            client.hello()
            got = KeysResponse.model_validate(client.get("/v1/keys"))
        with agency.engine.connect() as conn:
            current = current_keys(conn, ["C-1"])
            grant = grants.grant_of(conn, laptop.device_id)
            waiting = grants.waiting(conn, "jsmith")
            envelopes = conn.execute(
                select(CASE_KEYS.c.key_id).where(CASE_KEYS.c.recipient == "jsmith")
            ).all()
            holders = {
                r.recipient
                for r in conn.execute(
                    select(CASE_KEYS.c.recipient).where(
                        CASE_KEYS.c.case_id == "C-1", CASE_KEYS.c.key_id == current["C-1"][0]
                    )
                )
            }
        (team,) = got.teams
        assert (team.key_id, team.generation) == current["C-1"]
        assert set(team.without_key) == {"akhan", "jsmith"} - holders
        assert got.rotate == ["C-1"]
        assert got.user_key_grant == (b64(grant) if grant else None)
        assert got.waiting_for_grant == waiting == [waiting_laptop.device_id]
        assert sorted(e.key_id for e in got.envelopes) == sorted(r[0] for r in envelopes)
        assert all(e.recipient == "jsmith" for e in got.envelopes)


def test_the_device_mark_moves_with_new_devices_or_in_the_last_commit_of_a_sync(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no device new, where the next device list starts is kept in the sync's last
    transaction: a sync stopped before it keeps the mark it had (the next answer lists
    those devices again). A new device is kept at once, with the mark that covers it."""
    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    mark = int(worker.meta(DEVICES_AS_OF) or 0)

    def stopped(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the sync stopped here")

    monkeypatch.setattr(client_module, "sync_attachments", stopped)
    with pytest.raises(RuntimeError):
        run_sync(worker)
    assert int(worker.meta(DEVICES_AS_OF) or 0) == mark

    second = agency.laptop("akhan")
    with pytest.raises(RuntimeError):
        run_sync(worker)
    assert second.device_id in worker.device_keys()
    moved = int(worker.meta(DEVICES_AS_OF) or 0)
    assert moved > mark

    monkeypatch.undo()
    run_sync(worker)
    assert int(worker.meta(DEVICES_AS_OF) or 0) > moved


def test_keys_name_the_members_without_a_key_and_no_team_the_caller_is_not_on(
    agency: Agency,
) -> None:
    """bwong is on C-2's team and never enrolled, so no envelope is wrapped to her: the
    supervisor's keys say so; jsmith, not on C-2, gets neither its team nor any
    envelope of it, and nobody gets an envelope wrapped to someone else."""
    sup, worker = assigned_case(agency)
    other = sample_case("C-2")
    other["worker"], other["supervisor"] = "bwong", "akhan"
    services.import_cases(sup, transfer_doc(other))
    assign_case(sup, "C-2", "bwong")
    run_sync(sup)
    run_sync(worker)
    answers = {}
    for laptop in (sup, worker):
        with SyncClient(laptop) as client:
            client.hello()
            answers[laptop.user] = KeysResponse.model_validate(client.get("/v1/keys"))
    teams = {t.case_id: t for t in answers["akhan"].teams}
    assert sorted(teams) == ["C-1", "C-2"]
    assert teams["C-2"].without_key == ["bwong"] and teams["C-1"].without_key == []
    assert [t.case_id for t in answers["jsmith"].teams] == ["C-1"]
    assert {e.case_id for e in answers["jsmith"].envelopes} == {"C-1"}
    assert {e.case_id for e in answers["akhan"].envelopes} == {"C-1", "C-2"}
    for user, got in answers.items():
        assert {e.recipient for e in got.envelopes} == {user}
