"""Programs for the tile-level event engine (sim.kernels.event_engine): build by name, pack, run.

An EngineProgram is a flattened loop of ``n_iters`` iterations over named resources (compute units, DRAM channels,
buffer ports) and task templates (one instance per iteration of the template's loop level, a duration in ticks),
joined by dependency edges with iteration distances. See the kernel's docstring for the exact semantics.
``run`` packs it into arrays, calls the Numba kernel (or its plain-Python reference) and returns an EngineRun.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .kernels import event_engine as _k
from .kernels import event_engine_reference as _ref

__all__ = ["EngineProgram", "EngineRun", "run"]


@dataclass
class EngineProgram:
    """A loop program: add resources, then tasks (in a valid order within an iteration), then edges.

    n_iters: global iterations of the flattened loop nest. window: iterations that may be in flight at once (depth
    of the task queues). ticks_per_cycle: time resolution (durations are integer ticks).
    """

    n_iters: int
    window: int = 8
    ticks_per_cycle: int = 1
    resources: list[str] = field(default_factory=list)
    servers: list[int] = field(default_factory=list)
    in_order: list[bool] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    task_res: list[int] = field(default_factory=list)
    dur: list[int] = field(default_factory=list)
    lat: list[int] = field(default_factory=list)
    stride: list[int] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)
    edges: list[tuple[int, int, int, int, int]] = field(default_factory=list)

    def __post_init__(self):
        if isinstance(self.n_iters, bool) or not isinstance(self.n_iters, (int, np.integer)) or self.n_iters < 1:
            raise ValueError(f"n_iters must be a positive integer, not {self.n_iters!r}")
        if not isinstance(self.window, (int, np.integer)) or self.window < 1:
            raise ValueError(f"window must be a positive integer, not {self.window!r}")

    def resource(self, name: str, *, servers: int = 1, in_order: bool = False) -> int:
        """Add a resource with ``servers`` identical servers; returns its index."""
        if name in self.resources:
            raise ValueError(f"resource name must be unique, not {name!r} again")
        if servers < 1:
            raise ValueError(f"servers of {name!r} must be at least 1, not {servers!r}")
        self.resources.append(name)
        self.servers.append(int(servers))
        self.in_order.append(bool(in_order))
        return len(self.resources) - 1

    def task(self, name: str, resource: str, dur: int, *, lat: int = 0, stride: int = 1, offset: int = 0) -> int:
        """Add a template on ``resource`` occupying it ``dur`` ticks, done ``lat`` ticks later, at iterations
        offset, offset + stride, ..."""
        if name in self.tasks:
            raise ValueError(f"task name must be unique, not {name!r} again")
        if resource not in self.resources:
            raise ValueError(f"resource of task {name!r} must be one of {self.resources}, not {resource!r}")
        if int(dur) != dur or dur < 0:
            raise ValueError(f"duration of task {name!r} must be a non-negative integer of ticks, not {dur!r}")
        if int(lat) != lat or lat < 0:
            raise ValueError(f"latency of task {name!r} must be a non-negative integer of ticks, not {lat!r}")
        if stride < 1 or not 0 <= offset < stride:
            raise ValueError(f"task {name!r} needs stride >= 1 and 0 <= offset < stride, not {stride!r}, {offset!r}")
        self.tasks.append(name)
        self.task_res.append(self.resources.index(resource))
        self.dur.append(int(dur))
        self.lat.append(int(lat))
        self.stride.append(int(stride))
        self.offset.append(int(offset))
        return len(self.tasks) - 1

    def edge(self, src: str, dst: str, distance: int = 0, *, span: int = 0, stream: bool = False) -> None:
        """``dst`` at iteration g waits for the latest ``src`` at an iteration <= g - distance to be done (with
        ``stream``: to have started, and ``dst`` then holds its server until ``src`` is done); with span > 0 only
        if g and g - distance lie in the same block of ``span`` iterations."""
        for n in (src, dst):
            if n not in self.tasks:
                raise ValueError(f"edge end must be a task ({', '.join(self.tasks)}), not {n!r}")
        s, d = self.tasks.index(src), self.tasks.index(dst)
        if distance < 0:
            raise ValueError(f"edge {src}->{dst} distance must be >= 0, not {distance!r}")
        if distance == 0 and s >= d:
            raise ValueError(f"edge {src}->{dst} with distance 0 must point to a later task; add {dst!r} after "
                             f"{src!r} or give the edge a distance")
        if span < 0:
            raise ValueError(f"edge {src}->{dst} span must be >= 0 (0: always applies), not {span!r}")
        self.edges.append((s, d, int(distance), int(span), int(bool(stream))))

    def arrays(self) -> dict[str, np.ndarray]:
        """The struct-of-arrays form the kernel takes (edges as CSR over destination)."""
        n = len(self.tasks)
        order = sorted(range(len(self.edges)), key=lambda i: (self.edges[i][1], i))
        in_ptr = np.zeros(n + 1, np.int64)
        for _, d, _, _, _ in self.edges:
            in_ptr[d + 1] += 1
        np.cumsum(in_ptr, out=in_ptr)
        i64 = lambda xs: np.asarray(xs, np.int64).reshape(-1)  # noqa: E731
        return {
            "res_servers": i64(self.servers), "res_in_order": i64(self.in_order),
            "task_res": i64(self.task_res), "task_dur": i64(self.dur), "task_lat": i64(self.lat),
            "task_stride": i64(self.stride), "task_offset": i64(self.offset),
            "in_ptr": in_ptr, "in_src": i64([self.edges[i][0] for i in order]),
            "in_dist": i64([self.edges[i][2] for i in order]), "in_span": i64([self.edges[i][3] for i in order]),
            "in_stream": i64([self.edges[i][4] for i in order]),
        }


@dataclass(frozen=True)
class EngineRun:
    """What the engine measured: makespan and busy ticks, instance counts, event statistics, optional trace."""

    makespan_ticks: int
    ticks_per_cycle: int
    count: np.ndarray          # instances run, per task template
    busy_ticks: np.ndarray     # server-ticks busy, per resource
    stats: dict[str, int]
    trace: list[tuple[str, int, int]]   # (task, iteration, start tick) of simulated starts (all if exact)

    @property
    def cycles(self) -> float:
        return self.makespan_ticks / self.ticks_per_cycle


def run(program: EngineProgram, *, exact: bool = False, trace: int = 0, reference: bool = False) -> EngineRun:
    """Run ``program`` on the Numba kernel (or the plain-Python reference); ``trace`` = instances to record."""
    if not program.tasks:
        raise ValueError("program must have at least one task; add one with EngineProgram.task(...)")
    a = program.arrays()
    fn = _ref.run_program if reference else _k.run_program
    makespan, count, stats, tt, ti, ts = fn(
        np.int64(program.n_iters), np.int64(program.window), a["res_servers"], a["res_in_order"], a["task_res"],
        a["task_dur"], a["task_lat"], a["task_stride"], a["task_offset"], a["in_ptr"], a["in_src"], a["in_dist"],
        a["in_span"], a["in_stream"], bool(exact), np.int64(trace))
    busy = np.zeros(len(program.resources), np.int64)
    np.add.at(busy, a["task_res"], count * a["task_dur"])
    return EngineRun(
        makespan_ticks=int(makespan), ticks_per_cycle=program.ticks_per_cycle, count=np.asarray(count),
        busy_ticks=busy, stats={k: int(v) for k, v in zip(_k.STATS, stats)},
        trace=[(program.tasks[int(t)], int(g), int(s)) for t, g, s in zip(tt, ti, ts)])
