"""The current report (SPEC §3): a ContextVar with guarded restoring."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator

from progress_instrument import ProgressReport, current_report, use_report


def root(message: str = "root") -> ProgressReport:
    return ProgressReport(message, sinks=[])


class TestUseReport:
    def test_nothing_is_current_by_default(self) -> None:
        """Outside any block there is no current report."""
        assert current_report() is None

    def test_use_report_makes_current_without_finishing(self) -> None:
        """use_report() sets and restores the current report and leaves the report running."""
        outer, inner = root("outer"), root("inner")
        with use_report(outer):
            with use_report(inner) as entered:
                assert entered is inner
                assert current_report() is inner
            assert current_report() is outer
        assert current_report() is None
        assert not outer.finished and not inner.finished

    def test_blocks_closed_out_of_order_never_revive_a_stale_report(self) -> None:
        """Closing an outer block first, then the inner one, leaves neither current."""
        outer, inner = root("outer"), root("inner")
        outer_block, inner_block = use_report(outer), use_report(inner)
        outer_block.__enter__()
        inner_block.__enter__()
        outer_block.__exit__(None, None, None)  # out of order: inner is current, so nothing is touched
        assert current_report() is inner
        inner_block.__exit__(None, None, None)
        assert current_report() is not inner

    def test_generator_closed_from_another_context_does_not_raise(self) -> None:
        """A generator holding use_report() finalised in another Context neither raises nor leaks there."""
        report = root()

        def holding() -> Iterator[int]:
            with use_report(report):
                yield 1

        def scenario() -> tuple[object, object]:
            generator = holding()
            next(generator)  # an undecorated generator leaks its block into its consumer (SPEC §3)
            closer = contextvars.copy_context()
            closer.run(generator.close)  # reset() with a foreign token must not raise
            return closer.run(current_report), current_report()

        in_closer, in_consumer = contextvars.copy_context().run(scenario)
        assert in_closer is None
        assert in_consumer is report


class TestAsyncio:
    def test_tasks_inherit_the_current_report_and_stay_apart(self) -> None:
        """Tasks see the report current at their creation; their own changes never leak."""
        parent = root("parent")
        seen: dict[str, object] = {}

        async def worker(name: str) -> None:
            seen[f"{name} start"] = current_report()
            with use_report(root(name)) as mine:
                await asyncio.sleep(0)
                seen[name] = current_report() is mine

        async def main() -> None:
            with use_report(parent):
                await asyncio.gather(worker("a"), worker("b"))
                seen["after"] = current_report()

        asyncio.run(main())
        assert seen["a start"] is seen["b start"] is seen["after"] is parent
        assert seen["a"] is True and seen["b"] is True
