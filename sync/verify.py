"""Signature checks of a pushed batch, spread over a small pool of helper processes.

Ed25519 verification is the server's largest cost per op and holds Python's GIL, so a
big batch is split across `FIELDKIT_VERIFY_PROCESSES` helpers (default: the CPU count, at
most 4; 0 or 1 checks in the request thread). Every signature is still checked; a pool
that breaks falls back to checking in the request thread.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from fieldkit.crypto import ed25519_public_from_bytes, verify_signature

ENV_PROCESSES = "FIELDKIT_VERIFY_PROCESSES"
# Below this many signatures the round trip to a helper costs more than it saves.
MIN_PARALLEL = 300

_pool: ProcessPoolExecutor | None = None
_broken = False  # helpers could not start in this process: check in the request thread
_pool_lock = threading.Lock()


def processes() -> int:
    """How many helper processes check signatures (0: none, check in the request thread)."""
    raw = os.environ.get(ENV_PROCESSES)
    if raw is not None and raw.strip():
        try:
            return max(0, int(raw))
        except ValueError:
            return 0
    return min(os.cpu_count() or 1, 4)


def _check(sign_pub: bytes, items: list[tuple[str, bytes]], offset: int) -> list[int]:
    key = ed25519_public_from_bytes(sign_pub)
    return [
        offset + n
        for n, (digest, sig) in enumerate(items)
        if not verify_signature(key, sig, digest.encode())
    ]


def _watch_parent(server_pid: int) -> None:
    """A helper's start: it outlives no server (it exits once its server has gone, and
    the pool is shut at the server's exit), and leaves Ctrl+C to the server instead of
    each helper printing a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _get_pool(size: int) -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn: helpers start from a clean process, not a copy of a threaded one, and
            # each watches the server so none outlives a crash (kill -9) of it.
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(
                size, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
            )
        return _pool


def _drop_pool() -> None:
    global _pool, _broken
    with _pool_lock:
        _broken = True
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None


def warm_up() -> None:
    """Start the helpers now (at server start) rather than on the first big push."""
    size = processes()
    if size > 1 and not _broken:
        try:
            list(_get_pool(size).map(int, range(size)))
        except (BrokenProcessPool, OSError, RuntimeError):
            _drop_pool()


def bad_signatures(sign_pub: bytes, items: list[tuple[str, bytes]]) -> set[int]:
    """Indexes of `items` (hash, signature) whose signature does not verify with the key."""
    size = processes()
    if size <= 1 or _broken or len(items) < MIN_PARALLEL:
        return set(_check(sign_pub, items, 0))
    step = -(-len(items) // size)
    try:
        pool = _get_pool(size)
        futures = [
            pool.submit(_check, sign_pub, items[start : start + step], start)
            for start in range(0, len(items), step)
        ]
        return {n for future in futures for n in future.result()}
    except (BrokenProcessPool, OSError, RuntimeError):
        _drop_pool()
        return set(_check(sign_pub, items, 0))
