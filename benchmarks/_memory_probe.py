"""The probe of the memory figure, run as a script in a fresh process per sample (see fig_memory.py).

Usage: ``python _memory_probe.py LIBRARY PARENTS CHILDREN TRACED_PARENTS``; prints one JSON object.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _trees import build_dasf, build_ours


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        # Peak, not current, in KiB on Linux: good enough where statm is missing (only growth is read).
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _builder(library: str) -> Callable[[int, int], Any]:
    build = build_ours if library == "progress_instrument" else build_dasf
    return lambda parents, children: build(parents, children, finish_children=False)


def probe(library: str, parents: int, children: int, traced_parents: int) -> dict[str, float]:
    """Measure one sample in this (fresh) process."""
    build = _builder(library)
    warm = build(1, 1)  # first-use costs (lazy imports, validator caches) stay out of the figure
    nodes = 1 + parents + parents * children
    gc.collect()
    before = _rss_bytes()
    started = time.perf_counter()
    tree = build(parents, children)
    elapsed = time.perf_counter() - started
    gc.collect()
    grown = _rss_bytes() - before
    traced_nodes = 1 + traced_parents + traced_parents * children
    tracemalloc.start()
    small = build(traced_parents, children)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del tree, small, warm
    return {
        "rss_bytes_per_node": grown / nodes,
        "traced_bytes_per_node": traced / traced_nodes,
        "create_us_per_node": elapsed / nodes * 1e6,
    }


if __name__ == "__main__":
    library, parents, children, traced_parents = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(probe(library, parents, children, traced_parents)))
