"""The task list a group is lowered into, before program order and packing (see :mod:`einsim.sim.plan`).

A task is a compute tile on a unit or a DRAM transfer; actions (for energy) are attached to tasks and counted once
per execution of their task. Transfers charge DRAM and the on-chip level the tile lives in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from einsim.arch.spec import ArchSpec

__all__ = ["COMPUTE", "LOAD", "STORE", "Task", "TaskList"]

COMPUTE, LOAD, STORE = 0, 1, 2


@dataclass(kw_only=True)
class Task:
    """One task template: runs once per iteration of loops [0, level) (see :mod:`einsim.sim.plan`). Its numbers
    (cycles, latency, bytes, busy) are per row (:mod:`einsim.sim.nest`): arrays, or scalars shared by every row."""

    name: str
    kind: int
    resource: str
    level: int
    phase: int
    cycles: object
    latency: object = 0.0
    bytes: object = 0.0
    busy: object = 0.0
    einsum: str = ""
    unit: str = ""                              # the unit whose PEs do the work ("" for a transfer)
    tensor: str = ""
    deps: list = field(default_factory=list)
    carry: list = field(default_factory=list)   # (source task, distance per row, carried loop)


class TaskList:
    """Tasks in creation order plus their actions ``(task, component, action, count per execution)``."""

    def __init__(self, arch: ArchSpec, dram_share):
        self.arch = arch
        self.tasks: list[Task] = []
        self.acts: list[tuple[int, str, str, object]] = []   # count per execution: per row
        self._dram_bpc = arch.dram.bytes_per_cycle(arch.clock_hz) / dram_share

    def add(self, task: Task) -> int:
        self.tasks.append(task)
        return len(self.tasks) - 1

    def act(self, task: int, component: str, action: str, count: float) -> None:
        self.acts.append((task, component, action, count))

    def transfer(self, kind: int, tensor: str, level: int, phase: int, elems: float, label: str, place: str) -> int:
        """A DRAM load (into on-chip level ``place``) or store (from it) of ``elems`` words."""
        dram = self.arch.dram
        nbytes = elems * self.arch.word_bytes
        t = self.add(Task(name=f"{label} {tensor}", kind=kind, resource="dram", level=level, phase=phase,
                          cycles=nbytes / self._dram_bpc, bytes=nbytes, tensor=tensor))
        self.act(t, dram.name, "read" if kind == LOAD else "write", nbytes / dram.access_bytes)
        buf = self.arch.level(place)
        self.act(t, buf.name, "write" if kind == LOAD else "read", nbytes / buf.access_bytes)
        return t

    def find_store(self, tensor: str) -> int:
        return next(i for i, x in enumerate(self.tasks) if x.kind == STORE and x.name == f"store {tensor}")
