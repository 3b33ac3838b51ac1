"""Errors a person can cause or meet: each carries one line that says what to do."""

from __future__ import annotations


class FieldkitError(Exception):
    """An error with a message written for the person using fieldkit (no traceback)."""

    exit_code = 1


class ProfileMissing(FieldkitError):
    """No profile where one was expected."""


class StoreError(FieldkitError):
    """The local store could not do what was asked; nothing was written."""


class StoreLocked(StoreError):
    """The profile was locked (idle timeout, lock key) while work on it was under way.

    An expected state, not a failure: the work stops and nothing more is written.
    """


class TransferError(FieldkitError):
    """A case-transfer file was refused whole.

    Its message is one line whatever the file held: a key or value with a line break or a
    control character in it is shown escaped (`\\n`), never as a second line.
    """

    def __init__(self, message: object = "") -> None:
        text = str(message)
        super().__init__(
            "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)
        )


class AttachmentError(FieldkitError):
    """An attachment could not be imported, read or checked; nothing was written."""


class OfflineError(FieldkitError):
    """The server could not be reached; work stays in the outbox."""

    exit_code = 2
