"""Plain-Python reference for sim/kernels/systolic.py: same signatures, same results, written from the dataflow.

Instead of stepping registers it writes down where each operand is: in WS, stream element (m, i) of fold f meets
the weight of PE (i, j) in cycle s_f + m + i + j, the partial sum of column j leaves row R-1 in that cycle with i =
R-1 and is valid one cycle later; in OS, A[i, k] and B[k, j] meet in PE (i, j) in cycle s_f + k + i + j, and with
the shift drain column j's results leave the bottom edge one per cycle, row R-1 first, starting the cycle after row
R-1's last MAC (s_f + T - 1 + (R-1) + j), so row i leaves R-1-i cycles after row R-1. Values
are summed in the order the hardware sums them (down the column for WS, over k for OS, accumulator slots in fold
order), so floats agree bit for bit with the kernel.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ws_kernel", "os_kernel", "fold_starts"]


def fold_starts(rows, cols, t_len, n_folds, stationary, double_buffer, shift_drain=False):
    """First stream cycle of every fold (see the controller rules in sim/kernels/systolic.py)."""
    if stationary:
        gap = max(t_len, 2 * rows - 1) if double_buffer else 2 * rows + cols + t_len - 2
        first = rows  # the first weight preload takes R cycles
    elif shift_drain:
        # a second drain bank: the next fold's row 0 captures (R - 1 cycles before its row R-1) no earlier than
        # the column's last shift (R - 1 cycles after this fold's row R-1); one bank: the next fold waits until
        # the last output (row 0 of column C-1) has left
        gap = max(t_len, 2 * (rows - 1)) if double_buffer else (t_len - 1 + (rows - 1) + (cols - 1) + rows)
        first = 0
    else:
        gap = t_len if double_buffer else rows + cols + t_len - 2
        first = 0
    return np.array([first + f * gap for f in range(n_folds)], dtype=np.int64)


def ws_kernel(rows, cols, double_buffer, stationary, stream, fold_stream, n_out, fold_out, rows_used, cols_used):
    """Reference of :func:`sim.kernels.systolic.ws_kernel`."""
    n_folds = stationary.shape[0]
    t_len = stream.shape[1]
    R, C = rows, cols
    starts = fold_starts(R, C, t_len, n_folds, True, double_buffer)
    out = np.zeros((n_out, t_len, C), stream.dtype)
    out_cycle = np.full((n_out, t_len, C), -1, np.int64)
    counters = np.zeros((n_folds, 5), np.int64)
    for f in range(n_folds):
        ru, cu = int(rows_used[f]), int(cols_used[f])
        x = stream[fold_stream[f]]
        w = stationary[f]
        slot = fold_out[f]
        for m in range(t_len):
            for j in range(C):
                psum = stream.dtype.type(0)
                for i in range(R):
                    psum = psum + x[m, i] * w[i, j]
                out[slot, m, j] += psum
                out_cycle[slot, m, j] = starts[f] + m + (R - 1) + j + 1
        pe = ru * cu
        copy = pe if double_buffer else 0
        counters[f] = (
            t_len * pe,                              # MACs
            3 * t_len * pe + R * pe + copy,          # reads: a, w, psum per MAC; one per preload shift; shadow copy
            2 * t_len * pe + R * pe + copy,          # writes: a, psum per MAC; one per preload shift; shadow copy
            ru * cu + t_len * ru,                    # weight elements + stream elements
            t_len * cu,                              # partial sums to the accumulator buffer
        )
    total = int(starts[-1]) + R + C + t_len - 2
    return out, out_cycle, starts, total, counters


def os_kernel(rows, cols, double_buffer, shift_drain, left, fold_left, top, fold_top, rows_used, cols_used):
    """Reference of :func:`sim.kernels.systolic.os_kernel`."""
    n_folds = len(fold_left)
    t_len = left.shape[1]
    R, C = rows, cols
    starts = fold_starts(R, C, t_len, n_folds, False, double_buffer, shift_drain)
    out = np.zeros((n_folds, R, C), left.dtype)
    out_cycle = np.full((n_folds, R, C), -1, np.int64)
    counters = np.zeros((n_folds, 5), np.int64)
    for f in range(n_folds):
        ru, cu = int(rows_used[f]), int(cols_used[f])
        a = left[fold_left[f]]
        b = top[fold_top[f]]
        for i in range(R):
            for j in range(C):
                acc = left.dtype.type(0)
                for k in range(t_len):
                    acc = acc + a[k, i] * b[k, j]
                out[f, i, j] = acc
                last_mac = starts[f] + (t_len - 1) + i + j
                if shift_drain:
                    out_cycle[f, i, j] = last_mac + (R - 1 - i) + 1 + (R - 1 - i)  # wait for row R-1, then hop
                else:
                    out_cycle[f, i, j] = last_mac + 1
        pe = ru * cu
        hops = sum(R - 1 - i for i in range(ru)) * cu if shift_drain else 0
        capture = pe if shift_drain and double_buffer else 0
        counters[f] = (t_len * pe, 3 * t_len * pe + hops, 3 * t_len * pe + hops + capture, t_len * (ru + cu), pe)
    total = int(out_cycle[-1].max())  # the last fold's last output
    return out, out_cycle, starts, total, counters
