"""Run a sweep: resolve its points, skip those the store holds, evaluate the rest (in process or on Dask) and commit
the results in batches.

In process by default. ``workers=N`` starts a Dask ``LocalCluster`` of N single-threaded worker processes;
``scheduler="tcp://host:port"`` uses a running Dask cluster. Points go to the workers as plain data (see
:func:`einsim.analysis.points.evaluate_point`), at most a window of them in flight; results come back in completion
order and are committed every ``batch_size`` points or every ``flush_seconds``, whichever comes first.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .points import Point, evaluate_point, resolve_points
from .store import Store
from .sweep import SweepSpec

__all__ = ["SweepRun", "RunError", "run_sweep"]


class RunError(Exception):
    """The sweep cannot run (no scheduler, no workers); one line saying what and how to fix it."""


@dataclass(frozen=True, kw_only=True)
class SweepRun:
    """What one ``run_sweep`` did. ``unique`` points after equal specs were merged; ``stored_before`` of them were
    in the store; this run recorded ``excluded`` and evaluated ``evaluated`` (= ok + infeasible + errors)."""

    sweep: str
    out: str
    run: str
    designed: int
    unique: int
    stored_before: int
    excluded: int
    evaluated: int
    ok: int
    infeasible: int
    errors: int
    error_messages: tuple[str, ...]
    workers: int
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


class _Batches:
    """Buffers rows and commits them as one store part per ``size`` rows or per ``seconds``."""

    def __init__(self, store: Store, size: int, seconds: float):
        self.store, self.size, self.seconds = store, size, seconds
        self.rows: list[dict] = []
        self.energy: list[tuple] = []
        self.last = time.monotonic()

    def add(self, row: dict, energy=()) -> None:
        self.rows.append(row)
        self.energy.extend((row["hash"], *e) for e in energy)
        if len(self.rows) >= self.size or time.monotonic() - self.last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.write_batch(self.rows, self.energy)
        self.rows, self.energy = [], []
        self.last = time.monotonic()


def _in_process(payloads: Iterable[dict]) -> Iterator[dict]:
    for p in payloads:
        yield evaluate_point(p)


def _dask_results(client, payloads: list[dict], window: int) -> Iterator[dict]:
    """Results in completion order, keeping at most ``window`` points in flight."""
    from distributed import as_completed

    todo = iter(payloads)
    pending = as_completed(raise_errors=False, with_results=True)
    keys = {}

    def submit(p):
        fut = client.submit(evaluate_point, p, key=f"einsim-point-{p['hash']}", pure=False)
        keys[fut.key] = p["hash"]
        pending.add(fut)

    for p in itertools.islice(todo, window):
        submit(p)
    for fut, result in pending:
        h = keys.pop(fut.key)
        fut.release()
        if isinstance(result, BaseException):  # a worker died or the task could not run
            result = {"hash": h, "status": "error", "ok": False, "reason": f"{type(result).__name__}: {result}",
                      "energy": [], "seconds": 0.0, "worker": ""}
        yield result
        nxt = next(todo, None)
        if nxt is not None:
            submit(nxt)


def _probe(scheduler: str) -> None:
    """Fail fast (OSError) when nothing listens at a ``tcp://host:port`` address; Dask itself retries for seconds."""
    scheme, _, rest = scheduler.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme == "tcp" and host and port.isdigit():
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()


@contextlib.contextmanager
def _dask_client(workers: int | None, scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            _probe(scheduler)
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as exc:
            raise RunError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc}); start one with "
                           f"'dask scheduler' or check the address") from None
        cluster = None
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            client.close()
            raise RunError(f"--scheduler {scheduler}: no Dask worker joined within 60 s; start one with "
                           f"'dask worker {scheduler}'") from None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _row(spec: SweepSpec, run: str, p: Point) -> dict:
    return {"hash": p.hash, "sweep": spec.name, "point": p.index, "run": run, **p.values, **p.arch_columns}


def _meta(spec: SweepSpec) -> dict:
    return {"name": spec.name, "description": spec.description, "file": spec.file, "engine": spec.engine,
            "axes": [{"name": a.name, "paths": list(a.paths)} for a in spec.axes],
            "design": asdict(spec.design), "constraints": [c.text for c in spec.constraints],
            "objectives": list(spec.objectives)}


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(msg, file=sys.stderr, flush=True)


def run_sweep(spec: SweepSpec, out, *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, flush_seconds: float = 10.0) -> SweepRun:
    """Evaluate the points of ``spec`` that ``out`` does not hold yet; SpecError, StoreError or RunError on bad
    input (before any evaluation)."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    designed = len(spec.points())
    points = resolve_points(spec)
    run = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    counts = {"ok": 0, "infeasible": 0, "error": 0}
    messages: list[str] = []
    with Store(Path(out)) as store:
        store.save_spec(spec.text, _meta(spec))
        stored = store.hashes()
        todo = [p for p in points if p.hash not in stored]
        excluded = [p for p in todo if p.excluded]
        to_eval = {p.hash: p for p in todo if not p.excluded}
        batches = _Batches(store, spec.batch_size, flush_seconds)
        where = f"{scheduler}" if scheduler else (f"{workers} local Dask workers" if workers else "in process")
        _say(progress, f"sweep {spec.name}: {designed} points ({len(points)} distinct), {len(points) - len(todo)} "
                       f"stored in {out}, {len(excluded)} excluded by constraints, {len(to_eval)} to evaluate "
                       f"({where})")
        bar = tqdm(total=len(to_eval), unit="pt", desc=spec.name, file=sys.stderr, disable=not progress,
                   mininterval=0.5, dynamic_ncols=True)
        n_workers = 1
        try:
            for p in excluded:
                batches.add({**_row(spec, run, p), "status": "excluded", "ok": False, "reason": p.excluded,
                             "seconds": 0.0, "worker": ""})
            with contextlib.ExitStack() as stack:
                payloads = [p.payload for p in to_eval.values()]
                if workers or scheduler:
                    client = stack.enter_context(_dask_client(workers, scheduler))
                    n_workers = len(client.scheduler_info()["workers"])
                    results = _dask_results(client, payloads, window=max(16, 4 * n_workers))
                else:
                    results = _in_process(payloads)
                for res in results:
                    energy = res.pop("energy")
                    counts[res["status"]] += 1
                    bar.update()
                    if res["status"] == "error":
                        messages.append(f"point {to_eval[res['hash']].index}: {res['reason']}")
                        continue
                    batches.add({**_row(spec, run, to_eval[res["hash"]]), **res}, energy)
        finally:
            batches.flush()
            bar.close()
    return SweepRun(sweep=spec.name, out=str(out), run=run, designed=designed, unique=len(points),
                    stored_before=len(points) - len(todo), excluded=len(excluded), evaluated=sum(counts.values()),
                    ok=counts["ok"], infeasible=counts["infeasible"], errors=counts["error"],
                    error_messages=tuple(messages), workers=n_workers, seconds=time.perf_counter() - t0)
