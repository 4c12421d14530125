"""What delivering events costs: a root's children reaching a `CallbackSink` or a `JsonLinesSink`.

A block creates ``children`` children of a fresh root with the sink and finishes them, then finishes
the root; it is timed until ``complete()`` returns, which guarantees that every event of the root
reached the sink. The baseline does the same work under a root with ``sinks=[]`` (no emitter, no
events). Two workloads:

- ``_err`` variants: every child finishes ``error``. Failures are always delivered (SPEC §7), so
  the sink receives a ``start`` and a ``finish`` per child: this workload gives the cost per event.
- the others: every child finishes ``success`` at once. A child that starts and finishes success
  within ``min_interval`` is not sent as its own events but counted in its parent's next event
  (``omitted_children``), so the sink receives a handful of events whatever the number of children:
  this workload gives what the coalescing leaves of the cost, per child.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from _blocks import MIN_SAMPLE_SECONDS
from _harness import Sampler, Setup

#: The sinks, in interleaving order, and the workloads; variant names are SINK or SINK_err.
SINKS = ("none", "callback", "jsonl")
WORKLOADS = ("", "_err")
#: The JSON-lines files' directory lives as long as the worker (removed at exit).
_DIRECTORIES: list[tempfile.TemporaryDirectory[str]] = []


class _Variant:
    """One sink on one workload: its block, the untimed reset before it and the count after it."""

    def __init__(self, sink: str, failing: bool, children: int, path: str) -> None:
        from progress_instrument import CallbackSink, JsonLinesSink, ProgressReport, Status
        from progress_instrument._flusher import core

        self.children = children
        self.failing = failing
        self.received: list[dict[str, Any]] = []
        self.path = path
        self.sink_kind = sink
        self.sink: Any = None
        self.root: Any = None
        self._jsonl = JsonLinesSink
        self._new_root = lambda: ProgressReport("root", sinks=self.sinks)
        self._flush_all = core.flush_all
        loop = range(children)
        error = Status.ERROR

        def block() -> object:
            root, self.root = self.root, None
            if failing:
                for _ in loop:
                    root.create_subreport("child").complete(error, error="failed")
            else:
                for _ in loop:
                    root.create_subreport("child").complete()
            root.complete()  # returns once every event of the root reached the sink
            return root  # freed after the clock stops

        self.block = block
        self.sinks: list[Any] = []
        if sink == "callback":
            self.sinks = [CallbackSink(self.received.append)]

    def prepare(self) -> None:
        self.received.clear()
        if self.sink_kind == "jsonl":
            if self.sink is not None:
                self.sink.close()
            with open(self.path, "w"):
                pass  # truncate
            self.sink = self._jsonl(self.path)
            self.sinks = [self.sink]
        # A root that has been running a while: made, and its start delivered, before the clock starts.
        self.root = self._new_root()
        self._flush_all()

    def events(self) -> int:
        if self.sink_kind == "callback":
            return len(self.received)
        if self.sink_kind == "jsonl":
            with open(self.path, "rb") as file:
                return sum(1 for _ in file)
        return 0

    def run(self, repeat: int) -> tuple[float, float]:
        """Mean seconds and mean events received per block, over `repeat` blocks."""
        seconds = 0.0
        events = 0
        clock = time.perf_counter
        for _ in range(repeat):
            self.prepare()
            started = clock()
            result = self.block()
            seconds += clock() - started
            del result
            events += self.events()
        return seconds / repeat, events / repeat


def setup_events(params: dict[str, int]) -> Setup:
    """Samplers for every sink on both workloads."""
    from progress_instrument._config import settings

    children = params["children"]
    _DIRECTORIES.append(tempfile.TemporaryDirectory(prefix="progress_instrument_bench_"))
    directory = _DIRECTORIES[-1].name
    samplers: dict[str, Sampler] = {}
    repeats: dict[str, int] = {}
    received: dict[str, float] = {}
    for workload in WORKLOADS:
        for sink in SINKS:
            name = sink + workload
            variant = _Variant(sink, workload == "_err", children, os.path.join(directory, f"{name}.jsonl"))
            variant.run(1)  # one-time costs
            once, events = variant.run(1)
            repeat = max(1, -int(-MIN_SAMPLE_SECONDS // once)) if once > 0 else 1
            repeats[name], received[name] = repeat, events

            def sample(variant: _Variant = variant, repeat: int = repeat) -> dict[str, float]:
                seconds, events = variant.run(repeat)
                metrics = {"us_per_child": seconds / variant.children * 1e6, "events_per_block": events}
                if variant.failing and events:  # per event means something only where every event is sent
                    metrics["us_per_event_gross"] = seconds / events * 1e6
                return metrics

            samplers[name] = sample
    expected = 2 * children + 3
    if received["callback_err"] != expected or received["jsonl_err"] != expected:
        raise RuntimeError(
            f"failing children: expected {expected} events (root start, a start and a finish per child, snapshot, "
            f"root finish), got callback {received['callback_err']}, jsonl {received['jsonl_err']}"
        )
    notes = [
        f"one block = {children:,} × root.create_subreport('child').complete(...) (success, or error with "
        "error='failed' in the _err variants) under a fresh root with the sink, then root.complete(), timed until "
        "it returns (every event delivered: the flushing thread's share, done while the block runs, takes wall "
        "time from it through the GIL, and complete() delivers the rest itself)",
        "the root is made and its start delivered (a synchronous delivery pass) before the clock starts, as for a "
        "root that has been running a while",
        f"none: sinks=[] (no emitter, no events), the baseline; callback: CallbackSink(list.append); jsonl: "
        f"JsonLinesSink(path) on a file in {directory} (opened, truncated and the list cleared before each block, "
        "outside the clock; lines counted after it)",
        f"events per block: error workload {expected:,} (2 per child + root start, snapshot, finish); success "
        f"workload callback {received['callback']:.0f}, jsonl {received['jsonl']:.0f} (children that finish "
        f"success within min_interval = {settings().min_interval:g} s are coalesced into the root's events; "
        "the count depends on how many flushes fall inside the block)",
        f"blocks per sample: {', '.join(f'{name} {count}' for name, count in repeats.items())}",
    ]
    return Setup(samplers, notes, _summary(children))


def _median(samples: Mapping[str, Mapping[str, Sequence[float]]], variant: str, key: str) -> float:
    return statistics.median(samples[variant][key])


def _summary(children: int) -> Callable[[Mapping[str, Mapping[str, Sequence[float]]]], list[str]]:
    """Notes combining each sink's variant with the no-sink one: the cost per event, net of the work."""

    def summarize(samples: Mapping[str, Mapping[str, Sequence[float]]]) -> list[str]:
        failing, coalesced = [], []
        for sink in SINKS[1:]:
            extra = _median(samples, sink + "_err", "us_per_child") - _median(samples, "none_err", "us_per_child")
            events = _median(samples, sink + "_err", "events_per_block")
            gross = _median(samples, sink + "_err", "us_per_event_gross")
            failing.append(
                f"{sink} {extra * children / events:.2f} µs per event net of the no-sink work "
                f"(+{extra:.2f} µs per child, {events:,.0f} events per block; {gross:.2f} µs per event gross)"
            )
            extra = _median(samples, sink, "us_per_child") - _median(samples, "none", "us_per_child")
            events = _median(samples, sink, "events_per_block")
            coalesced.append(f"{sink} +{extra:.2f} µs per child over no sink ({events:,.0f} events per block)")
        return [
            "every event delivered (children fail), per event: " + "; ".join(failing),
            "coalesced (children succeed), per child: " + "; ".join(coalesced),
        ]

    return summarize
