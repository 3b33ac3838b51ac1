"""The agency sync server: stores, checks and forwards signed ops it cannot read.

Stateless between requests (every fact lives in the database), so several processes can
share one PostgreSQL behind a load balancer. Every request is signed by an enrolled,
unrevoked device with a fresh timestamp and nonce; every op is checked for its hash, its
device signature, its place in the device's hash chain and its author's place on the case.

The parts, one module per seam: `app` (FastAPI routes, uvicorn), `auth`, `enroll`, `judge`
(the pure per-op decision of a push), `push`, `append` (how accepted ops are written),
`pull`, `teams` (teams, reviewers, keys), `base` (keys and settings) and `service`
(`SyncServer`, composed from them).
"""

from __future__ import annotations

from fieldkit.sync.server.app import app_from_env, create_app, serve
from fieldkit.sync.server.common import Caller, Refused
from fieldkit.sync.server.service import SyncServer

__all__ = ["Caller", "Refused", "SyncServer", "app_from_env", "create_app", "serve"]
