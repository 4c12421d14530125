"""What instrumenting code costs per operation: `with step()` and a `@reports_progress` call (SPEC §10).

Every variant runs *blocks*: a root, ``ops`` operations under it, and the root's end. Ours runs under
a fresh ``ProgressReport("root", sinks=[received.append])`` per block: an in-memory sink, so the
emission core is attached (an emitter per root, the flushing thread running). Leaving ``with root:``
finishes the root exactly as ``complete()`` does, and that returns only once every event of the root
has reached the sink, so the delivery of a block's events is inside the block's time: the part done
by the flushing thread while the block runs (it needs the GIL, so its work shows in the wall time)
and the rest, done by ``complete()`` itself. The peers are OpenTelemetry spans, from the default
no-op tracer (no provider set) and from the SDK, and, for calls, a plain call and a
``functools.wraps`` wrapper.

``steps_1e5`` runs 10⁵ steps under one root (linearity: per step at 10⁵ vs 10⁴) and compares the
cost per step with ``deprogressapi``'s ``create_subreport`` + ``complete`` on an unconnected report.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from _blocks import blocks_per_sample, mean_block_seconds
from _harness import Sampler, Setup
from _trees import import_deprogressapi

Block = Callable[[], object]


def _sampler(block: Block, ops: int, prepare: Callable[[], object] | None = None) -> tuple[Sampler, int]:
    """A sampler giving µs per operation, as the mean of enough blocks of `ops` operations."""
    repeat = blocks_per_sample(block, prepare)

    def sample() -> dict[str, float]:
        return {"us_per_op": mean_block_seconds(block, prepare, repeat) / ops * 1e6}

    return sample, repeat


def _tracers() -> tuple[Any, Any, Any]:
    """The no-op tracer users get with no provider set, an SDK tracer, and the SDK's span exporter.

    The SDK provider is used directly, never installed as the global one, so the no-op tracer stays
    a no-op in this process.
    """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    noop = trace.get_tracer(__name__)
    with noop.start_as_current_span("check") as span:
        if span.is_recording():
            raise RuntimeError("a tracer provider is installed: the no-op tracer would not be measured")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return noop, provider.get_tracer(__name__), exporter


def _overheads(samples: Mapping[str, Mapping[str, Sequence[float]]], floor: str) -> dict[str, float]:
    base = statistics.median(samples[floor]["us_per_op"])
    return {variant: statistics.median(values["us_per_op"]) - base for variant, values in samples.items()}


def _summary(floor: str, ours: str, others: Sequence[str]) -> Callable[..., list[str]]:
    def summarize(samples: Mapping[str, Mapping[str, Sequence[float]]]) -> list[str]:
        over = _overheads(samples, floor)
        listed = "; ".join(f"{variant} {over[variant]:.3f}" for variant in samples if variant != floor)
        ratios = "; ".join(f"/ {other} {over[ours] / over[other]:.3g}" for other in others if over[other] > 0)
        no_sink = over.get(f"{ours}_no_sink")
        notes = [
            f"overhead per op in µs ({floor} subtracted, medians): {listed}",
            f"ratios of overheads, {ours} {ratios}",
        ]
        if no_sink is not None and over[ours] > 0:
            notes.append(
                f"the emission core's share of ours (with sink − no sink) / with sink: "
                f"{(over[ours] - no_sink) / over[ours]:.0%}"
            )
        return notes

    return summarize


def _ours_block(ops: int, body: Callable[[], object] | None, sinks: Callable[[], list[Any]]) -> Block:
    """A fresh root with `sinks()` and `ops` × `body()` under it (None: ``with step("s"): pass``)."""
    from progress_instrument import ProgressReport, step

    loop = range(ops)

    def block() -> object:
        root = ProgressReport("root", sinks=sinks())
        with root:  # current inside; on exit it finishes like complete(): every event delivered
            if body is None:
                for _ in loop:
                    with step("s"):
                        pass
            else:
                for _ in loop:
                    body()
        return root  # freed after the clock stops

    return block


def _ours_blocks(ops: int, body: Callable[[], object] | None = None) -> tuple[Block, Block, Callable[[], object], int]:
    """Our block with an in-memory sink and without sinks, the sink's reset, and the events of one block."""
    received: list[dict[str, Any]] = []
    with_sink = _ours_block(ops, body, lambda: [received.append])
    with_sink()
    events = len(received)
    received.clear()
    return with_sink, _ours_block(ops, body, list), received.clear, events


def _otel_block(tracer: Any, ops: int, body: Callable[[], object] | None = None) -> Block:
    loop = range(ops)

    def block() -> object:
        with tracer.start_as_current_span("root") as root:
            if body is None:
                for _ in loop:
                    with tracer.start_as_current_span("s"):
                        pass
            else:
                for _ in loop:
                    body()
        return root

    return block


def _otel_notes() -> list[str]:
    return [
        "otel_noop: opentelemetry.trace.get_tracer(__name__) with no tracer provider set (a ProxyTracer over the "
        "no-op tracer: non-recording spans, still made current through the OpenTelemetry context)",
        "otel_sdk: an SDK TracerProvider (used directly, not installed globally) with "
        "SimpleSpanProcessor(InMemorySpanExporter()): every span is exported synchronously, in the calling "
        "thread, when it ends; the exporter's list of spans is cleared before each block, outside the clock (so "
        "freeing the spans is not counted for it)",
    ]


def _ours_notes(events: int, ops: int, min_interval: float) -> list[str]:
    return [
        f"ours: a fresh ProgressReport('root', sinks=[received.append]) per block, made current by `with root:`, "
        f"{ops:,} operations under it, then the root's end (leaving `with root:` finishes it as complete() does: "
        "it returns once every event of the root reached the sink). Counted: creating, entering and finishing "
        "each report, marking its parent for the flushing thread (a quick successful leaf has no record of its "
        "own), the delivery done by the flushing thread while the block runs (it "
        "holds the GIL, so it takes wall time from the block) and the final flush in complete(). Not counted: "
        "clearing the sink's list and freeing the root (100 retained children), done outside the clock",
        f"the sink received {events} events in one block: children that start and finish success within "
        f"min_interval ({min_interval:g} s) are not sent as their own start/finish but counted in their parent's "
        "next event (omitted_children, SPEC §7); so per op, ours pays for recording and coalescing a child, "
        "not for building an event (per-event cost: the `events` figure)",
        "progress_instrument_no_sink: the same block with sinks=[] (no emitter, no delivery), for information",
    ]


def setup_step(params: dict[str, int]) -> Setup:
    """``with step("s"): pass`` vs ``with tracer.start_as_current_span("s"): pass``, per op."""
    from progress_instrument._config import settings

    ops = params["ops"]
    noop, sdk, exporter = _tracers()
    ours, ours_no_sink, reset_sink, events = _ours_blocks(ops)
    loop = range(ops)

    def bare() -> object:
        for _ in loop:
            pass
        return None

    samplers: dict[str, Sampler] = {}
    counts: dict[str, int] = {}
    for name, block, prepare in (
        ("bare", bare, None),
        ("progress_instrument", ours, reset_sink),
        ("otel_noop", _otel_block(noop, ops), None),
        ("otel_sdk", _otel_block(sdk, ops), exporter.clear),
        ("progress_instrument_no_sink", ours_no_sink, None),
    ):
        samplers[name], counts[name] = _sampler(block, ops, prepare)
    notes = [
        f"one block = {ops:,} × `with X: pass` under a root; a sample is the mean of as many blocks as take "
        f"≥ 0.1 s ({', '.join(f'{name} {count}' for name, count in counts.items())}); µs per op = block time / ops",
        "bare: the same loop with an empty body, subtracted from every variant before a ratio (overhead per op)",
        *_ours_notes(events, ops, settings().min_interval),
        *_otel_notes(),
    ]
    summarize = _summary("bare", "progress_instrument", ("otel_noop", "otel_sdk"))
    return Setup(samplers, notes, summarize)


def work() -> None:
    """Work."""


def _wrapped_with_functools(function: Callable[[], None]) -> Callable[[], None]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


def setup_call(params: dict[str, int]) -> Setup:
    """A call of a trivial function decorated with ``@reports_progress`` vs the same call under peers."""
    from progress_instrument import reports_progress
    from progress_instrument._config import settings

    ops = params["ops"]
    noop, sdk, exporter = _tracers()
    decorated = reports_progress(work)
    ours, ours_no_sink, reset_sink, events = _ours_blocks(ops, decorated)
    wraps = _wrapped_with_functools(work)
    loop = range(ops)

    def plain() -> object:
        for _ in loop:
            work()
        return None

    def wrapped() -> object:
        for _ in loop:
            wraps()
        return None

    samplers: dict[str, Sampler] = {}
    counts: dict[str, int] = {}
    for name, block, prepare in (
        ("plain", plain, None),
        ("functools_wraps", wrapped, None),
        ("progress_instrument", ours, reset_sink),
        ("otel_noop", _otel_block(noop, ops, noop.start_as_current_span("work")(work)), None),
        ("otel_sdk", _otel_block(sdk, ops, sdk.start_as_current_span("work")(work)), exporter.clear),
        ("progress_instrument_no_sink", ours_no_sink, None),
    ):
        samplers[name], counts[name] = _sampler(block, ops, prepare)
    notes = [
        f"one block = {ops:,} calls of `def work(): pass`, each way decorated, under a root where the variant has "
        f"one; a sample is the mean of as many blocks as take ≥ 0.1 s "
        f"({', '.join(f'{name} {count}' for name, count in counts.items())}); µs per op = block time / ops",
        "plain: work() itself, subtracted from every variant before a ratio (overhead per call); functools_wraps: a "
        "`@functools.wraps` wrapper passing *args, **kwargs; ours: `reports_progress(work)` (no report "
        "parameter: nothing injected); otel: `tracer.start_as_current_span('work')` used as a decorator",
        *_ours_notes(events, ops, settings().min_interval),
        *_otel_notes(),
    ]
    summarize = _summary("plain", "progress_instrument", ("otel_noop", "otel_sdk", "functools_wraps"))
    return Setup(samplers, notes, summarize)


def setup_steps_1e5(params: dict[str, int]) -> Setup:
    """10⁵ steps under one root (vs 10⁴: linearity) and per step vs deprogressapi."""
    deprogressapi = import_deprogressapi()
    received: list[dict[str, Any]] = []

    def ours_block(steps: int) -> Block:
        return _ours_block(steps, None, lambda: [received.append])

    def dasf_block(steps: int) -> Block:
        loop = range(steps)

        def block() -> object:
            root = deprogressapi.ProgressReport(step_message="root", settings={"show_method": "NONE"})
            for _ in loop:
                root.create_subreport(step_message="s").complete()
            return root  # its children are freed after the clock stops

        return block

    def sampler(block: Block, steps: int, prepare: Callable[[], object] | None) -> tuple[Sampler, int]:
        repeat = blocks_per_sample(block, prepare)

        def sample() -> dict[str, float]:
            seconds = mean_block_seconds(block, prepare, repeat)
            return {"us_per_step": seconds / steps * 1e6, "total_ms": seconds * 1e3}

        return sample, repeat

    big, small, dasf = params["steps"], params["small_steps"], params["dasf_steps"]
    ours_block(small)()
    events = len(received)
    received.clear()
    samplers: dict[str, Sampler] = {}
    counts: dict[str, int] = {}
    for name, block, steps, prepare in (
        ("progress_instrument_1e5", ours_block(big), big, received.clear),
        ("progress_instrument_1e4", ours_block(small), small, received.clear),
        ("deprogressapi", dasf_block(dasf), dasf, None),
    ):
        samplers[name], counts[name] = sampler(block, steps, prepare)
    notes = [
        f"ours: a fresh root with an in-memory sink (sinks=[received.append]) and {big:,} (or {small:,}) × "
        "`with step('s'): pass` under it, timed until the root's complete() returns (every event delivered, the "
        "flushing thread's work included, as in the `step` figure); the sink's list is cleared outside the clock; "
        f"{events} events reached it for {small:,} steps (short successful steps are coalesced into the root's "
        "events)",
        f"deprogressapi: ProgressReport(step_message='root', settings={{'show_method': 'NONE'}}), not connected "
        f"(no pulsar: submit() serializes nothing), {dasf:,} × create_subreport(step_message='s').complete() "
        "(complete() sets the status and calls submit(), which walks up to the root and shows nothing); measured "
        f"at {dasf:,} steps because each step costs it hundreds of µs; its cost per step grows a little with the "
        "number of children it holds (it keeps them all), so measuring it at a smaller size favours it",
        f"blocks per sample: {', '.join(f'{name} {count}' for name, count in counts.items())}; total_ms = one block",
    ]
    return Setup(samplers, notes)
