"""Component models: CACTI's SRAM figures for the FuseMax/FLAT buffers, capacity sweeps, the cache, the install check.

CACTI runs take seconds, so the whole module shares one cache directory that outlives the session (under pytest's
gitignored cache folder, or a temporary one with the cache plugin off): after a first run, a session makes only the
few small CACTI runs that bypass the cache on purpose.
"""

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from einsim.arch import cacti, component_cache
from einsim.arch import components as comp
from einsim.arch.components import ComponentError, LogicFigures, SramFigures, sram

CAPACITIES_MIB = (1, 2, 4, 8, 16, 32, 64)


@pytest.fixture(scope="module", autouse=True)
def shared_cache_dir(request, tmp_path_factory):
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("einsim-components") if cache is not None else tmp_path_factory.mktemp("components")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EINSIM_CACHE_DIR", str(folder))
        yield Path(folder)


@pytest.fixture(scope="module")
def capacity_table():
    return {row["capacity_mib"]: row for row in comp.capacity_table(width_bits=4096, mib=CAPACITIES_MIB)}


# Issue 8 / DESIGN.md, "Global buffer": CACTI at 45 nm per 4096-bit row access. The geometry is the one the FuseMax
# artifact declares (FPSG-UIUC/micro24-fusemax-artifact, workspace/inputs/yamls/area_energy/architecture/
# accel_fusemax/accel-top-2d-path.yaml: width 4096, depth 32768; accel_flat/accel-top-2d-path.yaml: depth 65536)
# as it reaches CACTI: the artifact's smartbuffer_SRAM class (components/smartbuffer_SRAM.yaml) hands CACTI only
# width and depth, so CACTI sees one bank and one read-write port whatever n_banks the top level declares.
@pytest.mark.parametrize("design, depth, read_pj, write_pj, area_mm2", [
    ("fusemax", 32768, 12512.7, 15751.4, 84.2),
    ("flat", 65536, 23854.6, 27097.5, 175.7),
])
def test_buffer_figures_reproduce_the_published_cacti_figures(design, depth, read_pj, write_pj, area_mm2):
    got = sram(width_bits=4096, depth=depth, banks=1, rw_ports=1, technology_nm=45)
    assert got.read_pj == pytest.approx(read_pj, rel=0.01)
    assert got.write_pj == pytest.approx(write_pj, rel=0.01)
    assert got.area_mm2 == pytest.approx(area_mm2, rel=0.01)
    assert got.leakage_w > 0


@given(pair=st.lists(st.sampled_from(CAPACITIES_MIB), min_size=2, max_size=2, unique=True))
def test_energy_and_area_rise_with_capacity_at_fixed_row_width(capacity_table, pair):
    small, large = sorted(pair)
    a, b = capacity_table[small], capacity_table[large]
    assert b["depth"] == a["depth"] * large // small
    assert b["read_pj"] > a["read_pj"] and b["write_pj"] > a["write_pj"] and b["area_um2"] > a["area_um2"]


def test_exclusive_port_model_writes_the_same_cacti_input_as_the_library():
    from hwcomponents_cacti import SRAM
    args = dict(tech_node=45 / 1e9, width=512, size=512 * 256, n_banks=1, n_rw_ports=1)
    ours = comp._exclusive_port_sram_class()(read_ports=0, write_ports=0, **args)
    theirs = SRAM(**args)
    assert (ours.read_energy, ours.write_energy, ours.area, ours.leak_power) == pytest.approx(
        (theirs.read_energy, theirs.write_energy, theirs.area, theirs.leak_power), rel=1e-9)


def test_exclusive_ports_add_area_and_reach_cacti():
    plain = sram(width_bits=512, depth=256)
    ported = sram(width_bits=512, depth=256, read_ports=1, write_ports=1)
    only_exclusive = sram(width_bits=512, depth=256, rw_ports=0, read_ports=1, write_ports=1)
    assert ported.area_um2 > only_exclusive.area_um2 > plain.area_um2
    assert ported.read_pj > plain.read_pj


@pytest.mark.parametrize("kwargs, message", [
    ({"width_bits": 0, "depth": 64}, "width_bits must be an integer >= 1, not 0"),
    ({"width_bits": 64, "depth": 2.5}, "depth must be an integer >= 1, not 2.5"),
    ({"width_bits": 64, "depth": 64, "banks": 0}, "banks must be an integer >= 1, not 0"),
    ({"width_bits": 64, "depth": 64, "technology_nm": "45nm"}, "technology_nm must be a feature size in nm"),
    ({"width_bits": 64, "depth": 64, "rw_ports": 0, "read_ports": 1}, "rw_ports >= 1, or read_ports >= 1 and"),
])
def test_bad_geometry_is_refused_with_the_rule(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        sram(**kwargs)


# --- the cache ---------------------------------------------------------------------------------------------------

@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EINSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(comp, "_MEMO", {})
    calls = []

    def fake_model(**inputs):
        calls.append(inputs)
        return {"read_pj": 1.0 * inputs["depth"], "write_pj": 2.0, "area_um2": 3.0, "leakage_w": 4.0}

    monkeypatch.setattr(comp, "_run_sram_model", fake_model)
    return tmp_path, calls


def test_figures_are_computed_once_then_read_from_disk(private_cache, monkeypatch):
    folder, calls = private_cache
    first = sram(width_bits=64, depth=128)
    assert sram(width_bits=64, depth=128) == first and len(calls) == 1      # this process's memo
    monkeypatch.setattr(comp, "_MEMO", {})
    assert sram(width_bits=64, depth=128) == first and len(calls) == 1      # the file
    assert sram(width_bits=64, depth=256).read_pj == 256 and len(calls) == 2
    path = folder / "components.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    doc = json.loads(path.read_text())
    keys = [json.loads(k) for k in doc["entries"]]
    assert {k["inputs"]["depth"] for k in keys} == {128, 256}
    assert set(keys[0]["versions"]) >= {"hwcomponents", "hwcomponents-cacti", "hwcomponents-library"}
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_an_unreadable_cache_is_recomputed_and_rewritten(private_cache):
    folder, calls = private_cache
    (folder / "components.json").write_text("{not json")
    assert sram(width_bits=64, depth=128).read_pj == 128 and len(calls) == 1
    assert json.loads((folder / "components.json").read_text())["format"] == 1


def test_an_unwritable_cache_only_costs_a_recomputation(private_cache, monkeypatch):
    folder, calls = private_cache
    blocker = folder / "file"
    blocker.write_text("")
    monkeypatch.setenv("EINSIM_CACHE_DIR", str(blocker / "sub"))      # a folder below a file: cannot exist
    assert sram(width_bits=64, depth=128).read_pj == 128


def _store_many(folder: str, prefix: str, n: int) -> None:
    os.environ["EINSIM_CACHE_DIR"] = folder
    for i in range(n):
        assert component_cache.store(f"{prefix}{i}", {"i": i})


def test_two_processes_writing_at_once_keep_every_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("EINSIM_CACHE_DIR", str(tmp_path))
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_store_many, args=(str(tmp_path), p, 25)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    entries = json.loads((tmp_path / "components.json").read_text())["entries"]
    assert set(entries) == {f"{p}{i}" for p in "ab" for i in range(25)}


# --- the CACTI binary: check, clear error, rebuild ------------------------------------------------------------------

def test_the_installed_cacti_binary_runs_here():
    assert cacti.problem() is None          # the install step (make .venv/bin/.installed) ran --ensure-cacti
    assert cacti.ensure(echo=pytest.fail) is False


GLIBC = "./cacti: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by ./cacti)"
BROKEN = "#!/bin/sh\ncat \"$(dirname \"$0\")/glibc.txt\" >&2\nexit 1\n"
WORKING = ("#!/bin/sh\n"
           "printf 'Tech node (nm), Dynamic read energy (nJ), Dynamic write energy (nJ)\\n45, 0.1, 0.2\\n'"
           " > \"$2.out\"\n")


@pytest.fixture
def fake_cacti(tmp_path, monkeypatch):
    """A package folder whose binary fails like the shipped one on Debian 12 and whose makefile 'rebuilds' it."""
    folder = tmp_path / "hwcomponents_cacti" / "cacti"
    folder.mkdir(parents=True)
    (folder.parent / "default_cfg.cfg").write_text("-cache type \"ram\"")
    (folder / "glibc.txt").write_text(GLIBC + "\n")
    (folder / "cacti").write_text(BROKEN)
    (folder / "cacti").chmod(0o755)
    (folder / "working").write_text(WORKING)
    (folder / "makefile").write_text("all:\n\tcp working cacti && chmod +x cacti\nclean:\n\trm -f cacti\n")
    monkeypatch.setattr(cacti, "cacti_dir", lambda: folder)
    return folder


def test_a_broken_binary_is_diagnosed_in_one_line(fake_cacti):
    assert cacti.problem() == GLIBC


def test_ensure_rebuilds_a_broken_binary_once(fake_cacti):
    said = []
    assert cacti.ensure(echo=said.append) is True
    assert len(said) == 1 and "does not run here" in said[0] and "GLIBC_2.38" in said[0] and "rebuilding" in said[0]
    assert cacti.problem() is None
    assert cacti.ensure(echo=said.append) is False and len(said) == 1


def test_a_failed_rebuild_says_where_the_log_is(fake_cacti):
    (fake_cacti / "makefile").write_text("all:\n\tfalse\nclean:\n\ttrue\n")
    with pytest.raises(ComponentError, match=r"rebuilding CACTI failed at 'make -j\d+' \(exit 2\); see .*rebuild.log"):
        cacti.ensure(echo=lambda _: None)


def test_sram_says_what_to_run_when_cacti_cannot_run(fake_cacti, tmp_path, monkeypatch):
    import hwcomponents_cacti.hwcomponents_cacti as library
    monkeypatch.setattr(library, "_get_cacti_dir", lambda logger: str(fake_cacti))
    monkeypatch.setenv("EINSIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(comp, "_MEMO", {})
    with pytest.raises(ComponentError) as info:
        sram(width_bits=136, depth=777)            # a geometry no cache holds
    message = str(info.value)
    assert "\n" not in message and "GLIBC_2.38" in message and message.endswith(cacti.FIX_COMMAND)


def test_command_line(capsys, capacity_table):
    assert comp.main(["--ensure-cacti", "--table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + len(CAPACITIES_MIB) and lines[-1].split()[0] == "64"
    assert float(lines[-3].split()[2]) == pytest.approx(capacity_table[16]["read_pj"], abs=0.1)
    assert comp.main([]) == 1


# --- logic: hwcomponents-library's Aladdin models --------------------------------------------------------------------

def test_logic_reproduces_the_artifact_library_figures():
    # FuseMax artifact, yamls/area_energy/outputs-2d-fusemax/ERT_summary_verbose.yaml and ART_summary_verbose.yaml:
    # the max unit's 16-bit comparator costs 0.014735 pJ and 35.5 um^2, a 1-bit register read 0.009 pJ and 5.98 um^2
    # (the Aladdin 40 nm figures, used unscaled although the artifact's technology is 45 nm).
    cmp16 = comp.comparator(width_bits=16, technology_nm=40)
    assert cmp16 == LogicFigures(energy_pj=pytest.approx(0.014735), area_um2=pytest.approx(35.5))
    reg1 = comp.register(width_bits=1, technology_nm=40)
    assert reg1 == LogicFigures(energy_pj=pytest.approx(0.009), area_um2=pytest.approx(5.98))


def test_logic_scales_with_width_and_node():
    for block, exponent in ((comp.adder, 1), (comp.multiplier, 2), (comp.comparator, 1), (comp.counter, 1)):
        narrow, wide = block(width_bits=16), block(width_bits=32)
        assert wide.energy_pj == pytest.approx(narrow.energy_pj * 2**exponent)
        assert wide.area_um2 == pytest.approx(narrow.area_um2 * 2**exponent)
        assert block(width_bits=16, technology_nm=65).energy_pj > narrow.energy_pj > block(
            width_bits=16, technology_nm=22).energy_pj
    whole, mul, add = comp.mac(width_bits=16, accumulator_bits=32), comp.multiplier(width_bits=16), comp.adder(
        width_bits=32)
    assert whole.energy_pj == pytest.approx(mul.energy_pj + add.energy_pj)
    assert whole.area_um2 == pytest.approx(mul.area_um2 + add.area_um2)
    with pytest.raises(ValueError, match="width_bits must be an integer >= 1, not -1"):
        comp.adder(width_bits=-1)


def test_public_interface():
    assert SramFigures(read_pj=1, write_pj=2, area_um2=3e6, leakage_w=0).area_mm2 == 3
    with pytest.raises(TypeError):
        SramFigures(1, 2, 3, 4)
