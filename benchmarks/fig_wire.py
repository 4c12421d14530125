"""Wire-format figures: reading snapshots (`from_json`) and writing them (`to_json`).

Both sides always get the same payload (reading) or the same tree shape (writing).
"""

from __future__ import annotations

from _harness import Setup, calls_per_sample, seconds_per_call
from _trees import build_dasf, build_ours, import_deprogressapi, live_nodes, payload_nodes, shape_size


def _reading_setup(payload: str, nodes: int, source: str) -> Setup:
    from progress_instrument import ProgressReport

    deprogressapi = import_deprogressapi()
    # Both readers must accept the payload and see every node of it, or the figure compares nothing.
    ours_nodes = live_nodes(ProgressReport.from_json(payload))
    peer_nodes = live_nodes(deprogressapi.ProgressReport.from_payload(payload))
    if not ours_nodes == peer_nodes == nodes:
        raise RuntimeError(f"readers disagree on the payload: ours {ours_nodes}, deprogressapi {peer_nodes}, {nodes}")

    def read_ours() -> object:
        return ProgressReport.from_json(payload)

    def read_peer() -> object:
        return deprogressapi.ProgressReport.from_payload(payload)

    ours_calls, peer_calls = calls_per_sample(read_ours), calls_per_sample(read_peer)

    def ours() -> dict[str, float]:
        return {"us_per_node": seconds_per_call(read_ours, ours_calls) / nodes * 1e6}

    def peer() -> dict[str, float]:
        return {"us_per_node": seconds_per_call(read_peer, peer_calls) / nodes * 1e6}

    notes = [
        f"payload: {source}, {nodes:,} nodes, {len(payload.encode()):,} bytes; both readers parse the same str "
        "and build every node",
        "per node = time of one whole call / nodes (deprogressapi's from_payload builds its TypeAdapter on "
        "every call; that is part of its per-call cost)",
        f"a sample is the mean of back-to-back calls, as many as take ≥ 0.1 s: {ours_calls} of ours, "
        f"{peer_calls} of deprogressapi's",
    ]
    return Setup({"progress_instrument": ours, "deprogressapi": peer}, notes)


def setup_from_json(params: dict[str, int]) -> Setup:
    """`ProgressReport.from_json` vs ``deprogressapi``'s ``from_payload`` on a DASF-made payload."""
    parents, children = params["parents"], params["children"]
    payload = build_dasf(parents, children, finish_children=True).model_dump_json()
    nodes = payload_nodes(payload)
    assert nodes == shape_size(parents, children)
    source = (
        f"deprogressapi model_dump_json() of a root with {parents} running children, "
        f"each with {children} finished children"
    )
    return _reading_setup(payload, nodes, source)


def setup_from_json_ours(params: dict[str, int]) -> Setup:
    """The same comparison on a payload made by our `to_json()` (with our extension fields)."""
    parents, children = params["parents"], params["children"]
    payload = build_ours(parents, children, finish_children=True).to_json()
    nodes = payload_nodes(payload)
    reduced = "" if nodes == shape_size(parents, children) else f" (reduced from {shape_size(parents, children):,})"
    source = (
        f"our to_json() of a root with {parents} running children, each with {children} finished children"
        f"{reduced}, sized to stay under the 256 KiB snapshot budget"
    )
    return _reading_setup(payload, nodes, source)


def setup_snapshot(params: dict[str, int]) -> Setup:
    """Our `to_json()` vs ``deprogressapi``'s ``model_dump_json()`` on the same tree shape."""
    parents, children = params["parents"], params["children"]
    size = shape_size(parents, children)
    ours_tree = build_ours(parents, children, finish_children=True)
    peer_tree = build_dasf(parents, children, finish_children=True)
    ours_kept, peer_kept = live_nodes(ours_tree), live_nodes(peer_tree)
    if not ours_kept == peer_kept == size:
        raise RuntimeError(f"trees differ: ours keeps {ours_kept} nodes, deprogressapi {peer_kept}, shape {size}")

    ours_text, peer_text = ours_tree.to_json(), peer_tree.model_dump_json()
    ours_bytes, peer_bytes = len(ours_text.encode()), len(peer_text.encode())
    ours_calls = calls_per_sample(ours_tree.to_json)
    peer_calls = calls_per_sample(peer_tree.model_dump_json)

    def ours() -> dict[str, float]:
        return {"ms": seconds_per_call(ours_tree.to_json, ours_calls) * 1e3, "bytes": ours_bytes}

    def peer() -> dict[str, float]:
        return {"ms": seconds_per_call(peer_tree.model_dump_json, peer_calls) * 1e3, "bytes": peer_bytes}

    notes = [
        f"tree: a running root with {parents} running children, each with {children} finished children "
        f"= {size:,} nodes, held in full by both libraries",
        f"ours reduces every snapshot to at most 256 KiB (SPEC §2: finished subtrees shrink to their root, "
        f"counted in omitted_children): its payload lists {payload_nodes(ours_text):,} nodes in "
        f"{ours_bytes:,} bytes; deprogressapi serializes everything: {payload_nodes(peer_text):,} "
        f"nodes in {peer_bytes:,} bytes. The time ratio compares unequal outputs: ours does the "
        "reduction and writes fewer nodes",
        f"a sample is the mean of back-to-back calls, as many as take ≥ 0.1 s: {ours_calls} of ours, "
        f"{peer_calls} of deprogressapi's; bytes are those of one snapshot (UTF-8)",
    ]
    return Setup({"progress_instrument": ours, "deprogressapi": peer}, notes)
