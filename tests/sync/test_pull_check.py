"""A pulled page is checked per device like a push (`pull_merge._authentic`): an op the
server hands out altered, or forged with a key not its device's, is refused and never
folded, whatever its place on the page; the rest of the page is folded and the cursor
moves past it. The server's database is changed by hand here, as a stolen or broken
server could change it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fieldkit.sync.client import run_sync
from sqlalchemy import text

from fieldkit.changelog import SIGNATURE_PROBLEM, Op
from fieldkit.crypto import Ed25519PrivateKey
from tests.sync.conftest import Agency, synced_team

VISITS = 12
FORGER = Ed25519PrivateKey.generate()


def _server_sets(agency: Agency, op: Op, **values: object) -> None:
    """Overwrite one stored op's columns on the server."""
    columns = ", ".join(f"{name}=:{name}" for name in values)
    with agency.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE ops SET {columns} WHERE op_id=:op_id"), {**values, "op_id": op.op_id}
        )


@pytest.mark.parametrize("page_size", [5, 5000], ids=["small-pages", "one-page"])
def test_an_altered_and_a_forged_op_on_a_pulled_page_are_refused_and_the_rest_folded(
    agency: Agency, page_size: int
) -> None:
    sup, worker = synced_team(agency)
    for n in range(VISITS):
        worker.record("C-1", "visit", f"v{n % 4}", {"notes": f"note {n}", "n": n})
    sent = worker.ops("local")
    assert len(sent) == VISITS
    assert run_sync(worker).pushed == len(sent)
    altered, forged = sent[3], sent[8]
    body = bytearray(altered.body)
    body[12] ^= 1
    _server_sets(agency, altered, body=bytes(body))
    # Other content, hashed afresh and signed by a key that is not the worker's device's.
    fake_body = bytearray(forged.body)
    fake_body[12] ^= 1
    fake = replace(forged, body=bytes(fake_body)).with_hash()
    _server_sets(
        agency, forged, body=fake.body, hash=fake.hash, sig=FORGER.sign(fake.hash.encode())
    )

    got = run_sync(sup, page_size=page_size)

    refused = {r["op_id"]: r["reason"] for r in got.refused_from_server}
    assert set(refused) == {altered.op_id, forged.op_id}
    assert refused[forged.op_id] == SIGNATURE_PROBLEM
    held = {op.op_id for op in sup.ops()}
    assert altered.op_id not in held and forged.op_id not in held
    assert {op.op_id for op in sent} - held == {altered.op_id, forged.op_id}
    assert got.pulled == len(sent) - 2
    # The forged op's content was never folded: v0 (op 8 is a write to v0) holds op 4's note.
    assert sup.entity("C-1", "visit", "v0").fields["notes"] == "note 4"  # type: ignore[union-attr]
    # The cursor moved past the page: nothing is fetched, refused or folded again.
    again = run_sync(sup, page_size=page_size)
    assert (again.pulled, again.refused_from_server) == (0, [])
