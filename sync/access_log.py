"""One structured line per request: method, route, status, device id, duration.

Never a body, a query value or a header other than the device id the request claims:
the route is the template (`/v1/cases/{case_id}/team`), so no case id reaches the log.
Lines go to the `fieldkit.server.access` logger; `fieldkit server` writes them to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = logging.getLogger("fieldkit.server.access")


def configure() -> None:
    """Access lines on stderr, once per process."""
    if not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.setLevel(logging.INFO)
        LOGGER.propagate = False


def _device(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = str(value.decode("latin-1"))
            for part in text.partition(" ")[2].split(","):
                key, _, found = part.partition("=")
                if key.strip() == "device":
                    return found.strip()[:64]
    return None


class AccessLog:
    """Pure ASGI middleware (no per-request task, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not LOGGER.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            line = {
                "event": "request",
                "method": scope.get("method"),
                "route": getattr(route, "path", None) or "(no route)",
                "status": status,
                "device": _device(scope),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
            LOGGER.info(json.dumps(line, separators=(",", ":")))
