"""One decode iteration of an LLM on a system: every request of a batch generates one token, each attending to
its own KV cache (its context length) in its own DRAM channel.

A :class:`DecodeSystem` joins a decode model preset (one decoder layer: GEMMs at M = the batch's tokens, decode
attention over the requests' caches), a serving configuration (:mod:`einsim.mappings.serving`: architecture,
mapping set, sub-batches, stage pipeline, TP/PP) and a cost cache. ``iteration(batch)`` evaluates:

1. the batch split into sub-batches (NeuPIMs' split: each channel's requests halved, the odd one alternately to
   the first and the second half, casys-kaist/NeuPIMs src/scheduler/Scheduler.cc group_sub_batches);
2. per sub-batch, each layer as one stage group (its fusion groups run one after another, so a sub-batch's
   attention holds the PIM from its QK through its SN V, as NeuPIMs' PIM stage program): a batched layer (its
   sizes depend on the batch, not on the context: the GEMMs) through its plan at M = the sub-batch's tokens
   (interpolated between multiples of BATCH_QUANTUM: a decode GEMM streams its rows, so its cost is affine in M
   there); a ragged layer (attention) per request by :mod:`einsim.sim.request_costs` (PIM groups per channel, the
   slowest channel bounding them);
3. the groups of all layers as stages (:mod:`einsim.sim.stages`): ``layers / pp`` layers times the sub-batches,
   the sub-batches in flight at once, each group holding the resources it keeps busy (and a one-row-buffer
   channel for its whole span: ``exclusive``), timed by the analytical closed forms or the event engine. A stage
   iteration starts at the configuration's ``stage_start`` layer (the layers rotated: the first iteration's
   layers before it run at the end instead, a difference of one layer's edge in the whole iteration).

Sub-batches of one iteration are timed as the stage loop's identical trips, so each group's cost is the mean over
the sub-batches (they differ by at most one request per channel). With ``pp`` pipeline stages, each device runs
``layers / pp`` layers and ``pp`` batches are in flight (one per device), so the system emits a batch of tokens
every device iteration: ``tokens_per_s = batch / device time`` while one token step of a request takes ``pp``
device iterations (``iteration_s``). Tensor parallelism divides the layers' sizes (the model's ``TP``); the
all-reduce between TP devices is not modelled (nor is it by NeuPIMs' simulator, which models one device).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.mappings.serving import ServingSpec
from einsim.mappings.sets import MappingSet
from einsim.workloads import load_cascade
from einsim.workloads.errors import SpecError, SpecIssue
from einsim.workloads.models import Model

from .errors import Infeasible
from .group_costs import CostCache
from .request_costs import GroupCurve, GroupLoad, aggregate, anchors_for, curve_from_costs
from .stages import StageGroup, stage_plan

__all__ = ["DecodeBatch", "DecodeSystem", "Iteration", "split_sub_batches", "BATCH_QUANTUM"]

#: batch sizes a batched layer (the GEMMs) is evaluated at: multiples of this, interpolated in between
BATCH_QUANTUM = 16


@dataclass(frozen=True, kw_only=True)
class DecodeBatch:
    """Requests of one decode step: ``context`` tokens in each one's KV cache (its new token attends to them) and
    the DRAM ``channel`` holding that cache."""

    context: np.ndarray
    channel: np.ndarray

    def __post_init__(self):
        c = np.ascontiguousarray(self.context, dtype=np.int64).reshape(-1)
        ch = np.ascontiguousarray(self.channel, dtype=np.int64).reshape(-1)
        if c.shape != ch.shape:
            raise ValueError(f"context and channel must have one entry per request, not {c.size} and {ch.size}")
        if c.size and c.min() < 1:
            raise ValueError(f"context lengths must be positive, not {int(c.min())}")
        if ch.size and ch.min() < 0:
            raise ValueError(f"channels must be >= 0, not {int(ch.min())}")
        object.__setattr__(self, "context", c)
        object.__setattr__(self, "channel", ch)

    def __len__(self) -> int:
        return int(self.context.size)

    def take(self, index) -> DecodeBatch:
        return DecodeBatch(context=self.context[index], channel=self.channel[index])


def split_sub_batches(batch: DecodeBatch, parts: int) -> list[DecodeBatch]:
    """NeuPIMs' split: each channel's requests (in batch order) cut into ``parts`` consecutive runs of near-equal
    size, the larger runs going to the first parts and then, channel by channel, rotating to the next parts."""
    if parts == 1:
        return [batch]
    idx: list[list[int]] = [[] for _ in range(parts)]
    turn = 0
    for ch in np.unique(batch.channel):
        mine = np.nonzero(batch.channel == ch)[0]
        base, extra = divmod(len(mine), parts)
        sizes = [base + (1 if (p - turn) % parts < extra else 0) for p in range(parts)]
        turn = (turn + extra) % parts
        start = 0
        for p, s in enumerate(sizes):
            idx[p].extend(mine[start:start + s].tolist())
            start += s
    return [batch.take(np.array(sorted(i), dtype=np.int64)) for i in idx]


@dataclass(frozen=True, kw_only=True)
class Iteration:
    """One decode iteration (all layers) of a batch on one device: ``cycles`` of the device; ``sub_batches`` used;
    ``groups``: the stage groups of one layer (mean over sub-batches); ``layer_cycles``: per model layer, its groups'
    cycles summed over sub-batches and layers (serial-equivalent time); ``energy_pj``; ``pe_cycles`` per unit;
    ``channel_busy``: PIM cycles per channel; ``resource_cycles`` of the stage loop; ``plan``: the stage plan."""

    cycles: float
    sub_batches: int
    batch: DecodeBatch
    tokens: int
    layers: int
    groups: tuple
    layer_cycles: dict
    energy_pj: float
    dram_bytes: float
    pe_cycles: dict
    channel_busy: np.ndarray
    resource_cycles: dict
    plan: object = field(repr=False, default=None)


class DecodeSystem:
    """A decode model served by a configuration on an architecture (see the module docstring)."""

    def __init__(self, model: Model, serving: ServingSpec, arch: ArchSpec, mappings: MappingSet, *,
                 tp: int | None = None, pp: int | None = None, cache: CostCache | None = None,
                 engine: str = "analytical", prefill_model: Model | None = None):
        self.model, self.serving, self.arch, self.mappings = model, serving, arch, mappings
        self.prefill_model = prefill_model
        self._cascades: dict = {}
        self._layers: dict = {}
        self._prefill = None
        self._pim_spec = None
        self._load_curve = None
        self.tp = tp or serving.tp
        self.pp = pp or serving.pp
        self.cache = cache if cache is not None else CostCache()
        self.engine = engine
        if "L" not in model.params:
            raise SpecError([SpecIssue(model.file, None, "params.L", "must give the model's decoder layers (e.g. "
                                                                      "L: 32) to serve it")])
        total = int(model.params["L"])
        if total % self.pp:
            raise SpecError([SpecIssue(serving.source, None, "pp", f"must divide the {total} layers of "
                                                                    f"{model.name}, not {self.pp}")])
        self.layers = total // self.pp
        self.page = serving.kv_page_tokens
        self._ragged = self._ragged_layers()
        self._curves: dict = {}
        self._max_anchor = 0
        self.exclusive = tuple(sorted({u.resource for u in arch.units if u.resource != u.name}))
        self.resources = tuple(u.name for u in arch.units) + ("dram",)
        self._device = self._load_device()
        self._kv_tokens = None

    @classmethod
    def load(cls, model, serving, *, tp=None, pp=None, cache=None, engine="analytical",
             prefill_model=None) -> DecodeSystem:
        """From preset names or paths (``gpt3-7b-decode``, ``neupims``, ``gpt3-7b-prefill``) or loaded specs."""
        from einsim.arch import load_arch
        from einsim.mappings import load_mapping_set
        from einsim.mappings.serving import load_serving
        from einsim.workloads import load_model

        model = load_model(model) if isinstance(model, str) else model
        serving = load_serving(serving) if isinstance(serving, str) else serving
        prefill = load_model(prefill_model) if isinstance(prefill_model, str) else prefill_model
        return cls(model, serving, load_arch(serving.arch), load_mapping_set(serving.mappings), tp=tp, pp=pp,
                   cache=cache, engine=engine, prefill_model=prefill)

    @property
    def channel_bound(self) -> bool:
        """True if a ragged layer computes on the KV caches in place (a PIM unit): each request's cache then lives
        in one DRAM channel, whose PIM work it adds to."""
        return bool(self.pim_units())

    def ragged_layers(self) -> list:
        """The model's layers evaluated per request (their sizes depend on the context), at one request."""
        return [x for x in self._instantiate(requests=1, context=1) if x.name in self._ragged]

    def pim_units(self) -> list:
        """The PIM units (UnitSpecs) the ragged layers' mappings bind: they compute on the KV caches in place."""
        units = []
        for layer in self._instantiate(requests=1, context=1):
            if layer.name in self._ragged:
                m = self.mappings.for_cascade(layer.cascade)
                units += [self.arch.unit(u) for u in set(m.binding.values())
                          if u in {x.name for x in self.arch.units} and self.arch.unit(u).kind == "pim"]
        return units

    @property
    def channels(self) -> int:
        """DRAM channels KV caches are placed in: the PIM unit's instances, else the memory device's channels."""
        pim = self.pim_units()
        if pim:
            return pim[0].instances
        dev = self.memory_device()
        return dev.units if dev is not None else 1

    def memory_device(self):
        """The DramSpec bounding weights and KV caches (the serving spec's, else the PIM unit's), or None."""
        return self._device

    def _load_device(self):
        from einsim.arch.dram import load_dram

        name = self.serving.memory_device or next((u.device for u in self.pim_units() if u.device), None)
        return load_dram(name) if name else None

    def _tensor_bytes(self, ragged: bool, vary: str) -> float:
        """Bytes of the (ragged or batched) layers' input tensors on this device: per token of context
        (``vary="context"``, the KV caches) or those independent of the batch (``vary="batch"``, the weights)."""
        one = self._instantiate(requests=1, context=1)
        two = self._instantiate(requests=2 if vary == "batch" else 1, context=2 if vary == "context" else 1)
        total = 0.0
        for a, b in zip(one, two, strict=True):
            if (a.name in self._ragged) != ragged:
                continue
            c = self._cascade(a.cascade)
            sa, sb = c.bind(dict(a.sizes), strict=False), c.bind(dict(b.sizes), strict=False)
            for t in c.inputs:
                ea, eb = c.tensor_elements(t, sa), c.tensor_elements(t, sb)
                if vary == "context":
                    total += a.count * (eb - ea)
                elif ea == eb:
                    total += a.count * ea
        return total * self.arch.word_bytes * self.layers

    @property
    def weight_bytes(self) -> float:
        """Weights this device holds: the batched layers' inputs that do not grow with the batch."""
        return self._tensor_bytes(False, "batch")

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one token of one request's context takes on this device (all its layers)."""
        return self._tensor_bytes(True, "context")

    def kv_capacity_tokens(self) -> float:
        """Tokens of context the device's memory holds beside the weights, per channel (inf if unbounded)."""
        dev = self.memory_device()
        if dev is None:
            return float("inf")
        if self._kv_tokens is None:
            free = dev.capacity_bytes - self.weight_bytes
            if free <= 0:
                raise Infeasible(f"{self.model.name} at tp {self.tp}, pp {self.pp} needs "
                                 f"{self.weight_bytes / 2**30:.1f} GiB of weights per device; {dev.name} holds "
                                 f"{dev.capacity_bytes / 2**30:.1f} GiB")
            self._kv_tokens = free / self.kv_bytes_per_token / self.channels
        return self._kv_tokens

    def request_load(self, context: np.ndarray) -> np.ndarray:
        """Cycles of channel-bound (PIM) work each request puts on its channel at its context length."""
        ctx = -(-np.asarray(context, dtype=np.int64) // self.page) * self.page
        if not len(ctx) or not self.channel_bound:
            return np.zeros(len(ctx))
        top = int(ctx.max())
        if self._load_curve is None or top > self._load_curve.anchors[-1]:
            curves = [c for name in sorted(self._ragged) for c in self.curves(name, top) if c.channel_bound]
            self._load_curve = dataclasses.replace(curves[0], cycles=sum(c.cycles for c in curves))
        return self._load_curve.at(ctx, self._load_curve.cycles)

    def commands(self, batch: DecodeBatch) -> dict[str, int]:
        """PIM commands (GWRITE, G_ACT, COMP, READRES) of one decode iteration on this device: its layers' decode
        attention with NeuPIMs' KV layout (:mod:`einsim.sim.decode_commands`); empty without PIM."""
        from .decode_commands import AttentionShape, layer_commands

        pim = self.pim_units()
        if not pim or len(batch) == 0:
            return {}
        from einsim.arch.dram import load_dram

        if self._pim_spec is None:
            self._pim_spec = load_dram(pim[0].device)
        spec = self._pim_spec
        ctx = -(-batch.context // self.page) * self.page
        out: dict[str, int] = {}
        for layer in self._instantiate(requests=1, context=1):
            if layer.name in self._ragged:
                for k, v in layer_commands(spec, AttentionShape.of_sizes(layer.sizes), ctx).items():
                    out[k] = out.get(k, 0) + v * layer.count * self.layers
        return out

    def prefill_s(self, prompts) -> float:
        """Seconds of one prefill step over the prompts (tokens each) of the requests joining an iteration
        (:class:`einsim.sim.prefill.PrefillCost`, the system's prefill model)."""
        if self.prefill_model is None:
            raise ValueError(f"no prefill model for {self.model.name}; give DecodeSystem(prefill_model=...)")
        if self._prefill is None:
            from .prefill import PrefillCost

            self._prefill = PrefillCost(self.prefill_model, self)
        return self._prefill.seconds(prompts)

    def _instantiate(self, *, requests: int, context: int):
        key = (requests, context)
        if key not in self._layers:
            self._layers[key] = self.model.instantiate(seq_len=context, B=requests, TP=self.tp)
        return self._layers[key]

    def _cascade(self, name: str):
        if name not in self._cascades:
            self._cascades[name] = load_cascade(name)
        return self._cascades[name]

    def _ragged_layers(self) -> set:
        """Layers whose sizes depend on the context length: evaluated per request."""
        a, b = self._instantiate(requests=1, context=1), self._instantiate(requests=1, context=2)
        return {x.name for x, y in zip(a, b, strict=True) if dict(x.sizes) != dict(y.sizes)}

    def _costs(self, layer):
        mapping = self.mappings.for_cascade(layer.cascade)
        return self.cache.costs(self._cascade(layer.cascade), self.arch, mapping, dict(layer.sizes),
                                engine=self.engine)

    def eval_requests(self, layer_name: str) -> int:
        """Requests a ragged layer is evaluated with at each anchor: every instance of its units busy equally."""
        layer = next(x for x in self._instantiate(requests=1, context=1) if x.name == layer_name)
        mapping = self.mappings.for_cascade(layer.cascade)
        units = {u for u in mapping.binding.values() if u in {x.name for x in self.arch.units}}
        return math.lcm(*(self.arch.unit(u).instances for u in units)) if units else 1

    def curves(self, layer_name: str, max_context: int) -> list[GroupCurve]:
        """Per-request cost curves of a ragged layer's groups, covering contexts up to ``max_context``."""
        anchors = anchors_for(max(max_context, self._max_anchor), self.page)
        key = (layer_name, len(anchors))
        if key not in self._curves:
            n = self.eval_requests(layer_name)
            costs = []
            for x in anchors:
                layer = next(L for L in self._instantiate(requests=n, context=int(x)) if L.name == layer_name)
                costs.append(self._costs(layer))
            self._curves[key] = curve_from_costs(self.arch, anchors, costs, n)
            self._max_anchor = int(anchors[-1])
        return self._curves[key]

    def _layer_loads(self, batch: DecodeBatch) -> list[tuple[str, int, list[GroupLoad]]]:
        """(layer, count per model layer, its groups' loads) for one sub-batch, in layer order."""
        ctx = -(-batch.context // self.page) * self.page
        out = []
        for layer in self._instantiate(requests=max(len(batch), 1), context=1):
            if layer.name in self._ragged:
                curves = self.curves(layer.name, int(ctx.max()) if len(ctx) else self.page)
                loads = [aggregate(c, ctx, batch.channel) for c in curves]
            else:
                loads = self._batched_loads(layer.name, len(batch))
            out.append((layer.name, layer.count, loads))
        return out

    def _batched_loads(self, layer_name: str, tokens: int) -> list[GroupLoad]:
        """A batched layer's groups at ``tokens`` requests: evaluated at the multiples of BATCH_QUANTUM around it
        and interpolated (a decode GEMM streams its M rows: its cost is affine in M between them)."""
        lo = max(BATCH_QUANTUM, tokens // BATCH_QUANTUM * BATCH_QUANTUM)
        hi = max(lo, -(-tokens // BATCH_QUANTUM) * BATCH_QUANTUM)
        at = {n: self._costs(next(x for x in self._instantiate(requests=n, context=1) if x.name == layer_name))
              for n in {lo, hi}}
        f = 0.0 if hi == lo else (tokens - lo) / (hi - lo)
        mix = lambda a, b: a + f * (b - a)  # noqa: E731
        out = []
        for a, b in zip(at[lo], at[hi], strict=True):
            res = sorted(set(a.resource_cycles) | set(b.resource_cycles))
            pes = sorted(set(a.pe_cycles) | set(b.pe_cycles))
            out.append(GroupLoad(
                name=a.name, cycles=mix(a.cycles, b.cycles), energy_pj=mix(a.energy_pj, b.energy_pj),
                resource_cycles={r: mix(a.resource_cycles.get(r, 0.0), b.resource_cycles.get(r, 0.0)) for r in res},
                dram_bytes=mix(a.dram_bytes, b.dram_bytes), channel_busy=np.zeros(0),
                pe_cycles={u: mix(a.pe_cycles.get(u, 0.0), b.pe_cycles.get(u, 0.0)) for u in pes}))
        return out

    def iteration(self, batch: DecodeBatch, *, sub_batches: int | None = None) -> Iteration:
        """The iteration with ``sub_batches`` (default: the configuration's candidates, the fastest taken)."""
        if len(batch) == 0:
            raise ValueError("a decode iteration needs at least one request")
        cands = (sub_batches,) if sub_batches else self.serving.sub_batches
        best = None
        for n in cands:
            if n > len(batch):
                continue
            it = self._iteration(batch, n)
            if best is None or it.cycles < best.cycles * (1 - 1e-9):
                best = it
        return best if best is not None else self._iteration(batch, 1)

    def _iteration(self, batch: DecodeBatch, parts: int) -> Iteration:
        per_part = [self._layer_loads(sb) for sb in split_sub_batches(batch, parts)]
        groups, layer_cycles = [], {}
        energy = moved = 0.0
        pe: dict = {}
        channels = np.zeros(0)
        for li, (name, count, loads) in enumerate(per_part[0]):
            stage = _mean_group(name, [_layer_load(p[li][2]) for p in per_part])
            groups.extend([StageGroup(name=f"{name}#{k}", cycles=stage.cycles, resource_cycles=stage.resource_cycles)
                           for k in range(count)])
            for gi in range(len(loads)):
                mine = [p[li][2][gi] for p in per_part]
                layer_cycles[name] = layer_cycles.get(name, 0.0) + count * self.layers * sum(m.cycles for m in mine)
                energy += count * self.layers * sum(m.energy_pj for m in mine)
                moved += count * self.layers * sum(m.dram_bytes for m in mine)
                for m in mine:
                    for u, v in m.pe_cycles.items():
                        pe[u] = pe.get(u, 0.0) + count * self.layers * v
                    if m.channel_busy.size:
                        add = count * self.layers * m.channel_busy
                        channels = add if channels.size == 0 else channels + add
        start = next((i for i, g in enumerate(groups) if g.name.split("#")[0] == self.serving.stage_start), 0)
        groups = groups[start:] + groups[:start]
        plan = stage_plan(groups, trips=self.layers * parts, pipeline=self.serving.stage_pipeline,
                          resources=self.resources, window=parts, exclusive=self.exclusive)
        cycles, busy = _time_stages(plan, self.engine)
        return Iteration(cycles=cycles, sub_batches=parts, batch=batch, tokens=len(batch), layers=self.layers,
                         groups=tuple(groups), layer_cycles=layer_cycles, energy_pj=energy, dram_bytes=moved,
                         pe_cycles=pe, channel_busy=channels, resource_cycles=busy, plan=plan)

    def summary(self, it: Iteration) -> dict:
        """Flat numbers of an iteration: cycles, latency, tokens/s, utilization (``util_<unit>``: work over peak;
        ``busy_<unit>``: fraction of the time it is occupied; for a PIM unit the mean over its channels)."""
        clock = self.arch.clock_hz
        out = {"cycles": it.cycles, "iteration_s": self.pp * it.cycles / clock,
               "tokens_per_s": it.tokens * clock / it.cycles, "tokens": it.tokens, "sub_batches": it.sub_batches,
               "energy_pj": it.energy_pj, "dram_bytes": it.dram_bytes}
        out.update({f"layer_{k}_cycles": v for k, v in it.layer_cycles.items()})
        out.update({k.lower(): v for k, v in self.commands(it.batch).items()})
        for u in self.arch.units:
            out[f"util_{u.name}"] = it.pe_cycles.get(u.name, 0.0) / (u.pes * u.instances * it.cycles)
            if u.kind == "pim" and it.channel_busy.size:
                out[f"busy_{u.name}"] = float(it.channel_busy.sum()) / (u.instances * it.cycles)
            else:
                out[f"busy_{u.name}"] = it.resource_cycles.get(u.name, 0.0) / it.cycles
        return out


def _layer_load(loads: list[GroupLoad]) -> GroupLoad:
    """A layer's fusion groups as one stage group: they run one after another (cycles add up), each resource busy
    for the sum of their busy cycles."""
    res = sorted({r for m in loads for r in m.resource_cycles})
    return GroupLoad(name="+".join(m.name for m in loads), cycles=sum(m.cycles for m in loads),
                     resource_cycles={r: sum(m.resource_cycles.get(r, 0.0) for m in loads) for r in res},
                     energy_pj=sum(m.energy_pj for m in loads), dram_bytes=sum(m.dram_bytes for m in loads),
                     pe_cycles={}, channel_busy=np.zeros(0))


def _mean_group(name: str, loads: list[GroupLoad]) -> StageGroup:
    res = sorted({r for m in loads for r in m.resource_cycles})
    return StageGroup(name=name, cycles=float(np.mean([m.cycles for m in loads])),
                      resource_cycles={r: float(np.mean([m.resource_cycles.get(r, 0.0) for m in loads]))
                                       for r in res})


def _time_stages(plan, engine: str) -> tuple[float, dict]:
    """Cycles and busy cycles per resource of a stage plan, by the closed forms or the event engine."""
    if engine == "analytical":
        from .timing import plan_timing

        return plan_timing(plan)
    from .engine_program import run
    from .simulate import program_of

    prog = program_of(plan, None, int(plan.window))
    r = run(prog)
    busy = {name: r.busy_ticks[i] / r.ticks_per_cycle for i, name in enumerate(prog.resources)}
    return r.cycles, busy
