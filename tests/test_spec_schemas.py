"""Every spec kind beyond cascades, models and studies validates through the schema layer: one mistake per case,
the exact ``file:line key.path: message`` it gives, before any spec object is built (the issue's reproducers
included: scalars where mappings belong, a null op name, unknown area keys, partitions of the wrong type)."""

from pathlib import Path

import pytest

from einsim.analysis.serving_study import load_serving_study
from einsim.analysis.sweep import sweep_from_text
from einsim.arch import arch_from_text
from einsim.arch.dram import dram_from_text
from einsim.arch.systolic import load_systolic_preset
from einsim.mappings import mapping_from_text
from einsim.mappings.serving import serving_from_text
from einsim.mappings.sets import load_mapping_set
from einsim.workloads import SpecError

ROOT = Path(__file__).resolve().parents[1]


def _text(rel: str) -> str:
    return (ROOT / rel).read_text()


def _mapping_set(text, file):
    path = Path(file)
    path.write_text(text)
    return load_mapping_set(path)


def _systolic_preset(text, file):
    import einsim.arch.systolic as systolic

    path = Path(file)
    path.write_text(text)
    folder, systolic.SYSTOLIC_PRESET_DIR = systolic.SYSTOLIC_PRESET_DIR, path.parent
    try:
        return load_systolic_preset(path.stem, "ws")
    finally:
        systolic.SYSTOLIC_PRESET_DIR = folder


def _serving_study(text, file):
    path = Path(file)
    path.write_text(text)
    return load_serving_study(path)


KINDS = {
    "arch": (arch_from_text, "arch/presets/fusemax.yaml"),
    "pim_arch": (arch_from_text, "arch/presets/neupims.yaml"),
    "dram": (dram_from_text, "arch/presets/dram/hbm2.yaml"),
    "systolic": (_systolic_preset, "arch/presets/systolic/onnxim.yaml"),
    "mapping": (mapping_from_text, "mappings/presets/binding.yaml"),
    "mapping_set": (_mapping_set, "mappings/presets/sets/npu.yaml"),
    "serving": (serving_from_text, "mappings/presets/serving/neupims.yaml"),
    "sweep": (sweep_from_text, "analysis/sweeps/fusemax_size_buffer_seq.yaml"),
    "serving_study": (_serving_study, "analysis/studies/neupims.yaml"),
}


def errors(kind, edit, tmp_path):
    load, rel = KINDS[kind]
    text = _text(rel)
    assert edit[0] in text, edit
    with pytest.raises(SpecError) as info:
        load(text.replace(*edit, 1), str(tmp_path / "x.yaml"))
    return [str(i).replace(str(tmp_path) + "/", "") for i in info.value.issues]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_presets_load(kind, tmp_path):
    load, rel = KINDS[kind]
    assert load(_text(rel), str(tmp_path / "x.yaml")) is not None


#: (kind, (text in the preset, its replacement), the start of each message)
CASES = [
    ('arch', ('      alu: {mac: 1, mul: 1, add: 1, max: 1}\n', '      alu: 3\n'),
     ['x.yaml:18 units.array2d.pipelines.alu: must be a mapping, not 3']),
    ('arch', ('    pipelines:\n      alu: {mac: 1, mul: 1, add: 1, max: 1}\n', '    pipelines: 4\n'),
     ['x.yaml:17 units.array2d.pipelines: must be a mapping, not 4']),
    ('arch', ('alu: {mac: 1, mul: 1, add: 1, max: 1}', 'alu: {mac: 1, ~: 1}'),
     ['x.yaml:18 units.array2d.pipelines.alu: a key must be a non-empty string, not None']),
    ('arch', ('energy_pj: {mac: 17.16, mul', 'energy_pj: [1]\n    x_pj: {mac: 17.16, mul'),
     ['x.yaml:22 units.array2d.energy_pj: must be a mapping, not a list [1]',
      "x.yaml:23 units.array2d.x_pj: unknown key 'x_pj'; valid keys: kind, rows, cols, pes, lanes, banks, i"]),
    ('arch', ('area_um2: {mac: 1545.0, max: 49.29, register_file: 4255.93}', 'area_um2: {mac: 1545.0, maxx: 49.29}'),
     ['x.yaml:23 units.array2d.area_um2.maxx: must be an op of this unit or register_file (add, exp, mac, m']),
    ('arch', ('composite_ops:\n      exp: {mac: 6, add: 1}  #', 'composite_ops:\n      exp: [mac]  #'),
     ["x.yaml:20 units.array2d.composite_ops.exp: must be a mapping, not a list ['mac']"]),
    ('arch', ('rows: 256', 'rows: 1180591620717411303424'),
     ['x.yaml:15 units.array2d.rows: must be at most 2**62 = 4611686018427387904 (the simulator counts in 6']),
    ('arch', ('spatial_reduction: chain', 'spatial_reduction: {max: treee}'),
     ["x.yaml:21 units.array2d.spatial_reduction.max: must be one of chain, tree, none, not 'treee' (did yo"]),
    ('arch', ('capacity_bytes: 16777216', "capacity_bytes: '16 MiB'"),
     ["x.yaml:41 memory[1].capacity_bytes: must be a positive integer, not '16 MiB' (e.g. 16777216 for 16 M"]),
    ('arch', ('    rw_ports: 1', '    rw_port: 1'),
     ["x.yaml:48 memory[1].rw_port: unknown key 'rw_port' (did you mean 'rw_ports'?); valid keys: name, kin"]),
    ('arch', ('energy_pj: {read: 249.6, write: 249.6}', 'energy_pj: {read: 249.6}'),
     ["x.yaml:38 memory[0].energy_pj: missing required key 'write'"]),
    ('arch', ('kind: pe_array_2d', 'kind: pe_aray_2d'),
     ['x.yaml:14 units.array2d.kind: must be one of pe_array_2d, pe_array_1d, vector, systolic_array, pim, ']),
    ('arch', ('energy_pj: {mac: 17.16,', 'energy_pj: {mac: {component: mac, width_bits: 0},'),
     ['x.yaml:22 units.array2d.energy_pj.mac.width_bits: must be a positive integer, not 0']),
    ('pim_arch', ('row_buffers: 2', 'row_buffers: 3'),
     ["x.yaml:32 units.pim.row_buffers: must be 1 (DRAM and PIM share each bank's row buffer) or 2 (dual ro"]),
    ('pim_arch', ('device: hbm2-pim', 'device: hbm2'),
     ["x.yaml:31 units.pim.device: device 'hbm2' has no PIM MAC lanes; use a PIM device such as hbm2-pim",
      "x.yaml:58 memory[3].serves[0]: must name units of this architecture (systolic, vector), not 'pim'"]),
    ('dram', ('trcd: 14', 'trcd: 14.5'),
     ['x.yaml:21 timing.trcd: trcd must be an integer >= 1, not 14.5']),
    ('dram', ('channels: 32', 'channels: 48'),
     ['x.yaml:5 organization.channels: channels must be a power of two (it is a field of the address), not ']),
    ('dram', ('  trcd: 14', '  trcdd: 14\n  trcd: 14'),
     ["x.yaml:21 timing.trcdd: unknown key 'trcdd' (did you mean 'trcd'?); valid keys: tck_ns, cl, cwl, trc"]),
    ('systolic', ('min_interval: 4', 'min_interval: 65'),
     ['x.yaml:24 dataflows.ws.min_interval: must be at most 64, not 65',
      'x.yaml:24 dataflows.is.min_interval: must be at most 64, not 65']),
    ('systolic', ('  ws: &weight_stationary', '  wss: &weight_stationary'),
     ["x.yaml:16 dataflows.wss: must be one of os, ws, is, not 'wss' (did you mean 'ws'?)"]),
    ('mapping', ('partitions: {M0: 256}', 'partitions: M0'),
     ["x.yaml:12 partitions: must be a mapping, not 'M0'"]),
    ('mapping', ('partitions: {M0: 256}', 'partitions: {M0: true}'),
     ['x.yaml:12 partitions.M0: must be a positive integer, not True']),
    ('mapping', ('[B, 1], [H, 1]', '[B, 1], [H, -1]'),
     ['x.yaml:16 groups[0].loops[1][1]: must be a positive integer, not -1 (or {best_of: [...]} to let the ']),
    ('mapping', ('      array1d: {pes: P}', '      array1d: {pez: P}'),
     ["x.yaml:19 groups[0].spatial.array1d.pez: must be one of rows, cols, pes, lanes, not 'pez' (did you m"]),
    ('mapping', ('    pipeline: interleave', '    pipeline: interleave\n    instances: many'),
     ["x.yaml:24 groups[0].instances: must be a positive integer or 'all', not 'many'"]),
    ('mapping', ('    on_chip: all', '    on_chip: some'),
     ["x.yaml:21 groups[0].on_chip: must be 'all' or a list of names, not 'some'"]),
    ('mapping_set', ('  gemm: npu-gemm', '  gemm: npu-gem'),
     ["x.yaml:6 mappings.gemm: mapping must be a preset name or a YAML path, not 'npu-gem'; presets: arch, "]),
    ('mapping_set', ('  gemm: npu-gemm', '  gemm: [npu-gemm]'),
     ["x.yaml:6 mappings.gemm: must be a non-empty string, not a list ['npu-gemm']"]),
    ('serving', ('sub_batches: {best_of: [1, 2]}', 'sub_batches: {best_of: [1, 0]}'),
     ['x.yaml:9 sub_batches.best_of[1]: must be a positive integer, not 0']),
    ('serving', ('channel_policy: min_load', 'channel_policy: minload'),
     ["x.yaml:11 channel_policy: must be one of round_robin, min_load, not 'minload' (did you mean 'min_loa"]),
    ('serving', ('kv_page_tokens: 32', 'kv_page_token: 32'),
     ["x.yaml:12 kv_page_token: unknown key 'kv_page_token' (did you mean 'kv_page_tokens'?); valid keys: n"]),
    ('sweep', ('n: 10, multiple_of: 65536', 'n: 10, multiple_of: -1'),
     ['x.yaml:23 axes[1].range.multiple_of: must be a positive number, not -1']),
    ('sweep', ('design: grid', 'design: {kind: random, n: 0}'),
     ['x.yaml:27 design.n: must be a positive integer, not 0']),
    ('sweep', ('batch_size: 25', "batch_size: '25'"),
     ["x.yaml:31 batch_size: must be a positive integer, not '25' (points per Parquet part file)"]),
    ('sweep', ('  arch: fusemax', '  arch: [fusemax]'),
     ["x.yaml:10 base.arch: must be a non-empty string, not a list ['fusemax']"]),
    ('sweep', ('n: 10, multiple_of', 'n: 100000, multiple_of'),
     ['x.yaml:27 design: a grid of 5,000,000 points is more than the 1,000,000 a sweep may have']),
    ('sweep', ('n: 10, multiple_of', 'n: 10995116277760, multiple_of'),
     ['x.yaml:23 axes[1].range.n: must be at most 1000000, not 10995116277760']),
    ('serving_study', ('batches: [64, 128, 256, 512]', 'batches: [64, 128, 0]'),
     ['x.yaml:14 batches[2]: must be a positive integer, not 0']),
    ('serving_study', ('  seed: 1', '  sead: 1'),
     ["x.yaml:17 serving: missing required key 'seed'",
      "x.yaml:21 serving.sead: unknown key 'sead' (did you mean 'seed'?); valid keys: iterations, time_every, pool"]),
    ('serving_study', ('kind: serving', 'kind: serving\nmodel: x'),
     ["x.yaml:7 model: unknown key 'model' (did you mean 'models'?)"]),
    ('arch', ('technology_nm: 45', 'technology_nm: 940000000'),
     ['x.yaml:43 memory[1].technology_nm: must be a feature size in nm above 0 and at most 1000 (e.g. 45), not 9']),
]


@pytest.mark.parametrize("kind, edit, messages", CASES)
def test_one_mistake_its_messages(kind, edit, messages, tmp_path):
    found = errors(kind, edit, tmp_path)
    assert [m[:len(want)] for m, want in zip(found, messages)] == messages and len(found) == len(messages)


def test_every_error_of_an_architecture_at_once(tmp_path):
    text = _text("arch/presets/fusemax.yaml").replace("rows: 256", "rows: -4").replace("pes: 256", "pez: 256") \
        .replace("capacity_bytes: 16777216", "capacity_bytes: big")
    with pytest.raises(SpecError) as info:
        arch_from_text(text, "x.yaml")
    assert [f"{i.line} {i.path}" for i in info.value.issues] == [
        "15 units.array2d.rows", "26 units.array1d.pez", "41 memory[1].capacity_bytes"]
