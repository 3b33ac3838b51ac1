"""Benchmark: a 50 MB attachment up to the server and down to another laptop, over loopback.

Prints one JSON line: seal time, upload and download throughput, and the same bytes sent
in the same 512 KiB pieces through a bare HTTP endpoint (no signing, no checks, no
encryption; stored in and read back from SQLite) in the same run, as a ratio. Uses
PostgreSQL at 127.0.0.1:5432 (a throwaway database) when it answers, else SQLite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fieldkit.sync import admin
from fieldkit.sync.attachment_sync import download
from fieldkit.sync.client import SyncClient, assign_case, run_sync
from fieldkit.sync.db import open_database

from fieldkit import attachments, services
from fieldkit.store.chunks import CHUNK_BYTES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.sync import (  # noqa: E402
    drop_pg,
    free_port,
    laptop,
    pg_database,
    start_server,
    stop_server,
    wait_up,
)
from tests.conftest import sample_case, transfer_doc  # noqa: E402

SIZE = 50 * 1024 * 1024
PIECE = CHUNK_BYTES + 28  # what one sealed chunk weighs on the wire

BARE_APP = """
import sqlite3, sys
import uvicorn
from fastapi import FastAPI, Request, Response
db = sqlite3.connect(sys.argv[1], check_same_thread=False, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS chunks (k TEXT PRIMARY KEY, data BLOB)")
app = FastAPI()
@app.get("/healthz")
async def healthz():
    return {"status": "ok"}
@app.put("/bare/{key}")
async def put(key: str, request: Request):
    db.execute("INSERT OR REPLACE INTO chunks VALUES (?, ?)", (key, await request.body()))
    return {"stored": True}
@app.get("/bare/{key}")
async def get(key: str):
    (data,) = db.execute("SELECT data FROM chunks WHERE k=?", (key,)).fetchone()
    return Response(data, media_type="application/octet-stream")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def bare_rates(home: Path) -> tuple[float, float]:
    """MB/s up and down through the bare endpoint, same pieces, same loopback."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(home / "bare.sqlite"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, proc)
        pieces = -(-SIZE // PIECE)
        payload = os.urandom(PIECE)
        with httpx.Client(base_url=url, timeout=30) as client:
            start = time.perf_counter()
            for n in range(pieces):
                client.put(f"/bare/{n}", content=payload).raise_for_status()
            up = time.perf_counter() - start
            start = time.perf_counter()
            for n in range(pieces):
                client.get(f"/bare/{n}").raise_for_status()
            down = time.perf_counter() - start
        return SIZE / 1e6 / up, SIZE / 1e6 / down
    finally:
        proc.kill()
        proc.wait()


def fieldkit_rates(home: Path, engine: Any, url: str) -> dict[str, Any]:
    """Seal, upload (after the text) and download a 50 MB file between two laptops."""
    sup = laptop(home, engine, url, "akhan")
    worker = laptop(home, engine, url, "jsmith")
    services.import_cases(sup, transfer_doc(sample_case("C-ATT")))
    assign_case(sup, "C-ATT", "jsmith")
    run_sync(sup)
    run_sync(worker)
    source = home / "scan.bin"
    with source.open("wb") as out:
        for _ in range(SIZE // (1 << 20)):
            out.write(os.urandom(1 << 20))
    start = time.perf_counter()
    (att_id,) = attachments.attach(worker, "C-ATT", source)
    seal_s = time.perf_counter() - start
    marks: dict[str, float] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        if phase.startswith("attachment"):
            marks.setdefault("first", time.perf_counter())
            marks["last"] = time.perf_counter()

    summary = run_sync(worker, progress)
    assert summary.attachment_chunks_waiting == 0 and summary.attachments_sent == 1, summary
    upload_s = marks["last"] - marks["first"]
    run_sync(sup)
    att = attachments.find(sup, "C-ATT", att_id)
    with SyncClient(sup) as client:
        client.hello()
        start = time.perf_counter()
        download(sup, client, att)
        download_s = time.perf_counter() - start
    sup.close()
    worker.close()
    return {
        "seal_50mib_s": round(seal_s, 3),
        "upload_mb_per_s": round(SIZE / 1e6 / upload_s, 1),
        "download_mb_per_s": round(SIZE / 1e6 / download_s, 1),
        "chunks": len(att.chunks),
    }


def main() -> None:
    """One JSON line of figures."""
    os.environ.pop("FIELDKIT_SERVER_DB", None)
    figures: dict[str, Any] = {"file_bytes": SIZE}
    with tempfile.TemporaryDirectory(prefix="fieldkit-bench-att-") as tmp:
        home = Path(tmp)
        pg = pg_database()
        db = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg}"
            if pg
            else f"sqlite:///{home / 'server.sqlite'}"
        )
        figures["server_db"] = "postgresql" if pg else "sqlite"
        engine = open_database(db)
        url, proc = start_server(db)
        try:
            admin.add_user(engine, "akhan", "supervisor")
            admin.add_user(engine, "jsmith", "worker", "akhan")
            figures.update(fieldkit_rates(home, engine, url))
        finally:
            stop_server(proc)
            engine.dispose()
            if pg:
                drop_pg(pg)
        bare_up, bare_down = bare_rates(home)
    figures["bare_upload_mb_per_s"] = round(bare_up, 1)
    figures["bare_download_mb_per_s"] = round(bare_down, 1)
    figures["upload_vs_bare"] = round(figures["upload_mb_per_s"] / bare_up, 3)
    figures["download_vs_bare"] = round(figures["download_mb_per_s"] / bare_down, 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
