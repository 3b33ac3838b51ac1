"""A push's last batch asks to be answered with the caller's keys and the main pull's first
page besides (`PushReply`): a sync that pushes makes three requests (hello, push, report),
not five. The answer says what `/v1/keys` and `/v1/pull` say; the query that asks is
signed with the push; a refused push answers nothing besides; a laptop whose server does
not answer them asks on their own routes (docs/decisions.md "A push answers the keys and
the first pull page")."""

from __future__ import annotations

import gc
import json

import httpx
import pytest
from fieldkit.sync import admin
from fieldkit.sync.client import run_sync
from fieldkit.sync.models import OPS, REQUEST_NONCES
from fieldkit.sync.protocol import push_body
from fieldkit.sync.wipe import LaptopWiped
from sqlalchemy import Table, func, select

from fieldkit.store import Store
from tests.sync.conftest import Agency, signed_headers, synced_team


class Requests(httpx.HTTPTransport):
    """Keeps each request's method and path; `plain` strips what a push answered besides
    (as a server from before `PushReply` answers)."""

    def __init__(self, plain: bool = False, bad_page: bool = False) -> None:
        super().__init__()
        self.plain = plain
        self.bad_page = bad_page
        self.seen: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        response = super().handle_request(request)
        changes = self.plain or self.bad_page
        if not (changes and request.url.path == "/v1/push" and response.status_code == 200):
            return response
        answer = json.loads(response.read())
        if self.bad_page:
            answer["page"]["ops"] = [{"op_id": 7}]  # an op that does not read
        else:
            answer.pop("keys", None)
            answer.pop("page", None)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(200, headers=headers, content=json.dumps(answer).encode())


def _count(agency: Agency, table: Table) -> int:
    with agency.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _day(sup: Store, worker: Store) -> None:
    """The supervisor's note reaches the server; the worker writes two visits."""
    sup.record("C-1", "note", "n1", {"text": "call the school"})
    run_sync(sup)
    for n in range(2):
        worker.record("C-1", "visit", f"v{n}", {"date": "2026-11-04", "notes": f"visit {n}"})


def _signed(worker: Store, agency: Agency, method: str, path: str, body: bytes) -> httpx.Response:
    headers = signed_headers(worker, method, path, body)
    return httpx.request(method, agency.url + path, content=body, headers=headers)


def test_a_sync_that_pushes_asks_no_keys_and_no_pull_of_their_own(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _day(sup, worker)
    seen = Requests()
    summary = run_sync(worker, transport=seen)
    assert [path for _m, path in seen.seen] == ["/v1/hello", "/v1/push", "/v1/sync-report"]
    assert summary.pushed == 2 and summary.waiting == 0
    assert summary.pulled == 1  # the supervisor's note came in the push's answer
    assert worker.entity("C-1", "note", "n1") is not None


def test_the_collector_runs_again_once_the_page_the_push_brought_is_read(
    agency: Agency,
) -> None:
    """The push pauses Python's cycle collector while the page it brought waits; once
    that page is folded, the collector runs again between later pages (it stayed off
    for the whole pull), as each pulled page pauses it only for itself."""
    sup, worker = synced_team(agency)
    for n in range(3):
        sup.record("C-1", "note", f"n{n}", {"text": f"note {n}"})
    run_sync(sup)
    worker.record("C-1", "visit", "v1", {"date": "2026-11-04", "notes": "visit"})
    seen = Requests()
    collecting: list[bool] = []

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "pull" and done:
            collecting.append(gc.isenabled())

    summary = run_sync(worker, progress, transport=seen, page_size=2)
    assert summary.pulled == 3 and ("POST", "/v1/pull") in seen.seen  # a page after
    assert collecting and all(collecting), collecting


def test_the_answer_besides_says_what_keys_and_pull_say(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _day(sup, worker)
    since = worker.meta("sync_devices_as_of")
    assert since
    cursor = int(worker.meta("sync_cursor") or 0)
    query = f"?keys=true&devices_since={since}&pull_cursor={cursor}&pull_limit=50"
    body = push_body(worker.ops("local"))
    answer = _signed(worker, agency, "POST", "/v1/push" + query, body)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert [r["status"] for r in reply["results"]] == ["accepted", "accepted"]
    keys = _signed(worker, agency, "GET", f"/v1/keys?devices_since={since}", b"").json()
    page = _signed(
        worker, agency, "POST", "/v1/pull", json.dumps({"cursor": cursor, "limit": 50}).encode()
    ).json()
    keys.pop("devices_as_of"), reply["keys"].pop("devices_as_of")  # read a moment apart
    assert reply["keys"] == keys
    assert reply["page"] == page
    assert [op["entity"] for op in page["ops"]] == ["note"]  # not the caller's own ops


def test_the_query_that_asks_is_signed_with_the_push(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _day(sup, worker)
    body = push_body(worker.ops("local"))
    ops, nonces = _count(agency, OPS), _count(agency, REQUEST_NONCES)
    signed_for = "/v1/push?keys=true&pull_cursor=5&pull_limit=50"
    headers = signed_headers(worker, "POST", signed_for, body)
    for sent_to in (
        "/v1/push?keys=true&pull_cursor=0&pull_limit=50",  # another cursor
        "/v1/push?keys=true&pull_cursor=5&pull_limit=50&devices_since=0",  # a parameter more
        "/v1/push",  # the question dropped
    ):
        moved = httpx.post(agency.url + sent_to, content=body, headers=headers)
        assert moved.status_code == 401, sent_to
        assert "keys" not in moved.json() and "page" not in moved.json()
    assert (_count(agency, OPS), _count(agency, REQUEST_NONCES)) == (ops, nonces)
    taken = httpx.post(agency.url + signed_for, content=body, headers=headers)
    assert taken.status_code == 200 and "keys" in taken.json() and "page" in taken.json()


def test_a_revoked_laptop_asking_besides_gets_no_keys_and_no_page(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _day(sup, worker)
    admin.revoke(agency.engine, worker.device_id)
    body = push_body(worker.ops("local"))
    refused = _signed(worker, agency, "POST", "/v1/push?keys=true&pull_cursor=0", body)
    assert refused.status_code == 403
    assert set(refused.json()) == {"detail"}


def test_a_laptop_revoked_with_wipe_pushes_its_last_work_and_is_given_nothing(
    agency: Agency,
) -> None:
    """A lost laptop revoked with --wipe may still push what it holds, but its push reads
    it no keys and no ops (it was given both: keys, teams, devices and a page of ops, while
    `/v1/keys` and `/v1/pull` refused it)."""
    sup, worker = synced_team(agency)
    _day(sup, worker)
    admin.revoke(agency.engine, worker.device_id, wipe=True)
    body = push_body(worker.ops("local"))
    drained = _signed(worker, agency, "POST", "/v1/push?keys=true&pull_cursor=0", body)
    assert drained.status_code == 200
    assert "keys" not in drained.json() and "page" not in drained.json()
    assert [r["status"] for r in drained.json()["results"]] == ["accepted"] * 2


def test_a_laptop_revoked_with_wipe_is_wiped_by_its_sync_as_before(agency: Agency) -> None:
    """Given nothing besides, the laptop asks `/v1/keys`, is told to wipe, and does, its
    work sent first (it pulled the page it was given and wiped only if a later request
    happened to be refused)."""
    sup, worker = synced_team(agency)
    _day(sup, worker)
    admin.revoke(agency.engine, worker.device_id, wipe=True)
    seen = Requests()
    with pytest.raises(LaptopWiped, match="2 changes were sent"):
        run_sync(worker, transport=seen)
    assert [path for _m, path in seen.seen] == ["/v1/hello", "/v1/push", "/v1/keys", "/v1/wiped"]


@pytest.mark.parametrize("answer", ["none besides", "a page that does not read"])
def test_a_push_answered_without_a_usable_page_asks_keys_and_pull_on_their_routes(
    agency: Agency, answer: str
) -> None:
    """A server that answers nothing besides (one from before `PushReply`), or a page
    besides that does not read: the push is recorded all the same (its ops leave the
    outbox on its receipt) and the laptop asks `/v1/keys` and `/v1/pull` (a page that did
    not read made the push's answer fail, and the sync with it, on every try)."""
    sup, worker = synced_team(agency)
    _day(sup, worker)
    seen = Requests(plain=answer == "none besides", bad_page=answer != "none besides")
    summary = run_sync(worker, transport=seen)
    assert summary.pushed == 2 and summary.waiting == 0 and worker.outbox_count() == 0
    assert [path for _m, path in seen.seen] == [
        "/v1/hello",
        "/v1/push",
        "/v1/keys",
        "/v1/pull",
        "/v1/sync-report",
    ]
    assert summary.pulled == 1 and worker.entity("C-1", "note", "n1") is not None


def test_a_sync_with_nothing_to_push_asks_keys_and_pull_on_their_routes(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    sup.record("C-1", "note", "n1", {"text": "call the school"})
    run_sync(sup)
    seen = Requests()
    summary = run_sync(worker, transport=seen)
    assert [path for _m, path in seen.seen] == [
        "/v1/hello",
        "/v1/keys",
        "/v1/pull",
        "/v1/sync-report",
    ]
    assert summary.pulled == 1
