"""Hierarchical, deterministic progress reporting for analytics code.

The core is a tree of `ProgressReport`s whose fractions are deterministic, and a JSON wire format
that DASF clients (``deprogressapi`` and the DASF web components) already understand.

Example:
    >>> from progress_instrument import ProgressReport
    >>> with ProgressReport("Analysis", steps=2, sinks=[]) as report:
    ...     with report.create_subreport("Load") as load:
    ...         pass
    ...     report.fraction
    0.5
"""

from __future__ import annotations

import typing

from ._config import configure
from ._context import current_report, use_report
from ._outcome import ProgressCancelled, Status
from ._tree import ProgressReport
from ._tree_builder import TreeBuilder

if typing.TYPE_CHECKING:
    from .sinks import CallbackSink, JsonLinesSink

__all__ = [
    "CallbackSink",
    "JsonLinesSink",
    "ProgressCancelled",
    "ProgressReport",
    "Status",
    "TreeBuilder",
    "configure",
    "current_report",
    "use_report",
]

# Sinks load on first use: `import progress_instrument` must not pay for json (SPEC §10).
_LAZY = {"CallbackSink": "sinks", "JsonLinesSink": "sinks"}


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'progress_instrument' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"
