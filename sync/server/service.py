"""`SyncServer`: the server's use cases over one engine, composed from its parts."""

from __future__ import annotations

from fieldkit.sync.server.auth import AuthServer
from fieldkit.sync.server.enroll import EnrollServer
from fieldkit.sync.server.pull import PullServer
from fieldkit.sync.server.push import PushServer
from fieldkit.sync.server.records import RecordServer


class SyncServer(AuthServer, EnrollServer, PushServer, PullServer, RecordServer):
    """The server's use cases over one engine; FastAPI routes are thin wrappers."""
