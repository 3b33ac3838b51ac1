"""Thread workers that never crash the app.

Every `@work(thread=True)` method of a screen is also `@guarded`: a `FieldkitError`
(a store, crypto or practice error, written for the worker) becomes one line the app
shows; a store closed by the lock (`StoreLocked`) is an expected state and ends the work
quietly. Anything else is a bug and still surfaces.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from fieldkit.screens.messages import WorkFailed
from textual.message_pump import MessagePump

from fieldkit.errors import FieldkitError, StoreLocked

P = ParamSpec("P")
R = TypeVar("R")
Pump = TypeVar("Pump", bound=MessagePump)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def one_line(exc: BaseException) -> str:
    """The error's first line, without terminal control characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _CONTROL.sub(" ", text)


def guarded(
    fn: Callable[Concatenate[Pump, P], R],
) -> Callable[Concatenate[Pump, P], R | None]:
    """Run a worker body; FieldkitError → WorkFailed message, StoreLocked → nothing."""

    @functools.wraps(fn)
    def run(self: Pump, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return fn(self, *args, **kwargs)
        except StoreLocked:
            return None
        except FieldkitError as exc:
            self.post_message(WorkFailed(one_line(exc)))
            return None

    return run
