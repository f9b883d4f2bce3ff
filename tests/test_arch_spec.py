"""Architecture specs: presets load with the DESIGN.md numbers; malformed specs report every error with its line."""

import pytest

import einsim.arch as arch
from einsim.workloads.errors import SpecError

GOOD = """\
name: tiny
kind: spatial_array
clock_hz: 1.0e+9
word_bytes: 2
units:
  array2d:
    kind: pe_array_2d
    rows: 4
    cols: 4
    pipelines: {alu: {mac: 1}}
    energy_pj: {mac: 1.0}
    area_um2: {mac: 100.0}
memory:
  - {name: dram, kind: dram, bandwidth_bytes_per_s: 8.0e+9, access_bits: 64, energy_pj: {read: 8.0, write: 8.0}}
  - {name: gb, kind: buffer, capacity_bytes: 1024, access_bits: 64, banks: 1, energy_pj: {read: 1.0, write: 1.0},
     area_um2: 1000.0}
"""


def test_presets_carry_the_published_numbers():
    f = arch.load_arch("fusemax")
    assert f.unit("array2d").pes == 256 * 256 and f.unit("array1d").pes == 256
    assert f.level("global_buffer").capacity_bytes == 16 * 2**20 and f.clock_hz == 940e6 and f.word_bytes == 2
    assert f.dram.bandwidth_bytes_per_s == 400 * 2**30
    assert f.unit("array2d").expand("exp") == {"mac": 6.0, "add": 1.0}
    # the global buffer's energy per 4096-bit row and its area: CACTI for the declared geometry (issue 8's figures)
    assert arch.action_energy_pj(f, "global_buffer", "read") == pytest.approx(12512.7, rel=1e-4)
    assert arch.action_energy_pj(f, "global_buffer", "write") == pytest.approx(15751.4, rel=1e-4)
    assert arch.area_breakdown(f)["global_buffer"] == pytest.approx(84.2, rel=1e-3)
    flat = arch.load_arch("flat")
    assert flat.level("global_buffer").capacity_bytes == 32 * 2**20
    assert flat.unit("array1d").native_ops["exp"] == ("exp", 1)   # its own pipelined unit
    assert "max" not in flat.unit("array2d").supported_ops


def test_area_scales_with_pe_count_and_capacity():
    a = arch.arch_from_text(GOOD)
    assert arch.area_breakdown(a) == pytest.approx({"array2d.mac": 16 * 100e-6, "gb": 1000e-6})
    big = a.with_unit("array2d", dims={"rows": 8, "cols": 8})
    assert arch.total_area_mm2(big) == pytest.approx(64 * 100e-6 + 1000e-6)


def test_a_buffer_without_figures_takes_them_from_cacti_for_its_geometry():
    derived = arch.arch_from_text(GOOD.replace("energy_pj: {read: 1.0, write: 1.0},\n     area_um2: 1000.0", ""))
    small, big = derived, derived.with_level("gb", capacity_bytes=4096)
    for action in ("read", "write"):
        assert 0 < arch.action_energy_pj(small, "gb", action) < arch.action_energy_pj(big, "gb", action)
    assert 0 < arch.area_breakdown(small)["gb"] < arch.area_breakdown(big)["gb"]


def test_all_errors_of_a_file_at_once_with_lines():
    bad = GOOD.replace("rows: 4", "rows: -4").replace("capacity_bytes: 1024", "capacity_bytes: big") \
              .replace("kind: pe_array_2d", "kind: pe_array_2d\n    colour: red")
    with pytest.raises(SpecError) as exc:
        arch.arch_from_text(bad, "x.yaml")
    text = str(exc.value)
    assert "x.yaml:9 units.array2d.rows: must be a positive integer, not -4" in text
    assert "units.array2d.colour: unknown key 'colour'" in text
    assert "memory[1].capacity_bytes: must be a positive integer, not 'big'" in text
    assert len(exc.value.issues) == 3, text


def test_composite_ops_must_use_native_ops_and_unknown_preset():
    bad = GOOD.replace("energy_pj: {mac: 1.0}", "composite_ops: {exp: {fma: 6}}")
    with pytest.raises(SpecError, match=r"composite_ops\.exp\.fma: must be a native op of this unit \(mac\)"):
        arch.arch_from_text(bad)
    with pytest.raises(SpecError, match="presets: flat, fusemax"):
        arch.load_arch("fusemx")
