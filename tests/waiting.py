"""Waiting for a condition in tests: the one place a test polls, with a deadline.

A busy machine takes as long as it takes and a quiet one no longer: a test never sleeps a
fixed time, it names what it waits for and how long it can be worth waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TimedOut(AssertionError):
    """The condition was still not met at the deadline."""


def until(condition: Callable[[], T], what: str, within: float, poll: float = 0.02) -> T:
    """The first truthy answer of `condition`, asked every `poll` seconds; `TimedOut`
    naming `what` once `within` seconds have passed. An exception from `condition`
    ends the wait at once (e.g. a child process that exited instead of answering)."""
    deadline = time.monotonic() + within
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out after {within:g} s waiting for {what}")
        time.sleep(poll)
