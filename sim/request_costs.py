"""Per-request costs of a ragged layer (decode attention: every request has its own context length) and their sum
over the requests of a batch.

A cascade instance has one size per rank, so a batch whose requests attend to different numbers of cached tokens
is not one point. Each fusion group of the layer's mapping is therefore evaluated (through its lowered plan, as any
point) with one request per unit-instance iteration at a grid of context lengths, the *anchors*; a request's cost at
its own length is the linear interpolation between the anchors around it (:class:`GroupCurve`). Contexts are
rounded up to whole KV-cache pages first (attention reads whole pages), and the anchors are page multiples, so a
cost that is affine in pages between two anchors (a PIM GEMV's tiles, a DRAM stream) is exact; tests compare the
interpolation with the plan at sampled lengths.

Summing over a batch (:func:`aggregate`) follows where each group's work can run:

- a group on a unit that computes in the DRAM (kind ``pim``) reads each request's KV cache in place, so it runs the
  request on the channel holding that cache: per channel the sum of its requests' costs, the slowest channel bounds
  the group (NeuPIMs, Sec. 5: the channel's requests run one after another);
- any other group spreads requests over its unit instances as they free up: the total over the instances in use,
  at least the longest single request.

Energy, work and DRAM bytes add up over all requests (every channel's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einsim.arch.spec import ArchSpec

from .group_costs import GroupCost

__all__ = ["GroupCurve", "GroupLoad", "anchors_for", "curve_from_costs", "aggregate", "ANCHOR_STEP"]

#: spacing of the interpolation grid above its first octaves (tokens); finer below (page multiples doubling)
ANCHOR_STEP = 256


def anchors_for(max_context: int, page: int) -> np.ndarray:
    """The anchor grid up to ``max_context`` tokens (all page multiples): page, 2 page, 4 page, ... up to
    ANCHOR_STEP, then every multiple of ANCHOR_STEP and the page after it, up to the first multiple at or above
    ``max_context``. A cost that steps up where a new DRAM row of the V cache starts (every 512 tokens on HBM2's
    1 KB rows: a multiple of ANCHOR_STEP) is then affine between anchors: the step lies between m and m + page."""
    page = max(1, int(page))
    step = max(page, ANCHOR_STEP // page * page)
    xs = []
    x = page
    while x < step:
        xs.append(x)
        x *= 2
    top = -(-max(int(max_context), 1) // step) * step
    for m in range(step, top + step, step):
        xs += [m, m + page] if m < top else [m]
    return np.array(sorted(set(xs)), dtype=np.int64)


@dataclass(frozen=True, kw_only=True)
class GroupCurve:
    """One fusion group's cost per request against its context length: values at ``anchors`` (per request, on one
    unit instance): ``cycles``, ``resource_cycles`` (resource -> busy cycles), ``energy_pj``, ``dram_bytes``,
    ``pe_cycles`` (unit -> PE-cycles). ``channel_bound``: it runs in the DRAM channel holding each request's KV
    cache; ``instances``: unit instances it spreads over (channels when channel-bound); ``pim_resource``: the resource
    a channel-bound group's PIM work occupies (its unit, or ``dram`` with one row buffer)."""

    name: str
    units: tuple[str, ...]
    channel_bound: bool
    instances: int
    anchors: np.ndarray
    cycles: np.ndarray
    resource_cycles: dict
    energy_pj: np.ndarray
    dram_bytes: np.ndarray
    pe_cycles: dict
    pim_resource: str = ""

    def at(self, context: np.ndarray, what: np.ndarray) -> np.ndarray:
        """``what`` (an array over the anchors) at each context length, interpolated (extrapolated past the last
        anchor along the last segment)."""
        x = np.asarray(context, dtype=np.float64)
        out = np.interp(x, self.anchors, what)
        if len(self.anchors) > 1:
            far = x > self.anchors[-1]
            if far.any():
                slope = (what[-1] - what[-2]) / (self.anchors[-1] - self.anchors[-2])
                out[far] = what[-1] + slope * (x[far] - self.anchors[-1])
        return out


def curve_from_costs(arch: ArchSpec, anchors: np.ndarray, costs: list[list[GroupCost]], requests: int
                     ) -> list[GroupCurve]:
    """Curves of each group from its costs at every anchor (``costs[a][g]``, the layer evaluated with ``requests``
    requests, one per iteration of the group's outermost loop)."""
    curves = []
    for g, first in enumerate(costs[0]):
        at = [c[g] for c in costs]
        per = np.array([c.copies / requests for c in at])     # instance-programs per request
        pim = [u for u in first.units if arch.unit(u).kind == "pim"]
        res = sorted({r for c in at for r in c.resource_cycles})
        pes = sorted({u for c in at for u in c.pe_cycles})
        curves.append(GroupCurve(
            name=first.name, units=first.units, channel_bound=bool(pim), instances=first.instances,
            anchors=np.asarray(anchors, dtype=np.float64), cycles=np.array([c.cycles for c in at]) * per,
            resource_cycles={r: np.array([c.resource_cycles.get(r, 0.0) for c in at]) * per for r in res},
            energy_pj=np.array([c.energy_pj for c in at]) / requests,
            dram_bytes=np.array([c.dram_bytes for c in at]) / requests,
            pe_cycles={u: np.array([c.pe_cycles.get(u, 0.0) for c in at]) / requests for u in pes},
            pim_resource=arch.unit(pim[0]).resource if pim else ""))
    return curves


@dataclass(frozen=True, kw_only=True)
class GroupLoad:
    """A group's cost for a set of requests: ``cycles`` (its latency), ``resource_cycles`` (busy, one instance's
    view: the slowest channel's when channel-bound), totals of ``energy_pj``, ``dram_bytes``, ``pe_cycles``, and
    ``channel_busy``: cycles each channel's PIM work takes (empty unless channel-bound)."""

    name: str
    cycles: float
    resource_cycles: dict
    energy_pj: float
    dram_bytes: float
    pe_cycles: dict
    channel_busy: np.ndarray


def aggregate(curve: GroupCurve, context: np.ndarray, channel: np.ndarray) -> GroupLoad:
    """The group's cost over requests with KV caches of ``context`` tokens (already rounded to whole pages) in
    DRAM channels ``channel`` (see the module docstring)."""
    n = len(context)
    cyc = curve.at(context, curve.cycles)
    res = {r: curve.at(context, v) for r, v in curve.resource_cycles.items()}
    totals = dict(energy_pj=float(curve.at(context, curve.energy_pj).sum()),
                  dram_bytes=float(curve.at(context, curve.dram_bytes).sum()),
                  pe_cycles={u: float(curve.at(context, v).sum()) for u, v in curve.pe_cycles.items()})
    if n == 0:
        return GroupLoad(name=curve.name, cycles=0.0, resource_cycles={}, channel_busy=np.zeros(0), **totals)
    if curve.channel_bound:
        if channel.max() >= curve.instances or channel.min() < 0:
            raise ValueError(f"KV-cache channels must be in [0, {curve.instances}) for {curve.name}, not "
                             f"{int(channel.min())}..{int(channel.max())}")
        load = np.bincount(channel, weights=cyc, minlength=curve.instances)
        slow = int(np.argmax(load))
        busy = {r: float(np.bincount(channel, weights=v, minlength=curve.instances)[slow]) for r, v in res.items()}
        pim = np.bincount(channel, weights=res.get(curve.pim_resource, cyc), minlength=curve.instances)
        return GroupLoad(name=curve.name, cycles=float(load[slow]), resource_cycles=busy, channel_busy=pim, **totals)
    used = min(n, curve.instances)
    cycles = max(float(cyc.sum()) / used, float(cyc.max()))
    busy = {r: float(v.sum()) / used for r, v in res.items()}
    return GroupLoad(name=curve.name, cycles=cycles, resource_cycles=busy, channel_busy=np.zeros(0), **totals)
