"""Minimal mirroring of a call's report into a ``deprogressapi`` report passed by the caller (SPEC §5).

The DASF pattern: a backend framework injects one ``deprogressapi`` report per request. The
function gets that report unchanged; the call's own report is copied into it when the call starts
and when it finishes, and submitted when the DASF report is connected to a broker. Live, throttled
delivery of every step belongs to the ``dasf`` integration (§9).
"""

from __future__ import annotations

from typing import Any

from ._tree import ProgressReport

__all__ = ["mirror_into"]


def mirror_into(report: ProgressReport, dasf_report: Any) -> None:
    """Copy `report` into `dasf_report` now and again when `report` finishes."""
    _copy(report, dasf_report)
    report._add_finish_hook(lambda: _copy(report, dasf_report))


def _copy(report: ProgressReport, dasf_report: Any) -> None:
    from deprogressapi.base import Status as DasfStatus

    snapshot = report.to_dict()
    dasf_report.status = DasfStatus(snapshot["status"])
    if hasattr(dasf_report, "children"):
        child_type = type(dasf_report)
        dasf_report.children = [child_type.model_validate(child) for child in snapshot["children"]]
        # The DASF web bar divides finished children by steps: never let it exceed 100 %.
        dasf_report.steps = max(dasf_report.steps, snapshot["steps"], len(dasf_report.children))
    if getattr(dasf_report, "_pulsar", None) is not None:
        dasf_report.submit()
