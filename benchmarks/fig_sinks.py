"""10⁵ steps written to a JSON-lines file, beside deprogressapi connected to a sink (issue 6, SPEC §10).

Ours: a fresh root with a `JsonLinesSink` on a file and 10⁵ × ``with step("s"): pass`` under it,
timed until the root's ``complete()`` returns (every event written). deprogressapi, connected to a
broker, sends its whole tree as JSON on every ``submit()`` (each ``create_subreport(...).complete()``
submits): the stand-in for the broker is a sink that receives what it would send, the root's
``model_dump_json()``, and keeps only its size. Its cost per step grows with the number of steps
(quadratic in total), so it is measured at two sizes to show the growth, both far below 10⁵.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from _blocks import blocks_per_sample, mean_block_seconds
from _harness import Sampler, Setup
from _trees import import_deprogressapi

Block = Callable[[], object]


def setup_steps_jsonl(params: dict[str, int]) -> Setup:
    """10⁵ steps under one root with a JsonLinesSink vs deprogressapi re-serializing on every submit."""
    from progress_instrument import JsonLinesSink, ProgressReport, step

    deprogressapi = import_deprogressapi()
    folder = tempfile.mkdtemp(prefix="progress_instrument_bench_")
    path = os.path.join(folder, "events.jsonl")
    steps, dasf_small, dasf_big = params["steps"], params["dasf_small"], params["dasf_big"]
    sent = [0]

    def truncate() -> None:
        with open(path, "w"):
            pass

    def ours() -> object:
        sink = JsonLinesSink(path)
        root = ProgressReport("root", sinks=[sink])
        with root:
            for _ in range(steps):
                with step("s"):
                    pass
        sink.close()
        return root

    def dasf(count: int) -> Block:
        def block() -> object:
            root = deprogressapi.ProgressReport(step_message="root", settings={"show_method": "NONE"})

            def submit() -> None:  # what BaseReport.submit() sends over the broker when connected
                sent[0] += len(root.model_dump_json())

            object.__setattr__(root, "submit", submit)
            for _ in range(count):
                root.create_subreport(step_message="s").complete()
            return root

        return block

    def reset_sent() -> None:
        sent[0] = 0

    def sampler(block: Block, count: int, prepare: Callable[[], object], measure_bytes: Callable[[], int]) -> Sampler:
        repeat = blocks_per_sample(block, prepare)

        def sample() -> dict[str, float]:
            seconds = mean_block_seconds(block, prepare, repeat)
            return {"us_per_step": seconds / count * 1e6, "bytes_per_step": measure_bytes() / count}

        return sample

    truncate()
    ours()
    with open(path, encoding="utf-8") as written:
        lines = sum(1 for _ in written)
    samplers: dict[str, Sampler] = {
        "progress_instrument": sampler(ours, steps, truncate, lambda: os.path.getsize(path)),
        "deprogressapi_small": sampler(dasf(dasf_small), dasf_small, reset_sent, lambda: sent[0]),
        "deprogressapi_big": sampler(dasf(dasf_big), dasf_big, reset_sent, lambda: sent[0]),
    }
    notes = [
        f"ours: ProgressReport('root', sinks=[JsonLinesSink(file)]) and {steps:,} × `with step('s'): pass`, timed "
        "until the root's complete() returns (every event written and flushed); the file is truncated outside the "
        f"clock; one block wrote {lines} lines (short successful steps are counted in the root's events, SPEC §7)",
        "deprogressapi: ProgressReport(step_message='root'), its submit() replaced by a sink receiving what a "
        "connected report sends (the root's model_dump_json(), only its length kept); each create_subreport("
        "step_message='s').complete() submits; measured at "
        f"{dasf_small:,} and {dasf_big:,} steps: per step it grows with the steps already made (quadratic in total)",
        "bytes_per_step: bytes written (ours) or sent (deprogressapi) per step, for the last sample's block",
    ]
    return Setup(samplers, notes)
