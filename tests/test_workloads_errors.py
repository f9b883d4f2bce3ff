"""Every malformed cascade gets its own clear message; no mutation of a valid file gives a traceback."""

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from einsim.workloads import LIBRARY, SpecError, cascade_from_text, load_cascade

GOOD = textwrap.dedent("""\
    name: tiny
    ranks: [M, K, N]
    tensors: {A: [M, K], B: [K, N], Z: [M, N]}
    einsums:
      - T[m,n] = A[m,k] * B[k,n]
      - Z[m,n] = exp(T[m,n])
    """)


def errors_of(text):
    with pytest.raises(SpecError) as info:
        cascade_from_text(text, "x.yaml")
    return [str(i) for i in info.value.issues]


def test_good_file_loads():
    assert [e.name for e in cascade_from_text(GOOD).einsums] == ["T", "Z"]


def test_undeclared_tensor():
    (msg,) = errors_of(GOOD.replace("exp(T[m,n])", "exp(U[m,n])"))
    assert msg.startswith("x.yaml:6 einsums[1]: undeclared tensor 'U'")


def test_index_with_two_sizes():
    (msg,) = errors_of(GOOD.replace("B[k,n]", "B[n,n]").replace("A[m,k] * ", "A[m,k] * A[m,k] * "))
    assert "index n ranges over rank N, but that dimension of B is rank K: one index cannot have two sizes" in msg


def test_rank_given_two_sizes():
    c = load_cascade("attention_2pass")
    with pytest.raises(SpecError, match=r"rank M has two sizes: 64 given and 60 = M1 x M0"):
        c.bind({"B": 1, "H": 1, "M": 64, "P": 1, "E": 1, "F": 1, "M1": 6, "M0": 10})


def test_reduction_over_kept_rank():
    (msg,) = errors_of(GOOD.replace("Z[m,n] = exp(T[m,n])", "Z[m,n] = max over n of T[m,n]"))
    assert "reduction over rank N that the output Z keeps" in msg


def test_cycle_between_einsums():
    text = GOOD.replace("T[m,n] = A[m,k] * B[k,n]", "T[m,n] = A[m,k] * B[k,n] + Y[m,n]")
    text = text.replace("  - Z[m,n] = exp(T[m,n])", "  - Y[m,n] = exp(T[m,n])\n  - Z[m,n] = Y[m,n]")
    (msg,) = errors_of(text)
    assert "cycle between Einsums: T -> Y -> T" in msg or "cycle between Einsums: Y -> T -> Y" in msg


def test_unknown_operator_lists_choices():
    (msg,) = errors_of(GOOD.replace("exp(", "expp("))
    assert "unknown operator 'expp' (did you mean 'exp'?); operators:" in msg and "sub_exp" in msg


def test_missing_size():
    c = cascade_from_text(GOOD)
    with pytest.raises(SpecError) as info:
        c.bind({"M": 4, "K": 2}, source="--set")
    assert [str(i) for i in info.value.issues] == [
        "--set N: missing size for rank N; give it with --set N=N, a model preset or a sweep axis"]


@pytest.mark.parametrize("value", [0, -3, 2.5, "big", True])
def test_bad_size(value):
    with pytest.raises(SpecError, match=rf"size of rank M must be a positive integer, not {value!r}"):
        cascade_from_text(GOOD).bind({"M": value, "K": 2, "N": 3})


def test_partition_factor_must_divide():
    with pytest.raises(SpecError, match=r"partition factor M0=7 does not divide M=100; choose a divisor of 100"):
        load_cascade("attention_1pass").bind({"B": 1, "H": 1, "M": 100, "P": 1, "E": 1, "F": 1, "M0": 7})


def test_yaml_syntax_error_has_line():
    (msg,) = errors_of(GOOD.replace("tensors: {A: [M, K]", "tensors: {A: [M, K"))
    assert msg.startswith("x.yaml:3 <yaml>: YAML syntax error")


def test_yaml_is_loaded_safely():
    (msg,) = errors_of("name: !!python/object/apply:os.system ['true']\n")
    assert "is not allowed: spec files hold plain data" in msg


def test_unknown_key_and_all_errors_at_once():
    text = GOOD.replace("name: tiny", "name: tiny\nrankz: [M]").replace("exp(", "expp(").replace("A[m,k]", "Q[m,k]")
    msgs = errors_of(text)
    assert any("unknown key 'rankz' (did you mean 'ranks'?)" in m for m in msgs)
    assert any("undeclared tensor 'Q'" in m for m in msgs) and any("unknown operator 'expp'" in m for m in msgs)


def test_iterated_tensor_needs_init():
    text = textwrap.dedent("""\
        name: running-max
        ranks: [M, P]
        tensors: {X: [M, P], Y: [P]}
        einsums:
          - R[m+1,p] = max(R[m,p], X[m,p])
          - Y[p] = R[M,p]
        """)
    (msg,) = errors_of(text)
    assert "iterated tensor R needs an initial value: add 'init: {R: ...}'" in msg
    c = cascade_from_text(text.replace("einsums:", "init: {R: -inf}\neinsums:"))
    assert c.einsum("R").iterative == "M"


def test_user_operator_from_outside(tmp_path):
    import numpy as np

    from einsim.workloads import operators
    from einsim.workloads.reference import evaluate_reference

    operators.register("sq_diff", lambda a, b: (a - b) ** 2, arity=2, kinds={"add": 1, "mul": 1}, replace=True)
    c = cascade_from_text(GOOD.replace("exp(T[m,n])", "sq_diff(T[m,n], 1)"))
    s = c.bind({"M": 2, "K": 3, "N": 2})
    a, b = np.ones((2, 3)), np.full((3, 2), 2.0)
    assert np.allclose(evaluate_reference(c, {"A": a, "B": b}, s)["Z"], 25.0)


LIBRARY_TEXTS = [p.read_text() for p in sorted(LIBRARY.glob("*.yaml"))]
TOKENS = ["[", "]", ",", ":", "-", "m", "M", "=", "*", "+", "over", "of", "max", "1", "{", "}", "\n", " ", "e",
          "sub_exp", "-inf", "M1", "m1+1", "0", "#", "'", "!!", "&a", "*a"]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(LIBRARY_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "dup_line"]))
        if kind == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 12)):]
        elif kind == "replace":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos + draw(st.integers(1, 6)):]
        else:
            lines = text.splitlines(True)
            i = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[: i + 1] + lines[i:])
    return text


SIZES = {"B": 1, "H": 1, "G": 1, "R": 1, "M": 8, "P": 2, "E": 2, "F": 2, "M0": 4, "K": 3, "N": 2, "D": 2, "FF": 3}


@given(mutated())
def test_mutations_never_traceback(text):
    import numpy as np

    from einsim.workloads.reference import evaluate_reference, random_inputs

    try:
        c = cascade_from_text(text, "m.yaml")
        sizes = c.bind(SIZES, strict=False)
        evaluate_reference(c, random_inputs(c, sizes), sizes)
    except SpecError as exc:
        assert exc.issues and all(str(i).startswith("m.yaml") for i in exc.issues)
    assert np is not None


def test_duplicate_key_names_both_lines():
    (msg,) = errors_of(GOOD.replace("name: tiny", "name: tiny\nname: tiny2"))
    assert msg == "x.yaml:2 name: key 'name' appears twice (lines 1 and 2); a key must have one value"
