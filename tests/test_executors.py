"""Thread executors (SPEC §8): work handed to other threads runs under the report current at hand-over."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from progress_instrument import ProgressReport, Status, current_report, step, use_report
from progress_instrument.executors import ProgressThreadPoolExecutor, in_current_context


def root(message: str = "root", **kwargs: object) -> ProgressReport:
    return ProgressReport(message, sinks=[], **kwargs)  # type: ignore[arg-type]


class BadInput(Exception):
    """A user's own exception type, defined outside builtins."""


def run_in_thread(function: object) -> None:
    worker = threading.Thread(target=function)  # type: ignore[arg-type]
    worker.start()
    worker.join()


def parent_of_a_step(index: int) -> ProgressReport | None:
    with step(f"task {index}") as task:
        return task.parent


class TestInCurrentContext:
    def test_thread_sees_the_report_current_at_wrap_time(self) -> None:
        """A function wrapped under a report sees that report current in another thread."""
        seen: list[ProgressReport | None] = []
        with root() as job:
            run_in_thread(in_current_context(lambda: seen.append(current_report())))
        assert seen == [job]

    def test_unwrapped_function_sees_nothing_in_another_thread(self) -> None:
        """Without wrapping, a new thread starts with no current report (what the wrapper is for)."""
        seen: list[ProgressReport | None] = []
        with root():
            run_in_thread(lambda: seen.append(current_report()))
        assert seen == [None]

    def test_steps_in_the_thread_are_children_of_the_wrapped_report(self) -> None:
        """Steps opened in the thread nest under the report current at wrap time."""
        inner: list[ProgressReport] = []

        def work() -> None:
            with step("in thread") as outer_step:
                with step("nested") as nested:
                    inner.append(nested)
                inner.append(outer_step)

        with root() as job:
            with step("submitting") as submitting:
                run_in_thread(in_current_context(work))
            assert current_report() is job
        nested, outer_step = inner
        assert submitting.children == [outer_step]
        assert outer_step.children == [nested]
        assert outer_step.status is nested.status is Status.SUCCESS

    def test_report_is_the_one_current_at_wrap_time_not_at_call_time(self) -> None:
        """The wrapper pins the report current when it was made, and restores the caller's after."""
        first, second = root("first"), root("second")
        with use_report(first):
            wrapped = in_current_context(current_report)
        with use_report(second):
            assert wrapped() is first
            assert current_report() is second

    def test_without_a_current_report_the_function_is_returned_unchanged(self) -> None:
        """With nothing current there is nothing to carry: the same function comes back."""

        def work() -> int:
            return 1

        assert current_report() is None
        assert in_current_context(work) is work

    def test_wrapper_passes_arguments_results_and_exceptions_through(self) -> None:
        """The wrapped callable behaves as the original: arguments, return value, same exception object."""
        error = BadInput("bad")

        def work(a: int, *, b: int) -> int:
            """Add them up."""
            if a < 0:
                raise error
            return a + b

        with root():
            wrapped = in_current_context(work)
        assert wrapped(1, b=2) == 3
        assert wrapped.__name__ == "work" and wrapped.__doc__ == "Add them up."
        with pytest.raises(BadInput) as caught:
            wrapped(-1, b=0)
        assert caught.value is error
        assert current_report() is None

    def test_thread_is_left_without_a_current_report_after_the_call(self) -> None:
        """After the wrapped call returns, the thread's own context no longer holds the report."""
        after: list[ProgressReport | None] = []

        with root():
            wrapped = in_current_context(lambda: None)

        def thread_body() -> None:
            wrapped()
            after.append(current_report())

        run_in_thread(thread_body)
        assert after == [None]


class TestProgressThreadPoolExecutor:
    def test_is_a_thread_pool_executor(self) -> None:
        """It is a drop-in `ThreadPoolExecutor`."""
        with ProgressThreadPoolExecutor(max_workers=1) as pool:
            assert isinstance(pool, ThreadPoolExecutor)

    def test_submit_runs_under_the_report_current_at_submit_time(self) -> None:
        """A submitted task sees the report current when it was submitted."""
        with root() as job, ProgressThreadPoolExecutor(max_workers=8) as pool:
            future = pool.submit(current_report)
            assert future.result() is job

    def test_map_runs_under_the_report_current_at_map_time(self) -> None:
        """Every call of map() sees the report current when map() was called."""
        with root() as job, ProgressThreadPoolExecutor(max_workers=8) as pool:
            seen = list(pool.map(lambda _: current_report(), range(50)))
        assert seen == [job] * 50

    def test_map_passes_several_iterables_and_keeps_order(self) -> None:
        """map() keeps ThreadPoolExecutor's contract: zipped arguments, results in order."""
        with root(), ProgressThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(pow, [2, 3, 4], [3, 2, 1])) == [8, 9, 4]

    def test_submit_passes_arguments_and_exceptions_through(self) -> None:
        """submit() passes positional and keyword arguments, and the task's exception object."""
        error = BadInput("bad")

        def work(a: int, *, b: int) -> int:
            if a < 0:
                raise error
            return a + b

        with root(), ProgressThreadPoolExecutor(max_workers=2) as pool:
            assert pool.submit(work, 1, b=2).result() == 3
            with pytest.raises(BadInput) as caught:
                pool.submit(work, -1, b=0).result()
        assert caught.value is error

    def test_tasks_submitted_with_nothing_current_see_nothing(self) -> None:
        """A worker thread reused after a task under a report does not keep that report current."""
        with ProgressThreadPoolExecutor(max_workers=1) as pool:
            with root() as job:
                assert pool.submit(current_report).result() is job
            assert pool.submit(current_report).result() is None
            assert list(pool.map(lambda _: current_report(), range(3))) == [None] * 3

    def test_every_one_of_400_concurrent_steps_is_accounted_for(self) -> None:
        """400 tasks on 8 workers each doing `with step()` all land under the root, all finished success."""
        count = 400
        with root(steps=count) as job:
            with ProgressThreadPoolExecutor(max_workers=8) as pool:
                futures = [pool.submit(parent_of_a_step, index) for index in range(count)]
                parents = [future.result() for future in futures]
            assert parents == [job] * count
            assert len(job.children) + job.omitted_children == count
            assert all(child.status is Status.SUCCESS for child in job.children)
            assert job.fraction == 1.0
            assert job.status is Status.RUNNING
        assert job.status is Status.SUCCESS

    def test_fraction_counts_every_task_step_while_some_are_still_running(self) -> None:
        """While some task steps are held open, the root's fraction counts exactly the finished ones."""
        count, held = 400, 8
        entered = threading.Barrier(held + 1, timeout=60)  # a timeout only so a failure cannot hang
        release = threading.Event()

        def hold(index: int) -> None:
            with step(f"held {index}"):
                entered.wait()
                assert release.wait(timeout=60)

        with root(steps=count) as job, ProgressThreadPoolExecutor(max_workers=8) as pool:
            holding = [pool.submit(hold, index) for index in range(held)]
            entered.wait()  # every worker is inside a held step: the rest queue behind them
            quick = [pool.submit(parent_of_a_step, index) for index in range(count - held)]
            assert job.fraction == 0.0
            release.set()
            wait(holding)
            wait(quick)
            assert job.fraction == 1.0
            assert len(job.children) + job.omitted_children == count

    def test_tasks_submitted_from_different_steps_land_under_their_own_step(self) -> None:
        """Tasks submitted inside step A nest under A, those submitted inside step B under B."""
        per_step = 40
        with root() as job, ProgressThreadPoolExecutor(max_workers=8) as pool:
            with step("A") as a:
                from_a = [pool.submit(parent_of_a_step, index) for index in range(per_step)]
                with step("B") as b:
                    from_b = list(pool.map(parent_of_a_step, range(per_step)))
                    from_b_submitted = [pool.submit(parent_of_a_step, index) for index in range(per_step)]
                    wait(from_b_submitted)
                wait(from_a)
            with step("C") as c:
                from_c = [pool.submit(parent_of_a_step, index) for index in range(per_step)]
                wait(from_c)
        assert [future.result() for future in from_a] == [a] * per_step
        assert from_b == [b] * per_step
        assert [future.result() for future in from_b_submitted] == [b] * per_step
        assert [future.result() for future in from_c] == [c] * per_step
        assert b.parent is a
        assert len(b.children) + b.omitted_children == 2 * per_step
        assert [child.step_message for child in job.children] == ["A", "C"]
