"""Mapping specs: the five presets load; malformed mappings report every error."""

import pytest

import einsim.mappings as mappings
from einsim.workloads.errors import SpecError


def test_presets_load_and_differ_only_in_yaml():
    names = mappings.preset_names()
    for n in ("unfused", "flat", "cascade", "arch", "binding", "gemm", "ffn_linear"):
        assert n in names
        mappings.load_mapping(n)
    arch_m, bind_m = mappings.load_mapping("arch"), mappings.load_mapping("binding")
    # +Architecture is +Binding one tile at a time
    assert arch_m.groups[0].window == 1 and bind_m.groups[0].window is None
    assert arch_m.groups[0].pipeline == bind_m.groups[0].pipeline == "interleave"
    assert arch_m.binding == bind_m.binding
    flat = mappings.load_mapping("flat")
    assert flat.choices == ((0, 2),) and flat.groups[0].loops[2].candidates[0] == 4096
    assert bind_m.unit_of("BQK") == "array2d" and bind_m.unit_of("RM") == "array1d"


def test_errors_are_collected():
    text = """\
name: m
binding: {default: array2d}
groups:
  - einsums: all
    loops: [[M, 0], [N, {best_of: []}], M]
    pipeline: sideways
    spatial: {array2d: {rowz: M}}
"""
    with pytest.raises(SpecError) as exc:
        mappings.mapping_from_text(text, "m.yaml")
    t = str(exc.value)
    assert "m.yaml:5 groups[0].loops[0][1]: must be a positive integer, not 0" in t
    assert "m.yaml:5 groups[0].loops[1][1].best_of: must be a non-empty list, not a list []" in t
    assert "groups[0].loops[2]: must be a [rank, tile] pair like [P, 256], not 'M'" in t
    assert "groups[0].pipeline: must be one of serial, in_order, interleave, not 'sideways'" in t
    assert "spatial.array2d.rowz: must be one of rows, cols, pes, lanes, not 'rowz' (did you mean 'rows'?)" in t
