"""Mutation fuzzing of every spec kind and of the command line: a user's mistake is a SpecError (exit 1) or an
infeasible point (exit 2), never a traceback (exit 70 or an exception) and never a hang.

Each kind starts from the shipped presets (cascades, models, architectures, mappings, studies, command lines),
mutates them (values replaced by wrong types, zeros, negatives, huge numbers, near-miss names, keys dropped, renamed
or added, YAML bombs, pathological expressions), and runs them through the loaders and the CLI in-process.

As a test: hypothesis picks the mutants (bounded by the profile in conftest.py, and a per-example time limit).
As a script: ``python tests/test_fuzz.py [--count 300] [--seed 0]`` runs that many mutants per kind and prints, per
kind, the mutants, the exit statuses, the tracebacks and the hangs (the list of failing mutants with ``-v``).
"""

from __future__ import annotations

import contextlib
import copy
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TIME_LIMIT_S = 60.0   # generous: the machine is shared, and a valid tiny study renders its figures
GEMM = ["--set", "M=512", "--set", "K=64", "--set", "N=512"]
ATTN = ["--set", "B=1", "--set", "H=1", "--set", "M=1024", "--set", "P=256", "--set", "E=64", "--set", "F=64"]
#: (cascade, arch, mapping, sizes) points the mapping and arch mutants are evaluated on
POINTS = {"binding": ("attention_1pass", "fusemax", ATTN), "arch": ("attention_1pass", "fusemax", ATTN),
          "cascade": ("attention_1pass", "flat", ATTN), "flat": ("attention_3pass", "flat", ATTN),
          "unfused": ("attention_3pass", "flat", ATTN), "gemm": ("gemm", "fusemax", GEMM)}
CASCADE_POINTS = {"attention_1pass": ("fusemax", "binding", ATTN), "attention_3pass": ("flat", "flat", ATTN),
                  "gemm": ("fusemax", "gemm", GEMM)}

BAD_VALUES = [None, True, False, 0, -4, 1.5, -0.5, 2 ** 70, 10 ** 30, "abc", "", "1024", "-inf", "1e999", "nan",
              "9**9**9", "1/0", [], {}, [0], [1, "x"], {"a": 1}, {"best_of": []}, [[1, 2]], "NOSUCH", "all"]
TEXT_SNIPPETS = [
    "x: &a [*a]\n",
    "? {a: 1}\n: 2\n",
    "? [1, 2]\n: 3\n",
    "deep: " + "[" * 300 + "]" * 300 + "\n",
    "a0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"a{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)),
    "when: 2001-12-14\n",
    "big: " + "9" * 5000 + "\n",
    "obj: !!python/object/apply:os.system ['true']\n",
    "\t- bad indent\n",
    "name: [unclosed\n",
]
EINSUM_SNIPPETS = [" + 1" * 5000, "-" * 800, " * " + "9" * 4000, " * (1/0)", " / 0", " * sqrt(0 - E)", " * 1e999",
                   " * 9**9**9", " * expp(1)", "[", "]", " over m of ", ", ", " * Q[b]", " * E", " * inf"]


# ----- mutation ------------------------------------------------------------------------------------------------------
def _paths(data, path=()):
    yield path
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, path + (i,))


def _get(data, path):
    for p in path:
        data = data[p]
    return data


def _typo(word: str, rng: random.Random) -> str:
    if not word:
        return "x"
    i = rng.randrange(len(word))
    return rng.choice([word[:i] + word[i + 1:], word[:i] + "x" + word[i:], word + word[-1]]) or "x"


def mutate_data(data, rng: random.Random):
    """One structural mutation of parsed YAML data (a deep copy is changed and returned)."""
    data = copy.deepcopy(data)
    paths = [p for p, _ in zip(_paths(data), range(5000), strict=False) if p]
    path = rng.choice(paths)
    parent, key = _get(data, path[:-1]), path[-1]
    kind = rng.choice(["value", "value", "swap", "swap", "typo", "drop", "add_key", "rename_key", "wrap"])
    value = parent[key]
    if kind == "swap":   # another value of the same file: plausible, so the run goes deeper
        scalars = [_get(data, p) for p in paths if not isinstance(_get(data, p), dict | list)]
        parent[key] = rng.choice(scalars) if scalars else None
    elif kind == "value":
        parent[key] = copy.deepcopy(rng.choice(BAD_VALUES))
    elif kind == "typo":
        parent[key] = _typo(str(value), rng) if not isinstance(value, int | float) or isinstance(value, bool) else \
            rng.choice([-value, 0, value * 2 ** 40, value + 0.5])
    elif kind == "drop":
        del parent[key]
    elif kind == "add_key" and isinstance(parent, dict):
        parent[_typo(str(key), rng)] = rng.choice(BAD_VALUES)
    elif kind == "rename_key" and isinstance(parent, dict):
        parent[_typo(str(key), rng)] = parent.pop(key)
    else:
        parent[key] = [value] if rng.random() < 0.5 else str(value)
    return data


def mutate_text(text: str, rng: random.Random) -> str:
    """A YAML text with one or two mutations: mostly structural, sometimes textual (bombs, syntax, tokens)."""
    for _ in range(rng.choice([1, 1, 2])):
        r = rng.random()
        if r < 0.7 and "&" not in text:   # aliases may expand (a bomb): mutate those texts as text
            try:
                data = yaml.safe_load(text)
            except (yaml.YAMLError, ValueError, RecursionError):
                data = None
            if isinstance(data, dict | list) and data:
                try:
                    text = yaml.safe_dump(mutate_data(data, rng), sort_keys=False, width=200)
                    continue
                except RecursionError:   # an earlier mutation made it recursive or deep: mutate the text
                    pass
        if r < 0.85:
            text = text + "\n" + rng.choice(TEXT_SNIPPETS) if rng.random() < 0.5 else rng.choice(TEXT_SNIPPETS) + text
        else:
            pos = rng.randrange(len(text) + 1)
            text = text[:pos] + rng.choice(["[", "]", ":", "-", "{", "}", "\n", " ", "&a", "*a", "'", "#", "!!"]) \
                + text[pos + rng.randrange(0, 4):]
    return text


def mutate_cascade(text: str, rng: random.Random) -> str:
    """Cascades: an Einsum expression made pathological half the time, else a YAML mutation."""
    data = yaml.safe_load(text)
    if rng.random() < 0.5 and data.get("einsums"):
        i = rng.randrange(len(data["einsums"]))
        e = data["einsums"][i]
        pos = rng.randrange(len(e) + 1) if rng.random() < 0.3 else len(e)
        data["einsums"][i] = e[:pos] + rng.choice(EINSUM_SNIPPETS) + e[pos:]
        return yaml.safe_dump(data, sort_keys=False, width=100000)
    return mutate_text(text, rng)


# ----- running ------------------------------------------------------------------------------------------------------
class Hang(BaseException):
    """An example ran past the time limit."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise Hang in the main thread after ``seconds`` (SIGALRM); a no-op where there is no SIGALRM."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum, frame):
        raise Hang(f"ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def cli(argv) -> int:
    """Run the CLI in-process with its output swallowed; an exit status of 70 (internal error) is a traceback."""
    import io

    from einsim.analysis.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code not in (0, 1, 2):
        raise AssertionError(f"einsim {' '.join(argv)} exited {code}: {err.getvalue()[-800:]}")
    return code


def presets(kind: str) -> list[tuple[str, str]]:
    if kind == "constraints":
        return [(f"c{i}", text) for i, text in enumerate(CONSTRAINTS)]
    folder = {"cascade": "workloads/library", "model": "workloads/models", "arch": "arch/presets",
              "mapping": "mappings/presets", "study": "analysis/studies", "dram": "arch/presets/dram",
              "mapping_set": "mappings/presets/sets", "serving": "mappings/presets/serving",
              "sweep": "analysis/sweeps", "systolic": "arch/presets/systolic",
              "serving_study": "analysis/studies"}[kind]
    files = sorted((ROOT / folder).glob("*.yaml"))
    if kind == "study":
        files = [f for f in files if "configs:" in f.read_text() and "kind: serving" not in f.read_text()]
    if kind == "serving_study":
        files = [f for f in files if "kind: serving" in f.read_text()]
    return [(f.stem, f.read_text()) for f in files]


def run_cascade(text, stem, tmp: Path, rng) -> int:
    from einsim.workloads import SpecError, cascade_from_text
    from einsim.workloads.reference import evaluate_reference, random_inputs

    try:
        c = cascade_from_text(text, "m.yaml")
        sizes = c.bind({"B": 1, "H": 1, "M": 8, "P": 2, "E": 2, "F": 2, "M0": 4, "K": 3, "N": 2, "D": 2, "FF": 3},
                       strict=False)
        evaluate_reference(c, random_inputs(c, sizes), sizes)
    except SpecError:
        pass
    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    if stem in CASCADE_POINTS:
        arch, mapping, sizes = CASCADE_POINTS[stem]
        return cli(["evaluate", "--workload", str(path), "--arch", arch, "--mapping", mapping, *sizes])
    return cli(["workload", "show", str(path), "--set", "M=64", "--set", "K=8", "--set", "N=8"])


def run_model(text, stem, tmp: Path, rng) -> int:
    from einsim.workloads import SpecError, load_cascade
    from einsim.workloads.models import load_model

    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    try:
        for layer in load_model(path).instantiate(seq_len=rng.choice([1, 1024, 4096])):
            load_cascade(layer.cascade).bind(dict(layer.sizes), strict=False)
    except SpecError:
        return 1
    return 0


def run_arch(text, stem, tmp: Path, rng) -> int:
    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    cascade, _, sizes = POINTS["gemm"] if rng.random() < 0.5 else POINTS["binding"]
    mapping = "gemm" if cascade == "gemm" else ("binding" if stem == "fusemax" else "flat")
    if stem == "flat" and cascade != "gemm":
        cascade = "attention_3pass"
    return cli([rng.choice(["evaluate", "simulate"]), "--workload", cascade, "--arch", str(path), "--mapping",
                mapping, *sizes])


def run_mapping(text, stem, tmp: Path, rng) -> int:
    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    if stem not in POINTS:
        from einsim.mappings import mapping_from_text
        from einsim.workloads import SpecError

        with contextlib.suppress(SpecError):
            mapping_from_text(text, str(path))
        return 1
    cascade, arch, sizes = POINTS[stem]
    return cli([rng.choice(["evaluate", "evaluate", "simulate"]), "--workload", cascade, "--arch", arch,
                "--mapping", str(path), *sizes])


def run_dram(text, stem, tmp: Path, rng) -> int:
    """A DRAM device file (its ``base`` names a preset); half the mutants also serve as a PIM unit's device."""
    from einsim.arch import arch_from_text
    from einsim.arch.dram import load_dram

    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    spec = load_dram(path)
    if spec.has_pim and rng.random() < 0.5:
        arch = (ROOT / "arch/presets/neupims.yaml").read_text()
        arch_from_text(arch.replace("device: hbm2-pim", f"device: {path}"), "neupims.yaml")
    return 0


def run_mapping_set(text, stem, tmp: Path, rng) -> int:
    from einsim.mappings.sets import load_mapping_set

    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    load_mapping_set(path)
    return 0


def run_serving(text, stem, tmp: Path, rng) -> int:
    """A serving configuration and the specs it names (architecture, mapping set, memory device)."""
    from einsim.arch import load_arch
    from einsim.arch.dram import load_dram
    from einsim.mappings.serving import load_serving
    from einsim.mappings.sets import load_mapping_set

    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    spec = load_serving(path)
    load_arch(spec.arch)
    load_mapping_set(spec.mappings)
    if spec.memory_device:
        load_dram(spec.memory_device)
    return 0


#: constraint files for the attention_1pass cascade on fusemax (the mapper's constraints have no presets)
CONSTRAINTS = [
    "partitions: {M0: [4, 8]}\nbinding: {BQK: array2d, default: [array1d, array2d]}\nfusion: any\n"
    "max_buffer_bytes: {global_buffer: 8388608}\nloops: {prefix: [B, H], max: 6, max_per_rank: 2}\n"
    "tiles: {P: [4, 8], B: {min: 1, max: 2}}\npipeline: [in_order, interleave]\ninstances: [1, all]\n"
    "on_chip: all\nin_pe: max\nspill: true\nstream: [K, V]\ngroups: {BQK: {tiles: {M1: 1}}}\n",
    "fusion: all\nloops: {order: [B, H, M1, P], ranks: [B, H, M1, P]}\ntiles: {\"P@3\": 8}\n"
    "spatial: {array2d: {rows: M0, cols: P}}\n",
    "fusion: [[SQ, BQK, LM, RM, SLN, SLD, SLNV, PRM, SPD, RD, SPNV, RNV, AV]]\npipeline: serial\n",
]
SMALL_ATTENTION = dict(B=2, H=2, M=16, P=16, E=4, F=4)


def run_constraints(text, stem, tmp: Path, rng) -> int:
    """Constraints on the attention_1pass mapspace on fusemax: loaded, then checked against the space."""
    from einsim.arch import load_arch
    from einsim.mappings.constraints import constraints_from_text
    from einsim.mappings.mapspace import Mapspace
    from einsim.workloads import load_cascade

    constraints = constraints_from_text(text, str(tmp / f"{stem}.yaml"))
    Mapspace(load_cascade("attention_1pass"), load_arch("fusemax"), SMALL_ATTENTION, constraints=constraints).check()
    return 0


def run_sweep(text, stem, tmp: Path, rng) -> int:
    """A sweep spec: loaded (every axis value applied to the base specs and checked) and its design drawn."""
    from einsim.analysis.sweep import load_sweep

    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    load_sweep(path).points()
    return 0


def run_systolic(text, stem, tmp: Path, rng) -> int:
    """A systolic timing preset, read for each dataflow (the preset folder is the loader's own)."""
    import einsim.arch.systolic as systolic

    folder = systolic.SYSTOLIC_PRESET_DIR
    systolic.SYSTOLIC_PRESET_DIR = tmp
    try:
        (tmp / f"{stem}.yaml").write_text(text)
        for dataflow in systolic.DATAFLOWS:
            systolic.load_systolic_preset(stem, dataflow)
    finally:
        systolic.SYSTOLIC_PRESET_DIR = folder
    return 0


def run_serving_study(text, stem, tmp: Path, rng) -> int:
    """A serving study (``kind: serving``): loaded, its configurations and models loaded and checked."""
    from einsim.analysis.serving_study import _specs, load_serving_study

    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    study = load_serving_study(path)
    model = rng.choice(sorted(study.models))
    m = study.models[model]
    _specs(m["decode"], m.get("prefill"), rng.choice(study.configs))
    return 0


TINY_STUDY = {"models": ["bert"], "seq_lens": [1024]}
#: share of study mutants that also run end to end (plots included, seconds each), and with it the study command
#: lines among the CLI mutants: none in the test suite, the script mode raises it
STUDY_RUN_FRACTION = 0.0


def run_study(text, stem, tmp: Path, rng) -> int:
    """Load the mutated study and check every spec it names; some mutants also run end to end on a tiny
    subset (one model, one sequence length) through ``einsim study`` (:data:`STUDY_RUN_FRACTION` of them)."""
    from einsim.analysis.study import check_study_specs, load_study
    from einsim.workloads import SpecError

    for extra in (ROOT / "analysis/studies").glob("*.yaml"):
        if extra.stem != stem:
            (tmp / extra.name).write_text(extra.read_text())
    path = tmp / f"{stem}.yaml"
    path.write_text(text)
    try:
        check_study_specs(load_study(path))
    except SpecError:
        return 1
    if rng.random() < STUDY_RUN_FRACTION:
        try:
            data = yaml.safe_load(text)
            pareto = data.get("pareto") if isinstance(data, dict) else None
            if isinstance(pareto, dict):   # a short sweep, to keep the run to seconds
                pareto["seq_len"] = 1024
                if isinstance(pareto.get("sizes"), list):
                    pareto["sizes"] = pareto["sizes"][-2:]
                path.write_text(yaml.safe_dump(data, sort_keys=False))
        except yaml.YAMLError:
            pass
        return cli(["study", str(path), "--models", "bert", "--seq-lens", "1024", "--out", str(tmp / "out"),
                    "--quiet"])
    return 0


CLI_BASES = [
    ["evaluate", "--workload", "gemm", "--arch", "fusemax", "--mapping", "gemm", *GEMM],
    ["simulate", "--workload", "attention_1pass", "--arch", "fusemax", "--mapping", "binding", *ATTN],
    ["workload", "show", "attention_1pass", *ATTN, "--set", "M0=256"],
    ["workload", "check", "gemm", "attention_3pass"],
    ["kernel", "systolic", "--rows", "8", "--cols", "8", "--m", "16", "--k", "16", "--n", "16", "--seed", "3"],
    ["study", "tiny", "--models", "bert", "--seq-lens", "1024", "--out", "OUT", "--quiet"],
]
CLI_VALUES = ["", "0", "-1", "abc", "1024.7", "1e3", "2", "4096", " ", "M", "=", "X=4", "M=0", "M=-1", "M=abc",
              "M=1099511627776", "M=" + "9" * 40, "100000", "1000000000", "NOSUCH", "/proc/nosuch/x", "FILE",
              "FILE/sub", "--json", "--exact", "--nosuch", "bert,nosuch", "1024,", ",", "1024,4096"]


def mutate_argv(argv: list[str], rng: random.Random) -> list[str]:
    argv = list(argv)
    for _ in range(rng.choice([1, 1, 2])):
        i = rng.randrange(1, len(argv)) if len(argv) > 1 else 0
        kind = rng.choice(["value", "value", "value", "drop", "insert"])
        if kind == "value":
            argv[i] = rng.choice(CLI_VALUES)
        elif kind == "drop":
            del argv[i]
        else:
            argv.insert(i, rng.choice(CLI_VALUES))
    return argv


def run_cli(argv, _stem, tmp: Path, rng) -> int:
    (tmp / "FILE").write_text("a file, not a folder\n")
    study = yaml.safe_load((ROOT / "analysis/studies/fusemax.yaml").read_text())
    study.update(TINY_STUDY, configs={k: study["configs"][k] for k in ("flat", "binding")}, reference="flat")
    study.pop("pareto", None)
    (tmp / "tiny.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    (tmp / "ffn_linear.yaml").write_text((ROOT / "analysis/studies/ffn_linear.yaml").read_text())
    argv = [str(tmp / "tiny.yaml") if a == "tiny" else str(tmp / "out") if a == "OUT" else
            str(tmp / a) if a in ("FILE", "FILE/sub") else a for a in argv]
    return cli(argv)


KINDS = {
    "cascade": (lambda: presets("cascade"), mutate_cascade, run_cascade),
    "model": (lambda: presets("model"), mutate_text, run_model),
    "arch": (lambda: presets("arch"), mutate_text, run_arch),
    "mapping": (lambda: presets("mapping"), mutate_text, run_mapping),
    "study": (lambda: presets("study"), mutate_text, run_study),
    "dram": (lambda: presets("dram"), mutate_text, run_dram),
    "mapping_set": (lambda: presets("mapping_set"), mutate_text, run_mapping_set),
    "serving": (lambda: presets("serving"), mutate_text, run_serving),
    "constraints": (lambda: presets("constraints"), mutate_text, run_constraints),
    "sweep": (lambda: presets("sweep"), mutate_text, run_sweep),
    "systolic": (lambda: presets("systolic"), mutate_text, run_systolic),
    "serving_study": (lambda: presets("serving_study"), mutate_text, run_serving_study),
    "cli": (lambda: [(str(i), b) for i, b in enumerate(CLI_BASES) if STUDY_RUN_FRACTION or b[0] != "study"],
            mutate_argv, run_cli),
}


def one_mutant(kind: str, seed: int):
    """Build and run mutant ``seed`` of ``kind``; return (exit status, mutant). Raises on a traceback or a hang."""
    rng = random.Random(f"{kind}-{seed}")
    sources, mutate, run = KINDS[kind]
    stem, base = rng.choice(sources())
    mutant = mutate(base, rng)
    from einsim.workloads import SpecError

    with tempfile.TemporaryDirectory() as tmp, time_limit(TIME_LIMIT_S):
        try:
            return run(mutant, stem, Path(tmp), rng), mutant
        except SpecError:   # a loader's clean refusal
            return 1, mutant


# ----- as tests ------------------------------------------------------------------------------------------------------
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_kind(kind):
    """Every mutant ends as exit 0/1/2 or a SpecError: no other exception, no hang. Up to 25 examples per kind here
    (the script mode runs hundreds)."""

    codes = []

    @settings(max_examples=min(settings().max_examples, 25), deadline=None, database=None)
    @given(st.integers(0, 2 ** 32))
    @example(1401167)       # a sweep whose model workload is null (was a TypeError)
    def check(seed):
        code, _ = one_mutant(kind, seed)
        assert code in (0, 1, 2)
        codes.append(code)

    check()
    # with -s: the counts of this run (a traceback or a hang fails the test before it gets here)
    print(f"\nfuzz {kind}: {len(codes)} mutants, exit 0/1/2: {codes.count(0)}/{codes.count(1)}/{codes.count(2)}, "
          f"0 tracebacks, 0 hangs")


def test_named_bombs_and_limits(tmp_path):
    """The issue's reproducers, each a clean exit 1."""
    bad = tmp_path / "bad.yaml"
    for snippet in TEXT_SNIPPETS[:7]:
        bad.write_text(snippet)
        assert cli(["workload", "check", str(bad)]) == 1
    text = (ROOT / "workloads/library/gemm.yaml").read_text()
    for tail in EINSUM_SNIPPETS[:8]:
        data = yaml.safe_load(text)
        data["einsums"][0] += tail
        bad.write_text(yaml.safe_dump(data, width=100000))
        assert cli(["evaluate", "--workload", str(bad), "--arch", "fusemax", "--mapping", "gemm", *GEMM]) == 1


# ----- as a script ---------------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="mutation fuzzing of every spec kind and the CLI")
    p.add_argument("--count", type=int, default=300, help="mutants per kind")
    p.add_argument("--seed", type=int, default=0, help="first mutant number")
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    p.add_argument("-v", "--verbose", action="store_true", help="print each failing mutant")
    p.add_argument("--study-runs", type=float, default=0.1, help="share of study mutants run end to end")
    args = p.parse_args(argv)
    global STUDY_RUN_FRACTION
    STUDY_RUN_FRACTION = args.study_runs
    print(f"{'kind':13s} {'mutants':>7s} {'exit 0':>6s} {'exit 1':>6s} {'exit 2':>6s} {'tracebacks':>10s} "
          f"{'hangs':>5s} {'seconds':>7s}")
    failed = 0
    for kind in args.kinds.split(","):
        counts = {0: 0, 1: 0, 2: 0, "traceback": 0, "hang": 0}
        t0 = time.perf_counter()
        for seed in range(args.seed, args.seed + args.count):
            try:
                code, _ = one_mutant(kind, seed)
                counts[code] += 1
            except Hang:
                counts["hang"] += 1
                if args.verbose:
                    print(f"  HANG {kind} seed {seed}")
            except Exception as exc:  # noqa: BLE001 - counting them is the point
                counts["traceback"] += 1
                if args.verbose:
                    print(f"  TRACEBACK {kind} seed {seed}: {type(exc).__name__}: {str(exc)[:300]}")
        failed += counts["traceback"] + counts["hang"]
        print(f"{kind:13s} {args.count:7d} {counts[0]:6d} {counts[1]:6d} {counts[2]:6d} {counts['traceback']:10d} "
              f"{counts['hang']:5d} {time.perf_counter() - t0:7.1f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
