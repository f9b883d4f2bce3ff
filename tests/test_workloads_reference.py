"""The numpy reference evaluator against plain numpy formulas."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from einsim.workloads import evaluate_reference, load_cascade, random_inputs


def softmax_attention(Q, K, V):
    """softmax(Q^T K / sqrt(E)) V per (b, h), computed the numerically stable way with plain numpy."""
    E = Q.shape[2]
    logits = np.einsum("bhep,bhem->bhpm", Q, K) / np.sqrt(E)
    logits -= logits.max(axis=-1, keepdims=True)
    w = np.exp(logits)
    w /= w.sum(axis=-1, keepdims=True)
    return np.einsum("bhpm,bhfm->bhfp", w, V)


def rel_err(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("name", ["attention_3pass", "attention_2pass", "attention_1pass"])
@pytest.mark.parametrize("scale", [1.0, 40.0])  # 40: logits of magnitude ~1e3, where a naive softmax overflows
def test_attention_equals_softmax(name, scale):
    c = load_cascade(name)
    sizes = c.bind({"B": 2, "H": 3, "M": 48, "P": 5, "E": 8, "F": 6, "M0": 12}, strict=False)
    x = random_inputs(c, sizes, seed=7, scale=scale)
    logits = np.einsum("bhep,bhem->bhpm", x["Q"], x["K"]) / np.sqrt(8)
    if scale > 1:
        assert np.abs(logits).max() > 1e3
        with np.errstate(over="ignore", invalid="ignore"):
            naive = np.exp(logits)
        assert not np.isfinite(naive).all()  # the textbook formula would overflow here
    out = evaluate_reference(c, x, sizes)["AV"]
    assert rel_err(out, softmax_attention(x["Q"], x["K"], x["V"])) < 1e-9


@pytest.mark.slow
@given(m1=st.integers(1, 5), m0=st.integers(1, 6), p=st.integers(1, 4), e=st.integers(1, 5), seed=st.integers(0, 99))
def test_blocked_attention_any_partition(m1, m0, p, e, seed):
    for name in ("attention_2pass", "attention_1pass"):
        c = load_cascade(name)
        sizes = c.bind({"B": 1, "H": 1, "M": m1 * m0, "P": p, "E": e, "F": 3, "M0": m0}, strict=False)
        x = random_inputs(c, sizes, seed=seed, scale=3.0)
        out = evaluate_reference(c, x, sizes)["AV"]
        assert rel_err(out, softmax_attention(x["Q"], x["K"], x["V"])) < 1e-9


def test_decode_attention():
    c = load_cascade("attention_decode")
    sizes = c.bind({"B": 3, "H": 2, "M": 17, "E": 8, "F": 4})
    x = random_inputs(c, sizes, seed=3, scale=10.0)
    ref = softmax_attention(x["Q"][..., None], x["K"], x["V"])[..., 0]
    assert rel_err(evaluate_reference(c, x, sizes)["AV"], ref) < 1e-9


def test_gemm_gemv():
    c = load_cascade("gemm")
    s = c.bind({"M": 7, "K": 5, "N": 3})
    x = random_inputs(c, s, seed=1)
    assert np.allclose(evaluate_reference(c, x, s)["Z"], x["A"] @ x["B"], rtol=1e-12)
    c = load_cascade("gemv")
    s = c.bind({"M": 7, "K": 5})
    x = random_inputs(c, s, seed=2)
    assert np.allclose(evaluate_reference(c, x, s)["Y"], x["A"] @ x["X"], rtol=1e-12)


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def test_ffn_and_swiglu():
    c = load_cascade("ffn")
    s = c.bind({"M": 6, "D": 5, "FF": 9})
    x = random_inputs(c, s, seed=4)
    assert np.allclose(evaluate_reference(c, x, s)["Y"], gelu(x["X"] @ x["W1"]) @ x["W2"], rtol=1e-12)
    c = load_cascade("ffn_swiglu")
    s = c.bind({"M": 6, "D": 5, "FF": 9})
    x = random_inputs(c, s, seed=5)
    g = x["X"] @ x["WG"]
    ref = ((g / (1 + np.exp(-g))) * (x["X"] @ x["WU"])) @ x["WD"]
    assert np.allclose(evaluate_reference(c, x, s)["Y"], ref, rtol=1e-12)


def test_iterated_tensor_keeps_every_iterate():
    c = load_cascade("attention_1pass")
    s = c.bind({"B": 1, "H": 1, "M": 12, "P": 2, "E": 2, "F": 2, "M0": 4}, strict=False)
    x = random_inputs(c, s, seed=0)
    t = evaluate_reference(c, x, s)
    rm = t["RM"][0, 0]  # (M1 + 1, P): the initial value, then the running max after each block
    assert rm.shape == (4, 2) and np.all(rm[0] == -np.inf)
    logits = np.einsum("ep,em->mp", x["Q"][0, 0], x["K"][0, 0]) / np.sqrt(2)
    for k in range(1, 4):
        assert np.allclose(rm[k], logits[: 4 * k].max(axis=0))
