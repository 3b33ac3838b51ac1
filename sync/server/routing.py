"""What every route module of the server shares: the refusals it documents, blocking work
in a thread, and the signed caller as a FastAPI dependency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Header, Request
from fieldkit.sync import limits
from fieldkit.sync.protocol import ErrorBody
from fieldkit.sync.server.common import Caller, Refused, T
from fieldkit.sync.server.service import SyncServer
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "unsigned, unknown device, stale or replayed"},
    403: {"model": ErrorBody, "description": "revoked device, or not on the case"},
    **limits.REFUSALS,
}


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Blocking database work off the event loop; a lost database is a 503 (through
    SQLAlchemy, or through psycopg itself where a push pipelines or copies on the raw
    connection)."""
    try:
        return await run_in_threadpool(fn, *args)
    except (OperationalError, PoolTimeout, psycopg.OperationalError):
        raise Refused(503, "the server database is unavailable; try again later") from None


SignedHeader = Annotated[str | None, Header(description="Fieldkit signed request")]
"""The `Authorization` header a route reads itself when it authenticates in its own thread."""


def signed_path(request: Request) -> str:
    """The path and query a request's signature covers."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def current_caller(request: Request, authorization: SignedHeader = None) -> Caller:
    """The device that signed this request."""
    service: SyncServer = request.app.state.sync
    body = await request.body()
    path = signed_path(request)
    return await in_thread(service.authenticate, request.method, path, authorization, body)


Authed = Annotated[Caller, Depends(current_caller)]
