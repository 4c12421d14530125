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

from ._context import current_report, use_report
from ._decorator import reports_progress
from ._outcome import ProgressCancelled, Status
from ._step import step
from ._tree import ProgressReport
from ._tree_builder import TreeBuilder

__all__ = [
    "ProgressCancelled",
    "ProgressReport",
    "Status",
    "TreeBuilder",
    "current_report",
    "reports_progress",
    "step",
    "use_report",
]

__version__ = "0.1.0"

_LAZY_MODULES = frozenset({"executors"})


def __getattr__(name: str) -> object:
    # Submodules only some users need load on first use: `import progress_instrument` stays cheap.
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
