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

import os as _os
import typing

from ._config import configure
from ._context import current_report, use_report
from ._decorator import reports_progress
from ._outcome import ProgressCancelled, Status
from ._step import step
from ._track import track
from ._tree import ProgressReport
from ._tree_builder import TreeBuilder

if typing.TYPE_CHECKING:
    from ._instrument import instrument, uninstrument
    from .sinks import CallbackSink, ConsoleSink, JsonLinesSink, LoggingSink

__all__ = [
    "CallbackSink",
    "ConsoleSink",
    "JsonLinesSink",
    "LoggingSink",
    "ProgressCancelled",
    "ProgressReport",
    "Status",
    "TreeBuilder",
    "configure",
    "current_report",
    "instrument",
    "reports_progress",
    "step",
    "track",
    "uninstrument",
    "use_report",
]

# Sinks and the submodules only some users need load on first use: `import progress_instrument`
# must not pay for json, threading or concurrent.futures (SPEC §10).
# `instrument` loads wrapt's patching and import hooks, which plain users of the decorators never need.
_LAZY_NAMES = {
    "CallbackSink": "sinks",
    "ConsoleSink": "sinks",
    "JsonLinesSink": "sinks",
    "LoggingSink": "sinks",
    "instrument": "_instrument",
    "uninstrument": "_instrument",
}
_LAZY_MODULES = frozenset({"executors", "sinks", "testing"})


def __getattr__(name: str) -> typing.Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'progress_instrument' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES) | _LAZY_MODULES)


__version__ = "0.1.0"

# PROGRESS_INSTRUMENT_TARGETS="pkg.mod:func,...": one dictionary look-up when unset (SPEC §5.1).
_targets = _os.environ.get("PROGRESS_INSTRUMENT_TARGETS", "")
if _targets.strip():
    from ._instrument import instrument_from_environment as _instrument_from_environment

    _instrument_from_environment(_targets)
del _targets
