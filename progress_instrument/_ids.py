"""Report ids: unique across processes and hosts, and cheap to make (SPEC §1).

An id is a random per-process prefix and a counter, so making one costs a ``next()`` and a format,
not a ``uuid4``. A forked child draws a new prefix, so parent and child never share ids.
"""

from __future__ import annotations

import itertools
import os

__all__ = ["new_report_id"]

_prefix = ""
_counter = itertools.count(1)


def _reseed() -> None:
    global _prefix, _counter
    # 64 random bits: two processes colliding needs ~4 * 10^9 processes merged into one tree.
    _prefix = os.urandom(8).hex()
    _counter = itertools.count(1)


def new_report_id() -> str:
    """Return a fresh report id such as ``"3f2a9c1d0b4e5f67-1a"``."""
    # itertools.count.__next__ is atomic under the GIL, so no lock is needed.
    return f"{_prefix}-{next(_counter):x}"


_reseed()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)
