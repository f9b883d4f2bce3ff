"""The mapspace of a cascade on an architecture: partition sizes, fusion, and per fusion group its structures
(:mod:`einsim.mappings.groupspace`) and tile rows (:mod:`einsim.mappings.tilespace`).

- **Partition sizes**: the inner part of each partitioned rank (``M0`` of ``M = M1 x M0``) is a divisor of the rank
  (all of them unless the instance, the constraints or a template fix it); it changes the cascade's bound sizes.
- **Fusion**: groups are consecutive segments of the cascade's Einsums in order (a topological order), so a group
  reads only what earlier groups made; at least every Einsum alone (unfused) and all in one group. Groups run one
  after another and each one's cost depends only on its own choices (and on which of its outputs later groups
  read, fixed by where the segment ends), so a segment's best structure is independent of the others.
- **Binding**: each Einsum on a unit that supports its ops (a systolic array only sums of products).

A *template* mapping fixes the fusion, partitions and every group's structure; its ``best_of`` lists become the tile
candidates and its fixed tiles stay fixed. Constraints (:mod:`einsim.mappings.constraints`) restrict the rest.
"""

from __future__ import annotations

from collections import Counter

from einsim.arch.spec import ArchSpec
from einsim.workloads import Cascade, einsum_ops, ops_per_point
from einsim.workloads.errors import SpecError, SpecIssue

from .constraints import NO_CONSTRAINTS, Constraints, TileRule
from .groupspace import GroupSpace
from .spec import Group, MappingSpec
from .structure import STREAM, GroupStructure
from .tilespace import divisors

__all__ = ["Mapspace", "eligible_units"]


def eligible_units(cascade: Cascade, arch: ArchSpec, einsum: str, sizes) -> tuple[str, ...]:
    """Units of ``arch`` that can run ``einsum``: every op it needs is native or composite there, and a systolic
    array only takes one multiply-accumulate per point."""
    e = cascade.einsum(einsum)
    out = []
    for u in arch.units:
        if u.kind == "systolic_array":
            if ops_per_point(e) == {"mac": 1} and set(einsum_ops(e, sizes)) == {"mac"}:
                out.append(u.name)
            continue
        try:
            for op in einsum_ops(e, sizes):
                u.expand(op)
        except KeyError:
            continue
        out.append(u.name)
    return tuple(out)


class Mapspace:
    """See the module docstring. ``segments``: the (start, end) Einsum index ranges a group may cover;
    ``partition_options``: candidate partition sizes (dicts of the inner parts)."""

    def __init__(self, cascade: Cascade, arch: ArchSpec, sizes, *, constraints: Constraints | None = None,
                 template: MappingSpec | None = None, max_per_rank: int = 2, max_loops: int = 8):
        self.cascade, self.arch = cascade, arch
        self.sizes = dict(sizes)
        self.constraints = constraints or NO_CONSTRAINTS
        self.template = template
        self.max_per_rank, self.max_loops = max_per_rank, max_loops
        self.names = tuple(e.name for e in cascade.einsums)
        self._validate()
        self.partition_options = self._partitions()
        probe = self.bind(self.partition_options[0])
        self.eligible = self._eligible(probe)
        self._fixed = self._template_structures() if template is not None else None
        self.segments = self._segments()
        self._spaces: dict = {}

    def _validate(self) -> None:
        """Every name a constraint uses must exist in the cascade or the architecture."""
        c, cas, arch = self.constraints, self.cascade, self.arch
        ranks = set(cas.all_ranks)
        inner = {parts[-1]: parent for parent, parts in cas.partitions.items()}
        for k in c.partitions:
            if k not in inner:
                raise c.error(("partitions", k), f"must name the inner part of a partitioned rank "
                                                 f"({', '.join(inner) or 'the cascade has none'}), not {k!r}")
        levels = {m.name for m in arch.on_chip_levels}
        for k in c.max_buffer_bytes:
            if k not in levels:
                raise c.error(("max_buffer_bytes", k), f"must name an on-chip level of {arch.name!r} "
                                                       f"({', '.join(sorted(levels))}), not {k!r}")
        for rule in c.rules:
            if rule.applies_to != "all" and rule.applies_to not in self.names:
                raise c.error(rule.path, f"must name an Einsum of {cas.name!r} ({', '.join(self.names)}), not "
                                         f"{rule.applies_to!r}")
            named = [("loops", "order", r) for r in rule.order or ()] + [("loops", "prefix", r) for r in rule.prefix]
            named += [("loops", "ranks", r) for r in rule.ranks or ()]
            named += [("tiles", k if isinstance(k, str) else f"{k[0]}@{k[1]}", k if isinstance(k, str) else k[0])
                      for k in rule.tiles]
            for *where, r in named:
                if r not in ranks:
                    raise c.error(rule.path + tuple(where), f"names rank {r!r}, which cascade {cas.name!r} lacks "
                                                            f"(ranks: {', '.join(cas.all_ranks)})")
            for u, dims in rule.spatial.items():
                if u not in {x.name for x in arch.units}:
                    raise c.error(rule.path + ("spatial", u), f"must name a unit of {arch.name!r} "
                                                              f"({', '.join(x.name for x in arch.units)}), not {u!r}")
                for dim, r in dims.items():
                    if dim not in arch.unit(u).dims or r not in ranks:
                        raise c.error(rule.path + ("spatial", u, dim),
                                      f"must map a dimension of {u!r} ({', '.join(arch.unit(u).dims)}) to a rank of "
                                      f"{cas.name!r}, not {dim}: {r}")
            for t in rule.stream or ():
                if t not in cas.inputs:
                    raise c.error(rule.path + ("stream",), f"must list inputs of {cas.name!r} "
                                                           f"({', '.join(cas.inputs)}), not {t!r}")

    # ----- partitions and sizes ----------------------------------------------------------------------------------
    def _partitions(self) -> list[dict]:
        c = self.constraints
        options = [{}]
        for parent, parts in self.cascade.partitions.items():
            inner = parts[-1]
            if inner in self.sizes:
                continue
            if self.template is not None and inner in self.template.partitions:
                vals = (self.template.partitions[inner],)
            elif inner in c.partitions:
                vals = c.partitions[inner]
                bad = [v for v in vals if parent in self.sizes and self.sizes[parent] % v]
                if len(bad) == len(vals):
                    raise c.error(("partitions", inner), f"no partition size of {inner} divides {parent} = "
                                                         f"{self.sizes[parent]}; choose divisors of it")
                vals = tuple(v for v in vals if v not in bad)
            elif parent in self.sizes:
                vals = divisors(int(self.sizes[parent]))
            else:
                raise SpecError([SpecIssue("<sizes>", None, parent, f"missing size for rank {parent}; give it with "
                                                                    f"--set {parent}=N")])
            options = [{**o, inner: v} for o in options for v in vals]
        return options

    def bind(self, partitions) -> dict:
        """Bound sizes (every rank, partition parts derived) for a partition choice."""
        return self.cascade.bind({**self.sizes, **{k: v for k, v in partitions.items() if k not in self.sizes}})

    def needed_later(self, end: int) -> set:
        """Tensors read by the Einsums from index ``end`` on (outputs a group ending there must store)."""
        return {op.tensor for n in self.names[end:] for op in self.cascade.einsum(n).inputs}

    # ----- binding -----------------------------------------------------------------------------------------------
    def _eligible(self, sizes) -> dict:
        c = self.constraints
        units = {u.name for u in self.arch.units}
        for key, want in c.binding.items():
            if key != "default" and key not in self.names:
                raise c.error(("binding", key), f"must name an Einsum of {self.cascade.name!r} or default, not "
                                                f"{key!r} (Einsums: {', '.join(self.names)})")
            for u in want:
                if u not in units:
                    raise c.error(("binding", key), f"unit {u!r} is not a unit of {self.arch.name!r} (units: "
                                                    f"{', '.join(sorted(units))})")
        out = {}
        for n in self.names:
            can = eligible_units(self.cascade, self.arch, n, sizes)
            key = n if n in c.binding else ("default" if "default" in c.binding else None)
            want = c.binding[key] if key else can
            if self.template is not None:
                key, want = None, (self.template.unit_of(n),)
            left = tuple(u for u in want if u in can)
            if not left:
                ops = ", ".join(sorted(einsum_ops(self.cascade.einsum(n), sizes)))
                if key is None and self.template is not None:
                    left = want   # the template's binding: its evaluation reports why it cannot run
                elif key is None:
                    raise SpecError([SpecIssue(self.arch.source, None, "units", f"no unit of {self.arch.name!r} "
                                                                                f"can run {n} (it needs {ops})")])
                else:
                    raise c.error(("binding", key), f"no unit satisfies it for {n}: it needs {ops}, which "
                                                    f"{', '.join(want)} cannot run (units that can: "
                                                    f"{', '.join(can) or 'none'})")
            out[n] = left
        return out

    # ----- fusion ------------------------------------------------------------------------------------------------
    def _segments(self) -> list[tuple[int, int]]:
        """Allowed segments: those the fusion constraint (or template) names that read nothing a later Einsum
        makes (a recurrence such as RD = SLD + RD x PRM cannot be cut between groups)."""
        n = len(self.names)
        self.cut_reasons: dict = {}
        if self._fixed is not None:
            return list(self._fixed)
        fusion = self.constraints.fusion
        if fusion == "all":
            cand = [(0, n)]
        elif fusion == "unfused":
            cand = [(i, i + 1) for i in range(n)]
        elif fusion == "any":
            cand = [(i, j) for i in range(n) for j in range(i + 1, n + 1)]
        else:
            cand = self._listed_segments(fusion, ("fusion",), self.constraints.error)
        self.cut_reasons = {seg: why for seg in cand if (why := self._reads_later(*seg))}
        return [seg for seg in cand if seg not in self.cut_reasons]

    def _reads_later(self, start: int, end: int) -> str | None:
        """Why segment [start, end) cannot be a group (an Einsum in it reads what a later group makes), or None."""
        made = {self.cascade.einsum(n).output.tensor: k for k, n in enumerate(self.names)}
        for n in self.names[start:end]:
            for op in self.cascade.einsum(n).inputs:
                if made.get(op.tensor, -1) >= end:
                    return (f"{n} reads {op.tensor}, which {self.names[made[op.tensor]]} makes later: a group must "
                            f"hold both (a recurrence cannot be cut between groups)")
        return None

    def _listed_segments(self, groups, path, error) -> list[tuple[int, int]]:
        pos = {m: i for i, m in enumerate(self.names)}
        out, start = [], 0
        for gi, g in enumerate(groups):
            bad = [m for m in g if m not in pos]
            if bad:
                raise error(path + (gi,), f"names {bad[0]!r}, not an Einsum of {self.cascade.name!r} (Einsums: "
                                          f"{', '.join(self.names)})")
            idx = sorted(pos[m] for m in g)
            if idx != list(range(start, start + len(g))):
                raise error(path + (gi,), "groups must be consecutive runs of the cascade's Einsums in order "
                                          f"({', '.join(self.names)}); group {gi} should start at "
                                          f"{self.names[start] if start < len(self.names) else 'the end'}")
            out.append((start, start + len(g)))
            start += len(g)
        if start != len(self.names):
            raise error(path, f"leaves Einsums {', '.join(self.names[start:])} in no group")
        return out

    def segmentations(self, limit: int | None = None):
        """Every way to cut the cascade into allowed segments (lists of (start, end)), at most ``limit``."""
        n = len(self.names)
        ends: dict = {}
        for i, j in self.segments:
            ends.setdefault(i, []).append(j)
        made = 0
        stack = [(0, ())]
        while stack:
            i, cut = stack.pop()
            if i == n:
                yield list(cut)
                made += 1
                if limit is not None and made >= limit:
                    return
                continue
            for j in sorted(ends.get(i, ()), reverse=True):
                stack.append((j, cut + ((i, j),)))

    def group_space(self, start: int, end: int) -> GroupSpace:
        key = (start, end)
        if key not in self._spaces:
            members = self.names[start:end]
            fixed, tiles = self._fixed[key] if self._fixed is not None else (None, ())
            self._spaces[key] = GroupSpace(self.cascade, self.arch, members, self.needed_later(end), self.eligible,
                                           self.constraints, max_per_rank=self.max_per_rank,
                                           max_loops=self.max_loops, fixed=fixed, template_tiles=tiles)
        return self._spaces[key]

    def check(self) -> None:
        """Raise SpecError naming the constraint if no segmentation of the cascade has a non-empty space."""
        for cut in self.segmentations(limit=10_000):
            if all(self.group_space(i, j).empty is None for i, j in cut):
                return
        issues = [self.group_space(i, j).empty for i, j in self.segments if self.group_space(i, j).empty]
        if issues:
            raise SpecError(issues[:1])
        why = next(iter(self.cut_reasons.values()), "no segmentation of the cascade into groups is allowed")
        if self._fixed is not None:
            raise SpecError([SpecIssue(self.template.source, None, "groups", why)])
        raise self.constraints.error(("fusion",), f"no cut of the cascade into groups satisfies it: {why}")

    # ----- mappings ----------------------------------------------------------------------------------------------
    def mapping(self, partitions, parts, *, name="search", description="") -> MappingSpec:
        """The MappingSpec of ``parts`` = [(structure, tile row), ...] in cascade order."""
        units = {m: u for s, _ in parts for m, u in zip(s.members, s.units, strict=True)}
        default = Counter(units.values()).most_common(1)[0][0] if units else self.arch.units[0].name
        binding = {"default": default, **{m: u for m, u in units.items() if u != default}}
        return MappingSpec(name=name, description=description, cascade=self.cascade.name,
                           partitions=dict(partitions), binding=binding,
                           groups=tuple(s.group(self.cascade, tiles) for s, tiles in parts))

    def eval_mapping(self, partitions, s: GroupStructure, start: int, end: int) -> tuple[MappingSpec, int]:
        """A mapping holding ``s`` (its tiles left to choose) as one group, the Einsums before and after it in
        groups that are not lowered, and the index of ``s``'s group (for the batched evaluation)."""
        groups, index = [], 0
        if start > 0:
            groups.append(Group(einsums=self.names[:start], loops=(), spatial={}, on_chip=None))
            index = 1
        groups.append(s.group(self.cascade))
        if end < len(self.names):
            groups.append(Group(einsums=self.names[end:], loops=(), spatial={}, on_chip=None))
        binding = {"default": self.arch.units[0].name, **dict(zip(s.members, s.units, strict=True))}
        return MappingSpec(name="candidate", cascade=self.cascade.name, partitions=dict(partitions), binding=binding,
                           groups=tuple(groups)), index

    # ----- templates ---------------------------------------------------------------------------------------------
    def _template_structures(self) -> dict:
        t = self.template
        listed = [m for g in t.groups if g.einsums is not None for m in g.einsums]
        rest = [m for m in self.names if m not in listed]
        groups = [list(g.einsums) if g.einsums is not None else rest for g in t.groups]

        def error(path, message):
            return SpecError([SpecIssue(t.source, None, _path(path), message)])

        cuts = self._listed_segments(groups, ("groups",), error)
        out = {}
        for gi, (g, (i, j)) in enumerate(zip(t.groups, cuts, strict=True)):
            members = self.names[i:j]
            out[(i, j)] = (_structure_of(self.cascade, t, g, members), [
                ((t.source, None, f"groups[{gi}].loops[{li}]"), (lp.rank, li),
                 TileRule(values=frozenset(lp.candidates) if lp.tile is None else frozenset({lp.tile})))
                for li, lp in enumerate(g.loops)])
        return out


def _structure_of(cascade: Cascade, t: MappingSpec, g: Group, members) -> GroupStructure:
    """A template's group as a structure (its per-Einsum spatial entries kept as overrides)."""
    units = tuple(t.unit_of(m) for m in members)
    spatial = tuple((u, dim, rank, "") for u, dims in g.spatial.items() if u not in members
                    for dim, rank in dims.items())
    overrides = tuple((e, dim, rank) for e, dims in g.spatial.items() if e in members for dim, rank in dims.items())
    inputs = tuple((x, STREAM) for x in g.stream) + tuple((x, d) for x, d in g.hold.items() if x not in g.stream)
    return GroupStructure(members=tuple(members), units=units, loops=tuple(lp.rank for lp in g.loops),
                          spatial=spatial, pipeline=g.pipeline, instances=g.instances,
                          on_chip=True if g.on_chip is None else tuple(g.on_chip), in_pe=tuple(g.in_pe),
                          spill=g.spill, inputs=inputs, levels=tuple(g.levels.items()), overrides=overrides)


def _path(path) -> str:
    from einsim.workloads.errors import format_path

    return format_path(tuple(path))
