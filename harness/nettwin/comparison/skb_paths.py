"""The skb path behind each frame of the twin's that differs from Linux's: the
scenario is replayed once more with the stack's checkpoints on (the engine is
deterministic, so the same frames leave), each frame on the wire is matched to
the skb that dev_hard_start_xmit handed to the driver with those bytes, and
that skb's events are its path. Only a failing scenario pays for the second
replay; a passing one never takes checkpoints."""
from __future__ import annotations

from typing import Optional, Sequence

from ..scenarios import folder as scenario_folder
from .compare import Comparison

XMIT = "checkpoint:dev_hard_start_xmit"


def wire_skbs(raw_events: Sequence[dict], dev: str, wire: Sequence) -> list[Optional[int]]:
    """For each frame dev sent, the id of the skb that carried it (None where
    no transmitted skb had its bytes), matched in wire order."""
    xmits = [ev for ev in raw_events if ev["name"] == XMIT and ev["fields"].get("dev") == dev]
    out, at = [], 0
    for frame in wire:
        want = bytes(frame).hex()
        skb = None
        for k in range(at, len(xmits)):
            if xmits[k]["fields"].get("frame") == want:
                skb, at = xmits[k]["skb"], k + 1
                break
        out.append(skb)
    return out


def path_of(raw_events: Sequence[dict], skb: int) -> list[dict]:
    """Every checkpoint and tracepoint of one skb, in order, without its bytes."""
    return [{"t_ns": ev["time_ns"], "name": ev["name"], "skb": skb,
             "fields": {k: v for k, v in ev["fields"].items() if k not in ("frame", "frame_layer")}}
            for ev in raw_events if ev["skb"] == skb]


def differing_frame_paths(scen: scenario_folder.ScenarioFolder, comparison: Comparison,
                          traced) -> dict[int, list[dict]]:
    """Frame index (FrameDiff.index) -> the skb path of the twin's frame there,
    for every frame that differs and that the twin sent; traced is the second
    replay's Replay (conform.replay with skb_paths=True)."""
    tester_frames = sum(f.where == "" for f in comparison.frames)
    skbs = {"": wire_skbs(traced.raw_events, scen.dut["ifname"], traced.wire)}
    if scen.far_dut_ifname:
        skbs["far"] = wire_skbs(traced.raw_events, scen.far_dut_ifname, traced.far_wire)
    paths = {}
    for f in comparison.frames:
        if not f.differs or f.nettwin is None:
            continue
        pos = f.index - 1 - (tester_frames if f.where == "far" else 0)
        ids = skbs.get(f.where, [])
        if pos < len(ids) and ids[pos] is not None:
            paths[f.index] = path_of(traced.raw_events, ids[pos])
    return paths
