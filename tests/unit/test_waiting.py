"""The tests' one polling helper: it returns what it waited for, and says what never came."""

from __future__ import annotations

import itertools

import pytest

from tests.waiting import TimedOut, until


def test_until_returns_the_first_truthy_answer() -> None:
    answers = itertools.chain([None, "", 0], itertools.repeat("ready"))
    assert until(lambda: next(answers), "the third answer", within=30, poll=0) == "ready"


def test_until_names_what_never_came() -> None:
    with pytest.raises(TimedOut, match="the impossible"):
        until(lambda: False, "the impossible", within=0.05, poll=0.01)


def test_an_error_in_the_condition_ends_the_wait_at_once() -> None:
    def exited() -> bool:
        raise RuntimeError("the child exited")

    with pytest.raises(RuntimeError, match="exited"):
        until(exited, "an answer", within=3600)
