"""Property-based tests of the core tree (SPEC §1) against an independent model of it.

A hypothesis state machine runs random programs of `create_subreport`, `advance`,
`update(steps=...)`, `complete` and `cancel` on random nodes (running or finished), and after every
operation compares the live tree with a model kept by the test: statuses, errors, retained children
and, above all, every fraction recomputed from SPEC §1's formula with the advance totals, weights
and statuses the model tracked itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import deprogressapi
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from progress_instrument import ProgressCancelled, ProgressReport, Status
from progress_instrument._tree import RETAINED_FAILED, RETAINED_FINISHED

DASF_FIELDS = ("report_type", "report_id", "step_message", "steps", "status", "children")
UNFINISHED = "unfinished when parent finished"
MAX_SNAPSHOT_BYTES = 256 * 1024
DEPROGRESSAPI_MAX_NODES = 60

STEPS = st.integers(min_value=0, max_value=5)
WEIGHTS = st.sampled_from([0.0, 0.5, 1.0, 2.0])
ADVANCES = st.sampled_from([0, 1, 2, 3, 7, 0.5, 0.25])
PICK = st.integers(min_value=0, max_value=10_000)
# Half successes, half failures of the four kinds.
OUTCOMES = st.one_of(
    st.just("success"), st.sampled_from(["error-text", "error-none", "error-exception", "error-cancelled"])
)


@dataclass(eq=False)
class Node:
    """What the test expects of one live report, tracked independently of the library."""

    report: ProgressReport
    parent: Node | None
    weight: float
    steps: int
    advanced: float = 0.0
    status: Status = Status.RUNNING
    #: Exact expected error text, or None when only `error_contains` (or nothing) is known.
    error: str | None = None
    error_contains: str | None = None
    #: True/False as expected, None when SPEC leaves it open.
    cancelled: bool | None = False
    children: list[Node] = field(default_factory=list)
    #: Per final status, the children in the order they finished; a batch finished by one cascade
    #: has no order among itself.
    finish_batches: dict[Status, list[list[Node]]] = field(
        default_factory=lambda: {Status.SUCCESS: [], Status.ERROR: []}
    )

    @property
    def running(self) -> bool:
        return self.status is Status.RUNNING

    def running_descendants(self) -> list[Node]:
        found: list[Node] = []
        stack = [self]
        while stack:
            node = stack.pop()
            for child in node.children:
                if child.running:
                    found.append(child)
                    stack.append(child)
        return found


def expected_fraction(node: Node, memo: dict[int, float]) -> float:
    """SPEC §1's fraction from the model alone: advances, weights, statuses, children's fractions."""
    if id(node) in memo:
        return memo[id(node)]
    if not node.running:
        value = 1.0
    elif node.steps == 0:
        value = 0.0
    else:
        done = node.advanced
        for child in node.children:
            done += child.weight * (1.0 if not child.running else expected_fraction(child, memo))
        value = min(1.0, done / node.steps)
    memo[id(node)] = value
    return value


def check_retained(node: Node) -> None:
    """Children keep every running one, the most recent finished and failed ones, the rest counted."""
    live = node.report.children
    created = [child.report for child in node.children]
    assert len(live) + node.report.omitted_children == len(created)
    position = {id(report): index for index, report in enumerate(created)}
    assert all(id(report) in position for report in live)
    indices = [position[id(report)] for report in live]
    assert indices == sorted(indices), "children are listed in creation order"
    kept = {id(report) for report in live}
    for child in node.children:
        if child.running:
            assert id(child.report) in kept, "a running child is never dropped"
    for status, limit in ((Status.SUCCESS, RETAINED_FINISHED), (Status.ERROR, RETAINED_FAILED)):
        quota = limit
        certain: list[Node] = []
        ambiguous: list[Node] = []
        take_from_ambiguous = 0
        for batch in reversed(node.finish_batches[status]):
            if quota >= len(batch):
                certain.extend(batch)
                quota -= len(batch)
            else:
                ambiguous = batch
                take_from_ambiguous = quota
                break
        for child in certain:
            assert id(child.report) in kept, f"a recent {status.value} child was dropped"
        assert sum(id(child.report) in kept for child in ambiguous) == take_from_ambiguous
        retained = [report for report in live if report.status is status]
        assert len(retained) == len(certain) + take_from_ambiguous <= limit


def check_snapshot(root: Node, by_id: dict[str, ProgressReport]) -> None:
    """The snapshot has the DASF shape, unique ids, and the live fields and fractions."""
    snapshot = root.report.to_dict()
    text = json.dumps(snapshot, separators=(",", ":"), ensure_ascii=False)
    assert len(text.encode()) <= MAX_SNAPSHOT_BYTES
    seen: set[str] = set()
    stack: list[dict[str, Any]] = [snapshot]
    while stack:
        entry = stack.pop()
        for name in DASF_FIELDS:
            assert entry.get(name) is not None, f"DASF field {name} missing or null"
        assert entry["report_type"] == "tree"
        report_id = entry["report_id"]
        assert report_id not in seen
        seen.add(report_id)
        live = by_id[report_id]
        assert entry["status"] == live.status.value
        assert entry["steps"] == live.steps
        assert entry["fraction"] == live.fraction
        assert entry["completed"] == live.completed
        assert entry["error"] == live.error
        assert entry["cancelled"] == live.cancelled
        live_ids = [child.report_id for child in live.children]
        listed = [child["report_id"] for child in entry["children"]]
        assert [i for i in live_ids if i in set(listed)] == listed, "children are a subsequence in order"
        assert entry["omitted_children"] == live.omitted_children + len(live_ids) - len(listed)
        stack.extend(entry["children"])


class TreeMachine(RuleBasedStateMachine):
    """Random programs over one or more trees, checked against the model after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.roots: list[Node] = []
        self.nodes: list[Node] = []  # the nodes rules pick from (burst children are not among them)
        self.by_id: dict[str, ProgressReport] = {}
        self.previous: dict[int, float] = {}
        self.steps_changed = False
        self.counter = 0

    # -- helpers ---------------------------------------------------------------------------------

    def _name(self) -> str:
        self.counter += 1
        return f"n{self.counter}"

    def _add(self, node: Node, selectable: bool = True) -> None:
        if node.parent is not None:
            node.parent.children.append(node)
        else:
            self.roots.append(node)
        if selectable:
            self.nodes.append(node)
        self.by_id[node.report.report_id] = node.report

    def _pick(self, index: int, running: bool) -> Node:
        pool = [node for node in self.nodes if node.running] if running else self.nodes
        pool = pool or self.nodes
        return pool[index % len(pool)]

    def _finish(self, node: Node, status: Status, *, error: str | None, contains: str | None, cancel: bool) -> None:
        """Apply SPEC §1's finishing rule to the model: descendants first, with the inherited outcome."""
        descendants = node.running_descendants()
        batches: dict[int, list[Node]] = {}
        for child in descendants:
            child.status = Status.ERROR
            if status is Status.ERROR:
                child.error, child.error_contains = error, contains
                if cancel and not child.cancelled:
                    child.cancelled = None  # SPEC does not say whether the flag is inherited
            else:
                child.error, child.error_contains = None, UNFINISHED
            assert child.parent is not None
            batches.setdefault(id(child.parent), []).append(child)
        for child in descendants:
            assert child.parent is not None
            batch = batches.pop(id(child.parent), None)
            if batch is not None:
                child.parent.finish_batches[Status.ERROR].append(batch)
        node.status = status
        node.error, node.error_contains = error, contains
        if cancel:
            node.cancelled = True
        if node.parent is not None:
            node.parent.finish_batches[status].append([node])

    # -- rules -----------------------------------------------------------------------------------

    def new_root(self, steps: int) -> None:
        report = ProgressReport(self._name(), steps=steps, sinks=[])
        self._add(Node(report, None, 1.0, steps))

    @initialize(steps=STEPS, shape=st.lists(st.tuples(PICK, STEPS, WEIGHTS), max_size=6))
    def first_tree(self, steps: int, shape: list[tuple[int, int, float]]) -> None:
        """Start from a random small tree, so that programs finish parents with running descendants."""
        self.new_root(steps)
        for pick, child_steps, weight in shape:
            self.create_subreport(pick, child_steps, weight)

    @rule(pick=PICK, steps=STEPS, weight=WEIGHTS)
    def create_subreport(self, pick: int, steps: int, weight: float) -> None:
        if not any(node.running for node in self.nodes):
            self.new_root(steps)  # every tree has finished: go on in a new one
            return
        parent = self._pick(pick, running=True)
        child = parent.report.create_subreport(self._name(), steps=steps, weight=weight)
        assert child.status is Status.RUNNING
        assert child.parent is parent.report
        self._add(Node(child, parent, weight, steps, cancelled=bool(parent.cancelled)))

    @rule(pick=PICK)
    def create_subreport_under_finished(self, pick: int) -> None:
        finished = [node for node in self.nodes if not node.running]
        if not finished:
            return
        parent = finished[pick % len(finished)]
        before = parent.report.children
        child = parent.report.create_subreport(self._name(), steps=1)
        assert child.parent is None, "a child created under a finished report is detached"
        assert child.status is Status.RUNNING
        assert parent.report.children == before
        child.advance()
        child.complete()
        assert child.fraction == 1.0

    @rule(pick=PICK, n=ADVANCES, running=st.booleans())
    def advance(self, pick: int, n: float, running: bool) -> None:
        node = self._pick(pick, running=running)
        node.report.advance(n)
        if node.running:
            node.advanced += n

    @rule(pick=PICK, steps=STEPS)
    def update_steps(self, pick: int, steps: int) -> None:
        node = self._pick(pick, running=True)
        if not node.running:
            return
        node.report.update(steps=steps, step_message=f"{node.report.step_message}'")
        node.steps = steps
        self.steps_changed = True

    @rule(pick=PICK, outcome=OUTCOMES, running=st.booleans())
    def complete(self, pick: int, outcome: str, running: bool) -> None:
        node = self._pick(pick, running=running)
        error: str | None = None
        contains: str | None = None
        cancel = False
        if outcome == "success":
            node.report.complete()
            status = Status.SUCCESS
        elif outcome == "error-text":
            contains = f"boom {self.counter}"
            node.report.complete(Status.ERROR, error=contains)
            status = Status.ERROR
        elif outcome == "error-none":
            node.report.complete("error")
            status = Status.ERROR
        elif outcome == "error-exception":
            node.report.complete(Status.ERROR, error=ValueError("bad value"))
            error = "ValueError: bad value"
            status = Status.ERROR
        else:
            node.report.complete(Status.ERROR, error=ProgressCancelled("stop"))
            error = "ProgressCancelled: stop"
            cancel = True
            status = Status.ERROR
        if not node.running:
            return  # the first outcome stands
        if status is Status.ERROR:
            assert node.report.error, "a failure always has an error text"
            if error is None and contains is None:
                error = node.report.error
        self._finish(node, status, error=error, contains=contains, cancel=cancel)

    @rule(pick=PICK, outcome=OUTCOMES)
    def complete_parent(self, pick: int, outcome: str) -> None:
        """Finish a report while some of its descendants still run."""
        parents = [node for node in self.nodes if node.running_descendants()]
        if parents:
            self.complete(self.nodes.index(parents[pick % len(parents)]), outcome, running=False)

    @rule(pick=PICK, running=st.booleans())
    def cancel(self, pick: int, running: bool) -> None:
        node = self._pick(pick, running=running)
        assert node.report.cancel() is node.running
        if node.running:
            node.cancelled = True
            for child in node.running_descendants():
                child.cancelled = True

    @rule(pick=PICK, count=st.integers(min_value=0, max_value=130), failing=st.sampled_from([0, 1, 2, 3]))
    def burst(self, pick: int, count: int, failing: int) -> None:
        """Many short children finishing one after another, some failing (drives retention)."""
        parent = self._pick(pick, running=True)
        if not parent.running:
            return
        for index in range(count):
            fails = failing == 1 or (failing > 1 and index % failing == 0)
            report = parent.report.create_subreport(self._name(), steps=1, weight=1.0)
            node = Node(report, parent, 1.0, 1, cancelled=bool(parent.cancelled))
            self._add(node, selectable=False)
            if fails:
                report.complete(Status.ERROR, error="burst failure")
                self._finish(node, Status.ERROR, error="burst failure", contains=None, cancel=False)
            else:
                report.advance()
                node.advanced = 1.0
                report.complete()
                self._finish(node, Status.SUCCESS, error=None, contains=None, cancel=False)

    @rule(pick=PICK)
    def snapshot(self, pick: int) -> None:
        """A tree's snapshot matches the live tree and reads back with deprogressapi (DASF's own)."""
        root = self.roots[pick % len(self.roots)]
        check_snapshot(root, self.by_id)
        payload = root.report.to_json()
        snapshot = json.loads(payload)
        if payload.count('"report_id"') > DEPROGRESSAPI_MAX_NODES:
            return  # deprogressapi reads ~0.5 ms per node: keep the whole file fast
        read = deprogressapi.ProgressReport.from_payload(payload)
        assert read.step_message == snapshot["step_message"]
        assert [child.step_message for child in read.children] == [
            child["step_message"] for child in snapshot["children"]
        ]

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def nodes_match_the_model(self) -> None:
        for node in self.nodes:
            report = node.report
            assert report.status is node.status
            assert report.steps == node.steps
            assert report.completed == node.advanced
            assert (report.finished_at is None) is node.running
            assert report.started_at is not None
            if node.cancelled is not None:
                assert report.cancelled is node.cancelled
            if node.running:
                assert report.error is None
            else:
                if node.error is not None:
                    assert report.error == node.error
                if node.error_contains is not None:
                    assert report.error is not None
                    assert node.error_contains.lower() in report.error.lower()
                if node.status is Status.ERROR:
                    assert report.error, "a failure always has an error text"
            assert report.parent is (node.parent.report if node.parent else None)

    @invariant()
    def fractions_follow_the_formula(self) -> None:
        memo: dict[int, float] = {}
        for node in self.nodes:
            fraction = node.report.fraction
            assert 0.0 <= fraction <= 1.0
            if not node.running:
                assert fraction == 1.0
            elif node.steps == 0:
                assert fraction == 0.0
            expected = expected_fraction(node, memo)
            assert math.isclose(fraction, expected, rel_tol=1e-9, abs_tol=1e-12), (
                f"{node.report.step_message}: fraction {fraction} but SPEC §1 gives {expected}"
            )

    @invariant()
    def running_fractions_never_decrease(self) -> None:
        current = {id(node): node.report.fraction for node in self.nodes if node.running}
        if not self.steps_changed:
            for key, fraction in current.items():
                before = self.previous.get(key)
                if before is not None:
                    assert fraction >= before - 1e-12, f"fraction dropped from {before} to {fraction}"
        self.previous = current
        self.steps_changed = False

    @invariant()
    def children_are_retained_within_bounds(self) -> None:
        for node in self.nodes:
            check_retained(node)


TreeMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class TestRandomProgramsKeepSpecInvariants(TreeMachine.TestCase):
    """Random programs of tree operations keep every SPEC §1 invariant after every step."""


class TestOracle:
    def test_oracle_agrees_with_a_hand_computed_tree(self) -> None:
        """The test's own formula gives SPEC §1's worked example (so the oracle is not vacuous)."""
        report = ProgressReport("r", steps=2, sinks=[])
        root = Node(report, None, 1.0, 2)
        child = Node(report.create_subreport("c", steps=4), root, 1.0, 4)
        root.children.append(child)
        report.advance()
        root.advanced = 1.0
        child.report.advance(2)
        child.advanced = 2.0
        assert expected_fraction(root, {}) == 0.75 == report.fraction

    def test_cascade_over_the_bound_keeps_exactly_the_bound(self) -> None:
        """A parent finishing more running children than RETAINED_FAILED keeps that many of them, any of them."""
        machine = TreeMachine()
        machine.new_root(steps=1)
        (parent,) = machine.nodes
        for _ in range(RETAINED_FAILED + 30):
            machine.create_subreport(0, 1, 1.0)
        machine.complete(0, "success", running=False)
        assert parent.report.omitted_children == 30
        assert all(child.error_contains == UNFINISHED for child in parent.children)
        check_retained(parent)
        machine.nodes_match_the_model()
        machine.fractions_follow_the_formula()
        machine.teardown()
