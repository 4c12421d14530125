"""The measuring machinery behind `run_all.py`: figures, workers, interleaving, medians, the table.

A *figure* is one comparison: our variant against a baseline (a peer library, or a bare-Python
reference), each measured the same way on the same input, printed as the ratio ours / baseline.

The rules (SPEC §10, and the project guide):

- One process per figure: `run_all.py` starts a fresh ``python run_all.py --worker NAME`` for every
  figure, so one figure's warm caches, imports and heap never touch another's. Figures whose samples
  must themselves start cold (import time, RSS) start a fresh subprocess per sample from that worker.
- Variants interleaved: run A, B, A, B, ... (after one untimed warm-up round, where the figure asks
  for it), never all A then all B, so drift in the machine's load hits both sides alike.
- At least 7 timed runs per variant in a full run; a variant's value is the median of its samples,
  and a figure's ratio is the median over the rounds of ours / baseline within each round (the two
  samples taken next to each other), so drift in the machine's speed between rounds cancels.
- Every row is a ratio against a baseline measured in the same worker, in the same run.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
MIN_FULL_RUNS = 7
RESULT_PREFIX = "BENCH-RESULT "

Sampler = Callable[[], Mapping[str, float]]


@dataclass(frozen=True)
class Metric:
    """One row of the table: a value every sample reports, compared as ours / baseline.

    Args:
        key: The key under which each sample reports the value.
        name: The row's name in the table (defaults to the figure's name).
        unit: Unit of the value, such as ``"µs/node"``.
        target: The largest acceptable ratio ours / baseline (lower is better); None for a
            figure that is reported without a target.
        target_text: The target in words, such as ``"≥ 30× faster"``.
        subtract: A variant whose median is subtracted from ours and from the baseline before the
            ratio is taken (``python -c pass`` for import time).
        ours: The variant this row measures as ours (defaults to the figure's), for figures whose
            rows compare different pairs of variants.
        baseline: The variant this row's ratio is taken against (defaults to the figure's).
    """

    key: str
    unit: str
    name: str = ""
    target: float | None = None
    target_text: str = ""
    subtract: str | None = None
    ours: str | None = None
    baseline: str | None = None


@dataclass(frozen=True)
class Setup:
    """What a figure's setup function returns: one sampler per variant, and notes for the reader.

    Each sampler runs one timed measurement and returns its metrics (``{"us_per_node": 12.3}``); it
    must time only the operation itself, not building its input or freeing its result. `summarize`,
    when given, turns every sample (variant -> metric -> values) into more notes once all are taken,
    for figures whose notes combine variants (a cost net of a baseline, per event delivered).
    """

    samplers: Mapping[str, Sampler]
    notes: Sequence[str] = ()
    summarize: Callable[[Mapping[str, Mapping[str, Sequence[float]]]], Sequence[str]] | None = None


@dataclass(frozen=True)
class Figure:
    """A registry entry: what to measure, against what, and how it must compare.

    Args:
        name: Short name, used by ``--only``.
        description: One line saying what is measured.
        module: Module in ``benchmarks/`` holding the setup function.
        setup: Name of ``setup(params: dict[str, int]) -> Setup`` in that module.
        variants: The variants, interleaved in this order; must include `ours` and `baseline`.
        ours: The variant measuring this library.
        baseline: The variant the ratio is taken against.
        metrics: The rows this figure prints.
        params: Sizes of a full run.
        quick_params: Sizes of a ``--quick`` smoke run.
        runs: Timed runs per variant in a full run (at least 7).
        quick_runs: Timed runs per variant in a ``--quick`` run.
        warmup: Untimed rounds before the timed ones (0 where every sample is a fresh process).
    """

    name: str
    description: str
    module: str
    setup: str
    variants: tuple[str, ...]
    ours: str
    baseline: str
    metrics: tuple[Metric, ...]
    params: Mapping[str, int] = field(default_factory=dict)
    quick_params: Mapping[str, int] = field(default_factory=dict)
    runs: int = MIN_FULL_RUNS
    quick_runs: int = 3
    warmup: int = 1

    def __post_init__(self) -> None:
        named = (
            variant for metric in self.metrics for variant in (metric.subtract, metric.ours, metric.baseline) if variant
        )
        for variant in (self.ours, self.baseline, *named):
            if variant not in self.variants:
                raise ValueError(f"figure {self.name!r}: variant {variant!r} is not in {self.variants}")
        if self.runs < MIN_FULL_RUNS:
            raise ValueError(f"figure {self.name!r}: a full run needs at least {MIN_FULL_RUNS} runs per variant")

    def row_name(self, metric: Metric) -> str:
        return metric.name or self.name


# -- worker side: runs inside the figure's own process ----------------------------------------------


def calls_per_sample(call: Callable[[], object], min_seconds: float = 0.1) -> int:
    """How many calls of `call` make a sample of at least `min_seconds` (timer noise stays small)."""
    call()  # the first call may pay one-time costs
    started = time.perf_counter()
    call()
    once = time.perf_counter() - started
    return max(1, math.ceil(min_seconds / once)) if once > 0 else 1000


def seconds_per_call(call: Callable[[], object], repeat: int) -> float:
    """Mean seconds of `repeat` back-to-back calls; results are kept and freed after the clock stops."""
    results = []
    started = time.perf_counter()
    for _ in range(repeat):
        results.append(call())
    elapsed = time.perf_counter() - started
    del results
    return elapsed / repeat


def collect(
    samplers: Mapping[str, Sampler], runs: int, warmup: int
) -> tuple[dict[str, dict[str, list[float]]], list[str]]:
    """Run the samplers interleaved and return every sample per variant and metric.

    Rounds alternate in direction (A, B, C, then C, B, A, ...), so no variant always runs right after
    the same neighbour or first in its round. A ``gc.collect()`` before each sample gives every
    sample the same starting heap; the collector stays enabled while timing, since it is part of what
    allocating code costs its users.
    """
    order = list(samplers)
    for _ in range(warmup):
        for variant in order:
            gc.collect()
            samplers[variant]()
    samples: dict[str, dict[str, list[float]]] = {variant: {} for variant in order}
    sequence: list[str] = []
    for round_index in range(runs):
        for variant in order if round_index % 2 == 0 else reversed(order):
            gc.collect()
            for key, value in samplers[variant]().items():
                samples[variant].setdefault(key, []).append(float(value))
            sequence.append(variant)
    return samples, sequence


def run_worker(figure: Figure, *, quick: bool, runs: int | None, overrides: Mapping[str, int] | None = None) -> None:
    """Measure one figure in this process and print its samples as one JSON line on stdout."""
    params = dict(figure.quick_params if quick else figure.params)
    params.update(overrides or {})
    count = runs if runs is not None else (figure.quick_runs if quick else figure.runs)
    module = importlib.import_module(figure.module)
    started = time.perf_counter()
    setup: Setup = getattr(module, figure.setup)(params)
    if set(figure.variants) != set(setup.samplers):
        raise RuntimeError(f"figure {figure.name!r}: setup gave samplers for {sorted(setup.samplers)}")
    samplers = {variant: setup.samplers[variant] for variant in figure.variants}
    setup_seconds = time.perf_counter() - started
    samples, sequence = collect(samplers, count, figure.warmup)
    notes = list(setup.notes)
    if setup.summarize is not None:
        notes += setup.summarize(samples)
    result = {
        "figure": figure.name,
        "params": params,
        "runs": count,
        "notes": notes,
        "samples": samples,
        "order": sequence[: 2 * len(figure.variants)],
        "setup_seconds": setup_seconds,
    }
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def worker_env() -> dict[str, str]:
    """The environment of every worker and probe: the working tree first, no user configuration."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PROGRESS_INSTRUMENT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    # deprogressapi's default shows reports with curses; a benchmark must show nothing.
    env["DASF_REPORT_SHOW_METHOD"] = "NONE"
    return env


def run_probe(args: Sequence[str], *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in a fresh process (from a worker) with the workers' environment."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"probe `python {' '.join(args)}` exited with status {done.returncode}:\n{tail}")
    return done


# -- parent side: one worker process per figure, then the table ---------------------------------------


@dataclass
class Row:
    """One line of the table."""

    name: str
    unit: str
    ours: float | None = None
    baseline: float | None = None
    baseline_label: str = ""
    target: float | None = None
    target_text: str = ""
    error: str = ""
    #: Median over the rounds of ours / baseline measured in the same round (see `_paired_ratios`).
    paired_ratio: float | None = None

    @property
    def ratio_of_medians(self) -> float | None:
        if self.ours is None or self.baseline is None or self.baseline <= 0:
            return None
        return self.ours / self.baseline

    @property
    def ratio(self) -> float | None:
        """The figure's ratio: the paired one when every round gave one, else that of the medians."""
        return self.paired_ratio if self.paired_ratio is not None else self.ratio_of_medians

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.target is None:
            return "info"
        ratio = self.ratio
        if ratio is None:
            return "n/a"
        return "pass" if ratio <= self.target else "FAIL"


@dataclass
class FigureOutcome:
    """What the parent learned from one figure's worker."""

    figure: Figure
    rows: list[Row]
    notes: list[str]
    seconds: float
    raw: dict[str, Any] | None = None


def spawn_figure(
    figure: Figure,
    script: Path,
    *,
    quick: bool,
    runs: int | None,
    timeout: float,
    overrides: Mapping[str, int] | None = None,
) -> FigureOutcome:
    """Run one figure in its own fresh process and turn its samples into rows."""
    command = [sys.executable, str(script), "--worker", figure.name]
    for key, value in (overrides or {}).items():
        command += ["--set", f"{figure.name}.{key}={value}"]
    if quick:
        command.append("--quick")
    if runs is not None:
        command += ["--runs", str(runs)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=worker_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return _failed(figure, f"timed out after {timeout:.0f} s", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}, no result"])[-1]
        return _failed(figure, tail, seconds, stderr=done.stderr)
    raw = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return FigureOutcome(figure, _rows(figure, raw), _notes(figure, raw), seconds, raw)


def _failed(figure: Figure, message: str, seconds: float, stderr: str = "") -> FigureOutcome:
    rows = [Row(figure.row_name(metric), metric.unit, error=message) for metric in figure.metrics]
    notes = [f"worker failed: {message}"]
    if stderr:
        notes += ["  " + line for line in stderr.strip().splitlines()[-15:]]
    return FigureOutcome(figure, rows, notes, seconds)


def _median(raw: dict[str, Any], variant: str, key: str) -> float:
    return statistics.median(raw["samples"][variant][key])


def _paired_ratios(raw: dict[str, Any], figure: Figure, metric: Metric) -> list[float]:
    """Ours / baseline of each round (less the `subtract` variant's sample of that round).

    Each variant is sampled once per round, next to the others, so a sample's index is its round:
    dividing within a round cancels what drifts between rounds (a virtual machine's host load,
    CPU frequency), which the medians of each side alone do not.
    """
    samples = raw["samples"]
    ours = samples[metric.ours or figure.ours][metric.key]
    baseline = samples[metric.baseline or figure.baseline][metric.key]
    floors = samples[metric.subtract][metric.key] if metric.subtract else [0.0] * len(ours)
    if not len(ours) == len(baseline) == len(floors):
        return []
    pairs = [(mine - floor, theirs - floor) for mine, theirs, floor in zip(ours, baseline, floors, strict=True)]
    if any(theirs <= 0 for _, theirs in pairs):
        return []
    return [mine / theirs for mine, theirs in pairs]


def _rows(figure: Figure, raw: dict[str, Any]) -> list[Row]:
    rows = []
    for metric in figure.metrics:
        baseline_variant = metric.baseline or figure.baseline
        ours = _median(raw, metric.ours or figure.ours, metric.key)
        baseline = _median(raw, baseline_variant, metric.key)
        if metric.subtract:
            floor = _median(raw, metric.subtract, metric.key)
            ours, baseline = ours - floor, baseline - floor
        paired = _paired_ratios(raw, figure, metric)
        rows.append(
            Row(
                figure.row_name(metric),
                metric.unit,
                ours,
                baseline,
                baseline_variant,
                metric.target,
                metric.target_text,
                paired_ratio=statistics.median(paired) if paired else None,
            )
        )
    return rows


def _notes(figure: Figure, raw: dict[str, Any]) -> list[str]:
    sizes = ", ".join(f"{key}={value:,}" for key, value in raw["params"].items()) or "none"
    notes = [
        f"{figure.description}",
        f"sizes: {sizes}; {raw['runs']} timed runs per variant, interleaved ({', '.join(raw['order'])}, ...); medians",
    ]
    notes += raw["notes"]
    described: set[str] = set()
    for metric in figure.metrics:
        if metric.key in described:  # several rows may read one metric (different pairs of variants)
            continue
        described.add(metric.key)
        rows = [m for m in figure.metrics if m.key == metric.key]
        parts = []
        for variant in figure.variants:
            values = raw["samples"][variant].get(metric.key)
            if values:
                parts.append(f"{variant} {_fmt(statistics.median(values))} [{_fmt(min(values))}–{_fmt(max(values))}]")
        floors = sorted({m.subtract for m in rows if m.subtract})
        subtract = f"; {', '.join(floors)} subtracted from both sides before a ratio" if floors else ""
        names = ", ".join(figure.row_name(m) for m in rows)
        notes.append(f"{names} ({metric.unit}), median [min–max]: {'; '.join(parts)}{subtract}")
    for metric, row in zip(figure.metrics, _rows(figure, raw), strict=True):
        paired = _paired_ratios(raw, figure, metric)
        if paired:
            notes.append(
                f"{row.name}: ratio per round {_fmt(row.paired_ratio)} [{_fmt(min(paired))}–{_fmt(max(paired))}] "
                f"(median [min–max] of {len(paired)} rounds, the table's ratio); ratio of the medians "
                f"{_fmt(row.ratio_of_medians)}"
            )
    shown = {metric.key for metric in figure.metrics}
    extra = sorted({key for values in raw["samples"].values() for key in values} - shown)
    for key in extra:
        parts = [
            f"{variant} {_fmt(statistics.median(raw['samples'][variant][key]))}"
            for variant in figure.variants
            if key in raw["samples"][variant]
        ]
        notes.append(f"also measured, {key} (median): {'; '.join(parts)}")
    return notes


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude >= 10_000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if 0 < ratio < 1:
        return f"{ratio:.3g} (1/{1 / ratio:.3g})"
    return f"{ratio:.3g}"


def _fmt_target(row: Row) -> str:
    if row.target is None:
        return "—"
    text = f"≤ {row.target:.3g}"
    return f"{text} ({row.target_text})" if row.target_text else text


def format_table(rows: Sequence[Row]) -> str:
    header = ("figure", "unit", "ours", "baseline", "peer/baseline", "ratio ours/baseline", "target", "result")
    body = []
    for row in rows:
        body.append(
            (
                row.name,
                row.unit,
                _fmt(row.ours) if not row.error else "—",
                _fmt(row.baseline) if not row.error else "—",
                row.baseline_label,
                _fmt_ratio(row.ratio),
                _fmt_target(row),
                row.verdict,
            )
        )
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(len(header))]
    numeric = {2, 3}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def environment_lines() -> list[str]:
    """Where and on what the figures were measured."""
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    names = ("wrapt", "deprogressapi", "pydantic", "tqdm", "rich", "opentelemetry-sdk")
    peers = ", ".join(f"{name} {version(name)}" for name in names)
    return [
        f"python {platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {load}",
        f"progress_instrument: working tree {REPO_ROOT} at {commit or 'unknown commit'}",
        f"peers: {peers}",
    ]
