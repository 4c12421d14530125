"""Memory per node: a tree of running reports made with ``create_subreport``, ours vs deprogressapi's.

Every sample is a fresh process (``python _memory_probe.py ...``), so the resident set it
measures holds nothing but the library, one warm-up node and the tree. Two numbers per sample:

- ``rss``: growth of the resident set (``/proc/self/statm``) while building `parents` running
  children of a root, each with `children` running children, divided by the nodes. All nodes stay
  running, because ours keeps only the most recent 100 finished children per node (SPEC §1) and
  deprogressapi keeps everything: finished nodes would compare retention, not size.
- ``traced``: the same on a smaller tree (`traced_parents` × `children`) under ``tracemalloc``
  (bytes allocated through Python's allocators and still alive), a cross-check that does not depend
  on page granularity or allocator slack. It is smaller because tracing slows deprogressapi ~5×.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from _harness import Setup, run_probe

PROBE = Path(__file__).with_name("_memory_probe.py")


def setup_memory(params: dict[str, int]) -> Setup:
    """Samplers that each run the probe in a fresh process."""
    args = [str(params["parents"]), str(params["children"]), str(params["traced_parents"])]

    def sampler(library: str) -> Callable[[], dict[str, float]]:
        def sample() -> dict[str, float]:
            done = run_probe([str(PROBE), library, *args])
            return json.loads(done.stdout.strip().splitlines()[-1])

        return sample

    nodes = 1 + params["parents"] + params["parents"] * params["children"]
    traced = 1 + params["traced_parents"] + params["traced_parents"] * params["children"]
    notes = [
        f"rss: {nodes:,} running nodes (a root, {params['parents']:,} running children, each with "
        f"{params['children']} running children), one fresh process per sample, resident-set growth / nodes",
        f"traced: {traced:,} running nodes of the same shape under tracemalloc in the same process, "
        "bytes still allocated / nodes",
        "all nodes running on both sides: ours keeps at most 100 finished children per node, deprogressapi all",
    ]
    return Setup({library: sampler(library) for library in ("progress_instrument", "deprogressapi")}, notes)
