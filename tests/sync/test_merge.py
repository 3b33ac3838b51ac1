"""Merge through the server: order-independent convergence, conflicts kept, no plaintext."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from fieldkit.sync.client import SyncClient, assign_case, run_sync
from fieldkit.sync.protocol import PushResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit import services
from fieldkit.store import Store
from tests.conftest import sample_case, transfer_doc
from tests.sync.conftest import Agency, canonical, server_op_ids

MARKER = "ZQXMARK7"
SUFFIXES = ["ADDR", "UNANN", "NAME1", "NAME2", "NAME3", "PLACE", "PHONE", "THREAT", "PLAN", "WHO"]


def _needles() -> list[bytes]:
    found = [MARKER.encode(), MARKER.encode("utf-16-le"), MARKER.encode().hex().encode()]
    for suffix in SUFFIXES:
        text = f"{MARKER}{suffix}".encode()
        found += [text, text.hex().encode()]
    return found


def test_no_case_plaintext_reaches_the_server(agency: Agency, db_url: str) -> None:
    sup, worker = agency.laptop("akhan"), agency.laptop("jsmith")
    case = sample_case("C-1", MARKER)
    services.import_cases(sup, transfer_doc(case))
    assign_case(sup, "C-1", "jsmith")
    run_sync(sup)
    run_sync(worker)
    worker.record("C-1", "visit", "v2", {"notes": f"child said {MARKER}NAME2 is safe"})
    run_sync(worker)
    run_sync(sup)
    assert services.load_case(worker, "C-1").people[0].name == f"Maya Ortiz {MARKER}NAME1"
    if db_url.startswith("sqlite"):
        base = Path(db_url.removeprefix("sqlite:///"))
        blobs = {str(p): p.read_bytes() for p in base.parent.glob(base.name + "*") if p.is_file()}
    else:
        schema = db_url.rsplit("%3D", 1)[1]
        database = db_url.split("/")[-1].split("?")[0]
        dump = subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-n", schema, database],
            capture_output=True,
            check=True,
        ).stdout
        assert b"COPY" in dump and b"case_keys" in dump
        blobs = {"pg_dump": dump}
    assert sum(len(b) for b in blobs.values()) > 10_000
    for name, data in blobs.items():
        for needle in _needles():
            assert needle not in data, f"{needle!r} in plaintext in {name}"


def test_concurrent_edits_keep_the_loser_and_safety_fields_wait_for_a_person(
    agency: Agency,
) -> None:
    sup, worker = agency.laptop("akhan"), agency.laptop("jsmith")
    services.import_cases(sup, transfer_doc(sample_case("C-1")))
    assign_case(sup, "C-1", "jsmith")
    run_sync(sup)
    run_sync(worker)
    # Both edit the same ordinary field and the same safety threat while apart.
    sup.record("C-1", "person", "p3", {"phone": "555-0001"})
    worker.record("C-1", "person", "p3", {"phone": "555-0002"})
    sup.record("C-1", "threat", "t1", {"text": "supervisor's wording"})
    worker.record("C-1", "threat", "t1", {"text": "worker's wording"})
    run_sync(sup)
    got = run_sync(worker)
    run_sync(sup)
    assert canonical(sup, "C-1") == canonical(worker, "C-1")
    fields = {(c["entity"], c["field"]): c for c in got.conflicts}
    assert fields[("person", "phone")]["needs_resolution"] is False
    assert fields[("threat", "text")]["needs_resolution"] is True
    assert got.needs_resolution == 1
    phone = worker.entity("C-1", "person", "p3")
    assert phone is not None
    versions = {v["v"] for v in phone.conflicts()[0].versions}
    assert versions == {"555-0001", "555-0002"}  # the loser is kept, visibly
    assert services.load_case(worker, "C-1").needs_resolution == 1
    # A person resolves the threat; the resolution supersedes both versions everywhere.
    worker.record("C-1", "threat", "t1", {"text": "agreed wording"})
    run_sync(worker)
    run_sync(sup)
    for store in (sup, worker):
        threat = store.entity("C-1", "threat", "t1")
        assert threat is not None and threat.fields["text"] == "agreed wording"
        assert not threat.conflicts()


# --- the property: any sync order, with duplicates, converges -------------------------

FIELDS = ["notes", "status", "date"]
edit = st.tuples(
    st.integers(0, 2),  # which laptop
    st.sampled_from(["v1", "v2", "p3"]),  # which record
    st.sampled_from(FIELDS),
    st.integers(0, 5),  # value
)
step = st.one_of(
    st.tuples(st.just("edit"), edit),
    st.tuples(st.just("sync"), st.integers(0, 2)),
    st.tuples(st.just("replay"), st.integers(0, 2)),
)


@pytest.fixture
def trio(agency: Agency) -> tuple[Agency, list[Store]]:
    """A supervisor and a worker with two laptops, all enrolled."""
    return agency, [agency.laptop("akhan"), agency.laptop("jsmith"), agency.laptop("jsmith")]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=3, max_size=14))
def test_three_devices_converge_in_any_sync_order(
    trio: tuple[Agency, list[Store]], steps: list[tuple[str, Any]]
) -> None:
    agency, laptops = trio
    case_id = f"C-{uuid.uuid4().hex[:8]}"
    sup = laptops[0]
    services.import_cases(sup, transfer_doc(sample_case(case_id)))
    assign_case(sup, case_id, "jsmith")
    run_sync(sup)
    for laptop in laptops[1:]:
        run_sync(laptop)
    for kind, arg in steps:
        if kind == "edit":
            who, record, name, value = arg
            entity = "person" if record == "p3" else "visit"
            laptops[who].record(case_id, entity, record, {name: f"{value}-by-{who}"})
        elif kind == "sync":
            run_sync(laptops[arg])
        else:  # deliver this laptop's whole log again, as a duplicate batch
            laptop = laptops[arg]
            mine = [op for op in laptop.ops() if op.device_id == laptop.device_id]
            with SyncClient(laptop) as client:
                client.hello()
                reply = PushResponse.model_validate(
                    client.post("/v1/push", {"ops": [op.to_wire() for op in mine[-30:]]})
                )
            laptop.mark_acked(
                [r.op_id for r in reply.results if r.status in ("accepted", "duplicate")]
            )
    for _round in range(2):
        for laptop in laptops:
            run_sync(laptop)
    states = [canonical(laptop, case_id) for laptop in laptops]
    assert states[0] == states[1] == states[2]
    logs = [{op.op_id for op in laptop.ops() if op.case_id == case_id} for laptop in laptops]
    assert logs[0] == logs[1] == logs[2]
    ids = server_op_ids(agency.engine)
    assert len(ids) == len(set(ids))
    assert logs[0] <= set(ids)
    for laptop in laptops:
        assert laptop.outbox_count() == 0 and not laptop.quarantined()
