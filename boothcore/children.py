"""Child processes that never outlive their parent (the demo's broker and simulated booths).

On Linux a child started with ``preexec_fn=die_with_parent`` gets SIGTERM when the thread that
forked it ends, the parent killed with SIGKILL included (``prctl(PR_SET_PDEATHSIG)``, see
prctl(2)). Start such a child from a thread that lives as long as the child should.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _libc_prctl() -> Any:  # Any: a ctypes foreign function has no useful static type
    """libc's prctl, looked up in the parent so the child between fork and exec only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when the thread that forked it ends (the process killed too)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
