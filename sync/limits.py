"""What the sync server accepts from a client before it knows who the client is.

An ASGI middleware bounds every request body (refused with 413 from its Content-Length,
or as soon as a streamed body passes the bound, never read whole), cuts off a body that
trickles in slower than the body timeout (408), and rate-limits enrollment per client
address. A uvicorn protocol closes a connection whose request headers do not arrive within
the header timeout. Every bound is configurable by environment (docs/server.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.requests import ClientDisconnect
from uvicorn.protocols.http.h11_impl import H11Protocol

from fieldkit.crypto import Ed25519PrivateKey, b64, unb64
from fieldkit.hardening import private_dir

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MiB = 1024 * 1024

# The refusals every route may answer with, for the OpenAPI document.
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a malformed body or value"},
    404: {"description": "no such user"},
    408: {"description": "the body arrived too slowly"},
    409: {"description": "already enrolled"},
    413: {"description": "the body is larger than the server accepts"},
    429: {"description": "too many enrollment attempts"},
    503: {"description": "the server database is unavailable"},
}


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be above zero")
    return value


@dataclass(frozen=True)
class Limits:
    """The server's bounds on what one client may send."""

    max_body: int = 4 * MiB
    """Largest request body in bytes, for every route but those in `route_bodies`."""
    route_bodies: dict[str, int] = field(default_factory=lambda: {"/v1/push": 32 * MiB})
    """Routes that need more: a push carries up to 1,000 sealed ops."""
    body_timeout: float = 30.0
    """Seconds a client may take between two pieces of its body."""
    header_timeout: float = 10.0
    """Seconds a new connection may take to send its request headers."""
    enroll_per_minute: int = 10
    """Enrollment attempts per client address per minute."""
    code_attempts: int = 5
    """Failed enrollment attempts per code (per 10 minutes) before the code is locked."""

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, overridden by FIELDKIT_SERVER_* variables."""
        base = cls()
        return cls(
            max_body=int(_env_number("FIELDKIT_SERVER_MAX_BODY", base.max_body)),
            route_bodies={
                "/v1/push": int(
                    _env_number("FIELDKIT_SERVER_MAX_PUSH_BODY", base.route_bodies["/v1/push"])
                )
            },
            body_timeout=_env_number("FIELDKIT_SERVER_BODY_TIMEOUT", base.body_timeout),
            header_timeout=_env_number("FIELDKIT_SERVER_HEADER_TIMEOUT", base.header_timeout),
            enroll_per_minute=int(
                _env_number("FIELDKIT_SERVER_ENROLL_PER_MINUTE", base.enroll_per_minute)
            ),
            code_attempts=int(_env_number("FIELDKIT_SERVER_CODE_ATTEMPTS", base.code_attempts)),
        )

    def body_limit(self, path: str) -> int:
        """The bound for one route."""
        return self.route_bodies.get(path, self.max_body)


class RateWindow:
    """At most `limit` events per key within `seconds` (a sliding window, in memory)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count one event; False when the key is over its limit (the event is not counted)."""
        moment = time.monotonic() if now is None else now
        events = self._events.setdefault(key, deque())
        while events and events[0] <= moment - self.seconds:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(moment)
        if len(self._events) > 100_000:  # bounded memory under a flood of addresses
            self._events = {k: v for k, v in self._events.items() if v}
        return True

    def full(self, key: str, now: float | None = None) -> bool:
        """True when the key is at its limit (without counting an event)."""
        moment = time.monotonic() if now is None else now
        events = self._events.get(key)
        if not events:
            return False
        while events and events[0] <= moment - self.seconds:
            events.popleft()
        return len(events) >= self.limit


async def _refuse(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class LimitsMiddleware:
    """Body size and body timeout on every request; enrollment rate per address."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits.from_env()
        self.enrollments = RateWindow(self.limits.enroll_per_minute, 60.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, 413, f"the request body is larger than {limit} bytes", [])
            return
        if scope.get("path") == "/v1/enroll" and scope.get("method") == "POST":
            client = scope.get("client") or ("?", 0)
            if not self.enrollments.allow(str(client[0])):
                await _refuse(
                    send,
                    429,
                    "too many enrollment attempts from this address; wait a minute",
                    [(b"retry-after", b"60")],
                )
                return
        received = 0
        started = refused = body_done = False

        async def refuse(status: int, detail: str) -> Message:
            nonlocal refused
            if not started and not refused:
                await _refuse(send, status, detail, [])
            refused = True
            return {"type": "http.disconnect"}

        async def bounded_receive() -> Message:
            nonlocal received, body_done
            if refused:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.limits.body_timeout)
            except TimeoutError:
                return await refuse(408, "the request body arrived too slowly")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return await refuse(413, f"the request body is larger than {limit} bytes")
                body_done = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the refusal was sent; the app's answer to a cut-off body is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, bounded_receive, tracked_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose headers trickle in."""

    header_timeout: float = Limits().header_timeout

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._header_timer.cancel()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._header_timer.cancel()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)


class EnvHeaderTimeoutProtocol(HeaderTimeoutProtocol):
    """The protocol `fieldkit server` names by import path, so each of several workers
    (spawned, not forked) builds it from the environment: a class made at run time cannot
    be handed to a spawned worker."""

    header_timeout = Limits.from_env().header_timeout


def protocol_with(limits: Limits) -> type[H11Protocol]:
    """The header-timeout protocol class for these limits (pass as uvicorn's `http`)."""
    return type(
        "FieldkitH11Protocol", (HeaderTimeoutProtocol,), {"header_timeout": limits.header_timeout}
    )


def install(app: Any, limits: Limits) -> None:
    """Bounds, quiet disconnects and input-free validation errors on a FastAPI app."""

    async def invalid(_request: Any, exc: Exception) -> Response:
        # Never echo the input back: a 50 MB field would come back as a 400 MB answer.
        errors: list[dict[str, Any]] = getattr(exc, "errors", list)()
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:200], "type": e["type"]}
            for e in errors[:20]
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    async def disconnected(_request: Any, _exc: Exception) -> Response:
        return Response(status_code=400)  # nobody is listening; nothing worth a traceback

    async def bad_value(_request: Any, _exc: Exception) -> Response:
        return JSONResponse(
            {"detail": "a value in the request cannot be stored (a NUL character, or too large)"},
            status_code=400,
        )

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ClientDisconnect, disconnected)
    app.add_exception_handler(DataError, bad_value)
    app.add_middleware(LimitsMiddleware, limits=limits)


def receipt_key_from_file(path_text: str) -> Any:
    """The server's receipt-signing key from its own 0600 file, created on first use."""
    path = Path(path_text).expanduser()
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(b64(Ed25519PrivateKey.generate().private_bytes_raw()) + "\n")
    try:
        raw = unb64(path.read_text(encoding="ascii").strip())
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a fieldkit receipt key file") from exc
