"""Many Ed25519 signature checks on every core: the audit's (`fieldkit verify`) way to
check each op's own signature at the speed of the machine.

Ed25519 verification holds Python's GIL, so a large set is split across a few helper
processes (spawned, so they start clean); a small one, or a pool that cannot start, is
checked in this process. Every signature is checked either way.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from fieldkit.changelog import SignatureCheck, signatures_failing

# Below this many signatures starting helpers costs more than they save.
MIN_PARALLEL = 4000


def _chunk(sign_pub: bytes, items: list[tuple[str, bytes]], offset: int) -> list[int]:
    return [offset + n for n in signatures_failing(sign_pub, items)]


class _Pool:
    """A process pool started on first use and closed by `close`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, sign_pub: bytes, items: list[tuple[str, bytes]]) -> set[int]:
        if len(items) < MIN_PARALLEL:
            return signatures_failing(sign_pub, items)
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.size, mp_context=multiprocessing.get_context("spawn")
                )
            step = -(-len(items) // (self.size * 4))
            futures = [
                self._pool.submit(_chunk, sign_pub, items[start : start + step], start)
                for start in range(0, len(items), step)
            ]
            return {n for future in futures for n in future.result()}
        except (BrokenProcessPool, OSError, RuntimeError):
            self.close()
            self.size = 1
            return signatures_failing(sign_pub, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def parallel_check(count: int, processes: int | None = None) -> tuple[SignatureCheck, _Pool | None]:
    """A signature check for `count` signatures: on every core when that pays, else here.
    Close the pool (second value) when done."""
    size = processes if processes is not None else (os.cpu_count() or 1)
    if size <= 1 or count < MIN_PARALLEL:
        return signatures_failing, None
    pool = _Pool(min(size, 8))
    return pool, pool
