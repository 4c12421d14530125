"""`step` (SPEC §4) as a sync/async context manager: a child of the current report, current in its block.

The decorator form, `@step`, is tested in test_step_decorator.py.
"""

from __future__ import annotations

import asyncio

import pytest
from _step_helpers import EXIT_PATHS, BadInput, Park, cancel_once_parked, frames_of, root

from progress_instrument import ProgressCancelled, ProgressReport, Status, current_report, step, use_report


class TestWithStep:
    def test_step_is_a_child_of_the_current_report_and_current_inside(self) -> None:
        """`with step()` adds a running child to the current report and makes it current in the block."""
        with root() as job:
            with step("Loading") as loading:
                assert current_report() is loading
                assert loading.parent is job
                assert job.children == [loading]
                assert loading.step_message == "Loading"
                assert loading.status is Status.RUNNING
            assert current_report() is job
            assert loading.status is Status.SUCCESS

    def test_nested_steps_form_a_chain_and_restore_each_level(self) -> None:
        """Each nested step is a child of the one around it, and leaving it restores that one."""
        with root() as job:
            with step("outer") as outer:
                with step("inner") as inner:
                    assert inner.parent is outer
                    assert current_report() is inner
                assert current_report() is outer
                with step("second inner") as second:
                    assert second.parent is outer
            assert [child.step_message for child in outer.children] == ["inner", "second inner"]
            assert current_report() is job

    def test_step_under_use_report_is_a_child_of_that_report(self) -> None:
        """The parent is whatever report is current, also one made current by use_report()."""
        job = root()
        with use_report(job):
            with step("part") as part:
                assert part.parent is job
        assert not job.finished

    def test_without_a_current_report_step_is_a_root(self) -> None:
        """With nothing current, a step is a new root, current inside and finished on exit."""
        with step("alone", steps=3, unit="files", attributes={"host": "a"}) as alone:
            assert alone.parent is None
            assert current_report() is alone
            assert alone.steps == 3
            assert alone.unit == "files"
            assert alone.attributes == {"host": "a"}
        assert current_report() is None
        assert alone.status is Status.SUCCESS

    def test_each_entry_opens_a_new_report(self) -> None:
        """One `step(...)` object entered twice in a row opens two children."""
        loading = step("Loading")
        with root() as job:
            with loading as first:
                pass
            with loading as second:
                pass
        assert first is not second
        assert job.children == [first, second]
        assert first.status is second.status is Status.SUCCESS

    def test_one_step_object_nested_in_itself_finishes_the_inner_one_first(self) -> None:
        """Re-entering the same `step(...)` object inside its own block nests, and exits unwind in order."""
        repeated = step("again")
        with root():
            with repeated as outer:
                with repeated as inner:
                    assert inner.parent is outer
                assert inner.finished and not outer.finished
                assert current_report() is outer
            assert outer.finished


class TestAsyncWithStep:
    def test_async_step_is_a_child_current_inside_and_restored_after(self) -> None:
        """`async with step()` works as `with step()` does, across awaits."""
        seen: dict[str, object] = {}

        async def main() -> None:
            with root() as job:
                async with step("Fetching", steps=2) as fetching:
                    await asyncio.sleep(0)
                    seen["inside"] = current_report()
                    seen["parent"] = fetching.parent
                    seen["job"] = job
                seen["after"] = current_report()
                seen["status"] = fetching.status

        asyncio.run(main())
        assert seen["inside"] is not None and seen["inside"] is not seen["job"]
        assert seen["parent"] is seen["job"]
        assert seen["after"] is seen["job"]
        assert seen["status"] is Status.SUCCESS

    def test_async_step_without_a_current_report_is_a_root(self) -> None:
        """With nothing current, `async with step()` makes a root."""

        async def main() -> ProgressReport:
            async with step("alone") as alone:
                assert current_report() is alone
            assert current_report() is None
            return alone

        alone = asyncio.run(main())
        assert alone.parent is None
        assert alone.status is Status.SUCCESS

    def test_gathered_tasks_nest_under_their_own_step_never_under_each_other(self) -> None:
        """200 concurrent tasks with nested `async with step()` build exactly one branch each."""
        count = 200
        relations: list[tuple[int, ProgressReport, ProgressReport, ProgressReport | None]] = []

        shapes: list[tuple[str, Status, list[tuple[str, Status]]]] = []

        async def main() -> ProgressReport:
            all_inside, release = asyncio.Event(), asyncio.Event()
            inside = 0

            async def worker(index: int) -> None:
                nonlocal inside
                async with step(f"task {index}") as task_report:
                    await asyncio.sleep(0)
                    async with step(f"inner {index}") as inner:
                        await asyncio.sleep(0)
                        inside += 1
                        if inside == count:
                            all_inside.set()
                        await release.wait()
                        assert current_report() is inner
                        relations.append((index, task_report, inner, inner.parent))
                    await asyncio.sleep(0)
                    assert current_report() is task_report

            async def snapshot_when_all_inside(outer: ProgressReport) -> None:
                await all_inside.wait()
                shapes.extend(
                    (child.step_message, child.status, [(inner.step_message, inner.status) for inner in child.children])
                    for child in outer.children
                )
                release.set()

            with root():
                async with step("outer", steps=count) as outer:
                    await asyncio.gather(snapshot_when_all_inside(outer), *(worker(index) for index in range(count)))
                    assert current_report() is outer
                    assert outer.fraction == 1.0
            return outer

        outer = asyncio.run(main())
        running = Status.RUNNING
        expected = [(f"task {index}", running, [(f"inner {index}", running)]) for index in range(count)]
        assert sorted(shapes) == sorted(expected)
        assert len(relations) == count
        for index, task_report, inner, inner_parent in relations:
            assert task_report.parent is outer
            assert task_report.step_message == f"task {index}"
            assert inner_parent is task_report
            assert inner.step_message == f"inner {index}"
        assert outer.status is Status.SUCCESS
        assert len(outer.children) + outer.omitted_children == count
        assert all(child.status is Status.SUCCESS for child in outer.children)

    def test_one_step_object_shared_by_concurrent_tasks_keeps_them_apart(self) -> None:
        """Tasks entering the same `step(...)` object each get, keep and finish their own report."""
        shared = step("shared")
        seen: dict[str, object] = {}

        async def worker(name: str) -> None:
            async with shared as mine:
                seen[name] = mine
                await asyncio.sleep(0)  # both tasks are inside before either leaves
                seen[f"{name} current before exit"] = current_report() is mine
                seen[f"{name} running before exit"] = not mine.finished
            seen[f"{name} current after exit"] = current_report()
            seen[f"{name} finished after exit"] = mine.finished

        async def main() -> ProgressReport:
            with root() as job:
                await asyncio.gather(worker("a"), worker("b"))
            return job

        job = asyncio.run(main())
        assert seen["a"] is not seen["b"]
        for name in ("a", "b"):
            assert seen[f"{name} current before exit"] is True
            assert seen[f"{name} running before exit"] is True
            assert seen[f"{name} current after exit"] is job
            assert seen[f"{name} finished after exit"] is True

    def test_cancelling_the_task_finishes_its_step_cancelled(self) -> None:
        """A task cancelled inside `async with step()` finishes the step `error` with cancelled=True."""
        steps: list[ProgressReport] = []

        async def worker(park: Park) -> None:
            async with step("waiting") as waiting:
                steps.append(waiting)
                await park()

        async def main() -> ProgressReport:
            with root() as job:
                await cancel_once_parked(worker)
                assert current_report() is job
            return job

        job = asyncio.run(main())
        [waiting] = steps
        assert job.children == [waiting]
        assert waiting.status is Status.ERROR
        assert waiting.cancelled is True
        assert waiting.error is not None and waiting.error.startswith("CancelledError")


class TestExitPaths:
    def test_escaping_exception_fails_the_step_and_propagates_unchanged(self) -> None:
        """The same exception object propagates with the user's frame in its traceback."""
        error = BadInput("bad grid")

        def users_code() -> None:
            raise error

        with root() as job:
            with pytest.raises(BadInput) as caught:
                with step("Loading") as loading:
                    users_code()
            assert current_report() is job
        assert caught.value is error
        assert "users_code" in frames_of(caught.value)
        assert loading.status is Status.ERROR
        assert loading.error == "BadInput: bad grid"
        assert loading.cancelled is False

    @EXIT_PATHS
    def test_exit_paths_of_a_with_block(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """Each exit path of SPEC §1 finishes the step as specified and re-raises the same object."""
        with root() as job:
            with pytest.raises(type(exception)) as caught:
                with step("work") as work:
                    raise exception
            assert current_report() is job
        assert caught.value is exception
        assert work.status is status
        assert work.cancelled is cancelled
        if status is Status.ERROR:
            assert work.error and work.error.startswith(type(exception).__name__)
        else:
            assert work.error is None

    @EXIT_PATHS
    def test_exit_paths_of_an_async_with_block(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """`async with step()` follows the same exit paths as `with step()`."""

        async def main() -> tuple[ProgressReport, BaseException, object]:
            with root() as job:
                try:
                    async with step("work") as work:
                        await asyncio.sleep(0)
                        raise exception
                except BaseException as caught:  # every exit path, caught to inspect it inside the loop
                    return work, caught, current_report() is job
            raise AssertionError("the exception did not propagate")

        work, caught, job_restored = asyncio.run(main())
        assert caught is exception
        assert job_restored is True
        assert work.status is status
        assert work.cancelled is cancelled

    def test_normal_exit_succeeds_with_no_error(self) -> None:
        """A block that ends normally finishes its step `success` with fraction 1."""
        with root():
            with step("work", steps=5) as work:
                work.advance(2)
        assert work.status is Status.SUCCESS
        assert work.error is None
        assert work.fraction == 1.0
        assert work.finished_at is not None


class TestCancellation:
    def test_entering_under_a_cancelled_report_raises_and_creates_no_child(self) -> None:
        """`with step()` under a cancelled report raises ProgressCancelled on entry and adds nothing."""
        body_ran = False
        with root() as job:
            job.cancel()
            with pytest.raises(ProgressCancelled):
                with step("never"):
                    body_ran = True
            assert current_report() is job
        assert not body_ran
        assert job.children == []
        assert job.omitted_children == 0

    def test_entering_under_a_cancelled_ancestor_raises(self) -> None:
        """A cancel reaches running descendants, so a step under any of them raises."""
        with root() as job:
            with step("outer") as outer:
                job.cancel()
                with pytest.raises(ProgressCancelled):
                    with step("never"):
                        pass
        assert outer.children == []
        assert outer.status is Status.SUCCESS and outer.cancelled

    def test_async_entering_under_a_cancelled_report_raises(self) -> None:
        """`async with step()` under a cancelled report raises ProgressCancelled on entry."""

        async def main() -> ProgressReport:
            with root() as job:
                job.cancel()
                with pytest.raises(ProgressCancelled):
                    async with step("never"):
                        pass
            return job

        job = asyncio.run(main())
        assert job.children == []

    def test_progress_cancelled_in_the_body_fails_the_step_cancelled(self) -> None:
        """check() in the block after a cancel finishes the step `error` with cancelled=True."""
        with root() as job:
            with pytest.raises(ProgressCancelled):
                with step("work") as work:
                    job.cancel()
                    work.check()
        assert work.status is Status.ERROR
        assert work.cancelled is True


class TestArguments:
    def test_steps_weight_unit_and_attributes_reach_the_report(self) -> None:
        """Every argument of step() ends up on the child report."""
        with root(steps=4):
            with step("files", steps=10, weight=2, unit="files", attributes={"n": 3, "dry": True}) as files:
                assert files.steps == 10
                assert files.weight == 2.0
                assert files.unit == "files"
                assert files.attributes == {"n": 3, "dry": True}

    def test_parent_fraction_reflects_the_weight(self) -> None:
        """A running step adds weight × its fraction to the parent, a finished one its whole weight."""
        with root(steps=4) as job:
            with step("half of the job", steps=2, weight=2) as half:
                half.advance()
                assert job.fraction == 0.25
            assert job.fraction == 0.5
            with step("a quarter", weight=1):
                assert job.fraction == 0.5  # indeterminate while running
            assert job.fraction == 0.75
            assert job.completed == 0.0

    def test_weight_zero_adds_nothing(self) -> None:
        """A step of weight 0 never moves its parent."""
        with root(steps=1) as job:
            with step("free", weight=0):
                pass
            assert job.fraction == 0.0

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"steps": -1}, ValueError),
            ({"steps": 1.5}, TypeError),
            ({"weight": -1}, ValueError),
            ({"weight": float("nan")}, ValueError),
            ({"unit": 3}, TypeError),
            ({"attributes": {"k": [1]}}, TypeError),
        ],
        ids=["negative-steps", "float-steps", "negative-weight", "nan-weight", "int-unit", "list-attribute"],
    )
    def test_bad_arguments_raise_at_the_call(self, kwargs: dict[str, object], error: type[Exception]) -> None:
        """Bad arguments raise when step(...) is called, before any block is entered or child created."""
        with root() as job:
            with pytest.raises(error):
                step("x", **kwargs)  # type: ignore[arg-type]
        assert job.children == []

    def test_message_must_be_a_str(self) -> None:
        """A non-str message raises TypeError at the step(...) call."""
        with pytest.raises(TypeError, match="message"):
            step(3)  # type: ignore[arg-type]
