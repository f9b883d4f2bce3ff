"""A whole model layer on the command line: ``einsim evaluate --model gpt3-7b-prefill --seq-len 2048 --arch
neupims-npu --mappings npu [--set B=1] [--json]`` evaluates each of the model's layers with the mapping the set gives
its cascade, and prints per layer and in total the latency, utilization per unit, DRAM traffic, energy and where the
layer sits on the roofline (bandwidth- or compute-bound)."""

from __future__ import annotations

import json

from .roofline import roofline_point

__all__ = ["run_model", "model_rows"]


def model_rows(mr, arch) -> list[dict]:
    """One row per layer (and a total row): its summary columns plus its roofline coordinates."""
    rows = []
    for x in mr.layers:
        s = x.result.summary
        row = {"layer": x.layer.name, "cascade": x.layer.cascade, "mapping": x.mapping, "count": x.layer.count,
               "ok": x.result.ok, "reason": x.result.reason}
        if x.result.ok:
            row.update({k: s[k] for k in ("cycles", "latency_s", "energy_pj", "dram_bytes", "dram_util")})
            row.update({k: v for k, v in s.items() if k.startswith("util_")})
            row.update(roofline_point(arch, ops=x.ops, dram_bytes=s["dram_bytes"], latency_s=s["latency_s"]))
        rows.append(row)
    return rows


def run_model(args, engine) -> int:
    """The model named by ``args`` (``--model``, ``--seq-len``, ``--mappings``, ``--set`` parameter overrides)."""
    import einsim.arch as arch_mod
    from einsim.mappings import load_mapping_set
    from einsim.sim.model_eval import evaluate_model
    from einsim.workloads import load_model

    from .cli_workload import parse_sets

    arch = arch_mod.load_arch(args.arch)
    mr = evaluate_model(load_model(args.model), arch, load_mapping_set(args.mappings), seq_len=args.seq_len,
                        params=parse_sets(args.set), engine=engine)
    rows = model_rows(mr, arch)
    total = mr.summary(arch) if mr.ok else {}
    if args.json:
        print(json.dumps({"ok": mr.ok, "reason": mr.reason, "summary": total, "layers": rows}, default=float,
                         indent=2))
    elif not mr.ok:
        print(f"infeasible: {mr.reason}")
    else:
        units = [u.name for u in arch.units]
        print(f"{'layer':10s} {'mapping':24s} {'latency_s':>11s} " + " ".join(f"{'util_' + u:>14s}" for u in units)
              + f" {'dram_bytes':>11s} {'energy_pj':>11s}  bound")
        for r in rows:
            print(f"{r['layer']:10s} {r['mapping']:24s} {r['latency_s']:11.4g} "
                  + " ".join(f"{r['util_' + u]:14.3f}" for u in units)
                  + f" {r['dram_bytes']:11.4g} {r['energy_pj']:11.4g}  {r['bound']}")
        print(f"{'total':10s} {'':24s} {total['latency_s']:11.4g} "
              + " ".join(f"{total['util_' + u]:14.3f}" for u in units)
              + f" {total['dram_bytes']:11.4g} {total['energy_pj']:11.4g}")
    return 0 if mr.ok else 2
