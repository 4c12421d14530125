"""The core tree under real threads (SPEC §1 "Thread-safe"): compound invariants, not single counters.

The GIL already makes a bare ``x += 1`` atomic, so each test here checks a relation between several
fields (children kept and counted, a parent's sum and its children's statuses, a parent's outcome and
its descendants') that only holds when the tree lock makes each update atomic as a whole. Every
test was seen failing against a copy of the package whose tree lock does nothing.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from progress_instrument import ProgressReport, Status
from progress_instrument._tree import RETAINED_FAILED, RETAINED_FINISHED

THREADS = 8
UNFINISHED = "unfinished when parent finished"

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _tiny_switch_interval() -> Iterator[None]:
    """Switch threads as often as CPython allows, so interleavings happen in every test."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def root(steps: int = 0) -> ProgressReport:
    return ProgressReport("root", steps=steps, sinks=[])


def in_threads(work: Callable[[int], T], count: int = THREADS, barriers: Sequence[threading.Barrier] = ()) -> list[T]:
    """Run `work(index)` in `count` threads started together and return their results.

    A failure in one thread breaks `barriers`, so the others stop waiting, and is re-raised here
    (rather than the `BrokenBarrierError` it caused elsewhere).
    """
    start = threading.Barrier(count, timeout=60)

    def run(index: int) -> T:
        start.wait()
        try:
            return work(index)
        except BaseException:
            for barrier in barriers:
                barrier.abort()
            raise

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(run, index) for index in range(count)]
        errors = [error for error in (future.exception() for future in futures) if error is not None]
    causes = [error for error in errors if not isinstance(error, threading.BrokenBarrierError)]
    if causes or errors:
        raise (causes or errors)[0]
    return [future.result() for future in futures]


def walk(report: ProgressReport) -> Iterator[ProgressReport]:
    stack = [report]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


class TestChildrenCreatedAndFinishedFromManyThreads:
    PARENTS = 100
    PER_THREAD = 26  # 8 threads x 26 = 208 children per parent: over both retention bounds

    def test_every_child_is_kept_or_counted_and_the_kept_ones_are_the_most_recent(self) -> None:
        """Thousands of short children from 8 threads: kept + omitted = created, bounds exact, sums exact."""
        per_thread = self.PER_THREAD
        per_parent = THREADS * per_thread
        top = root()
        parents = [top.create_subreport(f"parent {index}", steps=2 * per_parent) for index in range(self.PARENTS)]
        barrier = threading.Barrier(THREADS, timeout=60)

        def work(thread: int) -> list[tuple[list[str], list[str]]]:
            finished = []
            for parent in parents:
                children = [parent.create_subreport(f"{thread}/{index}") for index in range(per_thread)]
                successes: list[str] = []
                failures: list[str] = []
                # Every thread finishes its first children of this parent at once, then the rest.
                barrier.wait()
                for index, child in enumerate(children):
                    if index % 2:
                        child.complete(Status.ERROR, error=f"failed {thread}/{index}")
                        failures.append(child.report_id)
                    else:
                        child.complete()
                        successes.append(child.report_id)
                finished.append((successes, failures))
            return finished

        results = in_threads(work, barriers=[barrier])

        for number, parent in enumerate(parents):
            kept = parent.children
            assert len(kept) + parent.omitted_children == per_parent
            assert len({child.report_id for child in kept}) == len(kept)
            assert parent._running_count == 0
            assert parent.fraction == 0.5  # every child's weight counted exactly once
            assert all(child.finished for child in kept)
            assert sum(child.status is Status.SUCCESS for child in kept) == RETAINED_FINISHED
            assert sum(child.status is Status.ERROR for child in kept) == RETAINED_FAILED
            kept_ids = {child.report_id for child in kept}
            for finished in results:
                successes, failures = finished[number]
                # Within one thread the finishing order is known: what is kept of it is its most recent.
                for sequence in (successes, failures):
                    flags = [report_id in kept_ids for report_id in sequence]
                    assert flags == sorted(flags), "an older child is kept while a newer one was dropped"


class TestFractionReadWhileTheTreeChanges:
    CHILDREN_PER_THREAD = 300

    def test_reads_stay_in_range_and_never_decrease(self) -> None:
        """A thread reading the root's fraction during concurrent advances and finishes sees it only grow."""
        per_thread = self.CHILDREN_PER_THREAD
        units = THREADS * per_thread + 1  # one unit more than the work, so the fraction is never capped
        parent = root(steps=units)
        done = threading.Event()
        reads: list[float] = []

        def read() -> None:
            while not done.is_set():
                reads.append(parent.fraction)

        def work(thread: int) -> None:
            for index in range(per_thread):
                child = parent.create_subreport(f"{thread}/{index}", steps=4)
                inner = child.create_subreport("inner", steps=2, weight=2)
                child.advance()
                inner.advance()
                child.advance()
                if index % 4 == 0:
                    child.complete()  # finishes the running `inner` too
                else:
                    inner.complete()
                    child.complete()

        with ThreadPoolExecutor(1) as reader:
            reading = reader.submit(read)
            try:
                in_threads(work, THREADS - 1)
            finally:
                done.set()
            reading.result()

        assert reads, "the reader never ran"
        assert all(0.0 <= value <= 1.0 for value in reads)
        drops = [(before, after) for before, after in itertools.pairwise(reads) if after < before]
        assert not drops, f"{len(drops)} reads went down, e.g. {drops[:3]}"
        assert parent.fraction == (THREADS - 1) * per_thread / units


class TestConcurrentCompleteOfOneReport:
    ROUNDS = 300

    def test_exactly_one_outcome_stands_and_the_report_finishes_once(self) -> None:
        """8 threads completing one report at once: one whole outcome, its descendants agree, parent counts it once."""
        rounds = self.ROUNDS
        parent = root(steps=2 * rounds)
        reports = []
        for index in range(rounds):
            report = parent.create_subreport(f"contested {index}")
            report.create_subreport("grandchild").create_subreport("great-grandchild")
            reports.append(report)

        def work(thread: int) -> None:
            for report in reports:
                barrier.wait()
                if thread % 2 == 0:
                    report.complete()
                else:
                    report.complete(Status.ERROR, error=f"thread {thread}")

        barrier = threading.Barrier(THREADS, timeout=60)
        in_threads(work, barriers=[barrier])

        assert parent._running_count == 0
        assert len(parent.children) + parent.omitted_children == rounds
        assert parent.fraction == 0.5  # each report counted once by its parent
        for report in reports:
            assert report.status in (Status.SUCCESS, Status.ERROR)
            if report.status is Status.SUCCESS:
                assert report.error is None
            else:
                assert report.error in {f"thread {thread}" for thread in range(1, THREADS, 2)}
            (grandchild,) = report.children
            (great,) = grandchild.children
            assert report._running_count == 0
            assert grandchild._running_count == 0
            for descendant in (grandchild, great):
                assert descendant.status is Status.ERROR
                if report.status is Status.ERROR:
                    assert descendant.error == report.error, "descendants carry the outcome that stood"
                else:
                    assert descendant.error is not None
                    assert UNFINISHED in descendant.error.lower()


class TestCancelWhileChildrenAreCreated:
    ROUNDS = 20
    BEFORE = 60
    AFTER = 60

    def test_every_child_ends_cancelled_and_none_is_lost(self) -> None:
        """cancel() racing with creation: afterwards every report in the tree is cancelled and counted."""
        for _ in range(self.ROUNDS):
            self.cancel_during_creation()

    def cancel_during_creation(self) -> None:
        parent = root()
        barrier = threading.Barrier(THREADS, timeout=60)
        cancel_returned = threading.Event()

        def create(thread: int) -> list[tuple[ProgressReport, bool]]:
            created: list[tuple[ProgressReport, bool]] = []
            # Each thread also grows a chain of its own, so the tree cancel() walks is deep.
            under = parent.create_subreport(f"{thread}")
            created.append((under, False))
            for index in range(self.BEFORE + self.AFTER):
                if index == self.BEFORE:
                    barrier.wait()
                after = cancel_returned.is_set()
                target = parent if index % 2 else under
                child = target.create_subreport(f"{thread}/{index}")
                created.append((child, after))
                if index % 10 == 0:
                    under = child
            return created

        def work(thread: int) -> list[tuple[ProgressReport, bool]]:
            if thread:
                return create(thread)
            barrier.wait()
            assert parent.cancel() is True
            cancel_returned.set()
            return []

        created = [entry for result in in_threads(work, barriers=[barrier]) for entry in result]
        for child, after in created:
            if after:
                assert child.cancelled, "a child created after cancel() returned is not cancelled"
        nodes = list(walk(parent))
        assert len(nodes) == len(created) + 1, "a child was lost"
        assert all(node.omitted_children == 0 for node in nodes)
        uncancelled = [node.step_message for node in nodes if not node.cancelled]
        assert not uncancelled, f"cancel() missed {len(uncancelled)} reports: {uncancelled[:5]}"
