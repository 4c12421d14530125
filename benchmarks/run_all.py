"""Every performance figure of SPEC §10 as a ratio against a baseline measured in the same run.

Usage::

    pip install .[bench]
    python benchmarks/run_all.py              # all figures (a few minutes)
    python benchmarks/run_all.py --quick      # smoke test: small sizes, 3 runs, not a measurement
    python benchmarks/run_all.py --only from_json --only import
    python benchmarks/run_all.py --list

Each figure runs in its own fresh process (``run_all.py --worker NAME``), its variants interleaved,
at least 7 timed runs per variant in a full run, and the medians compared as ours / baseline (lower
is better). To add a figure, write a setup function returning one sampler per variant (see
`_harness.Setup` and the ``fig_*.py`` modules) and add a `Figure` to `REGISTRY` below.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _harness import Figure, FigureOutcome, Metric, environment_lines, format_table, run_worker, spawn_figure

REGISTRY: tuple[Figure, ...] = (
    Figure(
        name="from_json",
        description="ProgressReport.from_json per node vs deprogressapi.ProgressReport.from_payload, same payload "
        "(made by deprogressapi)",
        module="fig_wire",
        setup="setup_from_json",
        variants=("progress_instrument", "deprogressapi"),
        ours="progress_instrument",
        baseline="deprogressapi",
        metrics=(Metric("us_per_node", "µs/node", target=1 / 30, target_text="≥ 30× faster"),),
        params={"parents": 20, "children": 99},
        quick_params={"parents": 2, "children": 49},
    ),
    Figure(
        name="from_json_ours",
        description="the same readers on a payload made by our to_json (with our extension fields)",
        module="fig_wire",
        setup="setup_from_json_ours",
        variants=("progress_instrument", "deprogressapi"),
        ours="progress_instrument",
        baseline="deprogressapi",
        metrics=(Metric("us_per_node", "µs/node", target=1 / 30, target_text="≥ 30× faster"),),
        params={"parents": 7, "children": 99},
        quick_params={"parents": 2, "children": 49},
    ),
    Figure(
        name="import",
        description='python -c "import progress_instrument" vs python -c "import wrapt" (its required dependency), '
        "fresh interpreters, python -c pass subtracted",
        module="fig_import",
        setup="setup_import",
        variants=("pass", "wrapt", "progress_instrument"),
        ours="progress_instrument",
        baseline="wrapt",
        metrics=(
            Metric("wall_ms", "ms", name="import_wall", target=1.25, subtract="pass"),
            Metric("importtime_ms", "ms", name="import_importtime", target=1.25, subtract="pass"),
        ),
        runs=15,
        warmup=1,
    ),
    Figure(
        name="snapshot",
        description="to_json() vs deprogressapi model_dump_json() of the same tree shape: time and bytes",
        module="fig_wire",
        setup="setup_snapshot",
        variants=("progress_instrument", "deprogressapi"),
        ours="progress_instrument",
        baseline="deprogressapi",
        metrics=(
            Metric("ms", "ms", name="snapshot_time"),
            Metric("bytes", "bytes", name="snapshot_bytes"),
        ),
        params={"parents": 100, "children": 99},
        quick_params={"parents": 10, "children": 99},
    ),
    Figure(
        name="memory",
        description="memory per running node made with create_subreport, ours vs deprogressapi",
        module="fig_memory",
        setup="setup_memory",
        variants=("progress_instrument", "deprogressapi"),
        ours="progress_instrument",
        baseline="deprogressapi",
        metrics=(
            Metric("rss_bytes_per_node", "B/node", name="memory_rss"),
            Metric("traced_bytes_per_node", "B/node", name="memory_traced"),
        ),
        params={"parents": 200, "children": 100, "traced_parents": 10},
        quick_params={"parents": 10, "children": 100, "traced_parents": 2},
        warmup=0,  # every sample is a fresh process
    ),
    Figure(
        name="step",
        description="`with step('s'): pass` under a root with an in-memory sink vs an OpenTelemetry span, per op",
        module="fig_step",
        setup="setup_step",
        variants=("bare", "progress_instrument", "otel_noop", "otel_sdk", "progress_instrument_no_sink"),
        ours="progress_instrument",
        baseline="otel_noop",
        metrics=(
            Metric(
                "us_per_op",
                "µs/op",
                name="step",
                target=1.0,
                target_text="cheaper than a no-op OTel span",
                subtract="bare",
            ),
            Metric("us_per_op", "µs/op", name="step_vs_otel_sdk", subtract="bare", baseline="otel_sdk"),
        ),
        params={"ops": 10_000},
        quick_params={"ops": 2_000},
        runs=9,  # short samples on a noisy machine: two more runs than the minimum
    ),
    Figure(
        name="call",
        description="a call of a trivial @reports_progress function under a root with an in-memory sink vs the "
        "same call under peers, per call",
        module="fig_step",
        setup="setup_call",
        variants=(
            "plain",
            "functools_wraps",
            "progress_instrument",
            "otel_noop",
            "otel_sdk",
            "progress_instrument_no_sink",
        ),
        ours="progress_instrument",
        baseline="otel_noop",
        metrics=(
            Metric(
                "us_per_op",
                "µs/call",
                name="call",
                target=1.0,
                target_text="cheaper than a no-op OTel span",
                subtract="plain",
            ),
            Metric("us_per_op", "µs/call", name="call_vs_otel_sdk", subtract="plain", baseline="otel_sdk"),
        ),
        params={"ops": 10_000},
        quick_params={"ops": 2_000},
        runs=9,  # short samples on a noisy machine: two more runs than the minimum
    ),
    Figure(
        name="steps_1e5",
        description="10⁵ `with step()` under one root with an in-memory sink: per step vs 10⁴ (linearity) and vs "
        "deprogressapi create_subreport + complete (not connected)",
        module="fig_step",
        setup="setup_steps_1e5",
        variants=("progress_instrument_1e5", "progress_instrument_1e4", "deprogressapi"),
        ours="progress_instrument_1e5",
        baseline="progress_instrument_1e4",
        metrics=(
            Metric(
                "us_per_step",
                "µs/step",
                name="steps_1e5_linear",
                target=1.5,
                target_text="per step at 10⁵ within 1.5× of 10⁴",
            ),
            Metric(
                "us_per_step",
                "µs/step",
                name="steps_1e5_vs_dasf",
                baseline="deprogressapi",
                target=1 / 50,
                target_text="≥ 50× cheaper",
            ),
        ),
        params={"steps": 100_000, "small_steps": 10_000, "dasf_steps": 2_000},
        quick_params={"steps": 10_000, "small_steps": 1_000, "dasf_steps": 200},
    ),
    Figure(
        name="steps_jsonl",
        description="10⁵ `with step()` under one root with a JsonLinesSink vs deprogressapi connected to a sink "
        "that receives what it would send (the whole tree, re-serialized on every submit)",
        module="fig_sinks",
        setup="setup_steps_jsonl",
        variants=("progress_instrument", "deprogressapi_small", "deprogressapi_big"),
        ours="progress_instrument",
        baseline="deprogressapi_big",
        metrics=(
            Metric("us_per_step", "µs/step", name="steps_jsonl_vs_dasf"),
            Metric("us_per_step", "µs/step", name="steps_jsonl_vs_dasf_small", baseline="deprogressapi_small"),
            Metric("bytes_per_step", "B/step", name="steps_jsonl_bytes"),
        ),
        params={"steps": 100_000, "dasf_small": 500, "dasf_big": 1_000},
        quick_params={"steps": 10_000, "dasf_small": 100, "dasf_big": 200},
    ),
    Figure(
        name="events",
        description="children of a root delivered to CallbackSink / JsonLinesSink until complete() returns, vs "
        "the same work with sinks=[]",
        module="fig_events",
        setup="setup_events",
        variants=("none", "callback", "jsonl", "none_err", "callback_err", "jsonl_err"),
        ours="callback_err",
        baseline="none_err",
        metrics=(
            Metric("us_per_child", "µs/child", name="events_callback"),
            Metric("us_per_child", "µs/child", name="events_jsonl", ours="jsonl_err"),
            Metric("us_per_child", "µs/child", name="events_coalesced_callback", ours="callback", baseline="none"),
            Metric("us_per_child", "µs/child", name="events_coalesced_jsonl", ours="jsonl", baseline="none"),
        ),
        params={"children": 10_000},
        quick_params={"children": 1_000},
        runs=9,
    ),
    Figure(
        name="track_sequence",
        description="`for x in track(seq): acc += x` under a root with an in-memory sink vs the bare loop over the "
        "same range / list / tuple, per item",
        module="fig_track",
        setup="setup_track_sequence",
        variants=("bare_range", "track_range", "bare_list", "track_list", "bare_tuple", "track_tuple"),
        ours="track_range",
        baseline="bare_range",
        metrics=(
            Metric("ns_per_item", "ns/item", name="track_sequence_range", target=1.2, target_text="1.2× the bare loop"),
            Metric(
                "ns_per_item",
                "ns/item",
                name="track_sequence_list",
                target=1.2,
                target_text="1.2× the bare loop",
                ours="track_list",
                baseline="bare_list",
            ),
            Metric(
                "ns_per_item",
                "ns/item",
                name="track_sequence_tuple",
                target=1.2,
                target_text="1.2× the bare loop",
                ours="track_tuple",
                baseline="bare_tuple",
            ),
        ),
        params={"items": 1_000_000, "sample_ms": 300},
        quick_params={"items": 100_000, "sample_ms": 50},
        runs=9,  # a 1.2 target on ~30 ns items: two more runs than the minimum
    ),
    Figure(
        name="track_generator",
        description="overhead per item of track(gen) vs rich.progress.track, tqdm and a plain generator wrapper, "
        "the bare loop over the same generator subtracted",
        module="fig_track",
        setup="setup_track_generator",
        variants=("bare", "progress_instrument", "rich", "tqdm", "plain_generator", "rich_terminal"),
        ours="progress_instrument",
        baseline="rich",
        metrics=(
            Metric(
                "ns_per_item",
                "ns/item",
                name="track_generator",
                target=0.5,
                target_text="≤ ½ rich.track's overhead",
                subtract="bare",
            ),
            Metric("ns_per_item", "ns/item", name="track_generator_vs_tqdm", subtract="bare", baseline="tqdm"),
            Metric(
                "ns_per_item",
                "ns/item",
                name="track_generator_vs_plain_generator",
                subtract="bare",
                baseline="plain_generator",
            ),
        ),
        params={"items": 1_000_000, "sample_ms": 300},
        quick_params={"items": 100_000, "sample_ms": 50},
    ),
    Figure(
        name="track_disabled",
        description="track(list) with PROGRESS_INSTRUMENT_DISABLE=1 vs the bare loop over the list, per item; the "
        "bare loop again vs itself (the noise floor)",
        module="fig_track",
        setup="setup_track_disabled",
        variants=("bare", "progress_instrument", "bare_again"),
        ours="progress_instrument",
        baseline="bare",
        metrics=(
            Metric("ns_per_item", "ns/item", name="track_disabled", target=1.05, target_text="±5 %"),
            Metric("ns_per_item", "ns/item", name="track_disabled_noise", ours="bare_again"),
        ),
        params={"items": 1_000_000, "sample_ms": 30},
        quick_params={"items": 100_000, "sample_ms": 30},
        # A 5 % target on loops that run the same code per item: the machine's noise is the difference,
        # so many short rounds (their ratios pair samples ~30 ms apart) rather than a few long ones.
        runs=201,
    ),
    Figure(
        name="track_inner_steps",
        description="a tracked loop with `with step('s'): pass` per item under a root with an in-memory sink: per "
        "item at N vs N/10 (linear), peak RSS growth of one loop of N vs 10 loops of N/10 (bounded), vs the same "
        "steps without track",
        module="fig_track",
        setup="setup_track_inner_steps",
        variants=("track_n", "track_n10", "step_loop_n10", "rss_n", "rss_n10_x10"),
        ours="track_n",
        baseline="track_n10",
        metrics=(
            Metric(
                "us_per_item",
                "µs/item",
                name="track_inner_steps_linear",
                target=1.5,
                target_text="per item at N within 1.5× of N/10",
            ),
            Metric(
                "peak_rss_growth_kib",
                "KiB",
                name="track_inner_steps_memory",
                target=1.5,
                target_text="bounded: one loop of N within 1.5× of 10 loops of N/10; kept steps: ~10×",
                ours="rss_n",
                baseline="rss_n10_x10",
            ),
            Metric(
                "us_per_item",
                "µs/item",
                name="track_inner_steps_vs_step_loop",
                ours="track_n10",
                baseline="step_loop_n10",
            ),
        ),
        params={"items": 200_000},
        quick_params={"items": 20_000},  # too short for the memory row (see its notes): a smoke test only
    ),
)


def _select(names: list[str]) -> list[Figure]:
    if not names:
        return list(REGISTRY)
    wanted = {name.strip() for each in names for name in each.split(",") if name.strip()}
    known = {figure.name for figure in REGISTRY}
    unknown = wanted - known
    if unknown:
        raise SystemExit(f"unknown figure(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return [figure for figure in REGISTRY if figure.name in wanted]


def _overrides(settings: list[str]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    figures = {figure.name: figure for figure in REGISTRY}
    for setting in settings:
        target, _, value = setting.partition("=")
        name, _, key = target.partition(".")
        figure = figures.get(name)
        if figure is None or key not in figure.params or not value.strip().isdigit():
            raise SystemExit(f"--set {setting!r}: expected FIGURE.KEY=N with a size key of that figure")
        found.setdefault(name, {})[key] = int(value)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 runs: a smoke test, not a measurement")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this figure (repeatable)")
    parser.add_argument("--runs", type=int, help="timed runs per variant (overrides the figure's own)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every sample to PATH")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIGURE.KEY=N",
        help="override one size of a figure, e.g. --set memory.parents=1000 (repeatable)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per figure (default 900)")
    parser.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    overrides = _overrides(args.set)

    if args.worker:
        (figure,) = _select([args.worker])
        run_worker(figure, quick=args.quick, runs=args.runs, overrides=overrides.get(figure.name))
        return 0

    figures = _select(args.only)
    if args.list:
        for figure in figures:
            rows = ", ".join(figure.row_name(metric) for metric in figure.metrics)
            print(f"{figure.name:16} {figure.description} [rows: {rows}]")
        return 0
    if args.runs is not None and args.runs < 7 and not args.quick:
        print(f"note: --runs {args.runs} is below the 7 runs a measurement needs", file=sys.stderr)

    started = time.perf_counter()
    outcomes: list[FigureOutcome] = []
    for index, figure in enumerate(figures, 1):
        print(f"[{index}/{len(figures)}] {figure.name} ...", end=" ", file=sys.stderr, flush=True)
        outcome = spawn_figure(
            figure,
            Path(__file__).resolve(),
            quick=args.quick,
            runs=args.runs,
            timeout=args.timeout,
            overrides=overrides.get(figure.name),
        )
        print(f"{outcome.seconds:.1f} s", file=sys.stderr, flush=True)
        outcomes.append(outcome)
    total = time.perf_counter() - started

    mode = "QUICK smoke run (small sizes, few runs): not a measurement" if args.quick else "full run"
    print(f"progress_instrument benchmarks: {mode}, {total:.0f} s")
    for line in environment_lines():
        print(f"  {line}")
    print()
    rows = [row for outcome in outcomes for row in outcome.rows]
    print(format_table(rows))
    print()
    print(
        "ours, baseline = medians of their samples; ratio = median over the rounds of ours / baseline measured in the "
        "same round (lower is better); a target is the largest ratio that passes."
    )
    for outcome in outcomes:
        print()
        print(f"{outcome.figure.name} ({outcome.seconds:.1f} s, own process):")
        for note in outcome.notes:
            print(f"  - {note}")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mode": "quick" if args.quick else "full",
                    "environment": environment_lines(),
                    "figures": [outcome.raw for outcome in outcomes],
                },
                indent=2,
            )
        )
    failed = [row for row in rows if row.verdict in ("FAIL", "ERROR")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
