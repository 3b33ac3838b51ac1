"""A server that holds up: bounded bodies, cut-off slow clients, enrollment rate limits,
4xx for malformed input without echoing it, quiet disconnects (THREAT_MODEL.md, network
attacker)."""

from __future__ import annotations

import asyncio
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fieldkit.sync import admin
from fieldkit.sync.db import open_database
from fieldkit.sync.limits import Limits, RateWindow, protocol_with
from fieldkit.sync.server import create_app

from tests.sync.conftest import Agency, ProcessServer, free_port

MB = 1024 * 1024


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _read_until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection (or `within` passes)."""
    sock.setblocking(False)
    data, deadline = b"", time.monotonic() + within
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if ready:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
    raise AssertionError(f"the server kept the connection open {within} s; got {data[:200]!r}")


@pytest.fixture
def server_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessServer]:
    """`fieldkit server` with one-second timeouts, as an agency could configure them."""
    monkeypatch.setenv("FIELDKIT_SERVER_HEADER_TIMEOUT", "1")
    monkeypatch.setenv("FIELDKIT_SERVER_BODY_TIMEOUT", "1")
    server = ProcessServer(f"sqlite:///{tmp_path / 'server.db'}").start()
    yield server
    server.kill()


def test_a_50_mb_unauthenticated_body_is_refused_before_it_is_read(
    server_process: ProcessServer,
) -> None:
    assert server_process.proc is not None
    pid = server_process.proc.pid
    before = _rss_kib(pid)
    # Declared: refused from the Content-Length, the body never read.
    with socket.create_connection(("127.0.0.1", server_process.port)) as sock:
        sock.sendall(
            b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            + f"content-length: {50 * MB}\r\n\r\n".encode()
            + b"{" * 65536
        )
        answer = _read_until_closed(sock, 10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert len(answer) < 2048
    # Streamed without a length: cut off once it passes the bound.
    chunks_sent = 0

    def body() -> Iterator[bytes]:
        nonlocal chunks_sent
        for _ in range(50):
            chunks_sent += 1
            yield b"A" * MB

    try:
        reply = httpx.post(server_process.url + "/v1/enroll", content=body(), timeout=30)
        assert reply.status_code == 413
    except httpx.TransportError:
        pass  # the server closed the connection after its 413
    assert chunks_sent < 50
    grown_mb = (_rss_kib(pid) - before) / 1024
    assert grown_mb < 30, f"the server grew {grown_mb:.0f} MB on a refused body"


def test_slow_headers_are_cut_off(server_process: ProcessServer) -> None:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server_process.port)) as sock:
        sock.sendall(b"GET /v1/hello HTTP/1.1\r\n")
        for byte in b"Host: example\r\nX-Slow: ":  # one byte, then wait for the server
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            ready, _, _ = select.select([sock], [], [], 0.3)
            if ready:
                break
        answer = _read_until_closed(sock, 10)
    assert b"200 OK" not in answer
    assert time.monotonic() - start < 10


def test_a_slow_body_is_cut_off_with_408(server_process: ProcessServer) -> None:
    with socket.create_connection(("127.0.0.1", server_process.port)) as sock:
        sock.sendall(
            b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b'content-length: 1000\r\n\r\n{"code":'
        )
        answer = _read_until_closed(sock, 10)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]


def test_a_disconnecting_client_logs_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'server.db'}")
    app = create_app(engine, Limits(body_timeout=30))
    finished = threading.Event()

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["path"] == "/v1/enroll":
                finished.set()

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(watched, host="127.0.0.1", port=port, log_level="info"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            finished.wait(0.01)
        caplog.set_level(logging.INFO)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                b'content-length: 1000\r\n\r\n{"code":'
            )
        assert finished.wait(20), "the request never finished"
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "Traceback" not in logged and not any(r.exc_info for r in caplog.records), logged


def test_the_rate_window_counts_per_key() -> None:
    window = RateWindow(3, 60)
    assert [window.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert window.allow("b", now=3)
    assert window.allow("a", now=60.5)  # the first one left the window


def test_enrollment_is_rate_limited_per_address_and_per_code(
    tmp_path: Path,
) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'server.db'}")
    admin.add_user(engine, "jsmith", "worker", None)
    body = {
        "code": "wrong-code-1",
        "device_id": "d1",
        "user": "jsmith",
        "sign_pub": "AAAA",
        "box_pub": "AAAA",
        "user_box_pub": "AAAA",
        "user_box_sealed": "x",
        "proof": "AAAA",
    }
    app = create_app(engine, Limits(enroll_per_minute=6, code_attempts=3))
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))

    async def run() -> list[int]:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses = []
            for _ in range(7):
                statuses.append((await client.post("/v1/enroll", json=body)).status_code)
            return statuses

    statuses = asyncio.run(run())
    engine.dispose()
    assert statuses[:3] == [400, 400, 400]  # malformed keys: refused, not counted per code
    assert statuses[6] == 429  # the seventh from one address within the minute
    assert 500 not in statuses


def test_a_guessed_code_locks_after_repeated_failures(tmp_path: Path) -> None:
    from fieldkit.sync.protocol import enroll_message, normalize_code

    from fieldkit.crypto import Ed25519PrivateKey, b64

    engine = open_database(f"sqlite:///{tmp_path / 'server.db'}")
    admin.add_user(engine, "jsmith", "worker", None)
    key = Ed25519PrivateKey.generate()
    pub = b64(key.public_key().public_bytes_raw())
    code = "AAAA-BBBB-CCCC"
    proof = b64(key.sign(enroll_message(normalize_code(code), "d1", pub, pub)))
    body = {
        "code": code,
        "device_id": "d1",
        "user": "jsmith",
        "sign_pub": pub,
        "box_pub": pub,
        "user_box_pub": pub,
        "user_box_sealed": "x",
        "proof": proof,
    }
    app = create_app(engine, Limits(enroll_per_minute=100, code_attempts=3))
    transport = httpx.ASGITransport(app=app)

    async def run() -> list[int]:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [(await client.post("/v1/enroll", json=body)).status_code for _ in range(5)]

    statuses = asyncio.run(run())
    engine.dispose()
    assert statuses == [403, 403, 403, 429, 429]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/pull", {"cursor": 2**70}),
        ("POST", "/v1/pull", {"cursor": -1}),
        ("GET", f"/v1/keys?devices_since={2**70}", None),
        (
            "PUT",
            "/v1/cases/C-1/team",
            {
                "worker": "jsmith",
                "envelopes": [
                    {
                        "case_id": "C-1",
                        "key_id": "k",
                        "recipient": "jsmith",
                        "wrapped": "%%%not b64",
                    }
                ],
            },
        ),
        (
            "PUT",
            "/v1/cases/C-1/team",
            {
                "worker": "jsmith",
                "envelopes": [
                    {"case_id": "C-1", "key_id": "k", "recipient": "jsmith", "wrapped": "A"}
                ],
            },
        ),
        ("POST", "/v1/push", {"ops": [{"seq": 2**70}]}),
        ("POST", "/v1/push", b"[" * 100_000),
        ("GET", "/v1/users/a%00b", None),
        ("POST", "/v1/pull", {"cursor": 0, "case_id": "C\x00"}),
    ],
)
def test_malformed_signed_input_is_a_4xx(agency: Agency, method: str, path: str, body: Any) -> None:
    import json

    from fieldkit.sync.protocol import auth_header, new_nonce, now_ms, request_message

    store = agency.laptop("akhan")
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body else b"")
    ts, nonce = now_ms(), new_nonce()
    sign_path = path.replace("%00", "\x00")
    sig = store.device_sign_key.sign(request_message(method, sign_path, ts, nonce, raw))
    headers = {
        "authorization": auth_header(store.device_id, ts, nonce, sig),
        "content-type": "application/json",
    }
    reply = httpx.request(method, agency.url + path, content=raw, headers=headers, timeout=30)
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:300])


def test_enroll_with_bad_base64_is_a_4xx_and_the_error_does_not_echo_the_input(
    agency: Agency,
) -> None:
    huge = "Q" * (3 * MB)
    body = {
        "code": huge,
        "device_id": "d1",
        "user": "jsmith",
        "sign_pub": "AAAA",
        "box_pub": "AAAA",
        "user_box_pub": "%%%",
        "user_box_sealed": "x",
        "proof": "AAAA",
    }
    reply = httpx.post(agency.url + "/v1/enroll", json=body, timeout=30)
    assert reply.status_code == 422
    assert len(reply.content) < 4096
    assert "QQQQ" not in reply.text and "%%%" not in reply.text


def test_server_files_are_private(tmp_path: Path) -> None:
    """The SQLite database and its directory: 0700 / 0600 (THREAT_MODEL.md)."""
    db = tmp_path / "srv" / "server.db"
    engine = open_database(f"sqlite:///{db}")
    engine.dispose()
    assert db.parent.stat().st_mode & 0o777 == 0o700
    assert db.stat().st_mode & 0o777 == 0o600


def test_uvicorn_gets_the_header_timeout_protocol() -> None:
    protocol = protocol_with(Limits(header_timeout=2.5))
    assert protocol.header_timeout == 2.5  # type: ignore[attr-defined]
    assert os.environ.get("FIELDKIT_SERVER_MAX_BODY") is None
    assert Limits.from_env().max_body == 4 * MB
