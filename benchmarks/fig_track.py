"""What `track` costs per item (SPEC §6, §10): sequences, a generator, disabled, and inner steps.

- ``track_sequence``: ``for x in track(seq): acc += x`` over a ``range``, a ``list`` and a ``tuple`` of
  ``items`` integers, under a fresh ``ProgressReport("root", sinks=[received.append])`` per sample
  (so the flushing thread samples each loop's position and sends its progress events at the
  ``min_interval`` rate while the loop runs), vs the bare ``for x in seq: acc += x`` over the same
  sequence. Before any timing, the setup checks what makes the comparison honest: progress events
  for the loop nodes reach the sink during a timed sample, an inner `step` at item ``i`` sees the
  loop at exactly ``i`` items done, and a cancel from another thread stops the loop at the next item.
- ``track_generator``: the same body over a fresh generator of ``items`` integers, ours vs
  ``rich.progress.track`` (the fastest peer), tqdm and a plain per-item generator wrapper; the bare
  loop over the same generator is subtracted from every side (overhead per item).
- ``track_disabled``: ``PROGRESS_INSTRUMENT_DISABLE=1`` set in this worker's environment before the
  package is imported; ``track(list)`` vs the bare loop over the list.
- ``track_inner_steps``: a loop of ``items`` with ``with step("s"): pass`` in its body: time per item
  at ``items`` vs ``items / 10`` (linear), the peak growth of the resident set of one such loop vs
  ten loops of a tenth of the items, in a fresh process per sample (bounded: the loop node keeps only
  its most recent children; this module is that probe when run as a script), and the same steps under a
  ``with step("loop")`` over a bare ``range`` (what ``track`` adds to a body with its own steps).

A sample of the per-item figures runs the loop as many times (``loops``) as take at least
``sample_ms`` for the bare loop, the same number of times on every side.
"""

from __future__ import annotations

import gc
import io
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from _blocks import blocks_per_sample
from _harness import Sampler, Setup

Events = list[dict[str, Any]]


def numbers(count: int) -> Iterator[int]:
    """A plain generator of ``0 .. count - 1``: one Python frame resumed per item, like users' own."""
    for number in range(count):  # noqa: UP028 (a frame resumed per item, as in users' generators)
        yield number


def wrap(iterable: Iterable[int]) -> Iterator[int]:
    """The simplest per-item wrapper a library could be: a Python generator re-yielding each item."""
    for item in iterable:  # noqa: UP028 (re-yielding item by item is what this wrapper measures)
        yield item


def _loops_per_sample(run_once: Callable[[], object], min_ms: int) -> int:
    """How many loops make a sample of at least `min_ms`, timed on one bare loop."""
    run_once()  # warm up
    gc.collect()
    started = time.perf_counter()
    run_once()
    once = time.perf_counter() - started
    return max(1, math.ceil(min_ms / 1e3 / once)) if once > 0 else 1


def _loop_progress_events(received: Events, root_id: str) -> list[dict[str, Any]]:
    """The ``progress`` events of the loop nodes (the root's children) among `received`."""
    return [event for event in received if event["event"] == "progress" and event["parent_id"] == root_id]


def _events_in_a_sample(run: Callable[[], Any], received: Events, count: int, kind: str, loops: int) -> str:
    """Run `run` (one timed sample of ours) untimed until the sink got progress events of a loop node.

    A sample shorter than ``min_interval`` may see no flush (a ``--quick`` run): up to 10 samples are run.
    """
    attempt = 0
    events: list[dict[str, Any]] = []
    while not events:
        attempt += 1
        if attempt > 10:
            raise RuntimeError(f"track over {kind}: no progress event of a loop node reached the sink in 10 samples")
        received.clear()
        root = run()
        events = _loop_progress_events(received, root.report_id)
        received.clear()
    inside = sorted(event["completed"] for event in events if 0 < event["completed"] < count)
    shown = ", ".join(f"{value:,.0f}" for value in inside[:4]) + (", ..." if len(inside) > 4 else "")
    which = "one timed sample" if attempt == 1 else f"sample {attempt} (the earlier ones saw no flush)"
    return (
        f"{kind}: {which} ({loops} loops) sent {len(events)} progress events of its loop nodes to the sink, "
        f"{len(inside)} of them mid-loop (completed = {shown} of {count:,})"
    )


def _as_is(iterable: Iterable[int]) -> Iterable[int]:
    return iterable


def _sum_bare(
    source: Callable[[], Iterable[int]], loops: int, wrap: Callable[[Iterable[int]], Iterable[int]] = _as_is
) -> Callable[[], object]:
    """`loops` × ``for x in wrap(source()): acc += x``: the bare loop, or with `wrap` = track ours.

    Every loop a figure compares runs in this one code object (closures share it): in CPython where
    a loop's bytecode sits in memory alone moves its time per item by up to ±10 % on this kind of
    machine (two copies of one function measured 0.94 and 1.22 of each other), which would swamp a
    5 % target. `wrap` is called once per loop, not per item.
    """

    def run() -> object:
        acc = 0
        for _ in range(loops):
            for x in wrap(source()):
                acc += x
        return acc

    return run


def _under_a_root(run: Callable[[], object], received: Events) -> Callable[[], object]:
    """`run` under a fresh ``ProgressReport("root", sinks=[received.append])``, made current; returns the root."""
    from progress_instrument import ProgressReport

    def under_a_root() -> object:
        root = ProgressReport("root", sinks=[received.append])
        with root:
            run()
        return root

    return under_a_root


def _timed(run: Callable[[], object], items: int, after: Callable[[object], dict[str, float]] | None = None) -> Sampler:
    """A sampler giving ns per item of one `run()` (of `items` items in all); `after` reads its result untimed."""

    def sample() -> dict[str, float]:
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        metrics = {"ns_per_item": elapsed / items * 1e9}
        if after is not None:
            metrics.update(after(result))
        del result
        return metrics

    return sample


# -- the correctness checks, run once by the setup, never timed ----------------------------------------


def _check_inner_step_position(source: Callable[[], Iterable[int]], count: int, kind: str) -> str:
    """An inner step half done at item ``i`` puts the loop at exactly ``i`` done and ``(i + 0.5) / N``."""
    from progress_instrument import ProgressReport, current_report, step, track

    probes = sorted({0, 1, count // 2, count - 1})
    seen: dict[int, tuple[float, float, bool]] = {}
    with ProgressReport("check", sinks=[]):
        for x in track(source(), total=count):
            if x in seen or x not in probes:
                continue
            loop = current_report()
            with step("s", steps=2) as inner:
                inner.advance()
                assert loop is not None
                seen[x] = (loop.completed, loop.fraction, inner.parent is loop)
    wrong = {
        i: got
        for i, got in seen.items()
        if got[0] != i or not math.isclose(got[1], (i + 0.5) / count, rel_tol=1e-12) or not got[2]
    }
    if wrong or len(seen) != len(probes):
        raise RuntimeError(f"track over {kind}: an inner step at item i did not see i items done: {wrong or seen}")
    at = ", ".join(f"{i:,}" for i in probes)
    return f"{kind}: an inner step half done at items {at}: loop.completed == i, loop.fraction == (i + 0.5) / N"


def _check_cancel(source: Callable[[], Iterable[int]], stop_at: int, kind: str) -> str:
    """``root.cancel()`` from another thread, while item `stop_at` runs, stops the loop before the next item."""
    from progress_instrument import ProgressCancelled, ProgressReport, track

    reached, cancelled = threading.Event(), threading.Event()
    root = ProgressReport("cancel check", sinks=[])

    def canceller() -> None:
        reached.wait(timeout=30)
        root.cancel()
        cancelled.set()

    thread = threading.Thread(target=canceller, name="bench-canceller")
    thread.start()
    last = -1
    raised = False
    try:
        with root:
            for x in track(source()):
                last = x
                if x == stop_at:
                    reached.set()
                    cancelled.wait(timeout=30)
    except ProgressCancelled:
        raised = True
    thread.join()
    loop = root.children[0]
    if not (raised and last == stop_at and loop.cancelled and loop.status == "error"):
        raise RuntimeError(
            f"track over {kind}: cancel at item {stop_at:,} from another thread: raised={raised}, last item seen "
            f"{last:,}, loop status {loop.status.value}, cancelled={loop.cancelled}"
        )
    if loop.completed != stop_at + 1:
        raise RuntimeError(f"track over {kind}: completed {loop.completed} after a cancel during item {stop_at:,}")
    return (
        f"{kind}: cancel() from another thread during item {stop_at:,}: ProgressCancelled at the next item, last "
        f"item seen {last:,}, loop ended error, cancelled, completed {loop.completed:,.0f}"
    )


# -- track_sequence ------------------------------------------------------------------------------------


def setup_track_sequence(params: dict[str, int]) -> Setup:
    """``for x in track(seq): acc += x`` under a root with an in-memory sink vs the bare loop, per item."""
    from progress_instrument import track
    from progress_instrument._config import settings

    count = params["items"]
    listed = list(range(count))
    sequences: dict[str, Sequence[int]] = {"range": range(count), "list": listed, "tuple": tuple(listed)}
    received: Events = []
    samplers: dict[str, Sampler] = {}
    notes: list[str] = []
    checks: list[str] = []
    loops_of: dict[str, int] = {}
    for kind, sequence in sequences.items():
        loops = _loops_per_sample(_sum_bare(lambda sequence=sequence: sequence, 1), params["sample_ms"])
        loops_of[kind] = loops

        ours = _under_a_root(_sum_bare(lambda sequence=sequence: sequence, loops, track), received)

        def events_of(root: Any) -> dict[str, float]:
            count_events = len(_loop_progress_events(received, root.report_id))
            received.clear()
            return {"progress_events": count_events}

        samplers[f"bare_{kind}"] = _timed(_sum_bare(lambda sequence=sequence: sequence, loops), loops * count)
        samplers[f"track_{kind}"] = _timed(ours, loops * count, events_of)

        checks.append(_events_in_a_sample(ours, received, count, kind, loops))
        checks.append(_check_inner_step_position(lambda sequence=sequence: sequence, count, kind))
        checks.append(_check_cancel(lambda sequence=sequence: sequence, count // 2, kind))
    notes.append(
        f"ours: a fresh ProgressReport('root', sinks=[received.append]) per sample and `for x in track(seq): acc += x` "
        f"under it, `loops` times (range {loops_of['range']}, list {loops_of['list']}, tuple {loops_of['tuple']}: "
        "as many as take ≥ sample_ms for the bare loop); timed from creating the root to leaving `with root:` "
        "(complete() returns once every event reached the sink), so the flushing thread's sampling and delivery "
        f"(every min_interval = {settings().min_interval:g} s, holding the GIL) are inside the time; the sink's "
        "list is cleared after the clock stops"
    )
    notes.append(
        "bare: `for x in seq: acc += x` over the same object, the same number of times, in the same code object as "
        "ours (`for x in wrap(seq)`, wrap = track for ours, the sequence itself for bare: where a loop's bytecode "
        "sits moves its time per item by up to ±10 % here); the list and the tuple share one set of int objects "
        "0 .. items-1 (the range makes a fresh int per item, on both sides)"
    )
    notes.append("checked before timing (untimed):")
    notes += [f"  {check}" for check in checks]
    return Setup(samplers, notes)


# -- track_generator -----------------------------------------------------------------------------------


def setup_track_generator(params: dict[str, int]) -> Setup:
    """Overhead per item over a generator: ours vs rich.progress.track, tqdm and a plain generator wrapper."""
    from rich.console import Console
    from rich.progress import track as rich_track
    from tqdm import tqdm

    from progress_instrument import ProgressReport, track

    count = params["items"]
    loops = _loops_per_sample(_sum_bare(lambda: numbers(count), 1), params["sample_ms"])
    received: Events = []

    def bare() -> object:
        acc = 0
        for _ in range(loops):
            for x in numbers(count):
                acc += x
        return acc

    def ours() -> object:
        root = ProgressReport("root", sinks=[received.append])
        with root:
            acc = 0
            for _ in range(loops):
                for x in track(numbers(count)):
                    acc += x
        return root

    def with_rich(make_console: Callable[[], Any]) -> Sampler:
        consoles: list[Any] = []

        def run() -> object:
            console = consoles.pop()
            acc = 0
            for _ in range(loops):
                for x in rich_track(numbers(count), console=console):
                    acc += x
            return console

        return _with_prepare(_timed(run, loops * count), lambda: consoles.append(make_console()))

    def with_tqdm() -> object:
        output = io.StringIO()
        acc = 0
        for _ in range(loops):
            for x in tqdm(numbers(count), file=output):
                acc += x
        return output

    def plain_generator() -> object:
        acc = 0
        for _ in range(loops):
            for x in wrap(numbers(count)):
                acc += x
        return acc

    def events_of(root: Any) -> dict[str, float]:
        found = len(_loop_progress_events(received, root.report_id))
        received.clear()
        return {"progress_events": found}

    def plain_console() -> Any:
        return Console(file=io.StringIO(), width=100)

    def terminal_console() -> Any:
        return Console(file=io.StringIO(), width=100, force_terminal=True)

    total = loops * count
    samplers = {
        "bare": _timed(bare, total),
        "progress_instrument": _timed(ours, total, events_of),
        "rich": with_rich(plain_console),
        "tqdm": _timed(with_tqdm, total),
        "plain_generator": _timed(plain_generator, total),
        "rich_terminal": with_rich(terminal_console),
    }
    checks = [
        _events_in_a_sample(ours, received, count, "generator", loops),
        _check_inner_step_position(lambda: numbers(count), count, "generator"),
        _check_cancel(lambda: numbers(count), count // 2, "generator"),
    ]
    notes = [
        f"every side loops `for x in WRAPPED(numbers({count:,})): acc += x` {loops} times per sample (as many as "
        "take ≥ sample_ms bare), each loop over a fresh generator `def numbers(n): for i in range(n): yield i`; "
        "bare (no wrapper) is subtracted from every side: overhead per item. No side is given a total (a "
        "generator has no len() or length hint), so every bar is indeterminate",
        "ours: track(gen) under a fresh ProgressReport('root', sinks=[received.append]) per sample, timed "
        "until the root's complete() returned (every event delivered), as in track_sequence",
        "rich: rich.progress.track(gen, console=Console(file=io.StringIO(), width=100)), a fresh console per "
        "sample made outside the clock: not a terminal, so nothing is drawn while the loop runs (its Live "
        "refresh thread and _TrackThread still run, the task table is rebuilt at every refresh, the last frame "
        "is written at the end); rich's per-item path is a generator frame plus `track_thread.completed += 1`. "
        "It is the baseline of the target because it is the cheapest way to run rich's machinery",
        "rich_terminal (in the notes only): the same with force_terminal=True, so rich draws its bar into the "
        "StringIO 10 times a second, as it would on a terminal",
        "tqdm: tqdm(gen, file=io.StringIO()) with its defaults (mininterval 0.1 s, miniters adaptive): it "
        "writes its bar to the StringIO; plain_generator: `def wrap(it): for x in it: yield x`",
        "checked before timing (untimed):",
        *(f"  {check}" for check in checks),
    ]
    return Setup(samplers, notes, _generator_summary)


def _with_prepare(sampler: Sampler, prepare: Callable[[], None]) -> Sampler:
    """Run `prepare()` (untimed) before each sample of `sampler`."""

    def sample() -> Mapping[str, float]:
        prepare()
        return sampler()

    return sample


def _generator_summary(samples: Mapping[str, Mapping[str, Sequence[float]]]) -> list[str]:
    medians = {variant: statistics.median(values["ns_per_item"]) for variant, values in samples.items()}
    over = {variant: value - medians["bare"] for variant, value in medians.items() if variant != "bare"}
    listed = "; ".join(f"{variant} +{value:.1f}" for variant, value in over.items())
    ours = over["progress_instrument"]
    ratios = "; ".join(
        f"/ {variant} {ours / value:.3g}" for variant, value in over.items() if variant != "progress_instrument"
    )
    return [
        f"overhead per item in ns (bare {medians['bare']:.1f} ns/item subtracted, medians): {listed}",
        f"ratios of overheads, progress_instrument {ratios}",
    ]


# -- track_disabled ------------------------------------------------------------------------------------


def setup_track_disabled(params: dict[str, int]) -> Setup:
    """``track(list)`` with ``PROGRESS_INSTRUMENT_DISABLE=1`` vs the bare loop over the list."""
    already = "progress_instrument" in sys.modules
    os.environ["PROGRESS_INSTRUMENT_DISABLE"] = "1"  # this worker's own environment, before the import
    from progress_instrument import current_report, track
    from progress_instrument._config import settings

    if already or not settings().disabled_by_env:
        raise RuntimeError("PROGRESS_INSTRUMENT_DISABLE=1 was not in effect when the package was first used")
    count = params["items"]
    listed = list(range(count))
    loops = _loops_per_sample(_sum_bare(lambda: listed, 1), params["sample_ms"])
    received: Events = []

    ours = _under_a_root(_sum_bare(lambda: listed, loops, track), received)
    ours()
    iterator = iter(track(listed))
    current = None
    for _ in track(listed[:1]):
        current = current_report()
    if type(iterator) is not type(iter(listed)) or received or current is not None:
        raise RuntimeError(
            f"disabled: track(list) gave a {type(iterator).__name__}, {len(received)} events, current {current!r}"
        )
    samplers = {
        "bare": _timed(_sum_bare(lambda: listed, loops), loops * count),
        "progress_instrument": _timed(ours, loops * count),
        "bare_again": _timed(_sum_bare(lambda: listed, loops), loops * count),
    }
    notes = [
        "PROGRESS_INSTRUMENT_DISABLE=1 is set in os.environ by this figure's worker before it imports "
        "progress_instrument (run_all.py gives workers no PROGRESS_INSTRUMENT_* variable); checked: the "
        "setting is in effect, iter(track(list)) is the list's own iterator, no report is current in the body and "
        "the sink received no event",
        f"ours: `for x in track(listed): acc += x`, {loops} loops per sample (≥ sample_ms bare), under "
        "ProgressReport('root', sinks=[received.append]) (a no-op when disabled), the root's creation and end "
        f"inside the clock; bare: `for x in listed: acc += x`, the same loops; listed = list(range({count:,})); "
        "both loops run in one code object (`for x in wrap(listed)`: where a loop's bytecode sits moves its time "
        "by up to ±10 % here)",
        "so both run the same code per item (the list's iterator, then `acc += x`), and the difference is the "
        "machine's noise plus a few µs per loop for track() and the no-op root; bare_again, the bare loop once more "
        "(its own function, measured as a third variant), gives that noise floor: track_disabled_noise",
    ]
    return Setup(samplers, notes)


# -- track_inner_steps ---------------------------------------------------------------------------------


def _inner_steps_block(items: int, received: Events, *, with_track: bool = True) -> Callable[[], object]:
    """A fresh root with an in-memory sink, a loop of `items` with ``with step("s"): pass`` per item, its end.

    With `with_track` False, the loop is ``with step("loop", steps=items):`` over a bare range: the same tree
    and fractions (each finished step adds its weight 1), without track.
    """
    from progress_instrument import ProgressReport, step, track

    loop = range(items)

    def tracked() -> object:
        root = ProgressReport("root", sinks=[received.append])
        with root:
            for _ in track(loop, "loop"):
                with step("s"):
                    pass
        return root

    def stepped() -> object:
        root = ProgressReport("root", sinks=[received.append])
        with root, step("loop", steps=items):
            for _ in loop:
                with step("s"):
                    pass
        return root

    return tracked if with_track else stepped


def _kept(root: Any) -> dict[str, float]:
    (loop,) = root.children
    return {"children_kept": len(loop.children), "omitted_children": loop.omitted_children}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


#: Items of the memory probe's warm-up loop: long enough (~0.2 s) for the flushing thread to run a few times.
WARM_UP_ITEMS = 20_000


def memory_probe(items: int, loops: int) -> dict[str, float]:
    """In a fresh process: the peak growth of the resident set while `loops` loops of `items` run in turn.

    Each loop has an inner step per item, under its own fresh root, freed before the next. The peak
    (``VmHWM``) is reset through ``/proc/self/clear_refs`` once the package is imported and warmed up, so
    the figure is the high-water mark of the loops above the resident set they started from.
    """
    received: Events = []
    # First-use costs (lazy imports, the flushing thread and its first flushes) stay out of the figure.
    _inner_steps_block(WARM_UP_ITEMS, received)()
    received.clear()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current resident set (Linux >= 4.0)
    before = _status_kib("VmRSS")
    block = _inner_steps_block(items, received)
    started = time.perf_counter()
    kept: dict[str, float] = {}
    events = 0
    for _ in range(loops):
        root = block()
        kept = _kept(root)
        events += len(received)
        del root
        received.clear()
    seconds = time.perf_counter() - started
    return {"peak_rss_growth_kib": _status_kib("VmHWM") - before, "seconds": seconds, "events": events, **kept}


def setup_track_inner_steps(params: dict[str, int]) -> Setup:
    """A loop with ``with step("s"): pass`` per item: time per item at N vs N/10, memory, vs a step loop."""
    import json

    from _harness import run_probe

    count, small = params["items"], params["items"] // 10
    received: Events = []

    def timed(block: Callable[[], object], items: int) -> tuple[Sampler, int]:
        repeat = blocks_per_sample(block, received.clear)

        def sample() -> dict[str, float]:
            seconds = 0.0
            last: Any = None
            for _ in range(repeat):
                received.clear()
                started = time.perf_counter()
                root = block()
                seconds += time.perf_counter() - started
                last = root  # the previous block's root is freed here, after the clock stopped
            received.clear()
            return {"us_per_item": seconds / repeat / items * 1e6, "total_ms": seconds / repeat * 1e3, **_kept(last)}

        return sample, repeat

    def probed(items: int, loops: int) -> Sampler:
        def sample() -> dict[str, float]:
            done = run_probe([__file__, str(items), str(loops)])
            return json.loads(done.stdout.strip().splitlines()[-1])

        return sample

    samplers: dict[str, Sampler] = {}
    repeats: dict[str, int] = {}
    for name, block, items in (
        ("track_n", _inner_steps_block(count, received), count),
        ("track_n10", _inner_steps_block(small, received), small),
        ("step_loop_n10", _inner_steps_block(small, received, with_track=False), small),
    ):
        samplers[name], repeats[name] = timed(block, items)
    samplers["rss_n"] = probed(count, 1)
    samplers["rss_n10_x10"] = probed(small, 10)
    notes = [
        f"track_n: a fresh ProgressReport('root', sinks=[received.append]) and `for _ in track(range({count:,})): "
        "with step('s'): pass` under it, timed until the root's complete() returned (every event delivered), as "
        f"in steps_1e5; track_n10: the same with {small:,} items; blocks per sample: "
        f"{', '.join(f'{name} {repeat}' for name, repeat in repeats.items())} (≥ 0.1 s); the sink's list is "
        "cleared outside the clock",
        f"items = {count:,}, not 10⁶: a step costs microseconds (the `step` figure), so 10⁶ items would take tens "
        "of seconds per sample on a 2-core machine; per item does not depend on N when the loop is linear",
        f"step_loop_n10: the same {small:,} steps in `with step('loop', steps=N):` over a bare range (each finished "
        "step adds its weight 1 to the loop: the tree and fractions track makes, without track), compared with "
        "track_n10: what track adds to a body that has its own steps",
        f"rss_n: the track_n block ({count:,} items) in a fresh process per sample (`python fig_track.py ITEMS "
        f"LOOPS`); rss_n10_x10: in the same way, 10 such blocks of {small:,} items one after the other, each root "
        "freed before the next: the same steps, run time and flushes, in loops a tenth as long. After the import "
        f"and a {WARM_UP_ITEMS:,}-item warm-up loop, the peak resident set (VmHWM) is reset through "
        "/proc/self/clear_refs; peak_rss_growth_kib = VmHWM after the loops − VmRSS before them (the sink's list "
        "of a block's events included). If a loop kept its steps, the one long loop would hold 10× the nodes of "
        "the longest short one (~0.5–1.4 kB per node: the `memory` figure), about 10× the memory; comparing with "
        "the same work in short loops, rather than with one short loop, keeps apart what does not depend on a "
        "loop's length: what is pending between two flushes (the retained children, the sink's events) "
        "and the allocator's slack after many short-lived nodes. Each short loop must outlast min_interval for "
        "that: at the --quick size they do not, and the row means nothing there",
        "children_kept / omitted_children: len(loop.children) and loop.omitted_children of the loop node after "
        "the run (their sum is the items: every step was counted, only the most recent are kept)",
    ]
    return Setup(samplers, notes)


if __name__ == "__main__":
    import json

    sys.stdout.write(json.dumps(memory_probe(int(sys.argv[1]), int(sys.argv[2]))) + "\n")
