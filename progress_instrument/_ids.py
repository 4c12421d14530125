"""Report ids: unique across processes and hosts, and cheap to make (SPEC §1).

An id is a random per-process prefix and a counter. A report made by a step holds only its serial
(the counter's value, an int: ``next()`` costs a tenth of formatting a string), and its id text is
made when someone reads it. A forked child draws a new prefix for the serials it hands out from
then on, so parent and child never share ids, while reports inherited from the parent keep theirs.
"""

from __future__ import annotations

import itertools
import os

__all__ = ["new_report_id", "next_serial", "id_text"]

# (first serial, prefix) for each process this one descends from by fork, oldest first.
_prefixes: list[tuple[int, str]] = []
_counter = itertools.count(1)
#: The next serial: ``next_serial()`` (atomic under the GIL: itertools.count.__next__ is C).
next_serial = _counter.__next__


def _new_prefix(first_serial: int) -> None:
    global _counter, next_serial
    # 64 random bits: two processes colliding needs ~4 * 10^9 processes merged into one tree.
    _prefixes.append((first_serial, os.urandom(8).hex()))
    _counter = itertools.count(first_serial)
    next_serial = _counter.__next__


def _after_fork_in_child() -> None:
    _new_prefix(next(_counter))


def id_text(serial: int) -> str:
    """The id of the report given `serial`, such as ``"3f2a9c1d0b4e5f67-1a"``."""
    for first, prefix in reversed(_prefixes):
        if serial >= first:
            return f"{prefix}-{serial:x}"
    raise ValueError(f"no report was given serial {serial}")  # pragma: no cover - serials start at 1


def new_report_id() -> str:
    """Return a fresh report id as text (for roots and readers: steps keep a serial)."""
    return id_text(next_serial())


_new_prefix(1)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
