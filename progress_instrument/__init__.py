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
from ._outcome import ProgressCancelled, Status
from ._tree import ProgressReport
from ._tree_builder import TreeBuilder

__all__ = [
    "ProgressCancelled",
    "ProgressReport",
    "Status",
    "TreeBuilder",
    "current_report",
    "use_report",
]

__version__ = "0.1.0"
