"""The structures of one fusion group: every way to map a segment of the cascade's Einsums as one group.

Dimensions of a group's structure (:class:`einsim.mappings.structure.GroupStructure`):

- the unit of each Einsum (those that support its ops; a systolic array only sums of products);
- the loop ranks, outermost first: ranks the group's Einsums index (partition parts such as M1, M0 included), each at
  most ``max_per_rank`` times, at most ``max_loops`` loops, no rank twice in a row (two adjacent loops over one rank
  tile it as one loop does);
- per unit dimension of each unit the group uses, the rank mapped onto it (or none) and a fallback rank for Einsums
  on that unit that do not index the first;
- the pipeline kind, the instances the outermost loop spreads over (1 or all), intermediates on chip (all or none),
  in the PEs (every one that may stay there, or none), spilling, how each DRAM input is held (the default depth,
  streamed, or held at a shallower loop depth), and the on-chip level of each tensor where several serve its unit.

Constraints (:mod:`einsim.mappings.constraints`) restrict each dimension; a constraint that leaves a dimension no
choice makes the space empty, and ``empty`` says which one (file, line, key path) and why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from einsim.arch.spec import ArchSpec
from einsim.workloads import Cascade
from einsim.workloads.errors import SpecIssue

from .constraints import Constraints, GroupRules
from .spec import PIPELINES
from .structure import STREAM, GroupStructure, loop_levels
from .tilespace import TileSpace, divisors

__all__ = ["GroupSpace", "loop_orders"]


def loop_orders(ranks, max_per_rank: int, max_loops: int, prefix=(), limit: int | None = None) -> Iterator[tuple]:
    """Loop rank lists (outermost first) starting with ``prefix``: each rank at most ``max_per_rank`` times, at most
    ``max_loops`` loops, no rank twice in a row; shortest first, at most ``limit`` of them."""
    made = 0
    for length in range(len(prefix), max_loops + 1):
        stack = [tuple(prefix)]
        while stack:
            cur = stack.pop()
            if len(cur) == length:
                yield cur
                made += 1
                if limit is not None and made >= limit:
                    return
                continue
            for r in reversed(ranks):
                if (not cur or cur[-1] != r) and cur.count(r) < max_per_rank:
                    stack.append(cur + (r,))


class GroupSpace:
    """See the module docstring. ``empty`` is None, or the SpecIssue of the constraint that leaves no structure."""

    def __init__(self, cascade: Cascade, arch: ArchSpec, members, needed_later, eligible: dict,
                 constraints: Constraints, *, max_per_rank: int = 2, max_loops: int = 8, fixed=None,
                 template_tiles=()):
        self.cascade, self.arch, self.constraints = cascade, arch, constraints
        self.members = tuple(members)
        self.needed_later = frozenset(needed_later)
        self.eligible = {m: tuple(eligible[m]) for m in self.members}
        self.fixed = fixed                      # a template's structure: the only one
        self.template_tiles = list(template_tiles)   # a template's tiles: ((file, line, key path), (rank, loop), rule)
        self.empty: str | None = None
        einsums = [cascade.einsum(m) for m in self.members]
        self.ranks = tuple(dict.fromkeys(r for e in einsums for r in e.indices))
        produced = {e.output.tensor for e in einsums}
        self.inputs = tuple(dict.fromkeys(op.tensor for e in einsums for op in e.inputs if op.tensor not in produced))
        self.inter = tuple(t for t in dict.fromkeys(e.output.tensor for e in einsums)
                           if any(op.tensor == t for e in einsums for op in e.inputs))
        self.rules: list[GroupRules] = constraints.rules_for(self.members)
        self._defaults(max_per_rank, max_loops)
        self._apply_rules()

    # ----- options per dimension ---------------------------------------------------------------------------------
    def _defaults(self, max_per_rank, max_loops):
        self.max_per_rank, self.max_loops = max_per_rank, max_loops
        self.order, self.prefix = None, ()
        self.loop_ranks = self.ranks            # ranks loops may be over
        self.pipelines = PIPELINES
        many = any(self.arch.unit(u).instances > 1 for us in self.eligible.values() for u in us)
        self.instances = (1, None) if many else (1,)
        self.on_chip = (True, False) if self.inter else (True,)
        self.in_pe = (True, False) if self.inter else (False,)
        self.spill = (False, True) if self.inter else (False,)
        self.stream: tuple | None = None
        self.spatial_rule: dict = {}
        self.tile_rules: list = []              # ("file:line key.path", rank or (rank, loop), TileRule)

    def _apply_rules(self):
        for rule in self.rules:
            for attr in ("max_per_rank", "max_loops", "order", "pipeline", "instances", "on_chip", "in_pe", "spill",
                         "stream"):
                v = getattr(rule, attr)
                if v is None:
                    continue
                target = {"pipeline": "pipelines", "instances": "instances", "on_chip": "on_chip", "in_pe": "in_pe",
                          "spill": "spill"}.get(attr)
                if target and attr in ("pipeline", "instances"):
                    setattr(self, target, tuple(v))
                elif target:
                    setattr(self, target, (v,))
                else:
                    setattr(self, attr, v)
            if rule.prefix:
                self.prefix = rule.prefix
            if rule.ranks is not None:
                self.loop_ranks = tuple(r for r in self.ranks if r in rule.ranks)
            for u, dims in rule.spatial.items():
                for dim, rank in dims.items():
                    self.spatial_rule[(u, dim)] = (rank, rule.path + ("spatial", u, dim))
            for key, tr in rule.tiles.items():
                path = rule.path + ("tiles", key if isinstance(key, str) else f"{key[0]}@{key[1]}")
                self.tile_rules.append(((self.constraints.file, self.constraints.line(path), _fmt(path)), key, tr))
        self._check_rules()

    def _why(self, path, message):
        if self.empty is None:
            self.empty = SpecIssue(self.constraints.file, self.constraints.line(path), _fmt(path), message)

    def _check_rules(self):
        name = f"group ({self.members[0]} .. {self.members[-1]})" if len(self.members) > 1 else \
            f"group ({self.members[0]})"
        for rule in self.rules:
            for key, ranks in (("order", rule.order), ("prefix", rule.prefix)):
                bad = [r for r in ranks or () if r not in self.loop_ranks]
                if bad:
                    self._why(rule.path + ("loops", key), f"no loop order of {name} satisfies it: rank {bad[0]!r} is "
                              f"not a rank the group's loops may be over ({', '.join(self.loop_ranks)})")
                elif ranks and (len(ranks) > self.max_loops or any(ranks.count(r) > self.max_per_rank for r in ranks)
                                or any(a == b for a, b in zip(ranks, ranks[1:], strict=False))):
                    self._why(rule.path + ("loops", key), f"no loop order of {name} satisfies it: more loops than "
                              f"max {self.max_loops} / max_per_rank {self.max_per_rank}, or a rank twice in a row")
        for where, key, _ in self.tile_rules:
            rank = key if isinstance(key, str) else key[0]
            if rank not in self.ranks and self.empty is None:
                self.empty = SpecIssue(*where, f"no tile of {name} satisfies it: rank {rank!r} is not a rank of "
                                                f"the group (its ranks: {', '.join(self.ranks)})")
        for rank, path in self.spatial_rule.values():
            if rank not in self.ranks:
                self._why(path, f"no spatial mapping of {name} satisfies it: rank {rank!r} is not a rank of the group")
        for attr, label in (("pipelines", "pipeline"), ("instances", "instances")):
            if not getattr(self, attr):
                self._why((label,), f"no {label} of {name} satisfies it")

    # ----- structures --------------------------------------------------------------------------------------------
    def bindings(self) -> Iterator[tuple]:
        return itertools.product(*(self.eligible[m] for m in self.members))

    def orders(self, limit=None) -> Iterator[tuple]:
        if self.order is not None:
            return iter([tuple(self.order)])
        return loop_orders(self.loop_ranks, self.max_per_rank, self.max_loops, self.prefix, limit)

    def spatial_options(self, units) -> list:
        """Per (unit, dimension) of the units used: candidate (rank, fallback) pairs."""
        out = []
        for u in dict.fromkeys(units):
            idx = tuple(dict.fromkeys(r for m, x in zip(self.members, units, strict=True) if x == u
                                      for r in self.cascade.einsum(m).indices))
            for dim in self.arch.unit(u).dims:
                fixed = self.spatial_rule.get((u, dim))
                ranks = (fixed[0],) if fixed else ("",) + idx
                pairs = [(r, f) for r in ranks for f in ("",) + idx if not f or (r and f != r)]
                if all(r in self.cascade.einsum(m).indices for m, x in zip(self.members, units, strict=True)
                       if x == u for r in ranks if r):
                    pairs = [(r, "") for r in ranks]         # every Einsum indexes the rank: no fallback needed
                out.append(((u, dim), pairs))
        return out

    def input_options(self, loops) -> list:
        """Per DRAM input: STREAM, None (default) and shallower hold depths that differ from the default."""
        if self.stream is not None:
            return [(t, (STREAM,) if t in self.stream else (None,)) for t in self.inputs]
        lv = loop_levels(self.cascade, self.members, loops)
        out = []
        for t in self.inputs:
            readers = [lv[m] for m in self.members if any(op.tensor == t for op in self.cascade.einsum(m).inputs)]
            held = [self._held(t, loops, k) for k in readers]
            opts = [None]
            if any(h < k for h, k in zip(held, readers, strict=True)):
                opts.append(STREAM)
            opts += [d for d in range(max(held)) if any(d < h for h in held)]
            out.append((t, tuple(opts)))
        return out

    def _held(self, t, loops, k):
        ranks = self.cascade.tensor_ranks(t)
        parts = self.cascade.partitions
        return max((j + 1 for j in range(k) if loops[j] in ranks or any(loops[j] in parts.get(r, ()) for r in ranks)),
                   default=0)

    def level_options(self, units) -> list:
        """Per tensor whose unit is served by several on-chip levels: the candidate levels (home level first)."""
        out = []
        seen = set()
        for m, u in zip(self.members, units, strict=True):
            e = self.cascade.einsum(m)
            for t in [op.tensor for op in e.inputs] + [e.output.tensor]:
                if t in seen:
                    continue
                seen.add(t)
                lv = tuple(x.name for x in self.arch.on_chip_levels if x.serves_unit(u))
                if len(lv) > 1:
                    out.append((t, lv))
        return out

    def in_pe_legal(self, units, loops) -> tuple[str, ...]:
        """Intermediates that may stay in the PEs: made and used on one unit within one tile loop level, not
        iterated, and not needed outside the group."""
        lv = loop_levels(self.cascade, self.members, loops)
        unit = dict(zip(self.members, units, strict=True))
        out = []
        for t in self.inter:
            src = next(m for m in self.members if self.cascade.einsum(m).output.tensor == t)
            if t in self.cascade.outputs or t in self.needed_later or t in self.cascade.iterated:
                continue
            readers = [m for m in self.members if m != src and any(op.tensor == t
                                                                     for op in self.cascade.einsum(m).inputs)]
            if all(unit[r] == unit[src] and lv[r] == lv[src] for r in readers):
                out.append(t)
        return tuple(out)

    def make(self, units, loops, spatial, *, pipeline, instances, on_chip, in_pe, spill, inputs=(), levels=()):
        """A normalized structure from its choices (``in_pe`` True: every legal intermediate; a rank already on
        another dimension of the unit is dropped)."""
        seen, norm = set(), []
        for u, d, r, f in spatial:
            r = "" if (u, r) in seen else r
            f = "" if (u, f) in seen or f == r else f
            seen.add((u, r))
            norm.append((u, d, r, f))
        spatial = norm
        return GroupStructure(members=self.members, units=tuple(units), loops=tuple(loops), spatial=tuple(spatial),
                              pipeline=pipeline, instances=instances, on_chip=on_chip,
                              in_pe=self.in_pe_legal(units, loops) if in_pe else (), spill=spill,
                              inputs=tuple((t, d) for t, d in inputs if d is not None), levels=tuple(levels))

    def structures(self, limit: int | None = None) -> Iterator[GroupStructure]:
        """Every structure (at most ``limit``), in a fixed order; duplicates removed."""
        if self.fixed is not None:
            yield self.fixed
            return
        seen = set()
        for units in self.bindings():
            for loops in self.orders():
                for s in self._completions(units, loops):
                    if s not in seen:
                        seen.add(s)
                        yield s
                        if limit is not None and len(seen) >= limit:
                            return

    def _completions(self, units, loops):
        sp = self.spatial_options(units)
        ins = self.input_options(loops)
        lvs = self.level_options(units)
        for spatial in itertools.product(*(pairs for _, pairs in sp)):
            spatial_t = tuple((u, d, r, f) for ((u, d), _), (r, f) in zip(sp, spatial, strict=True))
            for pipe, inst, oc, ip, spill in itertools.product(self.pipelines, self.instances, self.on_chip,
                                                               self.in_pe, self.spill):
                for inp in itertools.product(*(opts for _, opts in ins)):
                    for lv in itertools.product(*(opts for _, opts in lvs)):
                        levels = tuple((t, x) for (t, opts), x in zip(lvs, lv, strict=True) if x != opts[0])
                        yield self.make(units, loops, spatial_t, pipeline=pipe, instances=inst, on_chip=oc, in_pe=ip,
                                        spill=spill, inputs=tuple(zip((t for t, _ in ins), inp, strict=True)),
                                        levels=levels)

    def random(self, rng: np.random.Generator) -> GroupStructure:
        """A structure drawn at random, dimension by dimension."""
        if self.fixed is not None:
            return self.fixed
        units = tuple(self.eligible[m][rng.integers(len(self.eligible[m]))] for m in self.members)
        loops = self.random_loops(rng)
        return self.complete(units, loops, rng)

    def random_loops(self, rng) -> tuple:
        if self.order is not None:
            return tuple(self.order)
        loops = list(self.prefix)
        target = int(rng.integers(max(len(loops), 1), self.max_loops + 1))
        for _ in range(4 * self.max_loops):
            if len(loops) >= target:
                break
            r = self.loop_ranks[rng.integers(len(self.loop_ranks))]
            if (not loops or loops[-1] != r) and loops.count(r) < self.max_per_rank:
                loops.append(r)
        return tuple(loops)

    def complete(self, units, loops, rng, spatial=None) -> GroupStructure:
        """A structure with the given units and loops and random other choices (``spatial`` kept where it fits)."""
        keep = {(u, d): (r, f) for u, d, r, f in spatial or ()}
        sp = []
        for (u, d), pairs in self.spatial_options(units):
            old = keep.get((u, d))
            sp.append((u, d) + (old if old in pairs else pairs[rng.integers(len(pairs))]))
        pick = lambda opts: opts[rng.integers(len(opts))]  # noqa: E731
        inputs = tuple((t, pick(opts)) for t, opts in self.input_options(loops))
        levels = tuple((t, x) for t, opts in self.level_options(units) if (x := pick(opts)) != opts[0])
        return self.make(units, loops, sp, pipeline=pick(self.pipelines), instances=pick(self.instances),
                         on_chip=pick(self.on_chip), in_pe=pick(self.in_pe), spill=pick(self.spill), inputs=inputs,
                         levels=levels)

    # ----- tiles -------------------------------------------------------------------------------------------------
    def tile_space(self, s: GroupStructure, sizes) -> tuple[TileSpace | None, str | None]:
        """The tile rows of ``s`` under the tile constraints, or (None, the SpecIssue of the constraint that leaves
        none)."""
        allowed: dict = {}
        for where, key, rule in self.tile_rules + self.template_tiles:
            if isinstance(key, str):
                js = [j for j, r in enumerate(s.loops) if r == key]
                if not js:
                    if not rule.allows(int(sizes[key])):
                        return None, self._tile_msg(where, s, f"rank {key} has no loop, so its tile is its size "
                                                             f"{sizes[key]}")
                    continue
                j = js[-1]
            else:
                j = key[1]
                if j >= len(s.loops) or s.loops[j] != key[0]:
                    return None, self._tile_msg(where, s, f"loop {j} is not over {key[0]} (loops: "
                                                         f"{', '.join(s.loops)})")
            cands = {d for d in divisors(int(sizes[s.loops[j]])) if rule.allows(d)}
            allowed[j] = allowed.get(j, cands) & cands
            if not allowed[j]:
                return None, self._tile_msg(where, s, f"no divisor of {s.loops[j]} = {sizes[s.loops[j]]} is "
                                                      "allowed")
        space = TileSpace.build(s.loops, sizes, allowed)
        if space.size == 0:
            where = (self.tile_rules + self.template_tiles)[0][0]
            return None, self._tile_msg(where, s, "no divisor chain of the constrained ranks is left")
        return space, None

    @staticmethod
    def _tile_msg(where, s, why) -> SpecIssue:
        return SpecIssue(*where, f"no tile of group ({', '.join(s.members)}) satisfies it: {why}")


def _fmt(path) -> str:
    from einsim.workloads.errors import format_path

    return format_path(tuple(path))
