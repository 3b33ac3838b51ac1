"""Keep case content inside the encrypted store: no core dumps, private files.

A core dump of the app holds decrypted names, notes and the passphrase; `fieldkit` turns
dumps off for its own process (and so for its children) before any key is in memory.
Profile and server database files are created readable by their owner only.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import resource
import sys
from pathlib import Path

PR_SET_DUMPABLE = 4


def disable_core_dumps() -> None:
    """RLIMIT_CORE 0 and, on Linux, not dumpable (no core, no ptrace by other users)."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def is_dumpable() -> bool:
    """Whether this process may still write a core dump (for tests and `fieldkit doctor`)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_CORE)
    if soft != 0:
        return True
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE
    return False


def private_dir(path: Path) -> None:
    """Create a directory readable by its owner only (an existing one is left as it is:
    it may be the user's home)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)


def private_file(path: Path) -> None:
    """Make sure a database file exists as 0600 before SQLite opens it (its -wal and -shm
    files copy its mode)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    with contextlib.suppress(OSError):
        path.chmod(0o600)
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        with contextlib.suppress(OSError):
            if side.exists():
                side.chmod(0o600)


__all__ = ["disable_core_dumps", "is_dumpable", "private_dir", "private_file"]
