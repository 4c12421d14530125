"""Import time: ``python -c "import progress_instrument"`` against ``import wrapt``, in fresh processes.

Every sample starts new interpreters (one timed by the wall clock, one under ``-X importtime``), so
nothing is cached in ``sys.modules``; the ``pass`` variant measures the interpreter's own start-up,
which the table subtracts from both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from _harness import Setup, run_probe

_CODE = {"pass": "pass", "wrapt": "import wrapt", "progress_instrument": "import progress_instrument"}


def _importtime_us(stderr: str, module: str) -> float:
    """Cumulative microseconds of the top-level import of `module` from ``-X importtime`` output."""
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return float(parts[1])
    raise RuntimeError(f"no top-level import of {module!r} in the -X importtime output")


def _sampler(variant: str) -> Callable[[], dict[str, float]]:
    code = _CODE[variant]

    def sample() -> dict[str, float]:
        started = perf_counter()
        run_probe(["-c", code])
        wall = perf_counter() - started
        traced = 0.0
        if variant != "pass":
            traced = _importtime_us(run_probe(["-X", "importtime", "-c", code]).stderr, variant)
        return {"wall_ms": wall * 1e3, "importtime_ms": traced / 1e3}

    return sample


def setup_import(params: dict[str, int]) -> Setup:
    """Samplers for ``pass``, ``import wrapt`` and ``import progress_instrument``."""
    done = run_probe(["-X", "importtime", "-c", _CODE["progress_instrument"]])
    heavy = sorted(
        (
            (int(parts[1]), parts[2].strip())
            for parts in (line[len("import time:") :].split("|") for line in done.stderr.splitlines())
            if len(parts) == 3 and parts[1].strip().isdigit()
        ),
        reverse=True,
    )
    notes = [
        "wall_ms: wall time of the whole `python -c CODE` process; importtime_ms: the cumulative time -X importtime "
        "gives the top-level module (tracing inflates it a little, alike for both)",
        "`python -c pass` (interpreter start-up) is subtracted from ours and from wrapt's before the ratio; "
        "importtime_ms of pass is 0 by definition",
        "largest cumulative imports under `import progress_instrument` (µs, one traced run): "
        + ", ".join(f"{name} {micros:,}" for micros, name in heavy[1:9]),
    ]
    return Setup({variant: _sampler(variant) for variant in _CODE}, notes)
