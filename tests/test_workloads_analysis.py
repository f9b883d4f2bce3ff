"""Pass analysis, op counts, the dependency graph and model presets."""

import networkx as nx
import pytest

from einsim.workloads import dependency_graph, load_cascade, load_model, op_counts, passes, total_ops
from einsim.workloads.models import MODELS

SIZES = {"B": 2, "H": 3, "M": 1024, "P": 512, "E": 64, "F": 32, "M0": 256}


@pytest.mark.parametrize("name,expected", [("attention_3pass", 3), ("attention_2pass", 2), ("attention_1pass", 1),
                                           ("attention_decode", 2)])
def test_passes_over_m(name, expected):
    assert passes(load_cascade(name))["M"] == expected


def test_passes_other_ranks_and_gemm():
    assert passes(load_cascade("attention_3pass"))["P"] == 1
    assert passes(load_cascade("gemm")) == {"M": 1, "K": 1, "N": 1}


def test_attention_op_counts_closed_form():
    B, H, M, P, E, F, M0 = (SIZES[k] for k in "B H M P E F M0".split())
    M1 = M // M0
    c = load_cascade("attention_1pass")
    per = op_counts(c, c.bind(SIZES))
    assert per["BQK"] == {"mac": B * H * M * P * E}
    assert per["SLNV"] == {"mac": B * H * M * P * F}
    assert per["LM"] == {"max": B * H * M1 * P * (M0 - 1)}
    assert per["SLN"] == {"add": B * H * M * P, "exp": B * H * M * P}
    assert per["AV"] == {"div": B * H * F * P}  # deferred division: F x P, not M x P
    assert per["SQ"] == {"mul": B * H * E * P}  # the constant 1/sqrt(E) is folded, one multiply per element
    c3 = load_cascade("attention_3pass")
    per3 = op_counts(c3, c3.bind({k: v for k, v in SIZES.items() if k != "M0"}))
    assert per3["A"] == {"div": B * H * M * P}
    assert per3["GM"] == {"max": B * H * P * (M - 1)}
    assert total_ops(per3)["mac"] == B * H * M * P * (E + F)


def test_gemm_ops_and_ffn_kinds():
    c = load_cascade("gemm")
    assert op_counts(c, c.bind({"M": 3, "K": 4, "N": 5})) == {"Z": {"mac": 60}}
    c = load_cascade("ffn")
    per = op_counts(c, c.bind({"M": 2, "D": 3, "FF": 4}))
    assert per["H1"] == {"mac": 24} and per["Y"] == {"mac": 24} and per["G1"]["exp"] == 8


def test_dependency_graph_marks_carried_edges():
    g = dependency_graph(load_cascade("attention_1pass"))
    assert g["RD"]["SPD"]["carried"] and not g["SPD"]["RD"]["carried"]
    assert g["RNV"]["AV"]["carried"] is False  # AV reads the final iterate RNV[.., M1, ..]
    acyclic = nx.DiGraph([(u, v) for u, v, d in g.edges(data=True) if not d["carried"]])
    assert nx.is_directed_acyclic_graph(acyclic)


@pytest.mark.parametrize("name", sorted(p.stem for p in MODELS.glob("*.yaml")))
def test_models_instantiate_and_bind(name):
    model = load_model(name)
    layers = model.instantiate(seq_len=2048)
    assert {layer.role for layer in layers} >= {"attention", "ffn", "qkv_projection", "out_projection"}
    for layer in layers:
        c = load_cascade(layer.cascade)
        sizes = dict(layer.sizes)
        if c.partitions:
            sizes["M0"] = 256
        c.bind(sizes)  # every size each cascade needs is there


def test_fusemax_model_parameters():
    bert = {layer.role: layer for layer in load_model("bert").instantiate(seq_len=4096)}
    assert dict(bert["attention"].sizes) == {"B": 64, "H": 12, "M": 4096, "P": 4096, "E": 64, "F": 64}
    assert bert["ffn"].sizes["FF"] == 3072 and bert["qkv_projection"].sizes["M"] == 64 * 4096
    assert load_model("xlm").params["E"] == 128
