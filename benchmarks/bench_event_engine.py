"""Event-engine benchmarks: events per second (exact simulation), the FuseMax attention study on the event engine,
and the engine-vs-analytical comparison over the study's points.

``python -m benchmarks.bench_event_engine --compare`` prints the per-point comparison (all 120 attention points):
event-engine cycles, analytical cycles, the gap, and extrapolated vs exact where the exact run is quick;
``--study fusemax-artifact`` does the same for the artifact variant (``--study all``: both).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

__all__ = ["run", "compare", "events_per_second"]


def events_per_second(n_iters: int) -> tuple[float, int]:
    """Exact simulation of a FuseMax binding tile program (BERT, 4096 tokens) truncated to ``n_iters``."""
    import einsim.arch as arch
    import einsim.mappings as mappings
    import einsim.workloads as workloads
    from einsim.sim.engine_program import run as run_engine
    from einsim.sim.mapper import best_mapping
    from einsim.sim.plan import lower
    from einsim.sim.simulate import program_of, window_of

    c = workloads.load_cascade("attention_1pass")
    a = arch.load_arch("fusemax")
    layer = next(L for L in workloads.load_model("bert").instantiate(seq_len=4096) if L.role == "attention")
    m, _ = best_mapping(c, a, mappings.load_mapping("binding"), dict(layer.sizes))
    (plan,) = lower(c, c.bind({**layer.sizes, **m.partitions}), a, m)
    prog = program_of(plan, c, window_of(plan, c, a))
    prog.n_iters = min(prog.n_iters, n_iters)
    run_engine(prog, exact=True)         # compile / warm up
    t0 = time.perf_counter()
    r = run_engine(prog, exact=True)
    dt = time.perf_counter() - t0
    return r.stats["events_simulated"] / dt, r.stats["events_simulated"]


def compare(models=None, seq_lens=None, configs=None, *, exact_check_s: float = 60.0, verbose: bool = True,
            study_name: str = "fusemax"):
    """Rows (model, seq_len, config, event cycles, analytical cycles, gap, exact cycles or None) for the study."""
    import einsim.workloads as workloads
    from einsim.analysis.study import config_specs, load_study
    from einsim.sim import simulate

    study = load_study(study_name)
    rows = []
    for model in models or study.models:
        for s in seq_lens or study.seq_lens:
            layer = next(L for L in workloads.load_model(model).instantiate(seq_len=s) if L.role == "attention")
            for cfg in configs or study.configs:
                sp = config_specs(study, cfg, s)
                args = (sp.cascade, sp.arch, sp.mapping, dict(layer.sizes))
                r = simulate(*args)
                ev, an = r.summary["cycles"], r.summary["analytical_cycles"]
                exact = None
                # the exact run simulates every event: only where that takes well under exact_check_s
                if r.summary["events"] / 5e6 < exact_check_s:
                    exact = simulate(*args, exact=True).summary["cycles"]
                rows.append({"study": study_name, "model": model, "seq_len": s, "config": cfg, "event_cycles": ev,
                             "analytical_cycles": an, "gap": ev / an - 1, "exact_cycles": exact,
                             "events": r.summary["events"], "events_simulated": r.summary["events_simulated"]})
                if verbose:
                    ex = "" if exact is None else f"  exact-vs-extrapolated {exact / ev - 1:+.2e}"
                    print(f"{study_name} {model:5s} {s:8d} {cfg:8s} event {ev:.6g} analytical {an:.6g} "
                          f"gap {100 * (ev / an - 1):+7.3f}%{ex}", flush=True)
    return rows


def run(smoke: bool) -> list[dict]:
    from einsim.analysis.study import load_study, run_attention

    rows = []
    eps, n = events_per_second(2_000 if smoke else 200_000)
    rows.append({"benchmark": "event_engine", "metric": "events per second (exact, FuseMax tile program)",
                 "value": eps, "unit": "events/s", "target": "", "note": f"{n} events simulated"})
    study = load_study("fusemax")
    kw = {"models": ["bert"], "seq_lens": [1024, 1048576]} if smoke else {}
    t0 = time.perf_counter()
    att, _ = run_attention(study, progress=False, engine="event", **kw)
    dt = time.perf_counter() - t0
    rows.append({"benchmark": "event_engine", "metric": "FuseMax attention study on the event engine",
                 "value": dt, "unit": "s", "target": "" if smoke else "< 60",
                 "note": f"{len(att)} points" + (" (smoke subset)" if smoke else "")})
    gaps = np.abs(att.cycles / att.analytical_cycles - 1)
    rows.append({"benchmark": "event_engine", "metric": "max |event/analytical - 1| over the points",
                 "value": float(gaps.max()), "unit": "", "target": "<= 0.02 or explained",
                 "note": f"mean {float(gaps.mean()):.4f}"})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_event_engine", description=__doc__.splitlines()[0])
    p.add_argument("--compare", action="store_true", help="print the engine-vs-analytical comparison")
    p.add_argument("--models", default=None)
    p.add_argument("--seq-lens", default=None)
    p.add_argument("--study", default="fusemax", help="fusemax, fusemax-artifact or all")
    args = p.parse_args(argv)
    if args.compare:
        names = ("fusemax", "fusemax-artifact") if args.study == "all" else (args.study,)
        for name in names:
            rows = compare(args.models.split(",") if args.models else None,
                           [int(x) for x in args.seq_lens.split(",")] if args.seq_lens else None, study_name=name)
            gaps = np.array([abs(r["gap"]) for r in rows])
            ex = [abs(r["exact_cycles"] / r["event_cycles"] - 1) for r in rows if r["exact_cycles"] is not None]
            print(f"{name}: {len(rows)} points: max |gap| {100 * gaps.max():.3f}%, mean |gap| "
                  f"{100 * gaps.mean():.3f}%, within 2%: {int(np.sum(gaps <= 0.02))}")
            worst = sorted(rows, key=lambda r: -abs(r["gap"]))[:3]
            print("  largest: " + ", ".join(f"{r['model']} {r['seq_len']} {r['config']} {100 * r['gap']:+.2f}%"
                                            for r in worst))
            print(f"  extrapolated vs exact: {len(ex)} points checked, max |diff| {max(ex) if ex else 0:.2e}")
        return 0
    for row in run(smoke=False):
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
