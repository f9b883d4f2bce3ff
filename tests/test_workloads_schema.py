"""The schema layer's messages, YAML bombs, expression limits, and the model file's checks: exact texts."""

import textwrap
import time
from typing import Annotated, Literal

import pytest
from pydantic import Field

from einsim.workloads import SpecError, cascade_from_text
from einsim.workloads.models import _from_doc as model_from_doc
from einsim.workloads.models import size_expression
from einsim.workloads.schema import Name, NonEmptyList, PosInt, PosNum, SpecModel, check, validate
from einsim.workloads.yamlio import doc_from_text


class Tile(SpecModel):
    best_of: NonEmptyList[PosInt]


class Level(SpecModel):
    name: Name
    kind: Literal["dram", "buffer"]
    capacity_bytes: PosInt = 1
    tile: PosInt | Tile = 1


class Arch(SpecModel):
    clock_hz: PosNum
    memory: NonEmptyList[Level]


def issues(text, model=Arch):
    with pytest.raises(SpecError) as info:
        check(doc_from_text(textwrap.dedent(text), "x.yaml"), model)
    return [str(i) for i in info.value.issues]


def test_valid_file_and_yaml_1_1_exponent():
    spec = check(doc_from_text("clock_hz: 940e6\nmemory: [{name: dram, kind: dram}]\n", "x.yaml"), Arch)
    assert spec.clock_hz == 940e6 and spec.memory[0].tile == 1


def test_every_error_of_a_file_with_lines_and_paths():
    assert issues("""\
        clock_hz: 0
        memory:
          - {name: dram, kind: dram}
          - name: gb
            kind: bufer
            capacity_bytes: -4
            capacty: 3
        extra: 1
        """) == [
        "x.yaml:1 clock_hz: must be a positive number, not 0",
        "x.yaml:5 memory[1].kind: must be one of dram, buffer, not 'bufer' (did you mean 'buffer'?)",
        "x.yaml:6 memory[1].capacity_bytes: must be a positive integer, not -4",
        "x.yaml:7 memory[1].capacty: unknown key 'capacty' (did you mean 'capacity_bytes'?); valid keys: name, kind, "
        "capacity_bytes, tile",
        "x.yaml:8 extra: unknown key 'extra'; valid keys: clock_hz, memory",
    ]


def test_strict_types_and_missing_keys():
    assert issues("clock_hz: '1e9x'\nmemory: []\n") == [
        "x.yaml:1 clock_hz: must be a positive number, not '1e9x'",
        "x.yaml:2 memory: must be a non-empty list, not a list []"]
    assert issues("memory: {a: 1}\n") == ["x.yaml:1 <top>: missing required key 'clock_hz'",
                                          "x.yaml:1 memory: must be a list, not a mapping {'a': 1}"]
    assert issues("- 1\n") == ["x.yaml:1 <top>: must be a mapping with keys clock_hz, memory, not a list [1]"]
    assert issues("clock_hz: true\nmemory: [{name: '', kind: dram, capacity_bytes: 2.5}]\n") == [
        "x.yaml:1 clock_hz: must be a positive number, not True",
        "x.yaml:2 memory[0].name: must be a non-empty string, not ''",
        "x.yaml:2 memory[0].capacity_bytes: must be a positive integer, not 2.5"]


def test_union_reports_the_member_the_value_looks_like():
    assert issues("clock_hz: 1\nmemory: [{name: a, kind: dram, tile: {best_of: [0]}}]\n") == [
        "x.yaml:2 memory[0].tile.best_of[0]: must be a positive integer, not 0"]
    assert issues("clock_hz: 1\nmemory: [{name: a, kind: dram, tile: abc}]\n") == [
        "x.yaml:2 memory[0].tile: must be a positive integer or a mapping, not 'abc'"]


def test_discriminated_union_picks_the_member_by_its_kind():
    class Dram(SpecModel):
        kind: Literal["dram"]
        bandwidth: PosNum

    class Buffer(SpecModel):
        kind: Literal["buffer"]
        capacity_bytes: PosInt

    class Memory(SpecModel):
        memory: list[Annotated[Dram | Buffer, Field(discriminator="kind")]]

    assert issues("""\
        memory:
          - {kind: dram, bandwidth: -1}
          - {kind: bufer, capacity_bytes: 1}
          - {capacity_bytes: 3}
          - {kind: buffer, capacity_bytes: 0, bandwidth: 3}
        """, Memory) == [
        "x.yaml:2 memory[0].bandwidth: must be a positive number, not -1",
        "x.yaml:3 memory[1].kind: must be one of dram, buffer, not 'bufer' (did you mean 'buffer'?)",
        "x.yaml:4 memory[2]: missing required key 'kind'",
        "x.yaml:5 memory[3].capacity_bytes: must be a positive integer, not 0",
        "x.yaml:5 memory[3].bandwidth: unknown key 'bandwidth'; valid keys: kind, capacity_bytes"]


def test_key_that_is_not_a_string():
    class Params(SpecModel):
        params: dict[str, PosInt]

    assert issues("params: {1: 2}\n", Params) == ["x.yaml:1 params[1]: key 1 must be a string (a name), not int"]


def test_validate_goes_on_past_unknown_keys_only():
    doc = doc_from_text("clock_hz: 1\nmemory: [{name: a, kind: dram}]\nextra: 1\n", "x.yaml")
    errors = doc.errors()
    spec = validate(doc, Arch, errors)
    assert spec is not None and spec.clock_hz == 1 and len(errors.issues) == 1
    doc = doc_from_text("clock_hz: -1\nmemory: [{name: a, kind: dram}]\n", "x.yaml")
    assert validate(doc, Arch, doc.errors()) is None


# ----- YAML bombs ----------------------------------------------------------------------------------------------------
LAUGHS = "a0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 2000 + "]" * 2000, "x.yaml:1 <yaml>: YAML nested deeper than 64 levels"),
    ("a: &a [*a]\n", "x.yaml:1 <yaml>: recursive alias: this value contains itself"),
    (LAUGHS, "x.yaml:1 <yaml>: YAML expands to more than 200,000 values"),
    ("a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 100)),
     "x.yaml:1 <yaml>: YAML nested deeper than 64 levels once aliases are expanded"),
    ("? {a: 1}\n: 2\n", "x.yaml:1 <top>: a key must be a plain value (a name or a number), not a mapping"),
    ("? [1]\n: 2\n", "x.yaml:1 <top>: a key must be a plain value (a name or a number), not a list"),
    ("a: " + "9" * 5000 + "\n", "x.yaml:1 <yaml>: cannot read value"),
])
def test_yaml_bombs_are_refused_quickly(text, message):
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as info:
        doc_from_text(text, "x.yaml")
    assert str(info.value).startswith(message)
    assert time.perf_counter() - t0 < 5


# ----- expressions ---------------------------------------------------------------------------------------------------
CASCADE = "name: t\nranks: [M, E]\ntensors: {A: [M, E], Z: [M]}\neinsums:\n  - Z[m] = {}\n"


@pytest.mark.parametrize(("expr", "message"), [
    ("A[m,e]" + " + A[m,e]" * 5000, "an Einsum must be at most 2000 characters, not 45013"),
    ("-" * 800 + "A[m,e]", "is nested 804 levels deep, more than 64; split it into several Einsums"),
    ("A[m,e] * " + "9" * 400, "a number is too large for a 64-bit float"),
    ("A[m,e] * 1e999", "a number is too large for a 64-bit float (at most about 1.8e308); write inf"),
    ("A[m,e] / 0", "division by a constant 0 in 'Z[m] = A[m,e] / 0'"),
    ("A[m,e] * (1/0)", "div(1, 0) is infinite (too large, or a division by zero)"),
    ("A[m,e] * 9**9**9", "unsupported expression '9 ** 9 ** 9'"),
])
def test_expression_limits(expr, message):
    with pytest.raises(SpecError) as info:
        cascade_from_text(CASCADE.replace("{}", expr), "c.yaml")
    (issue,) = info.value.issues
    assert str(issue).startswith("c.yaml:5 einsums[0]: ") and message in str(issue)


def test_constants_are_checked_once_sizes_are_bound():
    c = cascade_from_text(CASCADE.replace("{}", "A[m,e] * sqrt(0 - E)"), "c.yaml")
    with pytest.raises(SpecError, match=r"c.yaml:5 einsums\[0\]: sqrt\(-64\) is not a number in 'Z\[m\] = A\[m,e\] \* "
                                        r"sqrt\(0 - E\)' for sizes E=64"):
        c.bind({"M": 4, "E": 64})
    c = cascade_from_text(CASCADE.replace("{}", "A[m,e] * (1 / sqrt(E))"), "c.yaml")
    assert c.bind({"M": 4, "E": 64}) == {"M": 4, "E": 64}


def test_sizes_past_64_bit_counts():
    c = cascade_from_text(CASCADE.replace("{}", "A[m,e]"), "c.yaml")
    with pytest.raises(SpecError, match=r"Einsum Z would have 1.18e\+21 points, more than 4.61e\+18"):
        c.bind({"M": 2 ** 40, "E": 2 ** 30})


def test_cascade_structure_errors_come_from_the_schema():
    with pytest.raises(SpecError) as info:
        cascade_from_text("name: ''\nranks: M\ntensors: {A: [M]}\ninit: {R: abc}\neinsums: [3]\n", "c.yaml")
    assert [str(i) for i in info.value.issues] == [
        "c.yaml:1 name: must be a non-empty string, not ''",
        "c.yaml:2 ranks: must be a list, not 'M'",
        "c.yaml:4 init.R: must be a number (or -inf/inf), not 'abc'",
        "c.yaml:5 einsums[0]: must be an Einsum like 'OUT[i, j] = expression', not 3"]


# ----- model files ---------------------------------------------------------------------------------------------------
MODEL = "name: X\nparams: {B: 64}\nlayers:\n  - {name: a, role: attention, cascade: gemm, sizes: {K: %s}}\n"


def model(text):
    return model_from_doc(doc_from_text(text, "m.yaml"))


@pytest.mark.parametrize(("size", "message"), [
    ("9**9**9", "m.yaml:4 layers[0].sizes.K: size '9**9**9': 9 ** 387420489 is out of range (sizes are below 2**62) "
                "(S=1)"),
    ("B/(S-1)", "m.yaml:4 layers[0].sizes.K: size 'B/(S-1)' divides by zero (S=1)"),
    ("S-2", "m.yaml:4 layers[0].sizes.K: size 'S-2' = -1 must be a positive integer (S=1)"),
])
def test_model_sizes_out_of_range_at_instantiation(size, message):
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as info:
        model(MODEL % size).instantiate(1)
    assert [str(i) for i in info.value.issues] == [message]
    assert time.perf_counter() - t0 < 1


def test_model_file_errors_all_at_once():
    with pytest.raises(SpecError) as info:
        model("name: X\nparams: {B: -1, C: '3'}\nlayers: {a: 1}\nlabel: 3\n")
    assert [str(i) for i in info.value.issues] == [
        "m.yaml:2 params.B: must be a positive integer, not -1",
        "m.yaml:2 params.C: must be a positive integer, not '3'",
        "m.yaml:3 layers: must be a list, not a mapping {'a': 1}",
        "m.yaml:4 label: must be a non-empty string, not 3"]
    with pytest.raises(SpecError, match=r"layers\[0\].sizes.K: size 'B\*S\*1.5' may use integers, names and"):
        model(MODEL % "B*S*1.5")
    with pytest.raises(SpecError, match=r"layers\[0\].cascade: unknown library cascade 'gemmm' \(did you mean 'gemm'"):
        model((MODEL % "B").replace("cascade: gemm", "cascade: gemmm"))


def test_size_expression():
    assert size_expression("B*S // 2 + 3**2", {"B": 4, "S": 6}) == 21
    with pytest.raises(ValueError, match="unknown name 'Q'"):
        size_expression("Q", {"B": 1})
