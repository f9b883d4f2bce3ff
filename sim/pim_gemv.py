"""PIM GEMV command programs from a matrix layout over a channel's banks (NeuPIMs' KV-cache layout).

A GEMV ``y = W x`` with W of ``rows x cols`` (elements of ``pim_data_bits``) on one channel: output row i lives in
bank ``i mod banks`` (banks numbered rank-major: ``(rank * bankgroups + bankgroup) * banks_per_group + bank``);
its elements fill DRAM rows of ``row_elements`` (512 fp16 in a 1 KB row), chunk k of every row in DRAM row
``base_row + tile * chunks + k`` of its bank, tile = i // banks (NeuPIMs' ``key->_rows[ti * chunks + chunk]``).
For each chunk the vector slice is copied into the global buffer (GWRITE_ROW of a row in bank (0, 0, 0)); for each
tile a P_HEADER opens the tile's row and COMPS_READRES macros compute one dot product per bank and ``segment``
(one READRES per segment: a head of ``head_dim`` in the K cache, the whole chunk otherwise).

K cache (scores): token t -> bank t mod banks, one row = one token's dims (``k_cache_program``). V cache
(attention output): by dimension: dimension d of a head -> bank d mod banks, one row = 512 tokens of it, one GEMV
per head with its probability vector (``v_cache_program``) -- NeuPIMs' NeuPIMSLogitSoftmax.cc / NeuPIMSAttend.cc.
"""

from __future__ import annotations

import math

import numpy as np

from einsim.arch.dram import DramSpec

from . import dram_commands as dc
from .dram import PimProgram

__all__ = ["GemvLayout", "gemv_layout", "gemv_program", "k_cache_program", "v_cache_program", "concat"]


class GemvLayout:
    """Chunks (DRAM rows per output row), tiles and per-chunk segment COMP counts of a rows x cols GEMV on ``spec``.

    Without ``segment`` a row of ``cols`` elements fills DRAM rows of ``row_elements`` in order, one READRES per
    chunk. With ``segment`` (elements per dot product, e.g. a head), each segment starts on a COMP column (its length
    padded to a multiple of mac_lanes): ``row_elements // padded`` segments share a DRAM row; a segment longer than
    a row spans whole rows of its own, one READRES (partial sum) per row.
    """

    def __init__(self, spec: DramSpec, rows: int, cols: int, segment: int | None = None):
        if not spec.has_pim:
            raise ValueError(f"memory {spec.name!r} has no PIM (pim.mac_lanes is 0); use e.g. hbm2-pim")
        for name, v in (("rows", rows), ("cols", cols)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        if segment is not None and (isinstance(segment, bool) or not isinstance(segment, int) or segment < 1):
            raise ValueError(f"segment must be a positive integer (elements per dot product), not {segment!r}")
        self.spec, self.rows, self.cols = spec, rows, cols
        e, lanes = spec.row_elements, spec.mac_lanes
        self.tiles = math.ceil(rows / spec.banks_per_channel)
        self.segments: list[list[int]] = []  # per chunk: COMPs of each segment (one READRES each)
        if segment is None or segment >= cols:
            lengths = [[min(e, cols - k * e)] for k in range(math.ceil(cols / e))]
        else:
            seg_lens = [min(segment, cols - i * segment) for i in range(math.ceil(cols / segment))]
            padded = math.ceil(segment / lanes) * lanes
            if padded <= e:
                per_row = e // padded
                lengths = [seg_lens[i:i + per_row] for i in range(0, len(seg_lens), per_row)]
            else:
                lengths = [[min(e, n - j * e)] for n in seg_lens for j in range(math.ceil(n / e))]
        self.segments = [[math.ceil(n / lanes) for n in chunk] for chunk in lengths]
        self.chunks = len(self.segments)
        if self.tiles * self.chunks + self.chunks > spec.rows:
            raise ValueError(f"a {rows} x {cols} GEMV needs {self.tiles * self.chunks} rows per bank plus "
                             f"{self.chunks} vector rows; a bank has {spec.rows}")

    @property
    def comps(self) -> int:
        return self.tiles * sum(sum(s) for s in self.segments)

    @property
    def readres(self) -> int:
        return self.tiles * sum(len(s) for s in self.segments)


def gemv_layout(spec: DramSpec, rows: int, cols: int, segment: int | None = None) -> GemvLayout:
    return GemvLayout(spec, rows, cols, segment)


def gemv_program(spec: DramSpec, rows: int, cols: int, *, segment: int | None = None, channel: int = 0,
                 base_row: int = 0, vector_row: int | None = None, gwrite: bool = True, arrive: int = 0,
                 row_buffers: int | None = None) -> PimProgram:
    """The PIM program of one GEMV (see the module docstring). ``gwrite=False`` assumes the vector is already in
    the global buffer (one chunk only). P_HEADER estimates come from sim.dram_timing.tile_cycles."""
    from .dram_timing import tile_cycles

    lay = GemvLayout(spec, rows, cols, segment)
    if not gwrite and lay.chunks > 1:
        raise ValueError(f"gwrite=False needs the vector in one DRAM row (one chunk); this GEMV needs "
                             f"{lay.chunks}")
    vrow = spec.rows - lay.chunks if vector_row is None else vector_row
    rb = row_buffers or spec.row_buffers
    entries = []
    for k in range(lay.chunks):
        if gwrite:
            entries.append((channel, dc.GWRITE_ROW, 0, 0, 0, vrow + k, 0, 0, arrive))
        est = tile_cycles(spec, lay.segments[k], row_buffers=rb)
        for j in range(lay.tiles):
            row = base_row + j * lay.chunks + k
            entries.append((channel, dc.P_HEADER, -1, -1, -1, row, len(lay.segments[k]), est, arrive))
            entries += [(channel, dc.COMPS_READRES, -1, -1, -1, row, c, 0, arrive) for c in lay.segments[k]]
    return PimProgram.from_entries(entries)


def k_cache_program(spec: DramSpec, seq_len: int, heads: int, head_dim: int, *, channel: int = 0,
                    base_row: int = 0) -> PimProgram:
    """Scores q.K for one request's K cache: token t -> bank t mod banks, a row holds one token's dims; one
    READRES per head (segment = head_dim)."""
    return gemv_program(spec, seq_len, heads * head_dim, segment=head_dim, channel=channel, base_row=base_row)


def v_cache_program(spec: DramSpec, seq_len: int, heads: int, head_dim: int, *, channel: int = 0,
                    base_row: int = 0) -> PimProgram:
    """Attention output p.V for one request's V cache, laid out by dimension: per head a head_dim x seq_len
    GEMV (dimension d -> bank d mod banks, a row holds 512 tokens of one dimension)."""
    lay = GemvLayout(spec, head_dim, seq_len)
    per_head = lay.tiles * lay.chunks
    return concat([gemv_program(spec, head_dim, seq_len, channel=channel, base_row=base_row + h * per_head)
                   for h in range(heads)])


def concat(programs) -> PimProgram:
    """Programs one after another (stable by channel)."""
    keys = ("channel", "kind", "rank", "bankgroup", "bank", "row", "arg", "est", "arrive")
    parts = [p for p in programs if len(p)]
    if not parts:
        return PimProgram.empty()
    cols = {k: np.concatenate([getattr(p, k) for p in parts]) for k in keys}
    order = np.argsort(cols["channel"], kind="stable")
    return PimProgram(**{k: v[order] for k, v in cols.items()})
