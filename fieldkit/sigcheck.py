"""Many Ed25519 signature checks on every core: the audit's (`fieldkit verify`) way to
check each op's own signature at the speed of the machine.

A large set is split across a few helper processes (spawned, so they start clean) that
check it while this process goes on with its own work (the hashes and links): the
signatures are started first and their verdict waited for at the end. A small set, or a
pool that cannot start, is checked in this process. Every signature is checked either
way: a signature the helpers were not given is checked here when it is asked about.

Processes, not threads: the caller's own work (hashing, JSON) holds Python's GIL, and a
thread that waits for the GIL after each verify would stall behind it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from fieldkit import sigworker
from fieldkit.changelog import signatures_failing

# Below this many signatures starting helpers costs more than they save.
MIN_PARALLEL = 4000

Item = tuple[str, bytes]
"""(op hash, signature of it)."""


class _Pool:
    """A process pool started on first use and closed by `close`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.size, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    def warm(self) -> None:
        """Start the helpers now (they import while the caller works)."""
        try:
            for _ in range(self.size):
                self._executor().submit(sigworker.nothing)
        except (BrokenProcessPool, OSError, RuntimeError):
            self.close()

    def submit(self, sign_pub: bytes, items: list[Item]) -> list[Future[list[int]]]:
        """Checks of `items` (each `sigworker.packable`) started on the helpers, packed
        (raises if the pool cannot start)."""
        step = -(-len(items) // (self.size * 4))
        pool = self._executor()
        return [
            pool.submit(
                sigworker.failing, sign_pub, sigworker.pack(items[start : start + step]), start
            )
            for start in range(0, len(items), step)
        ]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


_early: _Pool | None = None
"""Helpers started before the log's size after the mark is known (`start_early`)."""


def _size(processes: int | None) -> int:
    return min(processes if processes is not None else (os.cpu_count() or 1), 8)


def start_early(count: int, processes: int | None = None) -> None:
    """Start the helpers now, while the profile unlocks, when about `count` signatures
    are to be checked (`fieldkit verify --full`): the next `BackgroundCheck` that uses
    helpers takes them, ready; one that does not closes them."""
    global _early
    size = _size(processes)
    if _early is None and size > 1 and count >= MIN_PARALLEL:
        _early = _Pool(size)
        _early.warm()


def close_early() -> None:
    """Close helpers `start_early` started that no check took (the unlock or the check
    failed before one did)."""
    global _early
    early, _early = _early, None
    if early is not None:
        early.close()


class BackgroundCheck:
    """Signature checks started before the caller needs them, on every core when that
    pays; `check` (a `SignatureCheck`) then answers from their verdict.

    Use as a context manager (the helpers are closed on leaving). `start` each device's
    (hash, signature) items as soon as they are read; `check` waits for the verdict of
    the items it is asked about, and checks here any it was not started with.
    """

    def __init__(self, count: int, processes: int | None = None) -> None:
        global _early
        size = _size(processes)
        early, _early = _early, None
        if size > 1 and count >= MIN_PARALLEL:
            self._pool: _Pool | None = early if early is not None else _Pool(size)
            if early is None:
                self._pool.warm()
        else:
            self._pool = None
            if early is not None:
                early.close()
        self._started: dict[bytes, list[tuple[Sequence[Item], list[Future[list[int]]]]]] = {}
        self._failing: dict[bytes, set[Item]] = {}
        self._checked: dict[bytes, set[Item]] = {}

    def __enter__(self) -> BackgroundCheck:
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.close()

    def start(self, sign_pub: bytes, items: list[Item]) -> None:
        """Start checking `items` on the helpers (here, later, when they are few)."""
        if self._pool is None or len(items) < MIN_PARALLEL // 4:
            return
        if not sigworker.all_packable(items):
            items = [item for item in items if sigworker.packable(item)]  # the rest: here
            if not items:
                return
        try:
            futures = self._pool.submit(sign_pub, items)
        except (BrokenProcessPool, OSError, RuntimeError):
            self._pool.close()
            self._pool = None
            return
        self._started.setdefault(sign_pub, []).append((items, futures))

    def _settle(self, sign_pub: bytes) -> None:
        failing = self._failing.setdefault(sign_pub, set())
        checked = self._checked.setdefault(sign_pub, set())
        for items, futures in self._started.pop(sign_pub, []):
            try:
                bad = {n for future in futures for n in future.result()}
            except (BrokenProcessPool, OSError, RuntimeError):
                continue  # not marked checked: `check` checks these here
            checked.update(items)
            failing.update(items[n] for n in bad)

    def check(self, sign_pub: bytes, items: list[Item]) -> set[int]:
        """The indexes of `items` whose signature does not verify (a `SignatureCheck`)."""
        self._settle(sign_pub)
        checked = self._checked[sign_pub]
        failing = self._failing[sign_pub]
        rest = [n for n, item in enumerate(items) if item not in checked]
        found = {n for n, item in enumerate(items) if item in failing}
        if rest:
            here = signatures_failing(sign_pub, [items[n] for n in rest])
            found.update(rest[i] for i in here)
        return found
