"""DRAM/PIM device specs: the presets carry their sources' figures; bad YAML is reported with file, line, key path."""

from __future__ import annotations

import pytest

from einsim.arch.dram import DramSpec, dram_from_text, dram_preset_names, load_dram
from einsim.workloads.errors import SpecError


def test_presets_and_their_figures():
    assert set(dram_preset_names()) >= {"hbm2", "hbm2-pim", "hbm3", "hbm-pim", "aim-like"}
    h = load_dram("hbm2")  # NeuPIMs' HBM2 (DESIGN.md)
    assert (h.channels, h.banks_per_channel, h.row_buffer_bytes) == (32, 32, 1024)
    assert (h.tck_ns, h.cl, h.cwl, h.trcd, h.trp, h.tras, h.trfc, h.trefi) == (1.0, 14, 4, 14, 14, 34, 260, 3900)
    assert (h.trrd_s, h.trrd_l, h.twtr_s, h.twtr_l, h.tfaw, h.twr) == (4, 6, 6, 8, 30, 16)
    assert (h.tccd_s, h.tccd_l, h.trtp_s, h.trtp_l, h.burst_length, h.burst_cycles) == (1, 2, 4, 6, 4, 2)
    assert (h.vdd, h.idd0, h.idd2n, h.idd3n, h.idd4r, h.idd4w, h.idd5ab) == (1.2, 65, 40, 55, 390, 500, 250)
    assert not h.has_pim and h.peak_bytes_per_s == pytest.approx(1.024e12)
    p = load_dram("hbm2-pim")
    assert (p.mac_lanes, p.row_buffers, p.comps_per_row, p.gwrite_cycles, p.trcd) == (16, 2, 32, 96, 14)
    h3 = load_dram("hbm3")  # AttAcc's HBM3 5.2 Gbps
    assert (h3.units, h3.burst_bytes, h3.burst_cycles, h3.trfc, h3.tfaw) == (32, 32, 2, 456, 39)
    assert h3.peak_bytes_per_s == pytest.approx(665.6e9, rel=1e-3) and not h3.has_energy
    assert load_dram("hbm-pim").row_buffers == load_dram("aim-like").row_buffers == 1
    assert load_dram("hbm-pim").mac_lanes == 8 and load_dram("hbm-pim").cl == 14  # timing from the base
    d = load_dram("hbm2-dramsim3")  # DRAMsim3's geometry of the same ini: 2 KB rows, one 1 GB rank per channel
    assert (d.channels, d.ranks, d.columns, d.row_buffer_bytes) == (8, 1, 32, 2048)
    assert d.capacity_bytes == 8 * 2**30 and (d.trfc, d.tfaw, d.idd4r) == (h.trfc, h.tfaw, h.idd4r)


def test_yaml_errors_name_file_line_and_key():
    text = """name: bad
base: hbm2
organization:
  channels: 3
  burst_length: 3
  address_mapping: rorabgba
timing:
  trefi: 100
  trcdd: 4
pim:
  mac_lanes: 7
  row_buffers: 3
"""
    with pytest.raises(SpecError) as exc:
        dram_from_text(text, "bad.yaml")
    msgs = [str(i) for i in exc.value.issues]
    assert any(m.startswith("bad.yaml:9 timing.trcdd: unknown key 'trcdd' (did you mean 'trcd'?)") for m in msgs)
    with pytest.raises(SpecError) as exc:
        dram_from_text(text.replace("  trcdd: 4\n", ""), "bad.yaml")
    msgs = [str(i) for i in exc.value.issues]
    assert "bad.yaml:4 organization.channels: channels must be a power of two (it is a field of the address), " \
           "not 3" in msgs
    assert any("burst_length must be a multiple of transfers_per_clock = 2, not 3" in m for m in msgs)
    assert any(m.startswith("bad.yaml:6 organization.address_mapping: address_mapping must list each of") for m in msgs)
    assert "bad.yaml:8 timing.trefi: trefi must exceed trfc = 260, not 100" in msgs
    assert any("row_buffers must be 1 or 2, not 3" in m for m in msgs)
    assert any("pim.mac_lanes" in m and "mac_lanes 7 does not fit" in m for m in msgs)


def test_missing_sections_and_unknown_preset():
    with pytest.raises(SpecError) as exc:
        dram_from_text("name: x\norganization: {channels: 2}\ntiming: {cl: 3}\n", "x.yaml")
    msgs = [str(i) for i in exc.value.issues]
    assert "x.yaml:3 timing: missing required key 'tfaw'" in msgs and "x.yaml:2 organization: missing required key " \
                                                                       "'ranks'" in msgs
    with pytest.raises(SpecError, match="presets: aim-like, hbm-pim, hbm2, hbm2-dramsim3, hbm2-pim, hbm3"):
        load_dram("hbm9")
    with pytest.raises(SpecError, match=r"organization must be a mapping of its fields, not None"):
        dram_from_text("name: x\ntiming: {}\n", "x.yaml")
    with pytest.raises(SpecError, match="row_buffer_bytes must equal columns x bus_width_bits x burst_length / 8 = "
                                        "1024, not 512"):
        dram_from_text("name: x\nbase: hbm2\norganization: {row_buffer_bytes: 512}\n", "x.yaml")


def test_direct_construction_is_validated():
    h = load_dram("hbm2")
    import dataclasses

    with pytest.raises(SpecError, match="tras must be at least trcd = 14, not 10"):
        dataclasses.replace(h, tras=10)
    assert isinstance(dataclasses.replace(h, channels=4), DramSpec)
