"""The FastAPI face: thin routes over `SyncServer`, blocking work in threads, and running
the server with uvicorn."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any, NamedTuple

import psycopg
import uvicorn
from fastapi import FastAPI, Query, Request, Response
from fieldkit.sync import access_log, admin, health, limits
from fieldkit.sync.db import open_database, server_url
from fieldkit.sync.protocol import (
    EnrollRequest,
    EnrollResponse,
    GrantRequest,
    GrantResponse,
    Hello,
    KeysResponse,
    PullRequest,
    PullResponse,
    PushReply,
    PushRequest,
    RotateRequest,
    RotateResponse,
    SyncReportRequest,
    TeamHealthResponse,
    TeamInfo,
    TeamRequest,
    UserKey,
    VerifyRecordRequest,
    VerifyRecordResponse,
    parse_push,
)
from fieldkit.sync.server.attachment_routes import add_attachment_routes
from fieldkit.sync.server.common import Caller, Refused
from fieldkit.sync.server.push import Stored
from fieldkit.sync.server.routing import (
    REFUSALS,
    Authed,
    SignedHeader,
    in_thread,
    signed_path,
)
from fieldkit.sync.server.service import SyncServer
from fieldkit.sync.verify import warm_up
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

from fieldkit.changelog import Op

# --- the FastAPI face -------------------------------------------------------------------


LOG = logging.getLogger("fieldkit.server")


def _inline_schema(model: type[Any]) -> dict[str, Any]:
    """A model's JSON schema with its definitions inlined, for a hand-parsed request body."""
    text = json.dumps(model.model_json_schema())
    schema: dict[str, Any] = json.loads(text)
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


def _authed_push(
    service: SyncServer,
    method: str,
    path: str,
    header: str | None,
    body: bytes,
    besides: _Besides | None = None,
) -> Response:
    # The hot path: parsed and answered without per-op pydantic models (`parse_push`).
    # Authentication and the push in one worker-thread call (one hop off the event loop
    # and back per push, not two) and in one transaction: the request's nonce and the
    # batch commit together, one commit, not two. The body is parsed only once the
    # request is authenticated (an unsigned body is a 401 whatever it holds); a malformed
    # one rolls its nonce back with the transaction, and nothing of it is stored.
    def store(conn: Connection, who: Caller) -> tuple[Caller, list[Op], Stored]:
        try:
            ops = parse_push(body)
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        return who, ops, service.store_batch(conn, who, ops)

    who, ops, stored = service.authenticated(method, path, header, body, store)
    # Signed once the batch has committed: a receipt never names a head not stored.
    reply = service.answer(who, ops, stored).model_dump_json().encode()
    if besides is not None and not who.draining:  # a wiped laptop's last push: no reads
        reply = _answered_besides(service, who, reply, besides)
    return Response(reply, media_type="application/json")


class _Besides(NamedTuple):
    """What a push asked to be answered with besides (`PushReply`)."""

    keys: bool
    devices_since: int | None
    page: PullRequest | None


def _answered_besides(service: SyncServer, who: Caller, reply: bytes, besides: _Besides) -> bytes:
    """The push's answer with the keys and the first pull page it asked for, read after
    its batch committed, as `/v1/keys` and `/v1/pull` read them for this caller (the
    request that asked is the one authenticated). A read the database cannot give now is
    left out, not the push's answer: the laptop asks for it on its own route."""
    parts = [reply.removesuffix(b"}")]
    try:
        if besides.keys:
            keys = service.keys(who, besides.devices_since)
            parts.append(b',"keys":' + keys.model_dump_json().encode())
        if besides.page is not None:
            parts.append(b',"page":' + service.pull_json(who, besides.page))
    except (OperationalError, PoolTimeout, psycopg.OperationalError):
        pass
    except Exception:  # a committed push is answered whatever the reads besides do
        LOG.exception("the reads a push asked for besides failed; its answer goes without")
    parts.append(b"}")
    return b"".join(parts)


def _pull_json(service: SyncServer, who: Caller, req: PullRequest) -> Response:
    # The hot read path: the page's JSON is written from the rows (`PullServer.pull_json`).
    return Response(service.pull_json(who, req), media_type="application/json")


def _authed_pull(
    service: SyncServer,
    method: str,
    path: str,
    header: str | None,
    body: bytes,
    req: PullRequest,
) -> Response:
    # As a push: authentication and the page in one worker-thread call (two transactions:
    # the page is read on a read connection).
    return _pull_json(service, service.authenticate(method, path, header, body), req)


def _authed_keys(
    service: SyncServer,
    method: str,
    path: str,
    header: str | None,
    body: bytes,
    devices_since: int | None,
) -> KeysResponse:
    # As a push: authentication and the keys in one worker-thread call.
    return service.keys(service.authenticate(method, path, header, body), devices_since)


def create_app(engine: Engine | str | None = None, bounds: limits.Limits | None = None) -> FastAPI:
    """The HTTP API over one database (OpenAPI at /docs)."""
    eng = engine if isinstance(engine, Engine) else open_database(engine)
    service = SyncServer(eng)
    bounds = bounds or limits.Limits.from_env()
    code_failures = limits.RateWindow(bounds.code_attempts, 600.0)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(warm_up)  # the signature-check helpers (sync/verify.py)
        # What start-up built (modules, models, routes, the engine) lives as long as the
        # process: kept out of the collector's scans, which a push of 1,000 ops (tens of
        # thousands of short-lived objects) otherwise triggers over all of it, ~0.1 s a time.
        gc.freeze()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="fieldkit sync server",
        version="1",
        description="Stores, checks and forwards signed, end-to-end encrypted change-log ops "
        "between caseworkers' laptops. It cannot read case content.",
    )
    app.state.sync = service
    app.add_middleware(access_log.AccessLog)
    limits.install(app, bounds)

    @app.get("/v1/hello", response_model=Hello, responses=REFUSALS)
    async def hello() -> Hello:
        """Server clock and keys (unauthenticated)."""
        return await in_thread(service.hello)

    @app.get("/healthz", responses=REFUSALS)
    async def healthz() -> dict[str, str]:
        """For a load balancer: the process is up and its database answers."""
        await in_thread(service.healthy)
        return {"status": "ok"}

    @app.post("/v1/enroll", response_model=EnrollResponse, responses=REFUSALS)
    async def enroll(req: EnrollRequest) -> EnrollResponse:
        """Register a laptop's public keys with a one-time code."""
        code = admin.code_hash(req.code)
        if code_failures.full(code):
            raise Refused(
                429, "too many failed attempts with this enrollment code; ask for a new one"
            )
        try:
            return await in_thread(service.enroll, req)
        except Refused as exc:
            if exc.status_code in (401, 403, 409):
                code_failures.allow(code)
            raise

    @app.post(
        "/v1/push",
        response_model=PushReply,
        responses=REFUSALS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _inline_schema(PushRequest)}},
            }
        },
    )
    async def push(
        request: Request,
        authorization: SignedHeader = None,
        keys: Annotated[bool, Query(description="answer with `/v1/keys` besides")] = False,
        devices_since: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
        pull_cursor: Annotated[
            int | None,
            Query(ge=0, le=2**63 - 1, description="answer with the pull page from here"),
        ] = None,
        pull_limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
    ) -> Response:
        """A batch of the device's ops (`PushRequest`); idempotent by op_id; per-op result.
        Asked, the answer carries the caller's keys and first pull page besides
        (`PushReply`), read once the batch has committed: one request, not three."""
        body = await request.body()
        besides = None
        if keys or pull_cursor is not None:
            page = None
            if pull_cursor is not None:
                page = PullRequest(cursor=pull_cursor, limit=pull_limit)
            besides = _Besides(keys, devices_since, page)
        return await in_thread(
            _authed_push,
            service,
            request.method,
            signed_path(request),
            authorization,
            body,
            besides,
        )

    @app.post("/v1/pull", response_model=PullResponse, responses=REFUSALS)
    async def pull(
        req: PullRequest, request: Request, authorization: SignedHeader = None
    ) -> Response:
        """Ops of the caller's cases after a cursor (`PullResponse`)."""
        body = await request.body()
        return await in_thread(
            _authed_pull, service, request.method, signed_path(request), authorization, body, req
        )

    @app.get("/v1/keys", response_model=KeysResponse, responses=REFUSALS)
    async def keys(
        request: Request,
        devices_since: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
        authorization: SignedHeader = None,
    ) -> KeysResponse:
        """Case-key envelopes and teams of the caller; device public keys (all, or those
        enrolled since `devices_since`)."""
        body = await request.body()
        return await in_thread(
            _authed_keys,
            service,
            request.method,
            signed_path(request),
            authorization,
            body,
            devices_since,
        )

    @app.get("/v1/users/{name}", response_model=UserKey, responses=REFUSALS)
    async def user_key(name: str, who: Authed) -> UserKey:
        """A user's public key, to wrap a case key to them."""
        return await in_thread(service.user_key, who, name)

    @app.post("/v1/wiped", status_code=204, responses=REFUSALS)
    async def wiped(req: SyncReportRequest, who: Authed) -> Response:
        """A laptop revoked with --wipe has sent its work and is erasing itself."""
        detail = f"{req.pushed} changes sent, {req.waiting} left, {req.refused} refused"
        await in_thread(admin.mark_wiped, eng, who.device_id, who.user, detail)
        return Response(status_code=204)

    @app.post("/v1/sync-report", status_code=204, responses=REFUSALS)
    async def sync_report(
        req: SyncReportRequest, request: Request, authorization: SignedHeader = None
    ) -> Response:
        """How the caller's last sync went: counts and timing only (`admin sync-health`)."""
        # Authenticated and kept in one transaction (one commit) and one worker-thread call.
        body = await request.body()
        await in_thread(
            service.authenticated,
            request.method,
            signed_path(request),
            authorization,
            body,
            lambda conn, who: health.record_report(conn, who.device_id, req),
        )
        return Response(status_code=204)

    @app.get("/v1/team-health", response_model=TeamHealthResponse, responses=REFUSALS)
    async def team_health(who: Authed) -> TeamHealthResponse:
        """Sync health of the laptops of the caller's team (a supervisor or admin only)."""
        if who.role not in ("supervisor", "admin"):
            raise Refused(403, f"{who.user} is a {who.role}: only a supervisor sees team health")
        return await in_thread(health.team_health, eng, who.user, who.role)

    @app.put("/v1/devices/{device_id}/user-key", response_model=GrantResponse, responses=REFUSALS)
    async def grant(device_id: str, req: GrantRequest, who: Authed) -> GrantResponse:
        """Give another laptop of the caller's user the user key, wrapped to its device key."""
        return await in_thread(service.grant, who, device_id, req)

    @app.put("/v1/cases/{case_id}/team", response_model=TeamInfo, responses=REFUSALS)
    async def set_team(case_id: str, req: TeamRequest, who: Authed) -> TeamInfo:
        """Assign or reassign a case, with its key wrapped to the new team."""
        return await in_thread(service.set_team, who, case_id, req)

    @app.post("/v1/cases/{case_id}/keys", response_model=RotateResponse, responses=REFUSALS)
    async def rotate_key(case_id: str, req: RotateRequest, who: Authed) -> RotateResponse:
        """The case's next key generation, wrapped to its team and the recovery key."""
        return await in_thread(service.rotate, who, case_id, req)

    @app.post("/v1/verify-record", response_model=VerifyRecordResponse, responses=REFUSALS)
    async def verify_record(req: VerifyRecordRequest, who: Authed) -> VerifyRecordResponse:
        """Whether a printed visit record still stands: unchanged, amended (the changes
        received since) or unknown, from op hashes and metadata (auditor, supervisor of
        the case, admin)."""
        return await in_thread(service.verify_record, who, req)

    add_attachment_routes(app, service)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and server workers: the DB from FIELDKIT_SERVER_DB."""
    access_log.configure()
    return create_app(server_url(os.environ.get("FIELDKIT_SERVER_DB")))


def serve(db: str | None, host: str, port: int, workers: int = 1) -> None:
    """Run the server: migrate once, then serve with uvicorn (several workers if asked)."""
    url = server_url(db)
    open_database(url).dispose()
    os.environ["FIELDKIT_SERVER_DB"] = url
    uvicorn.run(
        "fieldkit.sync.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        http=(
            "fieldkit.sync.limits:EnvHeaderTimeoutProtocol"
            if workers > 1
            else limits.protocol_with(limits.Limits.from_env())
        ),
        h11_max_incomplete_event_size=64 * 1024,
    )
