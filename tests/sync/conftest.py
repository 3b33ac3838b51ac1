"""Sync fixtures: a real server on loopback (uvicorn), on SQLite or PostgreSQL, and laptops.

PostgreSQL: each test session creates its own database `fieldkit_test_<uuid>` and each test
its own schema in it, so `pytest -n 2` runs never collide. Without a reachable PostgreSQL
the postgres tests skip with the reason, except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fieldkit.sync import admin
from fieldkit.sync.client import assign_case, enroll, run_sync
from fieldkit.sync.db import open_database
from fieldkit.sync.protocol import auth_header, new_nonce, now_ms, request_message
from fieldkit.sync.server import create_app
from fieldkit.sync.userkey import grant, own_fingerprint
from hypothesis import strategies as st
from sqlalchemy import Engine

from fieldkit import services
from fieldkit.changelog import Op
from fieldkit.crypto import X25519PrivateKey, b64
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc
from tests.waiting import TimedOut, until

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nobody is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_or_skip() -> None:
    import psycopg

    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        reason = f"PostgreSQL is not reachable at 127.0.0.1:5432 ({str(exc).strip()[:120]})"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run the PostgreSQL tests")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session (one per xdist worker)."""
    _pg_or_skip()
    import psycopg

    name = f"fieldkit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_schema_url(database: str) -> tuple[str, str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN.replace("dbname=test", f"dbname={database}"), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    url = (
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}?options=-csearch_path%3D{schema}"
    )
    return url, schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty server database: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite'}"
        return
    database = request.getfixturevalue("pg_database")
    url, _ = _pg_schema_url(database)
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite server database (for the fault tests that need a killable server file)."""
    return f"sqlite:///{tmp_path / 'server.sqlite'}"


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A fresh PostgreSQL schema."""
    url, _ = _pg_schema_url(pg_database)
    return url


class ThreadServer:
    """uvicorn serving the real app on loopback in a thread of the test process."""

    def __init__(self, engine: Engine) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(engine), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        until(lambda: self.server.started, "the test server to start", within=60, poll=0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ProcessServer:
    """`fieldkit server` in a child process, so a test can kill it like a crash."""

    def __init__(self, db: str, port: int | None = None) -> None:
        self.db = db
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ProcessServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fieldkit.cli",
                "server",
                "--db",
                self.db,
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self.await_health(within=60)  # a busy machine starts a process slowly

    def await_health(self, within: float) -> ProcessServer:
        """Until the child answers `/healthz`; killed, never left half-started, if it exits
        first or the deadline passes."""

        def answers() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError("the server process exited before it answered")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            return False

        try:
            until(answers, "the server process to answer /healthz", within, poll=0.05)
        except (RuntimeError, TimedOut):
            self.kill()
            raise
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Agency:
    """A server and its people, with helpers to enroll laptops."""

    engine: Engine
    url: str
    home: Path
    recovery: X25519PrivateKey
    stores: list[Store] = field(default_factory=list)

    def person(self, name: str, role: str = "worker", supervisor: str | None = None) -> None:
        admin.add_user(self.engine, name, role, supervisor)

    def laptop(self, user: str, url: str | None = None) -> Store:
        path = self.home / f"{user}-{uuid.uuid4().hex[:6]}.fieldkit"
        store = Store.create(path, PASSPHRASE, user, argon=FAST_ARGON)
        code = admin.enroll_code(self.engine, user)
        enroll(store, url or self.url, code.code, PASSPHRASE, argon=FAST_ARGON)
        if store.secret("sync_user_box_key") is None:  # a second laptop: granted by the first
            for holder in self.stores:
                with contextlib.suppress(Exception):
                    if holder.user == user and holder.secret("sync_user_box_key"):
                        grant(holder, store.device_id, own_fingerprint(store))
                        break
        self.stores.append(store)
        return store


def make_agency(engine: Engine, url: str, home: Path) -> Agency:
    """People: supervisor akhan, workers jsmith and bwong; the agency recovery key set."""
    recovery = X25519PrivateKey.generate()
    admin.set_recovery_key(engine, b64(recovery.public_key().public_bytes_raw()))
    agency = Agency(engine, url, home, recovery)
    agency.person("akhan", "supervisor")
    agency.person("jsmith", "worker", "akhan")
    agency.person("bwong", "worker", "akhan")
    return agency


@pytest.fixture
def agency(db_url: str, tmp_path: Path) -> Iterator[Agency]:
    """A running server (SQLite or PostgreSQL) with its people."""
    engine = open_database(db_url)
    server = ThreadServer(engine).start()
    ag = make_agency(engine, server.url, tmp_path / "laptops")
    yield ag
    for store in ag.stores:
        with contextlib.suppress(Exception):
            store.close()
    server.stop()
    engine.dispose()


def server_op_ids(engine: Engine) -> list[str]:
    """Every op id the server stores (duplicates would show twice)."""
    with engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT op_id FROM ops").all()]


def own_ids(store: Store) -> set[str]:
    """The op ids this laptop wrote."""
    return {op.op_id for op in store.ops() if op.device_id == store.device_id}


def canonical(store: Store, case_id: str) -> dict[tuple[str, str], Any]:
    """A case's folded state, comparable across laptops."""
    from fieldkit.store import _canonical

    return {
        (e.entity, e.entity_id): _canonical(e.state)
        for e in store.entities(case_id, include_deleted=True)
    }


def assigned_case(agency: Agency, case_id: str = "C-1", marker: str = "") -> tuple[Store, Store]:
    """A supervisor's laptop with case C-1 assigned to jsmith, and jsmith's laptop."""
    sup = agency.laptop("akhan")
    worker = agency.laptop("jsmith")
    case = sample_case(case_id, marker)
    case["worker"], case["supervisor"] = "jsmith", "akhan"
    services.import_cases(sup, transfer_doc(case))
    assign_case(sup, case_id, "jsmith")
    return sup, worker


def synced_team(agency: Agency, case_id: str = "C-1") -> tuple[Store, Store]:
    """`assigned_case`, then both laptops synced: the worker's laptop holds the case."""
    sup, worker = assigned_case(agency, case_id)
    run_sync(sup)
    run_sync(worker)
    return sup, worker


def signed_headers(
    store: Store, method: str, path: str, body: bytes, forged: bool = False
) -> dict[str, str]:
    """The headers of a JSON request `store`'s device signs as its sync client does;
    `forged`: the signature covers other bytes than the request's."""
    ts, nonce = now_ms(), new_nonce()
    message = request_message(method, path, ts, nonce, body)
    sig = store.device_sign_key.sign(message + (b"x" if forged else b""))
    return {
        "authorization": auth_header(store.device_id, ts, nonce, sig),
        "content-type": "application/json",
    }


def drawn_ops(max_size: int, signed: bool = False) -> st.SearchStrategy[list[Op]]:
    """Lists of ops with any text in every text field (quotes, control characters, lone
    surrogates, any plane), any seq in range and any body and signature bytes; `signed`:
    a non-empty hash and signature, as a push body that reads whole must carry."""

    def op(texts: list[str], seq: int, body: bytes, sig: bytes) -> Op:
        t = texts
        digest = (t[10] or "h") if signed else t[10]
        return Op(
            t[0], t[1], seq, t[2], t[3], t[4], t[5], t[6], t[7], t[8], body, t[9], digest, sig
        )

    return st.lists(
        st.builds(
            op,
            st.lists(st.text(max_size=12), min_size=11, max_size=11),
            st.integers(1, 2**63 - 1),
            st.binary(max_size=80),
            st.binary(min_size=1 if signed else 0, max_size=80),
        ),
        max_size=max_size,
    )
