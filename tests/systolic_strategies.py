"""Hypothesis strategies shared by the systolic-array tests."""

from __future__ import annotations

from hypothesis import strategies as st

from einsim.arch.systolic import DRAINS, SystolicArraySpec


@st.composite
def micro_specs(draw, dataflow, R, C, double_buffer=None):
    """Any valid micro-architecture of an R x C array with ``dataflow`` (small latencies keep runs short)."""
    kw = {"double_buffer": draw(st.booleans()) if double_buffer is None else double_buffer,
          "mac_latency": draw(st.integers(1, 3)), "acc_latency": draw(st.integers(1, 3)),
          "min_interval": draw(st.integers(1, 5))}
    if dataflow == "os":
        kw["drain"] = draw(st.sampled_from(DRAINS))
        if kw["drain"] in ("shift", "shadow_shift"):
            kw["skew"] = draw(st.sampled_from(("array", "edge")))
    else:
        kw |= {"skew": draw(st.sampled_from(("array", "edge"))), "weight_load_cycles": draw(st.integers(1, 3)),
               "weight_path": draw(st.sampled_from(("chain", "pipeline")))}
    return SystolicArraySpec(rows=R, cols=C, dataflow=dataflow, **kw)
