"""HTTP routes for attachment chunks, apart from the op log so they never hold it up.

`POST /v1/chunks/present` says which chunks of a case the server holds (a laptop resumes
an interrupted upload from there); `PUT /v1/chunks/{case}/{hash}` stores one sealed chunk
after checking its SHA-256 (idempotent: a resend is harmless); `GET` returns one. Every
request is signed by an enrolled device whose user is on the case's team.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fieldkit.sync.attachments_store import ChunkRefused, ChunkStore, DatabaseChunkStore
from fieldkit.sync.server.common import Caller, Refused
from fieldkit.sync.server.routing import REFUSALS, Authed, in_thread
from fieldkit.sync.server.service import SyncServer
from pydantic import BaseModel, Field


class PresentRequest(BaseModel):
    """Chunk hashes of one case the laptop wants to know about."""

    case_id: str
    hashes: list[str] = Field(max_length=1000)


class PresentResponse(BaseModel):
    """The subset the server already holds."""

    present: list[str]


class StoredResponse(BaseModel):
    """Whether this upload added the chunk (False: it was already there)."""

    stored: bool


def _require_team(service: SyncServer, caller: Caller, case_id: str) -> None:
    with service._read() as conn:
        if not service._on_case(conn, caller.user, case_id):
            raise Refused(403, f"{caller.user} is not on case {case_id}")


def _check_hash(chunk_hash: str) -> None:
    if len(chunk_hash) != 64 or any(c not in "0123456789abcdef" for c in chunk_hash):
        raise Refused(400, "a chunk is named by its SHA-256 in lowercase hex")


def add_attachment_routes(
    app: FastAPI, service: SyncServer, chunks: ChunkStore | None = None
) -> None:
    """Mount the chunk routes on the sync app (storage: the database unless given)."""
    store: ChunkStore = chunks or DatabaseChunkStore(service.engine)

    def present(caller: Caller, req: PresentRequest) -> PresentResponse:
        _require_team(service, caller, req.case_id)
        for chunk_hash in req.hashes:
            _check_hash(chunk_hash)
        return PresentResponse(present=sorted(store.present(req.case_id, req.hashes)))

    def put(caller: Caller, case_id: str, chunk_hash: str, data: bytes) -> StoredResponse:
        _check_hash(chunk_hash)
        _require_team(service, caller, case_id)
        try:
            return StoredResponse(stored=store.put(case_id, chunk_hash, data, caller.device_id))
        except ChunkRefused as exc:
            raise Refused(422, str(exc)) from None

    def get(caller: Caller, case_id: str, chunk_hash: str) -> bytes:
        _check_hash(chunk_hash)
        _require_team(service, caller, case_id)
        data = store.get(case_id, chunk_hash)
        if data is None:
            raise Refused(404, f"no chunk {chunk_hash[:12]}… of case {case_id} on the server")
        return data

    @app.post("/v1/chunks/present", response_model=PresentResponse, responses=REFUSALS)
    async def chunks_present(req: PresentRequest, who: Authed) -> PresentResponse:
        """Which of these sealed chunks of a case the server holds."""
        return await in_thread(present, who, req)

    @app.put("/v1/chunks/{case_id}/{chunk_hash}", response_model=StoredResponse, responses=REFUSALS)
    async def chunk_put(
        case_id: str, chunk_hash: str, request: Request, who: Authed
    ) -> StoredResponse:
        """Store one sealed chunk (its SHA-256 is checked); idempotent."""
        body = await request.body()
        return await in_thread(put, who, case_id, chunk_hash, body)

    @app.get("/v1/chunks/{case_id}/{chunk_hash}", responses=REFUSALS)
    async def chunk_get(case_id: str, chunk_hash: str, who: Authed) -> Response:
        """One sealed chunk's bytes."""
        data = await in_thread(get, who, case_id, chunk_hash)
        return Response(data, media_type="application/octet-stream")
