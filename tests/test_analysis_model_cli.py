"""``einsim evaluate --model``: every layer of an LLM decoder layer on an NPU, with its roofline coordinates."""

import json

import pytest

from einsim.analysis.cli import main


def _run(capsys, model, *extra):
    assert main(["evaluate", "--model", model, "--arch", "neupims-npu", "--mappings", "npu", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("model, seq_len, rows", [("gpt3-7b-prefill", 512, 512), ("gpt3-7b-decode", 512, 64)])
def test_model_layers_carry_operation_counts_at_their_bound_sizes(capsys, model, seq_len, rows):
    """The QKV projection's operations equal its closed form (rows x D x 3D multiply-accumulates), also for the
    prefill, whose 1-pass attention needs the mapping's M0 to count its work."""
    out = _run(capsys, model, "--seq-len", str(seq_len))
    assert out["ok"] and all(layer["ok"] for layer in out["layers"])
    qkv = next(layer for layer in out["layers"] if layer["layer"] == "qkv")
    assert qkv["ops"] == rows * 4096 * 3 * 4096
    assert sum(layer["latency_s"] * layer["count"] for layer in out["layers"]) == pytest.approx(
        out["summary"]["latency_s"])


def test_decode_attention_is_bandwidth_bound_and_prefill_projection_compute_bound(capsys):
    decode = {x["layer"]: x for x in _run(capsys, "gpt3-7b-decode")["layers"]}
    prefill = {x["layer"]: x for x in _run(capsys, "gpt3-7b-prefill")["layers"]}
    assert decode["attention"]["bound"] == "bandwidth"
    assert decode["attention"]["ops_per_dram_byte"] < 1.0            # each KV byte is used once per query
    assert prefill["qkv"]["bound"] == "compute"
