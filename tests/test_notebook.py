"""The Jupyter default: one display per root, updated in place, throttled, ending on the final tree."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

from progress_instrument import ProgressReport, _config
from progress_instrument._notebook import in_jupyter_kernel, render_html, render_text
from progress_instrument.sinks import NotebookSink
from progress_instrument.testing import capture_events


class FakeHandle:
    def __init__(self, bundles: list[dict[str, str]]) -> None:
        self.bundles = bundles

    def update(self, bundle: dict[str, str], *, raw: bool) -> None:
        assert raw
        self.bundles.append(bundle)


class FakeDisplay:
    """IPython's display() as a kernel has it (a handle), or as a plain interpreter has it (None)."""

    def __init__(self, *, kernel: bool = True) -> None:
        self.kernel = kernel
        self.displays: list[list[dict[str, str]]] = []

    def __call__(self, bundle: dict[str, str], *, raw: bool, display_id: bool) -> FakeHandle | None:
        assert raw and display_id
        self.displays.append([bundle])
        return FakeHandle(self.displays[-1]) if self.kernel else None


class TestDisplayInPlace:
    def test_a_root_is_displayed_once_then_updated_until_its_final_tree(self) -> None:
        """The start makes one display; changes update it; the finish shows the finished tree."""
        display = FakeDisplay()
        with capture_events() as captured:
            with ProgressReport("Job", steps=2, sinks=[NotebookSink(display=display)]) as job:
                captured.clock.advance(0.1)
                with job.create_subreport("Load", steps=4, unit="files") as load:
                    load.advance(2)
                    captured.clock.advance(0.1)
                    load.advance(2)
        assert len(display.displays) == 1
        bundles = display.displays[0]
        assert bundles[0]["text/plain"] == "• Job [....................] 0% 0/2"
        assert "• Load [##########..........] 50% 2/4 files" in [b["text/plain"] for b in bundles][1].splitlines()[1]
        assert bundles[-1]["text/plain"] == (
            "✓ Job [####################] 100%\n  ✓ Load [####################] 100% 4/4 files"
        )
        assert "Load" in bundles[-1]["text/html"] and "100%" in bundles[-1]["text/html"]

    def test_updates_are_throttled_to_min_interval(self) -> None:
        """A loop changing every 10 ms updates the display at most once per min_interval (0.1 s)."""
        display = FakeDisplay()
        with capture_events(min_interval=0.01) as captured:
            with ProgressReport("Loop", steps=100, sinks=[NotebookSink(display=display, min_interval=0.1)]) as loop:
                for _ in range(100):
                    loop.advance()
                    captured.clock.advance(0.01)
        updates = len(display.displays[0]) - 1
        assert 9 <= updates <= 11

    def test_each_root_gets_its_own_display(self) -> None:
        """Two roots in a row make two displays, each ending on its own tree."""
        display = FakeDisplay()
        sink = NotebookSink(display=display)
        with capture_events():
            ProgressReport("First", sinks=[sink]).complete()
            ProgressReport("Second", sinks=[sink]).complete()
        assert [bundles[-1]["text/plain"].split(" [")[0] for bundles in display.displays] == ["✓ First", "✓ Second"]

    def test_without_a_kernel_the_start_and_the_end_are_shown(self) -> None:
        """When display() gives no handle (no kernel), the final tree is displayed anew at the finish."""
        display = FakeDisplay(kernel=False)
        with capture_events() as captured:
            with ProgressReport("Job", steps=3, sinks=[NotebookSink(display=display)]) as job:
                captured.clock.advance(0.1)
                job.advance(3)
                captured.clock.advance(0.1)
        assert [bundles[0]["text/plain"] for bundles in display.displays] == [
            "• Job [....................] 0% 0/3",
            "✓ Job [####################] 100% 3/3",
        ]

    def test_a_long_loop_keeps_the_sink_small(self) -> None:
        """Finished children are forgotten by the sink; the rebuilt tree stays bounded too."""
        sink = NotebookSink(display=FakeDisplay())
        with capture_events() as captured:
            with ProgressReport("Loop", steps=500, sinks=[sink]) as loop:
                for index in range(500):
                    with loop.create_subreport(f"item {index}"):
                        captured.clock.advance(0.1)
                known = len(sink._views)
        assert known <= 2 and sink._views == {}


class TestRendering:
    def test_failures_show_their_error_and_html_is_escaped(self) -> None:
        """A failed child shows its error; messages cannot inject HTML."""
        with capture_events(), pytest.raises(ValueError):
            with ProgressReport("<b>Job</b>", sinks=[]) as job:
                with job.create_subreport("Parse"):
                    raise ValueError("bad <row>")
        assert render_text(job).splitlines()[1] == "  ✗ Parse [####################] 100% ValueError: bad <row>"
        page = render_html(job)
        assert "<b>Job" not in page and "&lt;b&gt;Job&lt;/b&gt;" in page and "bad &lt;row&gt;" in page

    def test_long_loops_draw_a_bounded_tree(self) -> None:
        """Past max_children, running and failed children stay and the rest are counted."""
        with ProgressReport("Loop", steps=50, sinks=[]) as loop:
            for index in range(40):
                loop.create_subreport(f"item {index}").complete()
            running = loop.create_subreport("current")
            lines = render_text(loop, max_children=5).splitlines()
            running.complete()
        assert lines[1:] == [
            "  ✓ item 36 [####################] 100%",
            "  ✓ item 37 [####################] 100%",
            "  ✓ item 38 [####################] 100%",
            "  ✓ item 39 [####################] 100%",
            "  • current [~~~~~~~~~~~~~~~~~~~~]",
            "  … 36 more",
        ]

    def test_a_parent_moved_by_its_children_shows_their_progress(self) -> None:
        """A parent with no units of its own draws the fraction its running children give it."""
        display = FakeDisplay()
        with capture_events() as captured:
            with ProgressReport("Job", steps=2, sinks=[NotebookSink(display=display)]) as job:
                child = job.create_subreport("Half", steps=2)
                child.advance()
                captured.clock.advance(0.1)
                captured.clock.advance(0.1)
                first_line = display.displays[0][-1]["text/plain"].splitlines()[0]
                child.complete()
        assert first_line == "• Job [#####...............] 25%"


class TestDefault:
    def test_outside_a_kernel_there_is_no_default_sink(self) -> None:
        """pytest is no kernel: the built-in default is no sink."""
        assert not in_jupyter_kernel()
        assert ProgressReport("job")._tree.emitter is None

    def test_in_a_kernel_the_default_is_one_shared_notebook_sink(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """In a kernel, roots without explicit sinks share one NotebookSink."""
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
        monkeypatch.setattr("progress_instrument._notebook.in_jupyter_kernel", lambda: True)
        monkeypatch.setattr(_config, "_notebook_slot", None)
        first, second = _config.resolve_sinks(None), _config.resolve_sinks(None)
        assert len(first) == 1 and isinstance(first[0].sink, NotebookSink) and first == second
        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", "none")
        _config.reset()
        assert _config.resolve_sinks(None) == []


NOTEBOOK_CELL = """
import time
from progress_instrument import step, track

began = time.monotonic()
with step("Job", steps=2):
    for item in track(range(8), "Loop"):
        time.sleep(0.05)
    with step("Tail"):
        time.sleep(0.15)
print(f"done in {time.monotonic() - began:.3f} s")
"""


@pytest.mark.slow
def test_a_real_kernel_shows_one_display_updated_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Executed by a real kernel, a cell makes one display_data output, updated in place to the final tree."""
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in ("PROGRESS_INSTRUMENT_SINK", "PROGRESS_INSTRUMENT_DISABLE"):
        monkeypatch.delenv(name, raising=False)
    messages: list[dict[str, Any]] = []

    class Client(nbclient.NotebookClient):  # type: ignore[misc]
        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            if msg["msg_type"] in ("display_data", "update_display_data"):
                messages.append({"type": msg["msg_type"], "cell": cell_index, **msg["content"]})
            return super().process_message(msg, cell, cell_index)

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(textwrap.dedent(NOTEBOOK_CELL))]
    client = Client(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    first, second = notebook.cells
    assert first.outputs == []
    displays = [output for output in second.outputs if output.output_type == "display_data"]
    assert len(displays) == 1
    [printed] = [output.text for output in second.outputs if output.output_type == "stream"]
    elapsed = float(printed.split()[2])
    final = displays[0].data["text/plain"].splitlines()
    assert final == [
        "✓ Job [####################] 100%",
        "  ✓ Loop [####################] 100% 8/8",
        "  ✓ Tail [####################] 100%",
    ]
    assert "text/html" in displays[0].data
    # Updates arrived in place: each one targets the one display, none made a new output.
    display_ids = {message["transient"]["display_id"] for message in messages}
    assert len(display_ids) == 1
    kinds = [message["type"] for message in messages]
    assert kinds[0] == "display_data" and kinds.count("display_data") == 1
    updates = kinds.count("update_display_data")
    # About 0.55 s of work: several updates, at most one per 0.1 s (min_interval) plus the final one.
    assert 2 <= updates <= elapsed / 0.1 + 1
    assert messages[-1]["data"]["text/plain"].splitlines() == final
    assert {message["cell"] for message in messages} == {1}
