"""The server's signature-check helpers leave Ctrl+C to the server."""

from __future__ import annotations

import signal

import pytest
from fieldkit.sync import verify


def test_the_helpers_leave_ctrl_c_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+C on `fieldkit server` reaches its helpers too (one process group): each printed
    a KeyboardInterrupt traceback under the server's own stop."""
    monkeypatch.setattr(verify, "_pool", None)
    monkeypatch.setattr(verify, "_broken", False)
    pool = verify._get_pool(1)
    try:
        assert pool.submit(signal.getsignal, signal.SIGINT).result(timeout=60) == signal.SIG_IGN
    finally:
        pool.shutdown(wait=True)
